"""Reading and writing tables (CSV, TSV, JSONL, JSON, Parquet), chosen by file extension.

Everything that takes or writes a file of comments goes through here, so formats,
compression, encodings, column auto-detection and error messages are the same in
every command.

Reading is strict on purpose: a CSV row with more or fewer fields than the header
(an unquoted comma in a comment) is an error naming its line, because pandas would
silently shift the values into the wrong columns.  ``TableOptions(bad_lines="skip")``
skips such rows instead and counts them (:attr:`Table.skipped_lines`).  Compression
follows the extension both ways (``.gz``, ``.bz2``, ``.xz``, ``.zst``), CSV separators
and non-UTF-8 encodings are detected (and can be given), and ``-`` means stdin or
stdout.  See docs/reliability.md.
"""

from __future__ import annotations

import abc
import bz2
import codecs
import contextlib
import contextvars
import csv
import glob
import gzip
import io
import itertools
import json
import lzma
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from emocause.errors import UsageError
from emocause.files import atomic_path, check_writable, write_error

#: Column names tried, in order, when ``--text-col`` is not given.
TEXT_COLUMNS = ("text", "Text", "body", "Body", "modified_comment", "Comment", "comment",
                "message", "content", "sentence")
#: Column names tried, in order, when ``--id-col`` is not given.
ID_COLUMNS = ("id", "ID", "Id", "comment_id", "Comment_ID", "message_id")

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
           ".parquet": "parquet", ".pq": "parquet"}
#: Compression by extension (the same both ways).
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
#: Separators tried on a CSV header line when none is given, preferred in this order on a tie.
SEPARATORS = (",", "\t", ";", "|")
BAD_LINES = ("error", "skip")
#: The path that means stdin (input) or stdout (output).
STDIO = "-"

csv.field_size_limit(2**31 - 1)  # a comment may be longer than the csv module's 128 KiB default


def is_stdio(path: str | Path | None) -> bool:
    """Whether ``path`` is ``-`` (stdin for an input, stdout for an output)."""
    return path is not None and str(path) == STDIO


