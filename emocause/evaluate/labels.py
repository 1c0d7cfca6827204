"""Reading emotion labels from gold and prediction tables, and aligning their rows.

Three label formats are understood, on either side:

* **binary columns**: one 0/1 column per emotion, named after it (``Anger``,
  ``Love``, ... as in the GitHub and Stack Overflow data sets), or any 0/1
  column mapped to an emotion with ``COLUMN=Emotion`` (``label=Anger`` for the
  JIRA files);
* **one label column**: ``Joy``, ``Annoyance``, ``gratitude``, ``Neutral``...;
* **comma-separated labels** in that column: ``Surprise, Love`` (also ``;`` or ``|``);
* **raw model answers** in that column, parsed exactly as ``classify`` parses
  them when the prompt family that produced them is named (``answers=``).

Label names are mapped to the six basic emotions by a named mapping of
:mod:`emocause.emotions.taxonomy` (any name of the paper's lists, or a form of
one: "Annoyance" and "annoyed" count as Anger); parsing lives in
:mod:`emocause.emotions.answers`.  ``Neutral``, ``Unparsed``, ``Hallucination``,
``None`` and empty cells mean "no emotion".  A name the taxonomy does not know
also counts as no emotion, and is reported, so a typo never passes silently.

Rows are aligned by id when both tables have an id column, by position when
neither has one (after checking the row counts match).  Missing ids, extra ids
and duplicated ids are counted and reported; the first row of a duplicated id
is used.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emocause.emotions import answers as parsing
from emocause.emotions import taxonomy
from emocause.errors import UsageError
from emocause.tables import ID_COLUMNS, as_text, require_columns

#: Column names tried for a label column, in order.
LABEL_COLUMNS = ("emotion", "emotions", "Emotion", "Emotions", "label", "labels", "Label", "Labels",
                 "prediction", "pred", "predicted", "Prediction")
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f", ""}
_BASIC_LOWER = {b.lower(): b for b in taxonomy.BASIC}


@dataclass(frozen=True)
class LabelSpec:
    """Where a table keeps its labels: ``binary`` columns (column -> emotion) or one ``labels`` column."""

    kind: str                                  # "binary" | "labels"
    columns: tuple[tuple[str, str], ...]       # binary: (column, emotion); labels: ((column, ""),)

    @property
    def emotions(self) -> tuple[str, ...]:
        """The emotions this spec can say anything about."""
        if self.kind == "binary":
            return tuple(e for _, e in self.columns)
        return taxonomy.BASIC

    def describe(self) -> dict[str, object]:
        if self.kind == "binary":
            return {"format": "binary", "columns": {c: e for c, e in self.columns}}
        return {"format": "labels", "column": self.columns[0][0]}


def _binary_value(value: object) -> bool | None:
    """True/False for a 0/1-like cell, None when it is not one."""
    if value is None or isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if isinstance(value, float | np.floating) and math.isnan(value):
            return False
        return {0: False, 1: True}.get(value) if value in (0, 1) else None
    text = as_text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _binary_map(series: pd.Series) -> dict[object, bool | None]:
    """Each distinct cell of a column -> its 0/1 reading (a column has few distinct values)."""
    return {v: _binary_value(v) for v in pd.unique(series.to_numpy(dtype=object))}


def _is_binary_column(series: pd.Series) -> bool:
    return all(b is not None for b in _binary_map(series).values())


def _binary_column(series: pd.Series) -> np.ndarray:
    """A 0/1-like column as bools (cells that are not 0/1 read as False; checked elsewhere)."""
    m = _binary_map(series)
    return np.fromiter((bool(m[v] if v in m else _binary_value(v)) for v in series.to_numpy(dtype=object)),
                       dtype=bool, count=len(series))


def parse_spec(df: pd.DataFrame, explicit: str | None, where: str, side: str) -> LabelSpec:
    """The label spec of a table: from ``--gold-col``/``--pred-col`` when given, else detected.

    ``explicit`` is a comma-separated list of ``COLUMN`` or ``COLUMN=Emotion``.
    One column that is not a 0/1 column named after an emotion is a label
    column.  Detection: the prediction side prefers a label column (the
    ``emotion`` column that ``emocause classify`` writes, even when the input's
    gold columns were carried along); the gold side prefers the six binary columns.
    """
    if explicit:
        parts = [p.strip() for p in explicit.split(",") if p.strip()]
        if not parts:
            raise UsageError(f"--{side}-col is empty")
        pairs: list[tuple[str, str | None]] = []
        for p in parts:
            col, _, emo = p.partition("=")
            col, emo = col.strip(), emo.strip()
            if emo:
                basic = taxonomy.to_basic(emo)
                if basic is None:
                    raise UsageError(f"--{side}-col {p!r}: {emo!r} is not an emotion the taxonomy knows")
                pairs.append((col, basic))
            else:
                pairs.append((col, _BASIC_LOWER.get(col.lower())))
        require_columns(df, [c for c, _ in pairs], where)
        if len(pairs) == 1 and pairs[0][1] is None:
            col = pairs[0][0]
            if len(df) and _is_binary_column(df[col]):
                raise UsageError(f"{where}: column {col!r} holds 0/1 values; say which emotion it marks, "
                                 f"e.g. --{side}-col '{col}=Anger'")
            return LabelSpec("labels", ((col, ""),))
        unnamed = [c for c, e in pairs if e is None]
        if unnamed:
            raise UsageError(f"--{side}-col: cannot tell which emotion column(s) {', '.join(map(repr, unnamed))} "
                             f"mark; write COLUMN=Emotion (e.g. '{unnamed[0]}=Joy')")
        emotions = [e for _, e in pairs]
        dup = [e for e, k in Counter(emotions).items() if k > 1]
        if dup:
            raise UsageError(f"--{side}-col maps several columns to {', '.join(dup)}")
        spec = LabelSpec("binary", tuple((c, e) for c, e in pairs if e))
        _check_binary(df, spec, where)
        return spec

    binary_cols: dict[str, str] = {}
    for col in df.columns:
        basic = _BASIC_LOWER.get(str(col).strip().lower())
        if basic and basic not in binary_cols.values() and _is_binary_column(df[col]):
            binary_cols[str(col)] = basic
    label_col = next((c for c in LABEL_COLUMNS if c in df.columns), None)
    binary = None
    if len(binary_cols) == len(taxonomy.BASIC):
        binary = LabelSpec("binary", tuple(sorted(binary_cols.items(),
                                                  key=lambda kv: taxonomy.BASIC.index(kv[1]))))
    labels = LabelSpec("labels", ((label_col, ""),)) if label_col else None
    order = (labels, binary) if side == "pred" else (binary, labels)
    for spec in order:
        if spec is not None:
            return spec
    raise UsageError(f"{where}: cannot find labels (six 0/1 columns {', '.join(taxonomy.BASIC)}, "
                     f"or a column named {', '.join(LABEL_COLUMNS[:6])}, ...); pass --{side}-col; "
                     f"columns are: {', '.join(map(str, df.columns))}")


def _check_binary(df: pd.DataFrame, spec: LabelSpec, where: str) -> None:
    for col, _ in spec.columns:
        if _is_binary_column(df[col]):
            continue
        for i, v in enumerate(df[col].tolist()):
            if _binary_value(v) is None:
                raise UsageError(f"{where}: column {col!r} should hold 0/1 values, found {as_text(v)!r} "
                                 f"in data row {i + 1}")


@dataclass
class LabelMatrix:
    """Labels as an ``(n, len(emotions))`` bool matrix, plus names that mapped to nothing.

    For raw answers, ``statuses`` counts ok / off-list / unparsed answers (Neutral
    counts as ok), ``off_list`` the known names the prompt did not offer and
    ``unparsed`` the answers that named no known emotion.
    """

    matrix: np.ndarray
    emotions: tuple[str, ...]
    unrecognised: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    off_list: Counter = field(default_factory=Counter)
    unparsed: Counter = field(default_factory=Counter)


def label_matrix(df: pd.DataFrame, spec: LabelSpec, emotions: Sequence[str],
                 mapping: str | taxonomy.EmotionMapping | None = None,
                 answers: Sequence[str] | None = None) -> LabelMatrix:
    """Read ``df``'s labels as a bool matrix over ``emotions`` (others are ignored).

    ``answers``: the label list of the prompt whose raw answers the column holds;
    each cell is then one answer, parsed as ``classify`` does.
    """
    emotions = tuple(emotions)
    out = np.zeros((len(df), len(emotions)), dtype=bool)
    lm = LabelMatrix(out, emotions)
    if spec.kind == "binary":
        for col, emo in spec.columns:
            if emo in emotions:
                out[:, emotions.index(emo)] = _binary_column(df[col])
        return lm
    col = spec.columns[0][0]
    column = {e: j for j, e in enumerate(emotions)}
    seen: dict[str, tuple[list[int], str, str, list[str]]] = {}   # cells repeat: parse each once
    for i, value in enumerate(df[col].tolist()):
        text = as_text(value)
        parsed = seen.get(text)
        if parsed is None:
            if answers is not None:
                a = parsing.parse_answer(text, answers, mapping)
                key = a.label if a.status == parsing.OFF_LIST else (
                    text.strip() if a.label == taxonomy.UNPARSED else a.label)
                found, status, bad = ({a.basic} if a.basic in taxonomy.BASIC else set()), a.status, []
            else:
                found, bad = parsing.cell_emotions(text, mapping)
                status, key = "", ""
            parsed = seen[text] = ([column[e] for e in found if e in column], status, key, bad)
        hits, status, key, bad = parsed
        out[i, hits] = True
        if answers is not None:
            lm.statuses[status] += 1
            if status == parsing.OFF_LIST:
                lm.off_list[key] += 1
            elif status == parsing.UNPARSED_STATUS:
                lm.unparsed[key] += 1
        elif bad:
            lm.unrecognised.update(bad)
    return lm


def normalize_id(value: object) -> str:
    """An id cell as a join key: trimmed text; ``123.0`` (a float-typed integer) becomes ``123``."""
    if isinstance(value, float | np.floating) and not math.isnan(value) and float(value).is_integer():
        return str(int(value))
    text = as_text(value).strip()
    if re.fullmatch(r"-?\d+\.0+", text):
        text = text.split(".")[0]
    return text


def normalize_ids(series: pd.Series) -> list[str]:
    """:func:`normalize_id` of every cell of a column (integer columns in one step)."""
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return series.astype("int64").astype(str).tolist()
    return [normalize_id(v) for v in series.tolist()]


@dataclass
class Join:
    """How the rows of a gold and a prediction table were aligned."""

    gold_rows: np.ndarray
    pred_rows: np.ndarray
    method: str                       # "id" | "position"
    gold_id: str | None = None
    pred_id: str | None = None
    n_gold: int = 0
    n_pred: int = 0
    missing: list[str] = field(default_factory=list)       # gold ids with no prediction
    extra: list[str] = field(default_factory=list)         # prediction ids not in gold
    dup_gold: list[str] = field(default_factory=list)
    dup_pred: list[str] = field(default_factory=list)
    empty_ids: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def n(self) -> int:
        return int(len(self.gold_rows))

    def as_dict(self, limit: int = 20) -> dict[str, object]:
        return {
            "method": self.method, "gold_id": self.gold_id, "pred_id": self.pred_id,
            "gold_rows": self.n_gold, "pred_rows": self.n_pred, "matched": self.n,
            "missing_in_pred": {"count": len(self.missing), "ids": self.missing[:limit]},
            "not_in_gold": {"count": len(self.extra), "ids": self.extra[:limit]},
            "duplicated_in_gold": {"count": len(self.dup_gold), "ids": self.dup_gold[:limit]},
            "duplicated_in_pred": {"count": len(self.dup_pred), "ids": self.dup_pred[:limit]},
            "empty_ids": self.empty_ids, "note": self.note}

    def warnings(self) -> list[str]:
        """One line per problem worth telling the user (stderr)."""
        def few(ids: list[str]) -> str:
            return ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        out = []
        if self.note:
            out.append(self.note)
        if self.missing:
            out.append(f"{len(self.missing)} gold row(s) have no prediction and are left out "
                       f"(ids {few(self.missing)})")
        if self.extra:
            out.append(f"{len(self.extra)} prediction row(s) have no gold row and are ignored "
                       f"(ids {few(self.extra)})")
        if self.dup_gold:
            out.append(f"{len(self.dup_gold)} id(s) repeat in gold; the first row of each is used "
                       f"({few(self.dup_gold)})")
        if self.dup_pred:
            out.append(f"{len(self.dup_pred)} id(s) repeat in pred; the first row of each is used "
                       f"({few(self.dup_pred)})")
        for side, k in self.empty_ids.items():
            if k:
                out.append(f"{k} {side} row(s) have an empty id and are left out")
        return out


def _first_positions(ids: list[str]) -> tuple[dict[str, int], list[str], int]:
    first: dict[str, int] = {}
    dups: list[str] = []
    empty = 0
    for pos, key in enumerate(ids):
        if not key:
            empty += 1
            continue
        if key in first:
            if key not in dups:
                dups.append(key)
            continue
        first[key] = pos
    return first, dups, empty


def join_rows(gold: pd.DataFrame, pred: pd.DataFrame, id_col: str | None,
              gold_where: str, pred_where: str) -> Join:
    """Align gold and prediction rows by id (``--id-col`` or detected) or, without ids, by position."""
    if id_col:
        require_columns(gold, [id_col], gold_where)
        require_columns(pred, [id_col], pred_where)
        gid = pid = id_col
    else:
        gid = next((c for c in ID_COLUMNS if c in gold.columns), None)
        pid = next((c for c in ID_COLUMNS if c in pred.columns), None)
    n_gold, n_pred = len(gold), len(pred)
    if gid and pid:
        gold_ids = normalize_ids(gold[gid])
        pred_ids = normalize_ids(pred[pid])
        g_first, g_dup, g_empty = _first_positions(gold_ids)
        p_first, p_dup, p_empty = _first_positions(pred_ids)
        common = [k for k in g_first if k in p_first]
        join = Join(np.array([g_first[k] for k in common], dtype=int),
                    np.array([p_first[k] for k in common], dtype=int), "id", gid, pid, n_gold, n_pred,
                    missing=[k for k in g_first if k not in p_first],
                    extra=[k for k in p_first if k not in g_first],
                    dup_gold=g_dup, dup_pred=p_dup, empty_ids={"gold": g_empty, "pred": p_empty})
        if join.n == 0:
            raise UsageError(f"no id of {pred_where} (column {pid!r}) matches an id of {gold_where} "
                             f"(column {gid!r}); e.g. gold {gold_ids[:1]}, pred {pred_ids[:1]}")
        return join
    if n_gold != n_pred:
        only = (f"; only {gold_where if gid else pred_where} has an id column ({gid or pid!r})"
                if (gid or pid) else "")
        raise UsageError(f"cannot align rows: neither table has an id column ({', '.join(ID_COLUMNS[:4])}, "
                         f"...) to join on, and the row counts differ ({n_gold} gold vs {n_pred} pred)"
                         f"{only}; add ids or pass --id-col")
    note = ""
    if gid or pid:
        note = (f"only {gold_where if gid else pred_where} has an id column ({gid or pid}); "
                f"rows are aligned by position")
    rows = np.arange(n_gold, dtype=int)
    return Join(rows, rows.copy(), "position", gid, pid, n_gold, n_pred, note=note)
