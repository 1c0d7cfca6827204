"""Backend registry: name -> class, imported lazily so the CLI starts fast.

To add a backend, write a module with a :class:`emocause.backends.base.Backend`
subclass and add it to ``BACKENDS``.
"""

from __future__ import annotations

import importlib
from typing import Any

from emocause.backends.base import Backend, Request, Response
from emocause.errors import UsageError

#: name -> "module:Class"
BACKENDS: dict[str, str] = {
    "openai": "emocause.backends.openai:OpenAIBackend",
    "hf": "emocause.backends.hf:HFBackend",
    "embedding": "emocause.backends.embedding:EmbeddingBackend",
    "trained": "emocause.backends.trained:TrainedBackend",
    "finetuned": "emocause.backends.finetuned:FinetunedBackend",
}

__all__ = ["BACKENDS", "Backend", "Request", "Response", "create"]


def create(name: str, **options: Any) -> Backend:
    """Instantiate backend ``name`` with the CLI's options (each backend ignores the rest)."""
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    backend_cls = getattr(importlib.import_module(module), cls)
    return backend_cls(**{k: v for k, v in options.items() if v is not None})
