"""``classify`` and ``causes`` on a table: build requests, run them, parse answers.

The functions take a DataFrame and a backend and return a new DataFrame with
every input column and row order kept and the result columns appended; file
I/O, manifests and the summary live in the CLI layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from emocause.emotions.answers import parse_answer, parse_span, row_emotion
from emocause.backends.base import Backend, Request, Response
from emocause.annotate.cache import Cache
from emocause.emotions.grounding import ground
from emocause.annotate.runner import RunStats, run_requests, truncate
from emocause.annotate.prompts import Template
from emocause.tables import as_text
from emocause.emotions.taxonomy import NEUTRAL, UNPARSED, EmotionMapping


@dataclass
class Prepared:
    """Requests for a table (``None`` for skipped rows) and the text each was built from."""

    requests: list[Request | None]
    texts: list[str]
    #: Rows the gate kept from the model.
    gated: list[int] = field(default_factory=list)

    def answers(self, responses: list[Response | None]) -> list[Response | None]:
        """``responses`` with the gated rows marked :data:`GATED`."""
        for i in self.gated:
            responses[i] = GATED
        return responses


#: The answer of a row the gate kept from the LLM (``--gate``; status ``gated``).
GATED = Response(None, error="gated: the gate model scored it unemotional")


def build_requests(texts: Sequence[str], template: Template, platform: str, max_chars: int,
                   stats: RunStats, emotions: Sequence[str | None] | None = None,
                   gate: Any = None) -> Prepared:
    """One request per row; empty rows (or rows with no emotion, for causes) become ``None``,
    and so do rows a ``gate`` (:class:`emocause.annotate.gate.Gate`) keeps from the model."""
    requests: list[Request | None] = []
    used: list[str] = []
    passes = gate.passes([t.strip() for t in texts]) if gate is not None else None
    gated: list[int] = []
    for i, raw in enumerate(texts):
        text = raw.strip()
        emotion = emotions[i] if emotions is not None else template.meta.get("emotion")
        if not text or (emotions is not None and not emotion):
            requests.append(None)
            used.append(text)
            stats.skipped += 1
            continue
        if passes is not None and not passes[i]:
            requests.append(None)
            used.append(text)
            gated.append(i)
            stats.gated += 1
            continue
        text, cut = truncate(text, max_chars)
        stats.truncated += int(cut)
        requests.append(Request(prompt=template.render(text, platform, emotion), text=text,
                                task=template.task, labels=template.labels, emotion=emotion,
                                max_tokens=template.max_tokens))
        used.append(text)
    return Prepared(requests, used, gated)


def _status(resp: Response | None, unparsed: bool = False) -> str:
    if resp is None:
        return "skipped"
    if resp is GATED:
        return "gated"
    if not resp.ok:
        return f"failed: {resp.error}"
    return "unparsed" if unparsed else "ok"


def label_columns(responses: Sequence[Response | None], template: Template,
                  stats: RunStats, mapping: str | EmotionMapping | None = None) -> dict[str, list[object]]:
    """``emotion_raw``, ``emotion_label`` (as answered, matched), ``emotion``, ``emotion_status``.

    ``emotion_status`` is ``ok``, ``off-list`` (a known emotion the prompt did not
    offer, mapped anyway), ``unparsed``, ``skipped`` or ``failed: ...``.
    """
    raw_col: list[object] = []
    label_col: list[object] = []
    basic_col: list[object] = []
    status_col: list[object] = []
    target = template.meta.get("emotion", "")
    for resp in responses:
        if resp is None or not resp.ok:
            raw_col.append(None)
            label_col.append(None)
            basic_col.append(NEUTRAL if resp is GATED else None)  # the gate's verdict: no emotion
            status_col.append(_status(resp))
            continue
        answer = parse_answer(resp.text, template.labels, mapping, template.task, target)
        stats.unparsed += int(answer.basic == UNPARSED)
        raw_col.append(resp.text)
        label_col.append(answer.label)
        basic_col.append(answer.basic)
        status_col.append(answer.status)
    columns: dict[str, list[object]] = {"emotion_raw": raw_col, "emotion_label": label_col,
                                        "emotion": basic_col, "emotion_status": status_col}
    # Columns a backend adds beside the answer (multi-label backends: emotions, emotion_scores).
    for name in dict.fromkeys(k for r in responses if r is not None and r.ok for k in r.extra):
        columns[name] = [r.extra.get(name) if r is not None and r.ok else None for r in responses]
    return columns


def span_columns(responses: Sequence[Response | None], texts: Sequence[str],
                 stats: RunStats) -> dict[str, list[object]]:
    """``cause_raw``, ``cause``, offsets, whether and how it was grounded, ``cause_status``."""
    cols: dict[str, list[object]] = {k: [] for k in (
        "cause_raw", "cause", "cause_start", "cause_end", "cause_grounded", "cause_match",
        "cause_status")}
    for resp, text in zip(responses, texts):
        if resp is None or not resp.ok:
            for k, v in (("cause_raw", None), ("cause", None), ("cause_start", None),
                         ("cause_end", None), ("cause_grounded", None), ("cause_match", None),
                         ("cause_status", _status(resp))):
                cols[k].append(v)
            continue
        span = parse_span(resp.text)
        g = ground(span, text)
        stats.unparsed += int(not span)
        cols["cause_raw"].append(resp.text)
        cols["cause"].append(span)
        cols["cause_start"].append(g.start)
        cols["cause_end"].append(g.end)
        cols["cause_grounded"].append(g.grounded)
        cols["cause_match"].append(g.kind)
        cols["cause_status"].append(_status(resp, unparsed=not span))
    return cols


def attach(df: pd.DataFrame, columns: dict[str, list[object]]) -> pd.DataFrame:
    """A copy of ``df`` with ``columns`` added (replacing same-named result columns of a rerun)."""
    out = df.copy()
    for name, values in columns.items():
        out[name] = pd.Series(values, index=out.index, dtype="object")
    for name in ("cause_start", "cause_end"):
        if name in columns:
            out[name] = pd.array(columns[name], dtype="Int64")
    return out


def classify_frame(df: pd.DataFrame, text_col: str, template: Template, backend: Backend,
                   cache: Cache | None, platform: str, max_chars: int,
                   stats: RunStats, mapping: str | EmotionMapping | None = None,
                   progress: Any = None, gate: Any = None) -> pd.DataFrame:
    texts = [as_text(v) for v in df[text_col].tolist()]
    stats.rows += len(texts)
    prep = build_requests(texts, template, platform, max_chars, stats, gate=gate)
    responses = prep.answers(run_requests(backend, prep.requests, cache, stats, "classify", progress))
    return attach(df, label_columns(responses, template, stats, mapping))


def row_emotions(df: pd.DataFrame, emotion: str | None, emotion_col: str | None,
                 mapping: str | EmotionMapping | None = None) -> list[str | None]:
    """The emotion each row's cause is asked for; ``None`` (row skipped) for no-emotion values
    and for names the mapping rejects."""
    if emotion:
        return [emotion] * len(df)
    return [row_emotion(as_text(v), mapping) for v in df[emotion_col].tolist()]  # type: ignore[index]


def causes_frame(df: pd.DataFrame, text_col: str, emotions: list[str | None], template: Template,
                 backend: Backend, cache: Cache | None, platform: str, max_chars: int,
                 stats: RunStats, progress: Any = None, gate: Any = None) -> pd.DataFrame:
    texts = [as_text(v) for v in df[text_col].tolist()]
    stats.rows += len(texts)
    prep = build_requests(texts, template, platform, max_chars, stats, emotions, gate)
    responses = prep.answers(run_requests(backend, prep.requests, cache, stats, "causes", progress))
    return attach(df, span_columns(responses, prep.texts, stats))
