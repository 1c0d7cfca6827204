"""Scoring predictions against gold data: the library behind ``emocause evaluate``.

:func:`score_emotions` (per-emotion precision/recall/F1, macro/micro,
bootstrap intervals, an optional paired comparison, the recall ceiling) and
:func:`score_causes` (BLEU in word or paper mode, token F1, exact match,
span lengths, grounding) take tables (paths or DataFrames) and keyword
options and return a :class:`Scores`: the JSON-ready ``report``, the
``warnings`` worth telling the user (unmatched ids, unknown labels, answers
off the prompt's list), ``counts``, the ``manifest`` fields, and
:meth:`Scores.render` for the text the CLI prints.  Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from emocause.errors import UsageError

if TYPE_CHECKING:  # numpy and pandas load when a score is computed, not when the CLI starts
    import numpy as np
    import pandas as pd

#: Default gold span column (the paper's ``manual_causes.csv``) and predicted span columns tried.
GOLD_SPAN_DEFAULT = "Cause Span"
PRED_SPAN_COLUMNS = ("cause", "prediction", "pred", "span", "predicted_span")

Table = Union[str, Path, "pd.DataFrame"]


@dataclass
class Scores:
    """What an evaluation found: the report, warnings, counts and manifest fields."""

    kind: str                                   # "emotions" | "causes"
    report: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def render(self, fmt: str = "table") -> str:
        """The report as the CLI prints it: ``table``, ``json``, ``csv`` or ``markdown``."""
        from emocause.evaluate.render import render

        return render(self.report, self.kind, fmt)

    def __str__(self) -> str:
        return self.render("table")


def check_bootstrap(bootstrap: int) -> int:
    """``bootstrap`` if it is a usable number of resamples, else one line saying why not."""
    from emocause.evaluate.metrics import MAX_RESAMPLES

    if not 0 <= int(bootstrap) <= MAX_RESAMPLES:
        raise UsageError(f"--bootstrap must be between 0 and {MAX_RESAMPLES:,} resamples, not {bootstrap:,}")
    return int(bootstrap)


def read(table: Table, what: str) -> tuple[pd.DataFrame, str]:
    """A table and how to name it in messages: a DataFrame as is, or a file read by extension."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        df, where = table, f"the {what} table"
    else:
        from emocause.tables import read_table

        df, where = read_table(table), str(table)
    if len(df) == 0:
        raise UsageError(f"{where}: the {what} table has no rows")
    return df, where