@dataclass(frozen=True)
class TableOptions:
    """How to read text tables; every default detects.

    ``encoding``: ``None`` reads UTF-8 (a BOM is fine; UTF-16/32 with a BOM too) and, when
    the bytes are not UTF-8, detects the encoding with charset-normalizer.  ``sep``: ``None``
    sniffs the CSV separator from the header line (``,`` tab ``;`` ``|``; a ``.tsv`` file
    uses tab).  ``bad_lines``: ``error`` stops at a malformed line, naming it; ``skip``
    skips it and counts it.  ``on_read`` is called with each :class:`Table` read (the CLI
    prints its notes there).
    """

    encoding: str | None = None
    sep: str | None = None
    bad_lines: str = "error"
    on_read: Callable[[Table], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.bad_lines not in BAD_LINES:
            raise UsageError(f"--bad-lines must be one of {', '.join(BAD_LINES)}, not {self.bad_lines!r}")
        if self.sep is not None:
            sep = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(self.sep, self.sep)
            if len(sep) != 1 or sep in "\"\r\n":
                raise UsageError(f"--sep must be one character (or \\t), not {self.sep!r}")
            object.__setattr__(self, "sep", sep)
        if self.encoding is not None:
            try:
                object.__setattr__(self, "encoding", codecs.lookup(self.encoding).name)
            except LookupError:
                raise UsageError(f"--encoding {self.encoding!r}: unknown encoding") from None


class _ReadInfo(abc.ABC):
    """What a read found, for manifests and notes (a :class:`Table` or a :class:`TableStream`)."""

    path: str
    format: str
    compression: str | None
    encoding: str | None
    encoding_detected: bool
    sep: str | None
    skipped_lines: tuple[int, ...]

    @property
    @abc.abstractmethod
    def rows(self) -> int:
        """Rows read (after ``--limit``-free reading; lines skipped not counted)."""

    @property
    def skipped_count(self) -> int:
        return len(self.skipped_lines)

    def describe(self) -> dict[str, Any]:
        """For manifests: format, compression, encoding, separator, rows and lines skipped."""
        out: dict[str, Any] = {"format": self.format, "rows": self.rows}
        if self.compression:
            out["compression"] = self.compression
        if self.encoding:
            out["encoding"] = self.encoding + (" (detected)" if self.encoding_detected else "")
        if self.sep:
            out["sep"] = self.sep
        out["skipped_lines"] = self.skipped_count
        if self.skipped_lines:
            out["skipped_at"] = list(self.skipped_lines[:20])
        return out

    def notes(self) -> list[str]:
        """What a user should know about this read (one line each), e.g. lines skipped."""
        notes = []
        if self.encoding_detected:
            notes.append(f"{self.path}: not UTF-8; read as {self.encoding} (detected; pass --encoding "
                         f"to choose another)")
        if self.skipped_lines:
            shown = ", ".join(map(str, self.skipped_lines[:10])) + (", ..." if self.skipped_count > 10 else "")
            notes.append(f"{self.path}: skipped {self.skipped_count:,} malformed line(s) "
                         f"(line {shown}); {self.rows:,} rows read")
        return notes


@dataclass
class Table(_ReadInfo):
    """A table read from a file, and how it was read."""

    frame: pd.DataFrame
    path: str
    format: str
    compression: str | None = None
    encoding: str | None = None
    encoding_detected: bool = False
    sep: str | None = None
    skipped_lines: tuple[int, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.frame)


_CURRENT: contextvars.ContextVar[TableOptions | None] = contextvars.ContextVar("emocause_table_options",
                                                                                default=None)


@contextlib.contextmanager
def using(options: TableOptions) -> Iterator[TableOptions]:
    """Make ``options`` the default of every :func:`read_table` call inside the block.

    A command whose reads happen deep inside library code (evaluate reads gold, predictions
    and a comparison file) sets its flags once here instead of threading them through.
    """
    token = _CURRENT.set(options)
    try:
        yield options
    finally:
        _CURRENT.reset(token)


def _split_suffixes(path: str | Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = None
    if len(suffixes) > 1 and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    return (suffixes[-1] if suffixes else ""), compression


def table_format(path: str | Path) -> str:
    """The table format implied by ``path``'s extension (``-`` is CSV on stdout)."""
    if is_stdio(path):
        return "csv"
    ext, compression = _split_suffixes(path)
    name = Path(path).name
    if ext not in FORMATS:
        raise UsageError(f"{name}: unknown table format {ext or '(no extension)'!r}; use one of "
                         f"{', '.join(sorted(FORMATS))}, optionally compressed "
                         f"({', '.join(COMPRESSIONS)})")
    if FORMATS[ext] == "parquet" and compression:
        raise UsageError(f"{name}: Parquet compresses internally; drop the {Path(path).suffix} extension")
    return FORMATS[ext]


def check_output(path: str | Path, option: str = "--out") -> str:
    """Before any work: the output's format is known and its folder writable (``-`` is stdout)."""
    fmt = table_format(path)
    if not is_stdio(path):
        check_writable(path, option)
    return fmt


def compression_of(path: str | Path) -> str | None:
    """The compression implied by ``path``'s extension, or ``None``."""
    return None if is_stdio(path) else _split_suffixes(path)[1]


# ---------------------------------------------------------------- compression

def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a declared dependency
        raise UsageError(".zst tables need the zstandard package: pip install zstandard") from None
    return zstandard


def _decompressing(raw: IO[bytes], method: str | None) -> IO[bytes]:
    if method is None:
        return raw
    if method == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if method == "bz2":
        return bz2.BZ2File(raw, "rb")
    if method == "xz":
        return lzma.LZMAFile(raw, "rb")
    return _zstandard().ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def _sniff_compression(head: bytes) -> str | None:
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def _decompress_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [EOFError, lzma.LZMAError, gzip.BadGzipFile, zlib.error]
    with contextlib.suppress(ImportError):
        import zstandard

        errors.append(zstandard.ZstdError)
    return tuple(errors)


_STDIN_TAKEN = False


class _Source:
    """The bytes of one input (a file or stdin), opened as often as needed, decompressed."""

    def __init__(self, path: str | Path) -> None:
        self.stdio = is_stdio(path)
        self.name = "<stdin>" if self.stdio else str(path)
        self._data: bytes | None = None
        self.compression: str | None = None
        if self.stdio:
            global _STDIN_TAKEN
            if _STDIN_TAKEN:
                raise UsageError("only one input can be '-' (stdin), and it can be read once")
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("input '-' reads a table from stdin: pipe one in (e.g. `< comments.csv`)")
            _STDIN_TAKEN = True
            self._take(sys.stdin.buffer)
            self.format = _sniff_format(self._data or b"")
            return
        self.path = Path(path)
        self.format = table_format(self.path)
        mode = self.path.stat().st_mode
        if stat.S_ISFIFO(mode):  # a pipe can be read once: keep its bytes
            with self.path.open("rb") as f:
                self._take(f)
            return
        if not stat.S_ISREG(mode):
            raise UsageError(f"{self.name}: not a regular file (a device or socket)")
        self.compression = compression_of(self.path)
        if self.compression is None and self.format != "parquet":
            with self.path.open("rb") as f:
                self.compression = _sniff_compression(f.read(8))

    def _take(self, stream: IO[bytes]) -> None:
        """Keep all of a once-readable stream, decompressed (compression by magic number)."""
        data = stream.read()
        self.compression = _sniff_compression(data[:8])
        if self.compression:
            with self._guard():
                data = _decompressing(io.BytesIO(data), self.compression).read()
        self._data = data

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except _decompress_errors() as exc:
            raise UsageError(f"{self.name}: cannot decompress ({self.compression}): {exc}") from None

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The (decompressed) bytes as a stream."""
        with contextlib.ExitStack() as stack:
            if self._data is not None:
                yield io.BytesIO(self._data)
                return
            raw = stack.enter_context(self.path.open("rb"))
            stream = stack.enter_context(_decompressing(raw, self.compression))
            with self._guard():
                yield stream

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()

    @property
    def buffered(self) -> bool:
        """Whether the bytes are held in memory (stdin, a pipe)."""
        return self._data is not None


def _sniff_format(data: bytes) -> str:
    """The format of stdin: Parquet by its magic number, JSON(L) by its first character, else CSV."""
    if data.startswith(b"PAR1"):
        return "parquet"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return {b"{": "jsonl", b"[": "json"}.get(head, "csv")


# ---------------------------------------------------------------- encodings

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HIGH = re.compile(rb"[\x80-\xff]")


#: On a tie the detector's order is alphabetical; prefer the most common legacy encodings.
_PREFERRED = ("cp1252", "iso8859-1", "cp1251", "cp932", "gb18030", "cp949")


def detect_encoding(data: bytes) -> str | None:
    """The encoding of non-UTF-8 ``data``: charset-normalizer's best guess that decodes it all.

    Only the neighbourhoods of the non-ASCII bytes are shown to the detector, so a file
    that is ASCII but for one accented name deep inside is judged on that name.  Short
    samples often tie (cp1250 and cp1252 read ``café`` equally well); a tie goes to the
    more common encoding.  A guess can still be wrong: the CLI says what it chose.
    """
    return _best_encoding(_high_windows([data]) or data[: 1 << 20], lambda enc: _decodes([data], enc))


def _stream_encoding(src: _Source) -> str | None:
    """:func:`detect_encoding` over a file read block by block (memory does not grow with it)."""
    def blocks() -> Iterator[bytes]:
        with src.open() as f:
            yield from iter(lambda: f.read(1 << 20), b"")

    with src.open() as f:
        head = f.read(1 << 20)
    return _best_encoding(_high_windows(blocks()) or head, lambda enc: _decodes(blocks(), enc))


def _high_windows(blocks: Iterable[bytes]) -> bytes:
    """The 400-byte neighbourhoods of the first 4,000 non-ASCII bytes, joined by newlines
    (the same windows whether the bytes come in one block or many)."""
    windows: list[bytes] = []
    buf, base, scan = b"", 0, 0  # buf holds the bytes from offset base; scan: the next offset to search

    def take(final: bool) -> bool:
        nonlocal scan
        for m in _HIGH.finditer(buf, scan - base):
            at = base + m.start()
            if not final and m.end() + 199 > len(buf):
                scan = at  # its window is not all here yet
                return False
            windows.append(buf[max(0, at - 200) - base:at + 200 - base])
            scan = at + 1
            if len(windows) >= 4000:
                return True
        scan = base + len(buf)
        return False

    for block in blocks:
        buf += block
        if take(False):
            return b"\n".join(windows)
        cut = max(0, scan - 200 - base)
        buf, base = buf[cut:], base + cut
    take(True)
    return b"\n".join(windows)


def _decodes(blocks: Iterable[bytes], encoding: str) -> bool:
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        for block in blocks:
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _best_encoding(sample: bytes, decodes: Callable[[str], bool]) -> str | None:
    from charset_normalizer import from_bytes

    fits = []
    for match in from_bytes(sample):
        if decodes(match.encoding):
            fits.append((round(match.chaos, 3), -round(match.coherence, 3), codecs.lookup(match.encoding).name))
    if not fits:
        return None
    best = min(f[:2] for f in fits)
    tied = [name for *score, name in fits if tuple(score) == best]
    return next((name for name in _PREFERRED if name in tied), tied[0])


def _blocks(src: _Source, size: int = 1 << 20) -> Iterator[bytes]:
    with src.open() as f:
        yield from iter(lambda: f.read(size), b"")


def _bad_line(blocks: Iterable[bytes], encoding: str) -> int:
    """The line of the first byte that ``encoding`` cannot decode (0 when all decode)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    for block in itertools.chain(blocks, [b""]):
        pending = decoder.getstate()[0]  # the start of a character cut by the previous block
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            return lines - pending.count(b"\n") + (pending + block).count(b"\n", 0, max(0, exc.start)) + 1
        if not block:
            return 0
        lines += block.count(b"\n")
    return 0


def _text_encoding(src: _Source, options: TableOptions) -> str:
    """The encoding to try first: ``--encoding``, else UTF-16/32 by their BOM, else UTF-8."""
    encoding = options.encoding
    if encoding in (None, "utf-8"):
        with src.open() as f:
            head = f.read(4)
        encoding = next((enc for mark, enc in _BOMS if head.startswith(mark)), "utf-8-sig")
    return encoding


@contextlib.contextmanager
def _text(src: _Source, encoding: str) -> Iterator[IO[str]]:
    """The text of ``src`` in ``encoding``, read as needed (strict: a bad byte raises)."""
    with src.open() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        try:
            yield text
        finally:
            with contextlib.suppress(ValueError):
                text.detach()


def _decoded(src: _Source, options: TableOptions, parse: Callable[[IO[str]], Any]) -> tuple[Any, str, bool]:
    """Run ``parse`` over the text of ``src``; returns (result, encoding, detected).

    Not UTF-8 (and no ``--encoding``): the encoding is detected and ``parse`` runs again.
    The bytes are read block by block, never held whole.
    """
    encoding = _text_encoding(src, options)
    try:
        with _text(src, encoding) as text:
            return parse(text), _encoding_name(encoding), False
    except UnicodeDecodeError:
        line = _bad_line(_blocks(src), encoding)
        if options.encoding:
            raise UsageError(f"{src.name} line {line}: bytes that are not valid {options.encoding}; "
                             f"pass the file's --encoding") from None
        detected = _stream_encoding(src)
        if detected is None:
            raise UsageError(f"{src.name} line {line}: not UTF-8 and the encoding could not be "
                             f"detected; pass --encoding") from None
        with _text(src, detected) as text:
            return parse(text), detected, True


def _encoding_name(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else codecs.lookup(encoding).name


# ---------------------------------------------------------------- parsers

def _sniff_separator(first_line: str) -> str:
    """The candidate separator that splits the header line into the most fields (``,`` on a tie)."""
    best, most = ",", 1
    for sep in SEPARATORS:
        try:
            n = len(next(csv.reader([first_line], delimiter=sep)))
        except (csv.Error, StopIteration):
            continue
        if n > most:
            best, most = sep, n
    return best


def _column_names(header: Sequence[str]) -> list[str]:
    """pandas' names for a header: ``Unnamed: i`` for a blank one, ``name.1`` for a repeat."""
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header):
        name = raw if raw != "" else f"Unnamed: {i}"
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen.add(name)
        names.append(name)
    return names


@dataclass
class _Parsed:
    frame: pd.DataFrame
    sep: str | None = None
    skipped: tuple[int, ...] = ()


class _CsvRecords:
    """The records of a CSV text, checked strictly: each has as many fields as the header.

    Blank lines are ignored; a record with another field count is an error naming its
    line (or, with ``bad_lines="skip"``, reported to ``on_skip`` and left out).  Used by
    the whole-table reader and the chunked one alike, so both accept the same files.
    """

    def __init__(self, text: IO[str], name: str, sep: str | None, bad_lines: str,
                 on_skip: Callable[[int], None]) -> None:
        first, blank = text.readline(), 0
        while first and not first.strip():  # pandas skips blank lines before the header too
            first, blank = text.readline(), blank + 1
        if not first:
            raise UsageError(f"{name}: the file is empty (no header line)")
        self.name, self.bad_lines, self.on_skip = name, bad_lines, on_skip
        self.sniffed = sep is None
        self.sep = sep or _sniff_separator(first)
        self._reader = csv.reader(itertools.chain([first], text), delimiter=self.sep, strict=True)
        self._blank = self._prev = blank  # the last line read; a record starts on the line after
        with self._errors():
            self.header = next(self._reader)
        self._prev = self._reader.line_num + blank

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise UsageError(f"{self.name} line {self._prev + 1}: a quoted value opened here never closes "
                                 f'(an unbalanced " quote); the rest of the file would be read into it') from None
            raise UsageError(f"{self.name} line {self._reader.line_num + self._blank}: malformed CSV "
                             f"({exc})") from None

    def __iter__(self) -> Iterator[list[str]]:
        ncol = len(self.header)
        with self._errors():
            for rec in self._reader:
                start, self._prev = self._prev + 1, self._reader.line_num + self._blank
                if len(rec) == ncol:
                    yield rec
                elif not rec or (len(rec) == 1 and not rec[0].strip()):
                    continue  # a blank line
                elif self.bad_lines == "skip":
                    self.on_skip(start)
                else:
                    how = "detected from the header; pass --sep if that is wrong" if self.sniffed else "from --sep"
                    raise UsageError(
                        f"{self.name} line {start}: {len(rec)} fields where the header has {ncol} (separator "
                        f"{self.sep!r}, {how}); quote values that contain the separator, or pass "
                        f"--bad-lines skip to skip and count such lines")

    def frame(self, rows: list[list[str]]) -> pd.DataFrame:
        """``rows`` as a frame of text cells (ids like ``007`` stay as written)."""
        return pd.DataFrame(rows, columns=_column_names(self.header), dtype=str)


def _parse_csv(text: IO[str], name: str, sep: str | None, bad_lines: str) -> _Parsed:
    skipped: list[int] = []
    records = _CsvRecords(text, name, sep, bad_lines, skipped.append)
    return _Parsed(records.frame(list(records)), records.sep, tuple(skipped))


#: A JSON value's kind, as far as pandas' type inference for a column cares.
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if 0 <= value < 2**63:
            return "int"
        return "negint" if -2**63 <= value < 0 else "uint" if 0 <= value < 2**64 else "bigint"
    if isinstance(value, float) and math.isnan(value):
        return "nan"  # JSON's NaN: a missing value to pandas
    return {float: "float", str: "str", dict: "dict", list: "list"}.get(type(value), type(value).__name__)


#: One value of each kind: pandas infers a column's type from the kinds of its values only.
_SAMPLE = {"null": None, "bool": True, "int": 1, "negint": -1, "uint": 2**63, "bigint": 2**64, "float": 1.5, "nan": math.nan, "str": "a",
           "dict": {"k": 1}, "list": [1]}


class _JsonColumns:
    """The columns of a JSON Lines file and the kinds of values in each (seen in a first pass).

    A JSON Lines file has no header: a key may first appear on the last line, and a
    column of whole numbers becomes floats when one is missing.  Chunks are typed from
    this summary, so each is typed as the whole file would be.
    """

    def __init__(self) -> None:
        self.kinds: dict[str, set[str]] = {}
        self.present: dict[str, int] = {}
        self.records = 0

    def add(self, record: dict[str, Any]) -> None:
        self.records += 1
        for key, value in record.items():
            kinds = self.kinds.setdefault(key, set())
            kinds.add(_kind(value))
            self.present[key] = self.present.get(key, 0) + 1

    def dtypes(self) -> dict[str, Any]:
        """The dtype of each column in the frame of all records (pandas decides, on one value per kind)."""
        out: dict[str, Any] = {}
        for key, kinds in self.kinds.items():
            sample = [{key: _SAMPLE.get(k, k)} for k in sorted(kinds)]
            if self.present[key] < self.records:
                sample.append({})
            out[key] = _records_frame(sample)[key].dtype
        return out


def _records_frame(records: list[dict[str, Any]], dtypes: dict[str, Any] | None = None) -> pd.DataFrame:
    """A frame from JSON objects; whole numbers with gaps stay whole numbers (not 1.0).

    ``dtypes`` (a chunk of a larger file): the columns, in order, and their types in the
    frame of the whole file (:class:`_JsonColumns`).
    """
    if not records:
        return pd.DataFrame(columns=list(dtypes or ()))
    df = pd.DataFrame(records)
    if dtypes is not None:
        df = df.reindex(columns=list(dtypes))
        for col, dtype in dtypes.items():
            if df[col].dtype == dtype:
                continue
            if dtype == object:
                df[col] = pd.Series([r.get(col) for r in records], index=df.index, dtype=object)
            else:
                df[col] = df[col].astype(dtype)
        return df
    for col in df.columns:
        if df[col].dtype.kind == "f":
            values = [r.get(col) for r in records]
            if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
                df[col] = pd.Series(values, index=df.index, dtype=object)
    return df


def _jsonl_records(text: IO[str], name: str, bad_lines: str,
                   on_skip: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    """Every line's JSON object; a line that is not one is an error naming it (or skipped)."""
    for lineno, line in enumerate(text, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            problem = f"not valid JSON ({getattr(exc, 'msg', exc)})"
        else:
            if isinstance(obj, dict):
                yield obj
                continue
            problem = f"a JSON {type(obj).__name__}, expected an object"
        if bad_lines == "skip":
            on_skip(lineno)
        else:
            raise UsageError(f"{name} line {lineno}: {problem}; pass --bad-lines skip to skip and count "
                             f"such lines")


def _parse_jsonl(text: IO[str], name: str, bad_lines: str) -> _Parsed:
    skipped: list[int] = []
    records = list(_jsonl_records(text, name, bad_lines, skipped.append))
    return _Parsed(_records_frame(records), None, tuple(skipped))


def _parse_json(text: IO[str], name: str) -> _Parsed:
    raw = text.read()
    if not raw.strip():
        return _Parsed(pd.DataFrame())
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{name}: not valid JSON ({exc})") from None
    if isinstance(obj, list):
        bad = next((i for i, x in enumerate(obj) if not isinstance(x, dict)), None)
        if bad is not None:
            raise UsageError(f"{name}: item {bad} is a JSON {type(obj[bad]).__name__}, expected an object")
        return _Parsed(_records_frame(obj))
    if isinstance(obj, dict):
        try:
            return _Parsed(pd.DataFrame(obj))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{name}: a JSON object that is not a table of columns ({exc})") from None
    raise UsageError(f"{name}: a JSON {type(obj).__name__}, expected a list of objects")


# ---------------------------------------------------------------- reading

def _missing(p: Path) -> UsageError:
    parent = p.parent if str(p.parent) else Path(".")
    hint = ""
    if parent.is_dir():
        near = []
        for x in sorted(parent.iterdir()):
            with contextlib.suppress(UsageError):
                table_format(x)
                near.append(x.name)
        if near:
            hint = f" (tables in {parent}: {', '.join(near[:8])})"
    return UsageError(f"input file not found: {p}{hint}")


def load_table(path: str | Path, options: TableOptions | None = None) -> Table:
    """Read a table and say how it was read (encoding, separator, lines skipped).

    Every column is kept; CSV cells stay strings as written (ids like ``007`` too).
    """
    opts = options or _CURRENT.get() or TableOptions()
    src = _open_source(path)
    encoding, detected = None, False
    try:
        if src.format in ("csv", "tsv"):
            sep = opts.sep or ("\t" if src.format == "tsv" else None)
            parsed, encoding, detected = _decoded(
                src, opts, lambda t: _parse_csv(t, src.name, sep, opts.bad_lines))
        elif src.format == "jsonl":
            parsed, encoding, detected = _decoded(src, opts, lambda t: _parse_jsonl(t, src.name, opts.bad_lines))
        elif src.format == "json":
            parsed, encoding, detected = _decoded(src, opts, lambda t: _parse_json(t, src.name))
        else:
            parsed = _Parsed(_read_parquet(src))
    except OSError as exc:
        raise UsageError(f"{src.name}: cannot read: {exc.strerror or exc}") from None
    except MemoryError:
        raise UsageError(f"{src.name}: too large to read into memory") from None
    table = Table(parsed.frame, src.name, src.format, src.compression, encoding, detected, parsed.sep,
                  parsed.skipped)
    if opts.on_read is not None:
        opts.on_read(table)
    return table


def _open_source(path: str | Path) -> _Source:
    """The input ``path`` (``-``: stdin), checked: a known format, a file that exists."""
    if not is_stdio(path):
        p = Path(path)
        table_format(p)
        if not p.exists():
            raise _missing(p)
        if p.is_dir():
            raise UsageError(f"{p} is a directory, expected a table file")
    return _Source(path)


@contextlib.contextmanager
def _parquet_errors(src: _Source) -> Iterator[None]:
    try:
        yield
    except (ValueError, OSError, TypeError) as exc:  # pyarrow's errors derive from these
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{src.name}: cannot read as parquet: {first}") from None


def _parquet_file(src: _Source) -> Any:
    import pyarrow.parquet as pq

    with _parquet_errors(src):
        return pq.ParquetFile(io.BytesIO(src.read_bytes()) if src.buffered else src.path)


def _read_parquet(src: _Source) -> pd.DataFrame:
    with _parquet_errors(src):
        return _parquet_file(src).read().to_pandas()


# ---------------------------------------------------------------- reading in chunks

#: Rows per chunk when a table is read chunk by chunk.
CHUNK_ROWS = 10_000


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    return iter(lambda: list(itertools.islice(it, size)), [])


@dataclass
class TableStream(_ReadInfo):
    """A table read chunk by chunk, in bounded memory.

    :func:`scan_table` reads the file once (every check of :func:`load_table`: field
    counts, JSON, encoding) and keeps only what it found: the columns, the row count,
    the lines skipped.  :meth:`chunks` then reads it again, a chunk of rows at a time,
    each chunk typed as :func:`load_table` types the whole table (so
    ``pd.concat(stream.chunks())`` equals ``load_table(path).frame``).  A ``.json``
    file is one JSON document and is read whole; CSV, TSV, JSON Lines and Parquet are not.
    """

    path: str
    format: str
    columns: list[str]
    row_count: int
    compression: str | None = None
    encoding: str | None = None
    encoding_detected: bool = False
    sep: str | None = None
    #: The first 20 lines skipped (``skipped_count`` has them all).
    skipped_lines: tuple[int, ...] = ()
    skipped_total: int = 0
    _src: Any = field(default=None, repr=False)
    _codec: str = field(default="utf-8-sig", repr=False)
    _bad_lines: str = field(default="error", repr=False)
    _dtypes: dict[str, Any] | None = field(default=None, repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return self.row_count

    @property
    def skipped_count(self) -> int:
        return self.skipped_total

    def empty(self) -> pd.DataFrame:
        """A frame with the table's columns and no rows (to check column names)."""
        return pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns})

    def chunks(self, size: int = CHUNK_ROWS, limit: int | None = None) -> Iterator[pd.DataFrame]:
        """The rows, in order, ``size`` at a time (the first ``limit`` only, if given).

        A table without rows yields one empty chunk, so its columns and their types are known.
        """
        left = self.row_count if limit is None else min(limit, self.row_count)
        empty = None
        for chunk in self._chunks(max(1, size)):
            if left <= 0:
                break
            if len(chunk) > left:
                chunk = chunk.iloc[:left]
            left -= len(chunk)
            empty = False
            yield chunk
        if empty is None:
            yield self._empty_chunk()

    def _empty_chunk(self) -> pd.DataFrame:
        if self._frame is not None:
            return self._frame.iloc[:0]
        if self.format == "parquet":
            with _parquet_errors(self._src):
                return _parquet_file(self._src).schema_arrow.empty_table().to_pandas()
        if self.format == "jsonl":
            return _records_frame([], self._dtypes) if self.columns else pd.DataFrame()
        return pd.DataFrame([], columns=self.columns, dtype=str)

    def _chunks(self, size: int) -> Iterator[pd.DataFrame]:
        src = self._src
        if self._frame is not None:
            for i in range(0, len(self._frame), size):
                yield self._frame.iloc[i:i + size]
            return
        if self.format == "parquet":
            import pyarrow as pa

            pf = _parquet_file(src)
            with _parquet_errors(src):
                for batch in pf.iter_batches(batch_size=size):
                    yield pa.Table.from_batches([batch], schema=pf.schema_arrow).to_pandas()
            return
        ignore: Callable[[int], None] = lambda _line: None  # noqa: E731 - counted in the first pass
        with _text(src, self._codec) as text:
            if self.format == "jsonl":
                for batch in _batched(_jsonl_records(text, self.path, self._bad_lines, ignore), size):
                    yield _records_frame(batch, self._dtypes)
                return
            records = _CsvRecords(text, self.path, self.sep, self._bad_lines, ignore)
            for rows in _batched(records, size):
                yield records.frame(rows)


def scan_table(path: str | Path, options: TableOptions | None = None) -> TableStream:
    """Check a table in one pass and return it ready to be read in chunks (:class:`TableStream`).

    Every error :func:`load_table` reports is reported here, before any work starts;
    memory stays small whatever the file's size (stdin and pipes are held in memory,
    being readable once).
    """
    opts = options or _CURRENT.get() or TableOptions()
    src = _open_source(path)
    skipped: list[int] = []
    total = 0

    def skip(line: int) -> None:
        nonlocal total
        total += 1
        if len(skipped) < 20:
            skipped.append(line)

    def restart() -> None:  # a second try, in the detected encoding
        nonlocal total
        skipped.clear()
        total = 0

    def scan_csv(text: IO[str]) -> tuple[list[str], str, int]:
        restart()
        records = _CsvRecords(text, src.name, sep, opts.bad_lines, skip)
        return _column_names(records.header), records.sep, sum(1 for _ in records)

    def scan_jsonl(text: IO[str]) -> _JsonColumns:
        restart()
        columns = _JsonColumns()
        for record in _jsonl_records(text, src.name, opts.bad_lines, skip):
            columns.add(record)
        return columns

    stream: TableStream
    try:
        if src.format in ("csv", "tsv"):
            sep = opts.sep or ("\t" if src.format == "tsv" else None)
            (columns, found_sep, rows), encoding, detected = _decoded(src, opts, scan_csv)
            stream = TableStream(src.name, src.format, columns, rows, src.compression, encoding, detected,
                                 found_sep)
        elif src.format == "jsonl":
            found, encoding, detected = _decoded(src, opts, scan_jsonl)
            dtypes = found.dtypes()
            stream = TableStream(src.name, src.format, list(dtypes), found.records, src.compression, encoding,
                                 detected, _dtypes=dtypes)
        elif src.format == "json":
            parsed, encoding, detected = _decoded(src, opts, lambda t: _parse_json(t, src.name))
            stream = TableStream(src.name, src.format, list(parsed.frame.columns), len(parsed.frame),
                                 src.compression, encoding, detected, _frame=parsed.frame)
        else:
            pf = _parquet_file(src)
            with _parquet_errors(src):
                columns = list(pf.schema_arrow.empty_table().to_pandas().columns)
            stream = TableStream(src.name, src.format, columns, pf.metadata.num_rows, src.compression)
    except OSError as exc:
        raise UsageError(f"{src.name}: cannot read: {exc.strerror or exc}") from None
    stream.skipped_lines, stream.skipped_total = tuple(skipped), total
    stream._src, stream._bad_lines = src, opts.bad_lines
    if stream.encoding is not None:
        stream._codec = {"utf-8": "utf-8-sig"}.get(stream.encoding, stream.encoding)
    if opts.on_read is not None:
        opts.on_read(stream)
    return stream


def read_table(path: str | Path, options: TableOptions | None = None) -> pd.DataFrame:
    """Read a table (see :func:`load_table`); the options default to those set by :func:`using`."""
    return load_table(path, options).frame


# ---------------------------------------------------------------- writing

def _cell_text(value: Any) -> Any:
    """A cell of a mixed-type column as text; missing values stay missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _value_kind(value: Any) -> str | None:
    """What Arrow would type a cell as: numbers together, text, bools, lists, dicts (``None``: missing)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _mixed(series: pd.Series) -> bool:
    """Whether an object column holds values of more than one kind (``1`` beside ``"a"`` or ``True``)."""
    kinds = {_value_kind(v) for v in series} - {None}
    return len(kinds) > 1


def arrow_table(df: pd.DataFrame) -> Any:
    """``df`` as an Arrow table; object columns Arrow cannot type (``1`` beside ``"a"``, a dict
    beside a string) become text (JSON for lists and dicts), keeping missing values missing.

    An object column whose values are of several kinds (numbers, text, bools, lists, dicts)
    is text whatever Arrow would guess (it reads ``False`` beside ``1.5`` as ``0.0``), so the
    decision depends on the kinds present, not their order: a table written in chunks gets
    the same types (:func:`assemble_parquet`).
    """
    import pyarrow as pa

    frame = df if all(isinstance(c, str) for c in df.columns) else df.rename(columns=str)
    mixed = [c for c in frame.columns if frame[c].dtype == object and _mixed(frame[c])]
    if not mixed:
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowException, OverflowError):  # invalid, type or not-implemented conversions
            pass
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            try:
                if col in mixed:
                    raise pa.ArrowInvalid("values of several kinds")
                pa.array(frame[col], from_pandas=True)
            except (pa.ArrowException, OverflowError):  # invalid, type or not-implemented conversions
                frame[col] = pd.Series([_cell_text(v) for v in frame[col]], index=frame.index, dtype=object)
    return pa.Table.from_pandas(frame, preserve_index=False)


@contextlib.contextmanager
def _compressing(path: Path, method: str | None) -> Iterator[IO[str]]:
    """A UTF-8 text stream into ``path``, compressed by ``method`` at each tool's default level
    (gzip without a timestamp, so the same table gives the same bytes)."""
    with contextlib.ExitStack() as stack:
        raw: IO[bytes] = stack.enter_context(path.open("wb"))
        if method == "gzip":
            raw = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                    compresslevel=6))  # gzip(1)'s default; 9 is 5x slower
        elif method == "bz2":
            raw = stack.enter_context(bz2.BZ2File(raw, "wb"))
        elif method == "xz":
            raw = stack.enter_context(lzma.LZMAFile(raw, "wb"))
        elif method == "zstd":
            raw = stack.enter_context(_zstandard().ZstdCompressor().stream_writer(raw, closefd=False))
        text = stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        yield text


