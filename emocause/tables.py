"""Reading and writing tables (CSV, JSONL, Parquet) chosen by file extension.

Everything that takes a file of comments goes through here, so the formats,
the column auto-detection and the error messages are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from emocause.errors import UsageError
from emocause.files import atomic_path

#: Column names tried, in order, when ``--text-col`` is not given.
TEXT_COLUMNS = ("text", "Text", "body", "Body", "modified_comment", "Comment", "comment",
                "message", "content", "sentence")
#: Column names tried, in order, when ``--id-col`` is not given.
ID_COLUMNS = ("id", "ID", "Id", "comment_id", "Comment_ID", "message_id")

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
           ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | Path) -> str:
    """The table format implied by ``path``'s extension (``.gz`` allowed for text formats)."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst") and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext not in FORMATS:
        raise UsageError(f"{p.name}: unknown table format {ext or '(no extension)'!r}; "
                         f"use one of {', '.join(sorted(FORMATS))}")
    return FORMATS[ext]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table, keeping every column; ids and labels stay as written (strings stay strings)."""
    p = Path(path)
    fmt = table_format(p)
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        hint = ""
        if parent.is_dir():
            near = sorted(x.name for x in parent.iterdir() if x.suffix.lower() in FORMATS)[:8]
            if near:
                hint = f" (tables in {parent}: {', '.join(near)})"
        raise UsageError(f"input file not found: {p}{hint}")
    if p.is_dir():
        raise UsageError(f"{p} is a directory, expected a table file")
    try:
        if fmt == "csv":
            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[])
        elif fmt == "jsonl":
            df = pd.read_json(p, lines=True, dtype=False)
        elif fmt == "json":
            df = pd.read_json(p, dtype=False)
        else:
            df = pd.read_parquet(p)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{p}: the file is empty") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{p}: cannot read as {fmt}: {first}") from None
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write atomically (temp file + rename) so an interrupted run never leaves half a file."""
    p = Path(path)
    fmt = table_format(p)
    with atomic_path(p) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "jsonl":
            df.to_json(tmp, orient="records", lines=True, force_ascii=False, date_format="iso")
        elif fmt == "json":
            df.to_json(tmp, orient="records", force_ascii=False, date_format="iso", indent=1)
        else:
            df.to_parquet(tmp, index=False)
    return p


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
