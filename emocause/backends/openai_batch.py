"""The OpenAI Batch API for the ``openai`` backend (``--batch``): half the price, answers within 24 h.

The requests are written as JSONL (one chat completion per line, the same body a direct request
sends), uploaded (``/v1/files``), submitted (``/v1/batches``), polled until the batch ends, and its
output and error files are downloaded and parsed with the same rules as a direct answer.  Each
answer is handed to ``on_result`` (so the runner caches and writes it exactly as in a normal run).

Resuming: every request has a ``custom_id`` (a hash of what determines its answer) and every batch
a *chunk* key (a hash of its ids).  Before anything is uploaded the chunk and its ids are committed
to the run's state store (the cache database); the batch id follows as soon as the server gives
it, and the batch carries the chunk key in its metadata.  A rerun finds its requests in a batch
not yet collected and reattaches to it: a request is never submitted twice while a batch holding it
is alive, even when the process died between the submission and the recording of its id (the
batch is then found by its metadata).  A batch's results are marked collected only after every
answer was handed over.

Rows a batch could not answer (an error line, an expired or cancelled batch, a batch that failed
validation) are reported as failed rows with the batch's reason; the next run submits them again
in a new batch.  At most :data:`MAX_LINES` requests and :data:`MAX_BYTES` of JSONL go in one batch
(the API's limits); larger runs are split into several.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emocause.backends.base import OnResult, Request, Response
from emocause.backends.openai import RetryableError, api_message, parse_completion
from emocause.errors import FatalBackendError, UsageError
from emocause.progress import info

if TYPE_CHECKING:
    from emocause.backends.openai import OpenAIBackend

ENDPOINT = "/v1/chat/completions"
MAX_LINES = 50_000
MAX_BYTES = 190 * 1024 * 1024
TERMINAL = {"completed", "failed", "expired", "cancelled"}
METADATA_KEY = "emocause_chunk"


def custom_id(backend: OpenAIBackend, req: Request) -> str:
    """A request's id in a batch: a hash of the endpoint, model, parameters and prompt."""
    blob = json.dumps([backend.cache_scopes()[0], backend.body(req)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def chunk_key(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:32]


def split(lines: list[tuple[str, bytes]], max_lines: int = MAX_LINES,
          max_bytes: int = MAX_BYTES) -> list[list[tuple[str, bytes]]]:
    """Consecutive groups of (custom_id, JSONL line) within the API's per-batch limits."""
    groups: list[list[tuple[str, bytes]]] = [[]]
    size = 0
    for item in lines:
        if groups[-1] and (len(groups[-1]) >= max_lines or size + len(item[1]) > max_bytes):
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item[1])
    return [g for g in groups if g]


def run_batch(backend: OpenAIBackend, requests: Sequence[Request], on_result: OnResult | None) -> None:
    """Answer ``requests`` through the Batch API, reattaching to batches a killed run left.

    ``on_result=None`` only submits (the requests not already in a live batch) and returns.
    """
    state = backend.state
    if state is None:
        raise UsageError("--batch keeps the batch ids in the cache database; drop --no-cache")
    if len(backend.endpoints.items) > 1:
        raise UsageError("--batch sends to one endpoint; give a single --base-url")
    job = _Job(backend, state)
    rows: dict[str, list[int]] = {}
    for i, req in enumerate(requests):
        rows.setdefault(custom_id(backend, req), []).append(i)
    active = state.batch_active(job.endpoint, backend.model, rows)
    chunks = []
    for key in dict.fromkeys(active.values()):
        if job.attach(key):
            chunks.append(key)
        else:  # recorded, never submitted: its requests are sent afresh below
            active = {cid: k for cid, k in active.items() if k != key}
    if active:
        info(f"--batch: reattaching to {len(chunks)} batch(es) holding {len(active):,} of these requests")
    fresh = [(cid, _line(backend, requests[idx[0]], cid)) for cid, idx in rows.items() if cid not in active]
    for group in split(fresh):
        key = chunk_key([cid for cid, _ in group])
        state.batch_intent(key, job.endpoint, backend.model, [cid for cid, _ in group])
        job.submit(key, b"".join(line for _, line in group), len(group))
        chunks.append(key)
    if on_result is not None:
        job.wait(chunks, rows, {cid: requests[idx[0]].max_tokens for cid, idx in rows.items()}, on_result)


def _line(backend: OpenAIBackend, req: Request, cid: str) -> bytes:
    return (json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": backend.body(req)},
                       ensure_ascii=False) + "\n").encode("utf-8")