def _write_text(df: pd.DataFrame, fmt: str, out: IO[str]) -> None:
    joiner = _TextJoiner(out, fmt)
    joiner.add(text_part(df, fmt, first=True))
    joiner.finish()


#: Rows per Parquet row group.  :func:`write_table` and :class:`TableWriter` cut the same row
#: groups, so a table written whole or chunk by chunk is the same file, byte for byte.
ROW_GROUP_ROWS = 65_536


def _write_row_groups(writer: Any, table: Any) -> None:
    if table.num_rows == 0:
        writer.write_table(table)
    for start in range(0, table.num_rows, ROW_GROUP_ROWS):
        writer.write_table(table.slice(start, ROW_GROUP_ROWS).combine_chunks())


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write by extension, atomically (temp file + rename): an interrupted run never leaves half a file.

    ``-`` writes CSV to stdout.  An empty table keeps its columns: a header-only CSV, a
    Parquet file with the schema (JSONL has no header: an empty file).
    """
    if is_stdio(path):
        _write_text(df, "csv", sys.stdout)
        sys.stdout.flush()
        return Path(STDIO)
    p = Path(path)
    fmt = table_format(p)
    with atomic_path(p) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = arrow_table(df)
            with pq.ParquetWriter(tmp, table.schema) as writer:
                _write_row_groups(writer, table)
        else:
            with _compressing(tmp, compression_of(p)) as out:
                _write_text(df, fmt, out)
    return p


def text_part(df: pd.DataFrame, fmt: str, first: bool) -> str:
    """One chunk of a CSV, TSV, JSON Lines or JSON table as text (the header with the first).

    :func:`join_text` joins such parts into what :func:`write_table` writes for the whole
    table; for JSON a part is its records without the enclosing brackets.
    """
    if fmt in ("csv", "tsv"):
        return df.to_csv(None, index=False, header=first, sep="\t" if fmt == "tsv" else ",", lineterminator="\n")
    if not len(df):
        return ""
    if fmt == "jsonl":
        return df.to_json(None, orient="records", lines=True, force_ascii=False, date_format="iso",
                          default_handler=str)
    text = df.to_json(None, orient="records", force_ascii=False, date_format="iso", indent=1,
                      default_handler=str)
    return text[2:-2]  # "[\n" ... "\n]"


class _TextJoiner:
    """Writes text parts of one table in order, adding JSON's brackets and commas."""

    def __init__(self, out: IO[str], fmt: str) -> None:
        self.out, self.fmt, self.items = out, fmt, 0

    def add(self, part: str) -> None:
        if self.fmt != "json":
            self.out.write(part)
        elif part:
            self.out.write(("[\n" if not self.items else ",\n") + part)
            self.items += 1

    def finish(self) -> None:
        if self.fmt == "json":
            self.out.write(("[\n" if not self.items else "") + "\n]")


