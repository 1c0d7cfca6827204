"""Backend registry: name -> class, imported lazily so the CLI starts fast.

To add a backend, write a module with a :class:`emocause.backends.base.Backend`
subclass, add it to ``BACKENDS``, and to ``NEEDS`` if it needs an optional extra.
"""

from __future__ import annotations

import importlib
from typing import Any

from emocause.backends.base import Backend, Request, Response
from emocause.backends.options import BackendOptions
from emocause.errors import UsageError
from emocause.extras import require

#: name -> "module:Class"
BACKENDS: dict[str, str] = {
    "openai": "emocause.backends.openai:OpenAIBackend",
    "hf": "emocause.backends.hf:HFBackend",
    "embedding": "emocause.backends.embedding:EmbeddingBackend",
    "trained": "emocause.backends.trained:TrainedBackend",
    "finetuned": "emocause.backends.finetuned:FinetunedBackend",
}
#: name -> the extra its models need (``trained`` checks for itself: tfidf-svm runs on the core install).
NEEDS: dict[str, str] = {"hf": "local", "embedding": "local", "finetuned": "local"}

__all__ = ["BACKENDS", "Backend", "BackendOptions", "Request", "Response", "create", "get_backend"]


def check_name(name: str) -> str:
    """``name`` if it is a registered backend, else one line listing them."""
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
    return name


def check_available(name: str) -> str:
    """``name`` if it is a registered backend whose extra is installed, else one line saying why not."""
    check_name(name)
    if name in NEEDS:
        require(NEEDS[name], f"the {name} backend")
    return name


def create(name: str, **options: Any) -> Backend:
    """Instantiate backend ``name`` with the CLI's options (each backend ignores the rest)."""
    check_available(name)
    module, cls = BACKENDS[name].split(":")
    backend_cls = getattr(importlib.import_module(module), cls)
    return backend_cls(**{k: v for k, v in options.items() if v is not None})


def get_backend(name: str | BackendOptions | None = None, **options: Any) -> Backend:
    """A ready backend, like ``llm.get_model``: ``get_backend("openai", model="gpt-4o-mini")``.

    ``options`` are :class:`BackendOptions` fields; what is not given comes from the
    environment, the config file and the defaults.  Models load on first use; use the
    backend as a context manager (or call ``close()``) to release it.
    """
    unknown = set(options) - BackendOptions.field_names()
    if unknown:
        raise TypeError(f"get_backend() got unexpected options {', '.join(sorted(unknown))}; "
                        f"options are: {', '.join(sorted(BackendOptions.field_names()))}")
    resolved = BackendOptions.of(name, **options).resolved()
    return create(resolved.backend or "", **resolved.kwargs())