class _Job:
    """The batches of one run: submission, polling, collection."""

    def __init__(self, backend: OpenAIBackend, state: Any) -> None:
        import openai

        self.backend = backend
        self.state = state
        self.endpoint = backend.cache_scopes()[0]
        self.lines: dict[str, bytes] = {}
        ep = backend.endpoints.items[0]
        base = ep.chat.rsplit("/chat/completions", 1)[0]  # without user:password (never sent here)
        self.client = openai.OpenAI(api_key=backend.api_key(), base_url=base,
                                    max_retries=backend.max_retries, timeout=backend.timeout)
        self.shown = ep.shown

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One Batch API call; an error is one line naming the call (never the key)."""
        import openai

        try:
            return fn(*args, **kwargs)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise FatalBackendError(f"the server at {self.shown} refused the API key "
                                    f"(HTTP {exc.status_code}); check OPENAI_API_KEY") from None
        except openai.APIStatusError as exc:
            body = exc.response.content if exc.response is not None else b""
            raise FatalBackendError(self.backend.redact(
                f"Batch API at {self.shown}: {what} failed: HTTP {exc.status_code}: "
                f"{api_message(body)}")) from None
        except openai.APIError as exc:
            raise FatalBackendError(self.backend.redact(
                f"Batch API at {self.shown}: {what} failed: {type(exc).__name__}: {exc}")) from None

    def attach(self, key: str) -> bool:
        """Whether chunk ``key`` (recorded by an earlier run) has a batch: its id, or one found by
        metadata when that run died between submitting and recording; else it is dropped."""
        row = self.state.batch_get(key)
        if row["batch_id"]:
            return True
        found = self._find(key, row["created"])
        if found is None:
            self.state.batch_update(key, status="never submitted", collected=True)
            return False
        info(f"--batch: found batch {found}, submitted by an interrupted run")
        self.state.batch_update(key, batch_id=found, status="submitted")
        return True

    def submit(self, key: str, data: bytes, n: int) -> None:
        """Upload chunk ``key``'s JSONL and create its batch (tagged with the chunk in metadata)."""
        upload = self._call("upload", self.client.files.create,
                            file=(f"emocause-{key}.jsonl", io.BytesIO(data)), purpose="batch")
        self.state.batch_update(key, input_file_id=upload.id)
        batch = self._call("create batch", self.client.batches.create, input_file_id=upload.id,
                           endpoint=ENDPOINT, completion_window="24h", metadata={METADATA_KEY: key})
        self.state.batch_update(key, batch_id=batch.id, status=batch.status)
        info(f"--batch: submitted batch {batch.id} ({n:,} requests)")

    def _find(self, key: str, since: float) -> str | None:
        """A live batch whose metadata names chunk ``key`` (created after ``since`` - 1 h)."""
        after = None
        for _ in range(50):
            kwargs: dict[str, Any] = {"limit": 100}
            if after:
                kwargs["after"] = after
            page = self._call("list batches", self.client.batches.list, **kwargs)
            items = list(page.data)
            for b in items:
                if (b.metadata or {}).get(METADATA_KEY) == key and b.status not in ("failed", "cancelled",
                                                                                   "expired"):
                    return str(b.id)
            if not items or not page.has_more or min(b.created_at for b in items) < since - 3600:
                return None
            after = items[-1].id
        return None

    def wait(self, chunks: list[str], rows: dict[str, list[int]], max_tokens: dict[str, int],
             on_result: OnResult) -> None:
        """Poll every batch until it ends; hand over its answers as each one ends."""
        pending = {key: self.state.batch_get(key)["batch_id"] for key in chunks}
        total = sum(len(self.state.batch_ids(k)) for k in chunks)
        seen: dict[str, str] = {}
        delay = 0.5
        progress = self.backend.progress
        while pending:
            done_lines = 0
            for key, batch_id in list(pending.items()):
                batch = self._call("poll", self.client.batches.retrieve, batch_id)
                counts = batch.request_counts
                done_lines += (counts.completed + counts.failed) if counts else 0
                if seen.get(key) != batch.status:
                    seen[key] = batch.status
                    self.state.batch_update(key, status=batch.status)
                    info(f"--batch: batch {batch_id} is {batch.status}"
                         + (f" ({counts.completed:,} done, {counts.failed:,} failed of {counts.total:,})"
                            if counts and counts.total else ""))
                if batch.status in TERMINAL:
                    self._collect(key, batch, rows, max_tokens, on_result)
                    del pending[key]
            if progress is not None:
                progress.update(description=f"batch: {', '.join(sorted(set(seen.values())))} "
                                            f"({done_lines:,}/{total:,} processed)")
            if pending:
                time.sleep(delay)
                delay = min(self.backend.poll_interval, delay * 1.5)

    def _download(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        content = self._call("download", self.client.files.content, file_id)
        out = []
        for line in content.content.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and isinstance(item.get("custom_id"), str):
                out.append(item)
        return out

    def _collect(self, key: str, batch: Any, rows: dict[str, list[int]], max_tokens: dict[str, int],
                 on_result: OnResult) -> None:
        answers: dict[str, Response] = {}
        for item in self._download(batch.output_file_id) + self._download(batch.error_file_id):
            cid = item["custom_id"]
            if cid in rows and cid not in answers:
                answers[cid] = self._response(item, max_tokens[cid])
        why = f"batch {batch.status}"
        if batch.status == "failed" and batch.errors and batch.errors.data:
            why += ": " + "; ".join(str(e.message) for e in batch.errors.data[:3])
        handed = []
        for cid in self.state.batch_ids(key, pending=True):
            if cid not in rows:
                continue  # another chunk of a streamed run asks for it
            resp = answers.get(cid) or Response(None, error=self.backend.redact(f"{why}: no answer for "
                                                                                f"this request"))
            for i in rows[cid]:
                on_result(i, resp)
            handed.append(cid)
        self.state.batch_done(key, handed)  # collected once every request was handed over

    def _response(self, item: dict[str, Any], max_tokens: int) -> Response:
        """One output or error line as a :class:`Response` (the direct path's rules)."""
        scope = self.endpoint
        resp = item.get("response") if isinstance(item.get("response"), dict) else None
        err = item.get("error") if isinstance(item.get("error"), dict) else None
        if resp is not None and resp.get("status_code") == 200:
            try:
                text, usage = parse_completion(resp.get("body"), max_tokens)
            except RetryableError as exc:
                return Response(None, error=f"batch: {exc}")
            return Response(text, usage=usage, endpoint=scope)
        if resp is not None:
            body = json.dumps(resp.get("body")).encode()
            return Response(None, error=self.backend.redact(
                f"batch: HTTP {resp.get('status_code')}: {api_message(body)}"))
        if err is not None:
            return Response(None, error=self.backend.redact(
                f"batch: {err.get('code') or 'error'}: {' '.join(str(err.get('message', '')).split())[:300]}"))
        return Response(None, error="batch: an answer line without response or error")