def _pandas_columns(schema: Any) -> list[dict[str, Any]] | None:
    raw = (schema.metadata or {}).get(b"pandas")
    return json.loads(raw)["columns"] if raw else None


def _common_schema(schemas: Sequence[Any]) -> tuple[Any, set[str]]:
    """The schema of the whole table whose chunks have ``schemas``, and the columns that must
    become text (as :func:`arrow_table` makes a column whose values Arrow cannot type together).

    A column null in some chunks takes the type of the others; numbers widen as Arrow would
    for the whole column; types that do not mix make a text column.
    """
    import pyarrow as pa

    first = schemas[0]
    for s in schemas[1:]:
        if s.names != first.names:
            raise UsageError(f"parts of one table have different columns: {first.names} and {s.names}")
    fields, as_text = [], set()
    entries = _pandas_columns(first)
    for i, name in enumerate(first.names):
        types = list(dict.fromkeys(s.field(i).type for s in schemas))
        integers = {t for t in types if pa.types.is_integer(t)}
        try:
            if len(integers) > 1:
                raise pa.ArrowTypeError("signed and unsigned")
            ftype = pa.unify_schemas([pa.schema([(name, t)]) for t in types],
                                     promote_options="permissive").field(0).type
        except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ftype = pa.string()
            as_text.add(name)
        fields.append(first.field(i).with_type(ftype))
        if entries is not None and ftype != first.field(i).type:
            donor = next((s for s in schemas if s.field(i).type == ftype and name not in as_text), None)
            found = _pandas_columns(donor)[i] if donor is not None else None  # type: ignore[index]
            entries[i] = found or {**entries[i], "pandas_type": "unicode", "numpy_type": "object", "metadata": None}
    metadata = dict(first.metadata or {})
    if entries is not None:
        pandas_meta = json.loads(metadata[b"pandas"])
        pandas_meta["columns"] = entries
        metadata[b"pandas"] = json.dumps(pandas_meta).encode()
    return pa.schema(fields, metadata=metadata or None), as_text


