"""The small interface every model backend implements.

A backend receives a list of :class:`Request` and reports each answer through a
callback as soon as it has it, so the runner can commit it to the cache at once
(killing a run loses at most the answers in flight).  How a backend gets its
answers is its own business: the ``openai`` backend keeps N HTTP requests in
flight, ``hf`` generates in length-sorted batches, ``embedding`` and ``trained``
compute answers directly from the utterance.

LLM backends read ``Request.prompt`` (the rendered template).  Non-generative
backends read the structured fields (``text``, ``task``, ``labels``,
``emotion``) and answer in the same textual form an LLM would (a label word,
a quoted span, Yes/No), so parsing downstream is the same for all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emocause.errors import UsageError


@dataclass(frozen=True)
class Request:
    """One question for a model."""

    prompt: str
    text: str
    task: str  # "label" | "span" | "yesno"
    labels: tuple[str, ...] = ()
    emotion: str | None = None
    max_tokens: int = 8


@dataclass
class Response:
    """One answer: the raw text, or an error message when every retry failed.

    ``extra`` holds output columns a backend adds beside the answer (the
    multi-label backends: ``emotions`` and ``emotion_scores``); it is not cached,
    which is why only uncached backends fill it.
    """

    text: str | None
    usage: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)
    #: Identity of the endpoint that answered (remote backends), part of the cache key.
    endpoint: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


#: Called with (index into the request list, response) as each answer arrives.
OnResult = Callable[[int, Response], None]


class Backend(ABC):
    """A model that answers prompts. Subclasses set ``name`` and implement ``generate``."""

    name: str = ""
    #: Whether answers are worth caching (false for cheap deterministic backends).
    cacheable: bool = True
    #: Whether ``Request.prompt`` matters (false for embedding/trained: no prompt is sent).
    uses_prompt: bool = True
    #: Whether :meth:`submit` starts work that a later :meth:`generate` collects (the Batch API).
    submits_ahead: bool = False

    def __init__(self, model: str) -> None:
        self.model = model
        #: Counters for the run summary (retries, fatal errors, ...).
        self.stats: dict[str, int] = {"retried": 0}

    def params(self) -> dict[str, Any]:
        """Generation parameters that change answers: part of the cache key and the manifest."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this backend (never secrets)."""
        return {"backend": self.name, "model": self.model, "params": self.params()}

    def cache_namespace(self, request: Request) -> dict[str, Any]:
        """The parts of a request, besides the prompt, that determine its answer."""
        return {"max_tokens": request.max_tokens}

    def cache_scopes(self) -> tuple[str, ...]:
        """Endpoint identities whose cached answers this backend may serve (remote backends).

        Empty for local backends: their keys carry no endpoint.  A remote backend's answer is
        stored under the endpoint in its :attr:`Response.endpoint` (else the first scope).
        """
        return ()

    def bind_run(self, state: Any = None, progress: Any = None) -> None:
        """Receive the run's durable state store (the cache database) and its progress bar.

        Called by the runner before :meth:`generate`; backends whose jobs outlive a process
        (the OpenAI Batch API) keep their job ids in ``state``.  The default ignores both.
        """

    def submit(self, requests: Sequence[Request]) -> None:
        """Start answering ``requests`` without waiting (only where :attr:`submits_ahead`).

        A streamed run calls it for every chunk before answering any, so jobs that take
        hours (OpenAI batches) all run at once; :meth:`generate` then collects the answers.
        """

    @abstractmethod
    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        """Answer every request, calling ``on_result(i, response)`` once per request.

        May raise :class:`emocause.errors.FatalBackendError` to stop the run
        (authentication refused, unknown model); answers already reported are kept.
        """

    def close(self) -> None:
        """Release resources (HTTP connections, GPU memory)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}:{self.model}>"

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prompt(self, prompt: str, max_tokens: int = 256) -> Response:
        """One free-form prompt, answered at once (a notebook convenience; runs skip the cache).

        Only backends that read prompts (``uses_prompt``) can answer free text; the
        structured ones answer emocause's own requests through ``emocause.classify``.
        """
        if not self.uses_prompt:
            raise UsageError(f"the {self.name} backend answers structured requests, not free-form "
                             f"prompts; use emocause.classify or emocause.extract_causes")
        answers: list[Response] = []
        self.generate([Request(prompt=prompt, text=prompt, task="label", max_tokens=max_tokens)],
                      lambda _i, resp: answers.append(resp))
        return answers[0]
