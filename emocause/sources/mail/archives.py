"""Archive files: plain, gzip, bzip2 and zip mboxes, streamed and split into messages under caps.

Nothing is unpacked whole: an archive is read through a decompressing stream,
line by line, and split into messages on ``From `` separator lines.  Two caps
(:class:`MailLimits`, documented in ``docs/mail.md``) keep a decompression bomb
cheap: a message past ``max_message_bytes`` is skipped and counted (its bytes
are read and dropped, never held), and an archive that decompresses past
``max_archive_bytes`` stops with one line naming the option that raises it.
Compression is detected by magic bytes, not names, because servers mislabel
archives.

Splitting: a ``From `` line starts a message when it looks like an mbox
separator (``From sender date`` with a time of day, as every mbox writer
puts it, or a lone ``From sender`` after a blank line), so an unescaped body
line such as "From my point of view ..." stays in its message.  Writers escape
body lines starting ``From `` as ``>From `` (mboxo) or add one more ``>``
(mboxrd); one ``>`` is removed from every ``>...>From `` line, which undoes
both, while a real quote (``> From``) keeps its ``>``.
"""

from __future__ import annotations

import bz2
import gzip
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

from emocause.errors import UsageError
from emocause.sources.limits import MAX_ARCHIVE_MB, MAX_DOWNLOAD_MB, MAX_MESSAGE_MB, MB

ARCHIVE_EXT = (".txt", ".txt.gz", ".mbox", ".mbox.gz", ".mbx", ".gz", ".bz2", ".zip")
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"PK\x03\x04", "zip"))
# "From sender date" with a time of day (mboxo/mboxrd/Pipermail/git), or a bare "From sender".
_SEPARATOR = re.compile(rb"From \S.*\d{1,2}:\d{2}")  # used with match() at a line start
_BARE_SEPARATOR = re.compile(rb"From \S+[ \t\r]*(?:\n|\Z)")


@dataclass(frozen=True)
class MailLimits:
    """Caps on what one archive may cost (see docs/mail.md)."""

    max_message_bytes: int = MAX_MESSAGE_MB * MB    # a larger message is skipped and counted
    max_archive_bytes: int = MAX_ARCHIVE_MB * MB    # decompressed bytes of one compressed archive
    max_download_bytes: int = MAX_DOWNLOAD_MB * MB  # one remote archive as sent

    def check(self) -> MailLimits:
        if min(self.max_message_bytes, self.max_archive_bytes, self.max_download_bytes) <= 0:
            raise UsageError("--max-message-mb, --max-archive-mb and --max-download-mb must be "
                             "positive")
        return self


def _kind(head: bytes) -> str:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "plain"


def _looks_like_mbox(head: bytes) -> bool:
    """An mbox starts with a ``From `` line (blank lines before it tolerated); empty is one too."""
    head = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return not head or head.startswith(b"From ")


@dataclass
class Member:
    """One mbox inside an archive file: a label for urls and messages, and how to stream it."""

    label: str
    open: Callable[[], AbstractContextManager[IO[bytes]]]
    compressed: bool


@contextmanager
def _decompressed(raw: IO[bytes], kind: str) -> Iterator[IO[bytes]]:
    if kind == "gzip":
        with gzip.GzipFile(fileobj=raw, mode="rb") as f:
            yield f
    elif kind == "bzip2":
        with bz2.BZ2File(raw, mode="rb") as f:
            yield f
    else:
        yield raw


@contextmanager
def _file(path: Path, kind: str) -> Iterator[IO[bytes]]:
    with path.open("rb") as raw, _decompressed(raw, kind) as f:
        yield f


@contextmanager
def _member(zf: zipfile.ZipFile, name: str, kind: str) -> Iterator[IO[bytes]]:
    with zf.open(name) as raw, _decompressed(raw, kind) as f:
        yield f


def _head(opener: Callable[[], AbstractContextManager[IO[bytes]]], n: int = 4096) -> bytes:
    with opener() as f:
        return f.read(n)


_CORRUPT = (OSError, EOFError, zlib.error, zipfile.BadZipFile, ValueError)


@contextmanager
def mbox_members(path: Path, label: str | None = None) -> Iterator[tuple[list[Member], int]]:
    """The mboxes inside ``path`` (plain, gzip, bzip2 or zip of those) and how many members are not mbox.

    Only heads are read here; :func:`read_member` streams the rest while the
    block is open (a zip is opened once for all its members).  An unreadable or
    corrupt file is one line naming it.
    """
    label = label or str(path)
    kind = "file"
    with ExitStack() as stack:
        try:
            with path.open("rb") as f:
                kind = _kind(f.read(4))
            if kind != "zip":
                opener = partial(_file, path, kind)
                ok = _looks_like_mbox(_head(opener))
                found = [Member(label, opener, kind != "plain")] if ok else []
                skipped = int(not ok)
            else:
                zf = stack.enter_context(zipfile.ZipFile(path))
                found, skipped = [], 0
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    inner = _kind(_head(partial(_member, zf, info.filename, "plain"), 4))
                    opener = partial(_member, zf, info.filename, inner)
                    if inner != "zip" and _looks_like_mbox(_head(opener)):
                        found.append(Member(f"{label}/{info.filename}", opener, True))
                    else:
                        skipped += 1
        except _CORRUPT as exc:
            raise UsageError(f"{label}: not a readable {kind} archive ({exc})") from None
        yield found, skipped


