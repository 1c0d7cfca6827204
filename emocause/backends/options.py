"""Which backend runs, and how: one options object for the CLI, the config file and the library.

``BackendOptions`` holds what the user said (``None`` = not said);
:meth:`BackendOptions.resolved` fills the rest from the environment, the config
file and the defaults (:mod:`emocause.config`), and checks what can be checked
before any work starts.  To add an option: a field here, a key in
``config.SETTINGS`` if it may come from the config file, and a line in
:meth:`BackendOptions.kwargs` if a backend's constructor takes it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from emocause import config
from emocause.errors import UsageError


@dataclass(frozen=True)
class BackendOptions:
    """A backend and its settings; every field may be left ``None`` to use the configured default."""

    backend: str | None = None
    model: str | None = None
    #: openai: an OpenAI-compatible server (vLLM, Ollama, llama.cpp), or several replicas of one
    #: model; default: the hosted API.
    base_url: str | list[str] | None = None
    #: openai: requests in flight.
    concurrency: int | None = None
    #: openai: retries per request on 429/5xx/timeouts.
    retries: int | None = None
    temperature: float | None = None
    #: hf/embedding/trained: cuda, mps or cpu.
    device: str | None = None
    #: hf/embedding/trained: texts per batch.
    batch_size: int | None = None
    #: embedding/trained: the sentence-transformers model.
    embedding_model: str | None = None
    #: finetuned: the expected share of comments without emotion (thresholds stored for it).
    neutral_share: float | None = None
    #: openai: send through the OpenAI Batch API (half price, results within 24 h).
    batch: bool | None = None
    #: openai: a name for replicas that share cached answers whatever their URLs.
    endpoint_group: str | None = None

    def resolved(self) -> BackendOptions:
        """Every field from option > environment > config file > default; bad values are one line.

        A model from the environment or config file belongs to the backend configured
        there: it is not used when a different backend is asked for explicitly.
        """
        values: dict[str, Any] = {f.name: config.resolve(f.name, getattr(self, f.name))
                                  for f in dataclasses.fields(self) if f.name in config.SETTINGS}
        if self.backend and self.model is None and config.resolve("backend") != values["backend"]:
            values["model"] = None
        values["backend"] = str(values["backend"])
        for flag, value in (("--batch", self.batch), ("--endpoint-group", self.endpoint_group)):
            if value and values["backend"] != "openai":
                raise UsageError(f"{flag} needs --backend openai (the backend is {values['backend']})")
        if self.neutral_share is not None and values["backend"] != "finetuned":
            raise UsageError(f"--neutral-share needs --backend finetuned (the backend is {values['backend']})")
        if values["backend"] != "finetuned":
            values["neutral_share"] = None  # a config default for the finetuned backend only
        return dataclasses.replace(self, **values)

    def kwargs(self) -> dict[str, Any]:
        """Constructor arguments for the backend (``None`` = the backend's own default)."""
        return {"model": self.model, "base_url": self.base_url, "concurrency": self.concurrency,
                "max_retries": self.retries, "temperature": self.temperature, "device": self.device,
                "batch_size": self.batch_size, "embedding_model": self.embedding_model,
                "batch": self.batch, "endpoint_group": self.endpoint_group,
                "neutral_share": self.neutral_share}

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def of(cls, spec: BackendOptions | str | None = None, **overrides: Any) -> BackendOptions:
        """Options from a backend name or options object, with keyword overrides (``None`` ignored)."""
        if isinstance(spec, BackendOptions):
            base = spec
        elif spec is None or isinstance(spec, str):
            base = cls(backend=spec)
        else:
            raise TypeError(f"backend must be a name, BackendOptions or a Backend, not {type(spec).__name__}")
        given = {k: v for k, v in overrides.items() if v is not None and v != []}
        return dataclasses.replace(base, **given)
