"""Running a list of requests through a backend, with the cache in front of it.

:func:`run_requests` is the one place where prompts meet models: it looks every
request up in the cache, sends the missing ones (identical prompts once),
commits each answer as it arrives, shows a progress bar, and returns the
answers in input order with the run's counters.  ``classify``, ``causes`` and
``report`` all go through it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from emocause.backends.base import Backend, Request, Response
from emocause.annotate.cache import Cache, make_key
from emocause.progress import bar

#: Characters of a comment kept in a prompt; longer text is cut (and counted).
DEFAULT_MAX_CHARS = 4000


@dataclass
class RunStats:
    rows: int = 0
    skipped: int = 0
    gated: int = 0  # kept from the model by --gate
    truncated: int = 0
    cached: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unparsed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut ``text`` to ``max_chars`` characters at a word boundary when possible."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = cut.rfind(" ", max_chars - 200)
    return (cut[:space] if space > 0 else cut), True


def request_key(backend: Backend, req: Request, endpoint: str | None = None) -> str:
    """Cache key: backend, model, parameters, the prompt (or the structured request), endpoint."""
    params = {**backend.params(), **backend.cache_namespace(req)}
    body = req.prompt if backend.uses_prompt else repr((req.task, req.text, req.labels, req.emotion))
    return make_key(backend.name, backend.model, params, body, endpoint)


@dataclass
class Plan:
    """What a run must send: the cached answers, and each distinct missing request once."""

    results: list[Response | None]  # cached answers in input order (None: skipped or to send)
    keys: list[str | None]  # each row's dedup key (its key under the first cache scope)
    todo: list[Request]  # distinct requests to send
    todo_rows: list[list[int]]  # the rows each of them answers
    cached_rows: int = 0  # rows answered from the cache
    cached_keys: int = 0  # distinct prompts answered from the cache
    hit_keys: set[str] = field(default_factory=set)  # their keys


def plan(backend: Backend, requests: Sequence[Request | None], cache: Cache | None) -> Plan:
    """Look every request up in the cache (under each of the backend's endpoint scopes)."""
    use_cache = cache is not None and backend.cacheable
    scopes: tuple[str | None, ...] = backend.cache_scopes() or (None,)
    keys: list[str | None] = [None] * len(requests)
    lookups: list[list[str]] = [[] for _ in requests]
    if use_cache:
        for i, r in enumerate(requests):
            if r is not None:
                lookups[i] = [request_key(backend, r, s) for s in scopes]
                keys[i] = lookups[i][0]
    hits = cache.get_many(k for ks in lookups for k in ks) if use_cache else {}  # type: ignore[union-attr]
    p = Plan([None] * len(requests), keys, [], [])
    todo_index: dict[str, int] = {}
    hit_keys: set[str] = set()
    for i, req in enumerate(requests):
        if req is None:
            continue
        key = keys[i]
        found = next((k for k in lookups[i] if k in hits), None)
        if found is not None:
            p.results[i] = Response(hits[found].response, usage={})
            p.cached_rows += 1
            hit_keys.add(found)
            continue
        if key is not None and key in todo_index:
            p.todo_rows[todo_index[key]].append(i)
            continue
        if key is not None:
            todo_index[key] = len(p.todo)
        p.todo.append(req)
        p.todo_rows.append([i])
    p.cached_keys = len(hit_keys)
    p.hit_keys = hit_keys
    return p


def submit_ahead(backend: Backend, requests: Sequence[Request | None], cache: Cache | None) -> int:
    """Hand the uncached ``requests`` to a backend that starts work ahead (:attr:`Backend.submits_ahead`);
    returns how many it was given.  A streamed ``--batch`` run submits every chunk's batch
    this way first, so all of them run at once, then collects them chunk by chunk."""
    p = plan(backend, requests, cache)
    if p.todo:
        backend.bind_run(cache, None)
        backend.submit(p.todo)
    return len(p.todo)


def run_requests(backend: Backend, requests: Sequence[Request | None], cache: Cache | None,
                 stats: RunStats, description: str = "classify", progress: Any = None) -> list[Response | None]:
    """Answers for ``requests`` in order (``None`` entries are skipped rows and stay ``None``).

    ``progress``: a bar counting rows, shared by the chunks of a streamed run (by default
    each call shows its own bar, counting the prompts it sends).
    """
    t0 = time.perf_counter()
    p = plan(backend, requests, cache)
    results, todo, todo_rows, keys = p.results, p.todo, p.todo_rows, p.keys
    stats.cached += p.cached_rows
    scopes = backend.cache_scopes()
    per_row = progress is not None
    if per_row:
        progress.advance(len(requests) - sum(len(rows) for rows in todo_rows))  # skipped and cached rows

    retried_before = backend.stats.get("retried", 0)
    with (contextlib.nullcontext(progress) if per_row else
          bar(f"{description} ({backend.name}:{backend.model})", len(todo))) as progress:
        def on_result(j: int, resp: Response) -> None:
            rows = todo_rows[j]
            for i in rows:
                results[i] = resp
            stats.sent += 1
            if resp.ok:
                stats.prompt_tokens += resp.usage.get("prompt_tokens", 0)
                stats.completion_tokens += resp.usage.get("completion_tokens", 0)
                if keys[rows[0]] is not None and cache is not None:
                    req = todo[j]
                    endpoint = resp.endpoint or (scopes[0] if scopes else None)
                    key = keys[rows[0]] if endpoint == (scopes[0] if scopes else None) else \
                        request_key(backend, req, endpoint)
                    cache.put(key, backend.name, backend.model,
                              {**backend.params(), **backend.cache_namespace(req)},
                              req.prompt if backend.uses_prompt else req.text,
                              resp.text or "", resp.usage, resp.seconds, endpoint)
            else:
                stats.failed += len(rows)
                reason = (resp.error or "error").split(":")[0]
                stats.errors[reason] = stats.errors.get(reason, 0) + len(rows)
            progress.advance(len(rows) if per_row else 1)

        try:
            if todo:
                backend.bind_run(cache, progress)
                backend.generate(todo, on_result)
        finally:
            stats.retried += backend.stats.get("retried", 0) - retried_before
            stats.seconds += time.perf_counter() - t0
    return results