def _source(table: Table, where: str) -> dict[str, Any]:
    """Where a table came from, for the manifest (path and hash of a file)."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return {"path": None, "rows": len(table)}
    from emocause.files import file_sha256

    return {"path": where, "sha256": file_sha256(table)}


def recall_ceiling(gold: np.ndarray, labels: tuple[str, ...] = ()) -> dict[str, Any]:
    """The best recall a prediction of one label per row can reach on ``gold`` (rows x emotions).

    Each emotion is scored as its own binary task, so a row with two gold emotions
    holds two positives of which one label reaches one.  ``micro``: reachable
    positives over all positives.  ``macro``: the best mean per-emotion recall,
    reached by giving each multi-emotion row its rarest gold emotion (each row
    adds 1/support of the emotion it gets, so rows are chosen independently).
    An emotion without gold positives has recall 0 (scikit-learn's zero_division=0)
    and is listed under ``no_support``.
    """
    import numpy as np

    g = np.asarray(gold, dtype=bool)
    support = g.sum(0)
    positives = int(support.sum())
    rows_with = int(g.any(1).sum())
    gain = np.where(g, 1.0 / np.maximum(support, 1), 0.0)
    chosen = np.zeros_like(g)
    has = g.any(1)
    chosen[np.flatnonzero(has), gain[has].argmax(1)] = True
    per_label = np.divide(chosen.sum(0), support, out=np.zeros(g.shape[1]), where=support > 0)
    return {"micro": rows_with / positives if positives else 1.0,
            "macro": float(per_label.mean()) if g.shape[1] else 1.0,
            "positives": positives, "reachable": rows_with,
            "multi_label_rows": int((g.sum(1) > 1).sum()),
            "no_support": [lab for lab, k in zip(labels, support) if k == 0]}


# ---------------------------------------------------------------- emotions

def score_emotions(gold: Table, pred: Table, *, gold_col: str | None = None, pred_col: str | None = None,
                   id_col: str | None = None, answers: str | None = None, mapping: str | None = None,
                   bootstrap: int = 1000, seed: int = 0, compare: Table | None = None,
                   compare_col: str | None = None) -> Scores:
    """Per-emotion P/R/F1/support, macro/micro, intervals, recall ceiling, optional paired comparison.

    ``gold``/``pred``: paths or DataFrames.  ``gold_col``/``pred_col``: one label
    column, or comma-separated 0/1 columns (``COLUMN`` or ``COLUMN=Emotion``);
    detected when omitted.  ``answers``: the prompt (name or template file) whose
    raw answers ``pred_col`` holds; each answer is parsed exactly as ``classify``
    parses it.  ``mapping``: ``default``, ``paper`` or ``goemotions-ekman``.
    """
    from emocause.emotions import taxonomy
    from emocause.evaluate import labels, metrics

    bootstrap = check_bootstrap(bootstrap)
    emotion_map = taxonomy.get_mapping(mapping)
    template = None
    if answers:
        from emocause.annotate.prompts import load

        template = load(answers)
        if template.task != "label":
            raise UsageError(f"--answers {answers}: a {template.task} prompt; name the label prompt whose "
                             f"answers --pred-col holds (basic, goemotions, secondary, all-levels)")
    gdf, gwhere = read(gold, "gold")
    pdf, pwhere = read(pred, "prediction")
    gspec = labels.parse_spec(gdf, gold_col, gwhere, "gold")
    pspec = labels.parse_spec(pdf, pred_col, pwhere, "pred")
    if template is not None and pspec.kind != "labels":
        raise UsageError(f"--answers needs one column of raw answers; --pred-col names 0/1 columns "
                         f"({', '.join(c for c, _ in pspec.columns)})")
    emotions = tuple(e for e in taxonomy.BASIC if e in gspec.emotions and e in pspec.emotions)
    if not emotions:
        raise UsageError(f"gold ({', '.join(gspec.emotions)}) and predictions ({', '.join(pspec.emotions)}) "
                         f"share no emotion to score")
    listed = template.labels if template is not None else None
    join = labels.join_rows(gdf, pdf, id_col, gwhere, pwhere)
    g = labels.label_matrix(gdf.iloc[join.gold_rows], gspec, emotions, emotion_map)
    p = labels.label_matrix(pdf.iloc[join.pred_rows], pspec, emotions, emotion_map, listed)
    warnings = join.warnings()
    for side, lm in (("gold", g), ("pred", p)):
        if lm.unrecognised:
            few = ", ".join(f"{k!r} x{v}" for k, v in lm.unrecognised.most_common(5))
            warnings.append(f"{sum(lm.unrecognised.values())} {side} label(s) are not emotions the taxonomy "
                            f"knows and count as no emotion: {few}")
    scores: dict[str, Any] = metrics.multilabel_scores(g.matrix, p.matrix, emotions)
    report: dict[str, Any] = {"n": scores["n"], "labels": list(emotions), "per_label": scores["per_label"],
                              "macro": scores["macro"], "micro": scores["micro"]}
    if bootstrap:
        weights = metrics.Resamples(report["n"], bootstrap, seed)
        report["ci"] = metrics.multilabel_intervals(g.matrix, p.matrix, emotions, weights)
        report["bootstrap"] = {"resamples": bootstrap, "seed": seed, "level": metrics.LEVEL,
                               "method": "percentile"}
    report["recall_ceiling"] = recall_ceiling(g.matrix, emotions)
    report["mapping"] = emotion_map.describe()
    report["gold"] = {"path": gwhere, **gspec.describe()}
    report["pred"] = {"path": pwhere, **pspec.describe()}
    if template is not None:
        report["answers"] = {
            "prompt": template.name, "sha256": template.sha256, "labels": len(template.labels),
            "statuses": {k: int(p.statuses.get(k, 0)) for k in ("ok", "off-list", "unparsed")},
            "off_list": dict(p.off_list.most_common()), "unparsed": dict(p.unparsed.most_common())}
        warnings += _answer_warnings(p, template.name)
    report["join"] = join.as_dict()
    report["unrecognised"] = {"gold": dict(g.unrecognised), "pred": dict(p.unrecognised)}
    if compare is not None:
        report["compare"], more = _compare(gdf, gspec, gwhere, p.matrix, join, compare,
                                           compare_col or pred_col, id_col, emotions, bootstrap, seed,
                                           emotion_map, listed)
        warnings += more
    counts = {"rows": report["n"], "gold_rows": join.n_gold, "pred_rows": join.n_pred,
              **({"answers": report["answers"]["statuses"]} if template is not None else {})}
    manifest = {"gold": _source(gold, gwhere), "pred": _source(pred, pwhere), "mapping": report["mapping"],
                "answers": ({"prompt": template.name, "sha256": template.sha256} if template else None),
                "parameters": {"gold_col": gold_col, "pred_col": pred_col, "id_col": id_col,
                               "bootstrap": bootstrap, "seed": seed}}
    return Scores("emotions", report, warnings, counts, manifest)


def _answer_warnings(lm, prompt: str) -> list[str]:
    out = []
    if lm.off_list:
        few = ", ".join(f"{k} x{v}" for k, v in lm.off_list.most_common(5))
        out.append(f"{sum(lm.off_list.values())} answer(s) name a known emotion the {prompt} prompt does not "
                   f"list and are mapped anyway: {few}")
    if lm.unparsed:
        few = ", ".join(f"{k!r} x{v}" for k, v in lm.unparsed.most_common(5))
        out.append(f"{sum(lm.unparsed.values())} answer(s) are Unparsed and count as no emotion: {few}")
    return out


def _compare(gdf, gspec, gold: str, pred_a, join_a, compare: Table, compare_col: str | None,
             id_col: str | None, emotions, bootstrap: int, seed: int, emotion_map,
             listed) -> tuple[dict[str, Any], list[str]]:
    """Paired bootstrap of macro-F1 (B = --compare minus A = --pred) on the gold rows both predict."""
    import numpy as np

    from emocause.evaluate import labels, metrics

    cdf, cwhere = read(compare, "comparison")
    cspec = labels.parse_spec(cdf, compare_col, cwhere, "pred")
    missing = [e for e in emotions if e not in cspec.emotions]
    if missing:
        raise UsageError(f"{cwhere}: no labels for {', '.join(missing)}, which --pred has")
    join_b = labels.join_rows(gdf, cdf, id_col, gold, cwhere)
    pos_a = {int(g): i for i, g in enumerate(join_a.gold_rows)}
    pos_b = {int(g): i for i, g in enumerate(join_b.gold_rows)}
    common = [g for g in join_a.gold_rows.tolist() if g in pos_b]
    if not common:
        raise UsageError(f"{cwhere} and the --pred file share no gold row")
    y = labels.label_matrix(gdf.iloc[common], gspec, emotions, emotion_map).matrix
    a = pred_a[[pos_a[g] for g in common]]
    b = labels.label_matrix(cdf.iloc[join_b.pred_rows[[pos_b[g] for g in common]]], cspec, emotions,
                            emotion_map, listed if cspec.kind == "labels" else None).matrix
    warnings = [f"compare: {w}" for w in join_b.warnings()]
    n_boot = bootstrap or 1000
    weights = metrics.Resamples(len(common), n_boot, seed)
    test = metrics.paired_macro_f1(y, a, b, weights)
    out = {"path": cwhere, **cspec.describe(), "n": len(common), "statistic": "macro_f1",
           **test.as_dict(), "seed": seed,
           "per_label_f1": {e: float(f) for e, f in zip(emotions, metrics.prf(
               *np.split(metrics.row_counts(y, b).sum(0), 3))[2])}}
    return out, warnings


# ---------------------------------------------------------------- causes

def score_causes(gold: Table, pred: Table, *, gold_col: str = GOLD_SPAN_DEFAULT, pred_col: str | None = None,
                 id_col: str | None = None, text_col: str | None = None, mode: str = "word",
                 bootstrap: int = 1000, seed: int = 0) -> Scores:
    """BLEU-1..4 (``mode`` word: sacrebleu; paper: the paper's character BLEU), token F1, exact
    match, span lengths and the grounded share of predicted spans."""
    from emocause import tables
    from emocause.evaluate import labels
    from emocause.evaluate import spans as span_metrics

    if mode not in span_metrics.MODES:
        raise UsageError(f"--bleu must be one of {', '.join(span_metrics.MODES)}, not {mode!r}")
    bootstrap = check_bootstrap(bootstrap)
    gdf, gwhere = read(gold, "gold")
    pdf, pwhere = read(pred, "prediction")
    tables.require_columns(gdf, [gold_col], gwhere)
    pcol = tables.pick_column(pdf, pred_col, PRED_SPAN_COLUMNS, "pred", pwhere)
    if pcol == gold_col and pred_col is None:
        raise UsageError(f"{pwhere}: the prediction column would be the gold column {gold_col!r}; pass --pred-col")
    join = labels.join_rows(gdf, pdf, id_col, gwhere, pwhere)
    golds = [tables.as_text(v) for v in gdf[gold_col].iloc[join.gold_rows].tolist()]
    preds = [tables.as_text(v) for v in pdf[pcol].iloc[join.pred_rows].tolist()]
    warnings = join.warnings()
    texts = None
    tcol, tside = None, None
    if text_col:
        if text_col in pdf.columns:
            tcol, tside = text_col, "pred"
        elif text_col in gdf.columns:
            tcol, tside = text_col, "gold"
        else:
            tables.require_columns(pdf, [text_col], pwhere)
    else:
        for side, df in (("pred", pdf), ("gold", gdf)):
            tcol = tables.pick_column(df, None, tables.TEXT_COLUMNS, "text", "", required=False)
            if tcol:
                tside = side
                break
    if tcol:
        src, rows = (pdf, join.pred_rows) if tside == "pred" else (gdf, join.gold_rows)
        texts = [tables.as_text(v) for v in src[tcol].iloc[rows].tolist()]
    else:
        warnings.append("no comment text column in either file (tried "
                        f"{', '.join(tables.TEXT_COLUMNS[:5])}, ...): grounded share not computed; "
                        "pass --text-col")
    report = span_metrics.evaluate_spans(golds, preds, mode, texts, bootstrap, seed)
    report["gold"] = {"path": gwhere, "column": gold_col}
    report["pred"] = {"path": pwhere, "column": pcol}
    report["text"] = {"column": tcol, "from": tside} if tcol else None
    report["join"] = join.as_dict()
    counts = {"rows": report["n"], "gold_rows": join.n_gold, "pred_rows": join.n_pred,
              "empty_predictions": report["empty_predictions"]}
    manifest = {"gold": _source(gold, gwhere), "pred": _source(pred, pwhere),
                "parameters": {"gold_col": gold_col, "pred_col": pcol, "id_col": id_col, "text_col": tcol,
                               "bleu": mode, "bootstrap": bootstrap, "seed": seed}}
    return Scores("causes", report, warnings, counts, manifest)
