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

import bz2
import codecs
import contextlib
import contextvars
import csv
import gzip
import io
import itertools
import json
import lzma
import math
import re
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from emocause.errors import UsageError
from emocause.files import atomic_path, check_writable

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


@dataclass
class Table:
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

    def describe(self) -> dict[str, Any]:
        """For manifests: format, compression, encoding, separator, rows and lines skipped."""
        out: dict[str, Any] = {"format": self.format, "rows": self.rows}
        if self.compression:
            out["compression"] = self.compression
        if self.encoding:
            out["encoding"] = self.encoding + (" (detected)" if self.encoding_detected else "")
        if self.sep:
            out["sep"] = self.sep
        out["skipped_lines"] = len(self.skipped_lines)
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
            shown = ", ".join(map(str, self.skipped_lines[:10])) + (", ..." if len(self.skipped_lines) > 10 else "")
            notes.append(f"{self.path}: skipped {len(self.skipped_lines):,} malformed line(s) "
                         f"(line {shown}); {self.rows:,} rows read")
        return notes


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
    from charset_normalizer import from_bytes

    windows = []
    for i, m in enumerate(_HIGH.finditer(data)):
        if i >= 4000:
            break
        windows.append(data[max(0, m.start() - 200):m.start() + 200])
    sample = b"\n".join(windows) if windows else data[: 1 << 20]
    fits = []
    for match in from_bytes(sample):
        try:
            data.decode(match.encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        fits.append((round(match.chaos, 3), -round(match.coherence, 3), codecs.lookup(match.encoding).name))
    if not fits:
        return None
    best = min(f[:2] for f in fits)
    tied = [name for *score, name in fits if tuple(score) == best]
    return next((name for name in _PREFERRED if name in tied), tied[0])


def _bad_line(data: bytes, encoding: str) -> int:
    """The line of the first byte that ``encoding`` cannot decode (0 when all decode)."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return 0


def _decoded(src: _Source, options: TableOptions, parse: Callable[[IO[str]], Any]) -> tuple[Any, str, bool]:
    """Run ``parse`` over the text of ``src``; returns (result, encoding, detected)."""
    encoding = options.encoding
    if encoding in (None, "utf-8"):
        with src.open() as f:
            head = f.read(4)
        encoding = next((enc for mark, enc in _BOMS if head.startswith(mark)), "utf-8-sig")
    try:
        with src.open() as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
            try:
                return parse(text), _encoding_name(encoding), False
            finally:
                with contextlib.suppress(ValueError):
                    text.detach()
    except UnicodeDecodeError:
        data = src.read_bytes()
        line = _bad_line(data, encoding)
        if options.encoding:
            raise UsageError(f"{src.name} line {line}: bytes that are not valid {options.encoding}; "
                             f"pass the file's --encoding") from None
        detected = detect_encoding(data)
        if detected is None:
            raise UsageError(f"{src.name} line {line}: not UTF-8 and the encoding could not be "
                             f"detected; pass --encoding") from None
        return parse(io.StringIO(data.decode(detected), newline="")), detected, True


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


def _parse_csv(text: IO[str], name: str, sep: str | None, bad_lines: str) -> _Parsed:
    """Every record must have as many fields as the header; blank lines are ignored."""
    first, blank = text.readline(), 0
    while first and not first.strip():  # pandas skips blank lines before the header too
        first, blank = text.readline(), blank + 1
    if not first:
        raise UsageError(f"{name}: the file is empty (no header line)")
    sniffed = sep is None
    sep = sep or _sniff_separator(first)
    reader = csv.reader(itertools.chain([first], text), delimiter=sep, strict=True)
    prev = blank  # the last line read; a record starts on the line after
    try:
        header = next(reader)
        ncol = len(header)
        rows: list[list[str]] = []
        skipped: list[int] = []
        prev = reader.line_num + blank
        for rec in reader:
            start, prev = prev + 1, reader.line_num + blank
            if len(rec) == ncol:
                rows.append(rec)
            elif not rec or (len(rec) == 1 and not rec[0].strip()):
                continue  # a blank line
            elif bad_lines == "skip":
                skipped.append(start)
            else:
                how = "detected from the header; pass --sep if that is wrong" if sniffed else "from --sep"
                raise UsageError(
                    f"{name} line {start}: {len(rec)} fields where the header has {ncol} (separator "
                    f"{sep!r}, {how}); quote values that contain the separator, or pass "
                    f"--bad-lines skip to skip and count such lines")
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise UsageError(f"{name} line {prev + 1}: a quoted value opened here never closes (an unbalanced "
                             f'" quote); the rest of the file would be read into it') from None
        raise UsageError(f"{name} line {reader.line_num + blank}: malformed CSV ({exc})") from None
    return _Parsed(pd.DataFrame(rows, columns=_column_names(header), dtype=str), sep, tuple(skipped))


def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame from JSON objects; whole numbers with gaps stay whole numbers (not 1.0)."""
    if not records:
        return pd.DataFrame()
    df = pd.DataFrame(records)
    for col in df.columns:
        if df[col].dtype.kind == "f":
            values = [r.get(col) for r in records]
            if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
                df[col] = pd.Series(values, index=df.index, dtype=object)
    return df


def _parse_jsonl(text: IO[str], name: str, bad_lines: str) -> _Parsed:
    records: list[dict[str, Any]] = []
    skipped: list[int] = []
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
                records.append(obj)
                continue
            problem = f"a JSON {type(obj).__name__}, expected an object"
        if bad_lines == "skip":
            skipped.append(lineno)
        else:
            raise UsageError(f"{name} line {lineno}: {problem}; pass --bad-lines skip to skip and count "
                             f"such lines")
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
    if not is_stdio(path):
        p = Path(path)
        table_format(p)
        if not p.exists():
            raise _missing(p)
        if p.is_dir():
            raise UsageError(f"{p} is a directory, expected a table file")
    src = _Source(path)
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


def _read_parquet(src: _Source) -> pd.DataFrame:
    try:
        if src.buffered:
            return pd.read_parquet(io.BytesIO(src.read_bytes()))
        return pd.read_parquet(src.path)
    except (ValueError, OSError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{src.name}: cannot read as parquet: {first}") from None


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


def arrow_table(df: pd.DataFrame) -> Any:
    """``df`` as an Arrow table; object columns Arrow cannot type (``1`` beside ``"a"``, a dict
    beside a string) become text (JSON for lists and dicts), keeping missing values missing."""
    import pyarrow as pa

    frame = df if all(isinstance(c, str) for c in df.columns) else df.rename(columns=str)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, OverflowError):  # invalid, type or not-implemented conversions
        pass
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            try:
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
    if fmt in ("csv", "tsv"):
        df.to_csv(out, index=False, sep="\t" if fmt == "tsv" else ",", lineterminator="\n")
    elif fmt == "jsonl":
        if len(df):  # an empty table is an empty file (read back as zero rows)
            df.to_json(out, orient="records", lines=True, force_ascii=False, date_format="iso",
                       default_handler=str)
    else:
        df.to_json(out, orient="records", force_ascii=False, date_format="iso", indent=1,
                   default_handler=str)


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

            pq.write_table(arrow_table(df), tmp)
        else:
            with _compressing(tmp, compression_of(p)) as out:
                _write_text(df, fmt, out)
    return p


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
