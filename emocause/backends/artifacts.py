"""Reading model files someone else may have crafted: type, size, shape and dtype checked first.

A model directory is data, not code, and may come from anywhere.  Before a
byte of it is parsed, every file must be a regular file (a FIFO would hang the
read, a link to ``/dev/zero`` would never end) and under a size cap; an
``.npy`` header is read and checked (a numeric dtype, a shape that matches
the file's size and the caller's expectation) before its array is; JSON is
parsed only after the size check.  Any failure is one :class:`UsageError` line.
"""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocause.errors import UsageError

#: Caps on what one model file may hold (far above any real emocause model).
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_ARRAY_BYTES = 1024 * 1024 * 1024
#: dtype kinds a weight array may have: floating point, (unsigned) integers, booleans.
NUMERIC_KINDS = "fiub"


def regular_file(path: Path, limit: int, where: str) -> int:
    """The size of ``path`` after checking it is a regular file (links followed) of at most ``limit`` bytes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{where}: {path.name} is missing") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read {path.name} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{where}: {path.name} is not a regular file")
    if info.st_size > limit:
        raise UsageError(f"{where}: {path.name} is {info.st_size:,} bytes, more than the "
                         f"{limit:,} a model file may have")
    return info.st_size


def read_json(path: Path, where: str, limit: int = MAX_JSON_BYTES) -> Any:
    """Parsed JSON of a checked regular file."""
    regular_file(path, limit, where)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: {path.name} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read {path.name} ({exc.strerror or exc})") from None


#: Model formats emocause writes -> the backend that reads them (a hint when the other one is asked).
FORMATS = {"emocause-linear-model": "trained", "emocause-finetuned-model": "finetuned"}
MAX_DESCRIPTION_BYTES = 1024 * 1024


def read_description(directory: Path, fmt: str, version: int,
                     retrain: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``model.json`` of a model directory: (its document, its emotions), checked.

    One line when the directory or file is missing, the format is another
    backend's (naming that backend), the version is not ``version``, or the
    emotions are not distinct basic emotions.  ``retrain`` is the command to suggest.
    """
    from emocause.emotions.taxonomy import BASIC

    path = directory / "model.json"
    if not path.exists() and not path.is_symlink():
        what = "does not exist" if not directory.exists() else "has no model.json"
        raise UsageError(f"model {directory} {what}; train one with `{retrain}`")
    where = f"model {directory}"
    doc = read_json(path, where, limit=MAX_DESCRIPTION_BYTES)
    found = doc.get("format") if isinstance(doc, dict) else None
    if found != fmt:
        if found in FORMATS:
            raise UsageError(f"{where} is an {found} directory; use --backend {FORMATS[found]} "
                             f"--model {directory}")
        raise UsageError(f"{where}: model.json is not an emocause model description")
    if doc.get("version") != version:
        raise UsageError(f"{where}: format version {doc.get('version')} is not supported (this "
                         f"emocause reads {version}); retrain with `{retrain}`")
    emotions = doc.get("emotions")
    if not (isinstance(emotions, list) and emotions and all(e in BASIC for e in emotions)
            and len(set(emotions)) == len(emotions)):
        raise UsageError(f"{where}: model.json must list its emotions, among {', '.join(BASIC)}")
    return doc, tuple(emotions)


def read_array(path: Path, where: str, ndim: int | None = None,
               shape: Sequence[int | None] | None = None, limit: int = MAX_ARRAY_BYTES) -> np.ndarray:
    """A numeric ``.npy`` array, its header checked before the data is read.

    ``shape`` may fix some dimensions (``None`` = any).  Object, string,
    complex and structured dtypes are refused, and so is a header whose shape
    does not match the file's size: nothing is allocated from a crafted header.
    """
    size = regular_file(path, limit, where)
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                dims, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):
                dims, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = fh.tell()
            if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None \
                    or dtype.subdtype is not None:
                raise UsageError(f"{where}: {path.name} is not a plain numeric array "
                                 f"(dtype {dtype.str})")
            if ndim is not None and len(dims) != ndim or shape is not None and (
                    len(dims) != len(shape) or any(want is not None and got != want
                                                   for got, want in zip(dims, shape))):
                want = "x".join("?" if d is None else str(d) for d in (shape or [None] * (ndim or 0)))
                raise UsageError(f"{where}: {path.name} has shape {tuple(dims)}, expected {want}")
            count = math.prod(int(d) for d in dims)
            if count * dtype.itemsize != size - offset:
                raise UsageError(f"{where}: {path.name} claims shape {tuple(dims)} but holds "
                                 f"{size - offset:,} bytes of data")
            data = np.frombuffer(fh.read(count * dtype.itemsize), dtype=dtype, count=count)
    except UsageError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(f"{where}: {path.name} is not a plain numeric array ({exc})") from None
    array = data.reshape(dims, order="F" if fortran else "C")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise UsageError(f"{where}: {path.name} holds NaN or infinite values")
    return np.array(array, dtype=array.dtype.newbyteorder("="))


__all__ = ["FORMATS", "MAX_ARRAY_BYTES", "MAX_JSON_BYTES", "read_array", "read_description", "read_json",
           "regular_file"]