_FROM_LINE = re.compile(rb"^From [^\n]*(?:\n|\Z)", re.M)
_FROM_QUOTED = re.compile(rb"^>(>*From )", re.M)
_BLOCK = 1 << 20
_LONG_LINE = 1 << 16  # a line longer than this is message content, never a separator


def _blank_before(data: bytes, at: int, default: bool) -> bool:
    """Whether the line before the one starting at ``data[at]`` is blank (``default`` at 0)."""
    if at == 0:
        return default
    j = data.rfind(b"\n", 0, at - 1)
    return data[j + 1:at - 1] in (b"", b"\r")


class _Message:
    """The bytes of one message as they arrive; dropped (and remembered as too large) past the cap."""

    def __init__(self, cap: int) -> None:
        self.cap, self.parts, self.size, self.too_big = cap, [], 0, False

    def add(self, piece: bytes) -> None:
        if self.too_big or not piece:
            return
        self.size += len(piece)
        if self.size > self.cap:
            self.too_big, self.parts = True, []
        else:
            self.parts.append(piece)

    def take(self) -> bytes | None:
        return None if self.too_big else _FROM_QUOTED.sub(rb"\1", b"".join(self.parts))


def split_mbox(stream: IO[bytes], *, max_message_bytes: int,
               count: Callable[[int], None] | None = None) -> Iterator[bytes | None]:
    """The messages of an mbox stream, as bytes without the separator line; ``None`` for one too large.

    Reads blocks of 1 MiB and finds ``From `` lines with one regular expression
    per block (a Python loop over lines costs more than parsing the messages).
    ``count`` is told every block's size (the caller's archive cap).
    """
    msg = _Message(max_message_bytes)
    pending = b""
    started, first, blank, midline = False, True, True, False
    while True:
        block = stream.read(_BLOCK)
        if block and count is not None:
            count(len(block))
        if first:
            block, first = block.lstrip(b"\xef\xbb\xbf"), False
        data = pending + block
        cut = len(data)
        if block:  # hold back an incomplete last line: a separator may continue in the next block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) <= _LONG_LINE:
                    pending = data
                    continue
                cut = len(data)  # a line this long is message content, never a separator
        pos = 0
        for m in _FROM_LINE.finditer(data, 0, cut):
            at = m.start()
            if at == 0 and midline:
                continue  # the rest of a long line, not a line start
            if started and not (_SEPARATOR.match(data, at, m.end())
                                or (_BARE_SEPARATOR.match(data, at, m.end())
                                    and _blank_before(data, at, blank))):
                continue
            if started:
                msg.add(data[pos:at])
                yield msg.take()
            started, msg, pos = True, _Message(max_message_bytes), m.end()
        if started:
            msg.add(data[pos:cut])
        if cut:
            blank = _blank_before(data, cut, blank)
            midline = data[cut - 1:cut] != b"\n"
        pending = data[cut:]
        if not block:
            break
    if started:
        yield msg.take()


def read_member(member: Member, limits: MailLimits, option: str = "--max-archive-mb"
                ) -> Iterator[bytes | None]:
    """Stream one member's messages under ``limits`` (corrupt data and the archive cap: one line)."""
    total = 0

    def count(n: int) -> None:
        nonlocal total
        total += n
        if total > limits.max_archive_bytes:
            raise UsageError(f"{member.label}: decompresses to more than "
                             f"{limits.max_archive_bytes / MB:,.0f} MB (a decompression bomb?); "
                             f"not read further. Raise {option} if it is real")
    try:
        with member.open() as stream:
            yield from split_mbox(stream, max_message_bytes=limits.max_message_bytes,
                                  count=count if member.compressed else None)
    except _CORRUPT as exc:
        raise UsageError(f"{member.label}: not a readable archive ({exc})") from None


def read_mbox(path: Path, limits: MailLimits = MailLimits()) -> Iterator[bytes]:
    """The messages of an mbox file (any compression), as bytes; too-large ones left out."""
    with mbox_members(path) as (members, _):
        for member in members:
            for raw in read_member(member, limits):
                if raw is not None:
                    yield raw


def find_archives(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Files to read, as (path, named explicitly); folders are walked recursively, sorted.

    A missing path is one line; hidden files (``.DS_Store``, ``.git``) in folders are ignored.
    """
    out: list[tuple[Path, bool]] = []
    for p in paths:
        if p.is_dir():
            out.extend((f, False) for f in sorted(p.rglob("*"))
                       if f.is_file() and not any(x.startswith(".") for x in f.relative_to(p).parts))
        elif p.is_file():
            out.append((p, True))
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def default_project(paths: list[Path]) -> str:
    """The first path's name without archive suffixes: ``dev-list.mbox.gz`` -> ``dev-list``."""
    name = paths[0].resolve().name if paths else "mail"
    for ext in (".gz", ".bz2", ".zip", ".mbox", ".txt", ".mbx"):
        if name.lower().endswith(ext) and len(name) > len(ext):
            name = name[: -len(ext)]
    return name or "mail"