#: Prefix of a part's hidden column holding an object column's values as text (see :func:`arrow_part`).
_AS_TEXT = "__emocause_text__:"


def arrow_part(df: pd.DataFrame) -> Any:
    """``df`` as one part of a larger table (:func:`assemble_parquet`).

    Arrow types an object column from the values of this part alone: ints with floats
    become floats, dicts with different keys one struct.  Should another part make the
    column text, the text must come from the original values, so a column whose Arrow
    type may have changed them also travels as text in a hidden column.
    """
    import pyarrow as pa

    table = arrow_table(df)
    for i, col in enumerate(df.columns):
        typ = table.schema.field(i).type
        if df[col].dtype == object and not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or
                                            pa.types.is_null(typ) or pa.types.is_boolean(typ) or
                                            pa.types.is_integer(typ)):
            table = table.append_column(f"{_AS_TEXT}{col}", pa.array([_cell_text(v) for v in df[col]],
                                                                      type=pa.string()))
    return table


def _conform(table: Any, schema: Any, as_text: set[str]) -> Any:
    import pyarrow as pa

    columns = []
    for name, target in zip(schema.names, schema.types):
        col = table.column(name)
        if name in as_text:
            hidden = f"{_AS_TEXT}{name}"
            col = table.column(hidden) if hidden in table.column_names else \
                pa.array([_cell_text(v) for v in col.to_pylist()], type=pa.string())
        elif col.type != target:
            col = col.cast(target)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def write_part(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` as one part of a larger table: an Arrow IPC file (:func:`arrow_part`)."""
    import pyarrow as pa

    table = arrow_part(df)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_part(path: str | Path) -> Any:
    import pyarrow as pa

    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


def _parts_schema(parts: Sequence[str | Path]) -> tuple[Any, set[str]]:
    schemas = []
    for part in parts:
        schema = _read_part(part).schema
        hidden = [i for i, name in enumerate(schema.names) if name.startswith(_AS_TEXT)]
        for i in reversed(hidden):
            schema = schema.remove(i)
        schemas.append(schema)
    return _common_schema(schemas)


def parquet_parts(parts: Sequence[str | Path], folder: str | Path) -> list[Path]:
    """Write ``parts`` (:func:`write_part`) as ``folder/part-NNNNNN.parquet``, in order, all with the
    schema of the whole table (a folder that Arrow, pandas, Spark or DuckDB read as one table)."""
    import pyarrow.parquet as pq

    schema, as_text = _parts_schema(parts)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("part-*.parquet"):
        old.unlink()
    written = []
    for i, part in enumerate(parts):
        path = target / f"part-{i:06d}.parquet"
        with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
            _write_row_groups(writer, _conform(_read_part(part), schema, as_text))
        written.append(path)
    return written


def assemble_parquet(parts: Sequence[str | Path], target: str | Path) -> int:
    """Join ``parts`` (:func:`write_part`: chunks of one table, in order) into the Parquet file
    ``target``; returns the rows.

    The file is the one :func:`write_table` writes for the whole table: the same schema
    (a column null in some chunks typed by the others), the same row groups.  One part and
    one row group are held in memory at a time.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, as_text = _parts_schema(parts)
    rows = 0
    with pq.ParquetWriter(target, schema) as writer:
        pending: list[Any] = []
        held = 0
        for part in parts:
            table = _conform(_read_part(part), schema, as_text)
            pending.append(table)
            held += table.num_rows
            while held >= ROW_GROUP_ROWS:
                joined = pa.concat_tables(pending)
                writer.write_table(joined.slice(0, ROW_GROUP_ROWS).combine_chunks())
                rows += ROW_GROUP_ROWS
                pending, held = [joined.slice(ROW_GROUP_ROWS)], held - ROW_GROUP_ROWS
        if held or not rows:
            rest = pa.concat_tables(pending) if pending else schema.empty_table()
            writer.write_table(rest.combine_chunks())
            rows += held
    return rows


def write_parts(parts: Sequence[str | Path], path: str | Path) -> Path:
    """Join the parts of one table, in order, into ``path`` (atomically; format by extension).

    Parts are what :func:`text_part` renders (CSV, TSV, JSON Lines, JSON; as UTF-8 files) or
    :func:`write_part` writes (Parquet); the file is the one :func:`write_table` writes for
    the whole table.  One part is held in memory at a time.
    """
    target = Path(path)
    fmt = table_format(target)
    with atomic_path(target) as tmp:
        if fmt == "parquet":
            assemble_parquet(parts, tmp)
        else:
            with _compressing(tmp, compression_of(target)) as out:
                joiner = _TextJoiner(out, fmt)
                for part in parts:
                    joiner.add(Path(part).read_text(encoding="utf-8"))
                joiner.finish()
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove what a killed :class:`TableWriter` for ``target`` left (its process is gone)."""
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.emocause-*"):
        m = re.search(r"\.emocause-(\d+)(?:\.tmp)?$", leftover.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


class TableWriter:
    """A table written chunk by chunk (:meth:`write`) and committed atomically (:meth:`close`).

    The file is the same, byte for byte, as :func:`write_table` writes for all the chunks
    joined, in every format, compressed or not; memory holds one chunk (Parquet: one row
    group).  Until :meth:`close` the table is a temporary file beside ``path`` (Parquet: a
    folder of parts); a killed run leaves it behind and the next writer of ``path`` removes
    it.  Used as a context manager, an exception discards it.  ``-`` is stdout: the table
    is spooled to a temporary file and copied out at :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.stdio = is_stdio(path)
        self.format = table_format(path)
        self.rows = 0
        self.chunks = 0
        self._outer = contextlib.ExitStack()  # the temporary file (renamed into place at the end)
        self._inner = contextlib.ExitStack()  # what writes into it (a compressed stream, Parquet parts)
        self._parts: list[Path] = []
        self._closed = False
        tag = f"emocause-{os.getpid()}"
        try:
            if self.stdio:
                spool = Path(self._outer.enter_context(tempfile.TemporaryDirectory(prefix="emocause-")))
                self._tmp = spool / "table.csv"
            else:
                _remove_stale(self.path)
                self._tmp = self._outer.enter_context(atomic_path(self.path, suffix=f".{tag}.tmp"))
            if self.format == "parquet":
                self._dir = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.parts.", suffix=f".{tag}",
                                                  dir=self.path.parent))
                self._inner.callback(shutil.rmtree, self._dir, True)
            else:
                compression = None if self.stdio else compression_of(self.path)
                self._joiner = _TextJoiner(self._inner.enter_context(_compressing(self._tmp, compression)),
                                           self.format)
        except OSError as exc:
            self.abort()
            raise write_error(self.path, exc) from None
        except BaseException:
            self.abort()
            raise

    def write(self, df: pd.DataFrame) -> None:
        """Append ``df``'s rows (every chunk has the same columns)."""
        try:
            if self.format == "parquet":
                part = self._dir / f"part-{len(self._parts):06d}.arrow"
                write_part(df, part)
                self._parts.append(part)
            else:
                self._joiner.add(text_part(df, self.format, first=not self.chunks))
        except OSError as exc:
            raise write_error(self.path, exc) from None
        self.chunks += 1
        self.rows += len(df)

    def close(self) -> Path:
        """Finish the table and move it into place; returns its path."""
        if self._closed:
            return Path(STDIO) if self.stdio else self.path
        try:
            if self.format == "parquet":
                if not self._parts:
                    raise UsageError(f"{self.path}: nothing to write (not even the columns)")
                assemble_parquet(self._parts, self._tmp)
            else:
                self._joiner.finish()
            self._inner.close()
            if self.stdio:
                with self._tmp.open("rb") as f:
                    shutil.copyfileobj(f, sys.stdout.buffer)
                sys.stdout.flush()
            self._closed = True
            self._outer.close()
        except OSError as exc:
            self.abort()
            raise write_error(self.path, exc) from None
        except BaseException:
            self.abort()
            raise
        return Path(STDIO) if self.stdio else self.path

    def abort(self) -> None:
        """Discard the table: nothing is written at ``path``."""
        self._closed = True
        discard = UsageError("discarded")
        for stack in (self._inner, self._outer):
            with contextlib.suppress(Exception):
                stack.__exit__(UsageError, discard, None)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


# ---------------------------------------------------------------- columns

def require_columns(df: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise one line naming the missing columns and the ones that exist."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(f"{where}: no column {', '.join(map(repr, missing))}; "
                         f"columns are: {', '.join(map(str, df.columns))}")


def pick_column(df: pd.DataFrame, explicit: str | None, candidates: Sequence[str],
                what: str, where: str, required: bool = True) -> str | None:
    """Resolve ``--text-col``/``--id-col``: the explicit name, else the first candidate present."""
    if explicit:
        require_columns(df, [explicit], where)
        return explicit
    for name in candidates:
        if name in df.columns:
            return name
    if required:
        raise UsageError(f"{where}: cannot find the {what} column (tried {', '.join(candidates)}); "
                         f"pass --{what}-col; columns are: {', '.join(map(str, df.columns))}")
    return None


def as_text(value: object) -> str:
    """A cell as text: missing values (None, NaN) become the empty string."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


#: First characters that make a spreadsheet read a cell as a formula (or start a DDE payload).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas (CSV injection).

    A text cell starting with ``= + - @``, a tab or a carriage return gets a
    leading apostrophe (OWASP's advice), which Excel, LibreOffice and Google
    Sheets show as text; numbers are left alone, so ``-1`` stays a number.  For
    CSV files meant to be opened in a spreadsheet; the exact text stays in the
    JSON outputs (``--csv-raw`` keeps it in the CSV too).
    """
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            continue
        risky = series.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
        if risky.any():
            out.loc[risky, col] = "'" + series[risky].astype(str)
    return out
