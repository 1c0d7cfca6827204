"""Backend ``openai``: OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

Uses the official ``openai`` client.  Retries are the client's own (exponential
backoff with jitter on 408/409/429/5xx and timeouts, honouring ``Retry-After``
and ``retry-after-ms``); we only count them, through an httpx response hook, for
the run summary.  ``--concurrency`` requests are kept in flight by a thread
pool (the sync client is thread-safe and shares one connection pool).

An authentication failure (401/403) or an unknown model (404) raises
:class:`FatalBackendError` at once: every other request would fail the same way.
The API key is read from ``OPENAI_API_KEY`` by the client and never stored,
logged or written into a manifest (only the base URL's host is recorded).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlparse

import httpx

from emocause.backends.base import Backend, OnResult, Request, Response
from emocause.errors import FatalBackendError, UsageError

DEFAULT_MODEL = "gpt-4"
RETRYABLE = {408, 409, 429, 500, 502, 503, 504}


def _redact(message: str, secret: str | None) -> str:
    if secret:
        message = message.replace(secret, "***")
    return message


def _api_message(exc: Any) -> str:
    """The server's own error message (the JSON body's ``message``), on one line."""
    body = getattr(exc, "body", None)
    msg = body.get("message") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        msg = body["error"].get("message", msg)
    return " ".join(str(msg or getattr(exc, "message", "") or type(exc).__name__).split())[:300]


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, model: str | None = None, base_url: str | None = None,
                 concurrency: int = 8, temperature: float = 0.0, max_retries: int = 6,
                 timeout: float = 60.0, api_key: str | None = None, **_: Any) -> None:
        super().__init__(model or DEFAULT_MODEL)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.concurrency = max(1, int(concurrency))
        self.temperature = float(temperature)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self._key = api_key
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The ``openai`` client, created on first use (so dry runs need no key)."""
        if self._client is None:
            import openai

            key = self._key or os.environ.get("OPENAI_API_KEY")
            if not key:
                if self.base_url is None:
                    raise UsageError("OPENAI_API_KEY is not set; export it, or pass --base-url for "
                                     "a local OpenAI-compatible server that needs no key")
                key = "not-needed"  # local servers accept any key; the client requires one
            self._key = key
            http = httpx.Client(
                limits=httpx.Limits(max_connections=self.concurrency + 4,
                                    max_keepalive_connections=self.concurrency + 4),
                timeout=httpx.Timeout(self.timeout, connect=10.0),
                event_hooks={"response": [self._on_http_response]},
            )
            self._client = openai.OpenAI(api_key=key, base_url=self.base_url,
                                         max_retries=self.max_retries, timeout=self.timeout,
                                         http_client=http)
        return self._client

    def _on_http_response(self, response: httpx.Response) -> None:
        if response.status_code in RETRYABLE:
            with self._lock:
                self.stats["retried"] = self.stats.get("retried", 0) + 1

    def params(self) -> dict[str, Any]:
        return {"temperature": self.temperature}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        host = urlparse(self.base_url).netloc if self.base_url else "api.openai.com"
        d["base_url_host"] = host.rsplit("@", 1)[-1]  # never userinfo
        d["concurrency"] = self.concurrency
        d["max_retries"] = self.max_retries
        return d

    def _one(self, req: Request) -> Response:
        import openai

        t0 = time.perf_counter()
        try:
            completion = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": req.prompt}],
                temperature=self.temperature,
                max_tokens=req.max_tokens,
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise FatalBackendError(
                f"the server at {self.describe()['base_url_host']} refused the API key "
                f"(HTTP {exc.status_code}); check OPENAI_API_KEY") from None
        except openai.NotFoundError as exc:
            raise FatalBackendError(
                f"model {self.model!r} not found at {self.describe()['base_url_host']} "
                f"(HTTP {exc.status_code}); check --model and --base-url") from None
        except openai.APIStatusError as exc:
            return Response(None, error=_redact(f"HTTP {exc.status_code}: {_api_message(exc)}", self._key),
                            seconds=time.perf_counter() - t0)
        except openai.APIConnectionError as exc:  # includes timeouts, after retries
            kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
            return Response(None, error=f"{kind} after {self.max_retries} retries",
                            seconds=time.perf_counter() - t0)
        choice = completion.choices[0] if completion.choices else None
        text = (choice.message.content if choice and choice.message else None) or ""
        usage = {}
        if completion.usage is not None:
            usage = {"prompt_tokens": completion.usage.prompt_tokens or 0,
                     "completion_tokens": completion.usage.completion_tokens or 0}
        return Response(text, usage=usage, seconds=time.perf_counter() - t0)

    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        """Keep ``concurrency`` requests in flight; report each answer as it completes."""
        if not requests:
            return
        _ = self.client  # a missing key is reported before any thread starts
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="emocause-openai")
        pending: dict[Future[Response], int] = {}
        it = iter(enumerate(requests))
        try:
            for i, req in it:
                pending[pool.submit(self._one, req)] = i
                if len(pending) >= self.concurrency * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    on_result(i, fut.result())  # re-raises FatalBackendError
                    nxt = next(it, None)
                    if nxt is not None:
                        pending[pool.submit(self._one, nxt[1])] = nxt[0]
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
