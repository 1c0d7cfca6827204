"""Files: atomic writes, content hashes and the up-front check that an output can be written.

Every result file goes through :func:`atomic_path` so a crash or Ctrl-C never
leaves half a file, and every command calls :func:`check_writable` before any
work starts, so a read-only or missing folder costs one line, not a run.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emocause.errors import UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_error(path: str | Path, exc: OSError) -> UsageError:
    """One line for a failed write (disk full, permission denied, ...)."""
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return UsageError(f"cannot write {path}: {reason}")


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path``; renamed over it when the block ends without error.

    The file gets the permissions a plain ``open`` would give (``mkstemp`` makes 0600).
    An ``OSError`` while writing becomes one :class:`UsageError` line.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    except OSError as exc:
        raise write_error(target, exc) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        raise write_error(target, exc) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def file_sha256(path: str | Path) -> str | None:
    """The SHA-256 of a file's bytes, or ``None`` when it is not a regular file."""
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_writable(path: str | Path, option: str = "--out", directory: bool = False) -> Path:
    """Fail now, in one line, if ``path`` (a file, or a folder with ``directory``) cannot be written.

    Missing parent folders are fine when they can be created; a path that exists with the
    wrong type, or a folder without write permission, is not.
    """
    p = Path(path)
    if directory:
        if p.exists() and not p.is_dir():
            raise UsageError(f"{option} {p}: exists and is not a folder")
        folder = p
    else:
        if p.is_dir():
            raise UsageError(f"{option} {p}: is a folder; give a file name")
        folder = p.parent if str(p.parent) else Path(".")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"{option} {p}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {p}: {probe} is not writable")
    try:  # os.access says yes to root even where a write fails (immutable folder, read-only mount)
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {p}: {probe} is not writable ({exc.strerror or exc})") from None
    if not directory and p.exists() and not os.access(p, os.W_OK):
        # a read-only file can still be replaced by rename when its folder is writable
        pass
    return p
