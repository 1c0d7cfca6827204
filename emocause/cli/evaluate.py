"""``emocause evaluate emotions`` and ``emocause evaluate causes``.

The functions :func:`emotions_report` and :func:`causes_report` do the work
(read, align, score) and return JSON-ready dicts; the commands only render
them.  Results go to stdout (nothing else does, so ``--format json`` output
can be piped); warnings about unmatched rows and unknown labels go to stderr.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli import options as o
from emocause.errors import UsageError

FORMATS = ("table", "json", "csv", "markdown")

evaluate_app = typer.Typer(
    help="Score predictions against gold data: per-emotion F1, cause-span BLEU, with bootstrap CIs.",
    no_args_is_help=True)

Gold = Annotated[Path, typer.Option("--gold", help="Gold table (CSV, JSONL or Parquet).", show_default=False)]
Pred = Annotated[Path, typer.Option("--pred", help="Predictions table (e.g. the output of `emocause "
                                    "classify` / `emocause causes`).", show_default=False)]
IdCol = Annotated[Optional[str], typer.Option(
    "--id-col", help="Join rows on this column (default: the first of id, ID, comment_id, ... present "
    "in each file; by position when neither file has one).", show_default=False)]
Bootstrap = Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for 95% "
                                        "confidence intervals (0 = none).")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap resampling.")]
Format = Annotated[str, typer.Option("--format", "-f", help="table | json | csv | markdown.")]


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


def _read(path: Path, what: str):
    from emocause.tables import read_table

    df = read_table(path)
    if len(df) == 0:
        raise UsageError(f"{path}: the {what} table has no rows")
    return df


# ---------------------------------------------------------------- emotions

def emotions_report(gold: Path, pred: Path, gold_col: str | None = None, pred_col: str | None = None,
                    id_col: str | None = None, bootstrap: int = 1000, seed: int = 0,
                    compare: Path | None = None, compare_col: str | None = None
                    ) -> tuple[dict[str, Any], list[str]]:
    """Per-emotion P/R/F1/support, macro/micro, intervals and an optional paired comparison.

    Returns the report and the warnings to show (unmatched ids, unknown labels).
    """
    from emocause.evaluate import labels
    from emocause.evaluate import metrics
    from emocause.emotions import taxonomy

    gdf, pdf = _read(gold, "gold"), _read(pred, "prediction")
    gspec = labels.parse_spec(gdf, gold_col, str(gold), "gold")
    pspec = labels.parse_spec(pdf, pred_col, str(pred), "pred")
    emotions = tuple(e for e in taxonomy.BASIC if e in gspec.emotions and e in pspec.emotions)
    if not emotions:
        raise UsageError(f"gold ({', '.join(gspec.emotions)}) and predictions ({', '.join(pspec.emotions)}) "
                         f"share no emotion to score")
    join = labels.join_rows(gdf, pdf, id_col, str(gold), str(pred))
    g = labels.label_matrix(gdf.iloc[join.gold_rows], gspec, emotions)
    p = labels.label_matrix(pdf.iloc[join.pred_rows], pspec, emotions)
    warnings = join.warnings()
    for side, lm in (("gold", g), ("pred", p)):
        if lm.unrecognised:
            few = ", ".join(f"{k!r} x{v}" for k, v in lm.unrecognised.most_common(5))
            warnings.append(f"{sum(lm.unrecognised.values())} {side} label(s) are not emotions the taxonomy "
                            f"knows and count as no emotion: {few}")
    report: dict[str, Any] = metrics.multilabel_scores(g.matrix, p.matrix, emotions)
    report = {"n": report["n"], "labels": list(emotions), "per_label": report["per_label"],
              "macro": report["macro"], "micro": report["micro"]}
    weights = None
    if bootstrap:
        weights = metrics.resample_weights(report["n"], bootstrap, seed)
        report["ci"] = metrics.multilabel_intervals(g.matrix, p.matrix, emotions, weights)
        report["bootstrap"] = {"resamples": bootstrap, "seed": seed, "level": metrics.LEVEL,
                               "method": "percentile"}
    report["gold"] = {"path": str(gold), **gspec.describe()}
    report["pred"] = {"path": str(pred), **pspec.describe()}
    report["join"] = join.as_dict()
    report["unrecognised"] = {"gold": dict(g.unrecognised), "pred": dict(p.unrecognised)}
    if compare is not None:
        report["compare"], more = _compare(gdf, gspec, gold, p.matrix, join, compare, compare_col or pred_col,
                                           id_col, emotions, bootstrap, seed)
        warnings += more
    return report, warnings


def _compare(gdf, gspec, gold: Path, pred_a, join_a, compare: Path, compare_col: str | None,
             id_col: str | None, emotions, bootstrap: int, seed: int) -> tuple[dict[str, Any], list[str]]:
    """Paired bootstrap of macro-F1 (B = --compare minus A = --pred) on the gold rows both predict."""
    import numpy as np

    from emocause.evaluate import labels

    from emocause.evaluate import metrics

    cdf = _read(compare, "comparison")
    cspec = labels.parse_spec(cdf, compare_col, str(compare), "pred")
    missing = [e for e in emotions if e not in cspec.emotions]
    if missing:
        raise UsageError(f"{compare}: no labels for {', '.join(missing)}, which --pred has")
    join_b = labels.join_rows(gdf, cdf, id_col, str(gold), str(compare))
    pos_a = {int(g): i for i, g in enumerate(join_a.gold_rows)}
    pos_b = {int(g): i for i, g in enumerate(join_b.gold_rows)}
    common = [g for g in join_a.gold_rows.tolist() if g in pos_b]
    if not common:
        raise UsageError(f"{compare} and the --pred file share no gold row")
    y = labels.label_matrix(gdf.iloc[common], gspec, emotions).matrix
    a = pred_a[[pos_a[g] for g in common]]
    b = labels.label_matrix(cdf.iloc[join_b.pred_rows[[pos_b[g] for g in common]]], cspec, emotions).matrix
    warnings = [f"compare: {w}" for w in join_b.warnings()]
    n_boot = bootstrap or 1000
    weights = metrics.resample_weights(len(common), n_boot, seed)
    test = metrics.paired_macro_f1(y, a, b, weights)
    out = {"path": str(compare), **cspec.describe(), "n": len(common), "statistic": "macro_f1",
           **test.as_dict(), "seed": seed,
           "per_label_f1": {e: float(f) for e, f in zip(emotions, metrics.prf(
               *np.split(metrics.row_counts(y, b).sum(0), 3))[2])}}
    return out, warnings


# ---------------------------------------------------------------- causes

GOLD_SPAN_DEFAULT = "Cause Span"
PRED_SPAN_COLUMNS = ("cause", "prediction", "pred", "span", "predicted_span")


def causes_report(gold: Path, pred: Path, gold_col: str = GOLD_SPAN_DEFAULT, pred_col: str | None = None,
                  id_col: str | None = None, text_col: str | None = None, mode: str = "word",
                  bootstrap: int = 1000, seed: int = 0) -> tuple[dict[str, Any], list[str]]:
    """BLEU-1..4 (word or paper mode), token F1, exact match, span lengths and grounding."""
    from emocause.evaluate import labels
    from emocause.evaluate import spans as span_metrics
    from emocause import tables as tabular

    if mode not in span_metrics.MODES:
        raise UsageError(f"--bleu must be one of {', '.join(span_metrics.MODES)}, not {mode!r}")
    gdf, pdf = _read(gold, "gold"), _read(pred, "prediction")
    tabular.require_columns(gdf, [gold_col], str(gold))
    pcol = tabular.pick_column(pdf, pred_col, PRED_SPAN_COLUMNS, "pred", str(pred))
    if pcol == gold_col and pred_col is None:
        raise UsageError(f"{pred}: the prediction column would be the gold column {gold_col!r}; pass --pred-col")
    join = labels.join_rows(gdf, pdf, id_col, str(gold), str(pred))
    golds = [tabular.as_text(v) for v in gdf[gold_col].iloc[join.gold_rows].tolist()]
    preds = [tabular.as_text(v) for v in pdf[pcol].iloc[join.pred_rows].tolist()]
    warnings = join.warnings()
    texts = None
    tcol, tside = None, None
    if text_col:
        if text_col in pdf.columns:
            tcol, tside = text_col, "pred"
        elif text_col in gdf.columns:
            tcol, tside = text_col, "gold"
        else:
            tabular.require_columns(pdf, [text_col], str(pred))
    else:
        for side, df in (("pred", pdf), ("gold", gdf)):
            tcol = tabular.pick_column(df, None, tabular.TEXT_COLUMNS, "text", "", required=False)
            if tcol:
                tside = side
                break
    if tcol:
        src, rows = (pdf, join.pred_rows) if tside == "pred" else (gdf, join.gold_rows)
        texts = [tabular.as_text(v) for v in src[tcol].iloc[rows].tolist()]
    else:
        warnings.append("no comment text column in either file (tried "
                        f"{', '.join(tabular.TEXT_COLUMNS[:5])}, ...): grounded share not computed; "
                        "pass --text-col")
    report = span_metrics.evaluate_spans(golds, preds, mode, texts, bootstrap, seed)
    report["gold"] = {"path": str(gold), "column": gold_col}
    report["pred"] = {"path": str(pred), "column": pcol}
    report["text"] = {"column": tcol, "from": tside} if tcol else None
    report["join"] = join.as_dict()
    return report, warnings


# ---------------------------------------------------------------- rendering

def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _with_ci(value: float | None, ci: list[float] | None, digits: int = 3) -> str:
    if ci is None:
        return _fmt(value, digits)
    return f"{_fmt(value, digits)} [{_fmt(ci[0], digits)}, {_fmt(ci[1], digits)}]"


def _emotion_rows(r: dict[str, Any]) -> list[list[str]]:
    ci = r.get("ci") or {}
    rows = []
    for lab in r["labels"]:
        m, c = r["per_label"][lab], ci.get("per_label", {}).get(lab, {})
        rows.append([lab, *(_with_ci(m[k], c.get(k)) for k in ("precision", "recall", "f1")),
                     str(m["support"])])
    for avg in ("macro", "micro"):
        m, c = r[avg], ci.get(avg, {})
        rows.append([f"{avg} avg", *(_with_ci(m[k], c.get(k)) for k in ("precision", "recall", "f1")), ""])
    return rows


def _emotion_footer(r: dict[str, Any]) -> list[str]:
    j = r["join"]
    lines = [f"n = {r['n']} rows, aligned by {j['method']}"
             + (f" ({j['gold_id']} / {j['pred_id']})" if j["method"] == "id" else "")]
    if r.get("bootstrap"):
        b = r["bootstrap"]
        lines.append(f"[low, high]: {b['level']:.0%} {b['method']} bootstrap interval, "
                     f"{b['resamples']} resamples, seed {b['seed']}")
    c = r.get("compare")
    if c:
        lines.append(f"compare: macro-F1 {c['b']:.3f} ({c['path']}) - {c['a']:.3f} (--pred) = "
                     f"{c['diff']:+.3f} [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}], paired bootstrap "
                     f"p = {c['p_value']:.4f} (n = {c['n']}, {c['resamples']} resamples)")
    return lines


def _cause_rows(r: dict[str, Any]) -> list[list[str]]:
    ci = r.get("ci") or {}
    rows = []
    for k in ("1", "2", "3", "4"):
        rows.append([f"BLEU-{k} (row average)", _with_ci(r["bleu"][k], (ci.get("bleu") or {}).get(k))])
    if r.get("corpus_bleu"):
        for k in ("1", "2", "3", "4"):
            rows.append([f"BLEU-{k} (corpus)", _with_ci(r["corpus_bleu"][k],
                                                        (ci.get("corpus_bleu") or {}).get(k))])
    rows.append(["token F1", _with_ci(r["token_f1"], ci.get("token_f1"))])
    rows.append(["exact match", _with_ci(r["exact_match"], ci.get("exact_match"))])
    sw, swc = r["span_words"], ci.get("span_words") or {}
    rows.append(["mean words, gold span", _with_ci(sw["gold"], swc.get("gold"), 2)])
    rows.append(["mean words, predicted span", _with_ci(sw["pred"], swc.get("pred"), 2)])
    g = r.get("grounded")
    if g:
        rows.append(["grounded share of predicted spans", _with_ci(g["share"], ci.get("grounded"))])
    rows.append(["empty predictions", str(r["empty_predictions"])])
    return rows


def _cause_footer(r: dict[str, Any]) -> list[str]:
    j = r["join"]
    lines = [f"n = {r['n']} rows, aligned by {j['method']}; BLEU mode: {r['mode']}"]
    for k, v in r["signature"].items():
        lines.append(f"signature ({'sacrebleu ' if r['mode'] == 'word' else ''}{k}): {v}")
    g = r.get("grounded")
    if g:
        lines.append("grounding of {spans} predicted spans: ".format(**g)
                     + ", ".join(f"{k} {v}" for k, v in g["by_kind"].items()))
    if r.get("bootstrap"):
        b = r["bootstrap"]
        lines.append(f"[low, high]: {b['level']:.0%} {b['method']} bootstrap interval, "
                     f"{b['resamples']} resamples, seed {b['seed']}")
    return lines


def _long_rows(r: dict[str, Any], kind: str) -> list[list[Any]]:
    """Tidy rows (section, label, metric, value, ci_low, ci_high) for --format csv."""
    ci = r.get("ci") or {}
    out: list[list[Any]] = []

    def add(section: str, label: str, metric: str, value: Any, c: list[float] | None = None) -> None:
        out.append([section, label, metric, value, c[0] if c else "", c[1] if c else ""])

    add("summary", "", "n", r["n"])
    if kind == "emotions":
        for lab in r["labels"]:
            for m in ("precision", "recall", "f1"):
                add("per_label", lab, m, r["per_label"][lab][m], ci.get("per_label", {}).get(lab, {}).get(m))
            add("per_label", lab, "support", r["per_label"][lab]["support"])
        for avg in ("macro", "micro"):
            for m in ("precision", "recall", "f1"):
                add(avg, "", m, r[avg][m], ci.get(avg, {}).get(m))
        c = r.get("compare")
        if c:
            add("compare", c["path"], "macro_f1_diff", c["diff"], c["ci"])
            add("compare", c["path"], "p_value", c["p_value"])
    else:
        for k in ("1", "2", "3", "4"):
            add("bleu", r["mode"], f"bleu{k}", r["bleu"][k], (ci.get("bleu") or {}).get(k))
        if r.get("corpus_bleu"):
            for k in ("1", "2", "3", "4"):
                add("corpus_bleu", r["mode"], f"bleu{k}", r["corpus_bleu"][k],
                    (ci.get("corpus_bleu") or {}).get(k))
        add("span", "", "token_f1", r["token_f1"], ci.get("token_f1"))
        add("span", "", "exact_match", r["exact_match"], ci.get("exact_match"))
        for side in ("gold", "pred"):
            add("span_words", side, "mean_words", r["span_words"][side], (ci.get("span_words") or {}).get(side))
        if r.get("grounded"):
            add("grounded", "", "share", r["grounded"]["share"], ci.get("grounded"))
        add("span", "", "empty_predictions", r["empty_predictions"])
    return out


def render(report: dict[str, Any], kind: str, fmt: str) -> str:
    """The report as text in one of :data:`FORMATS`."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["section", "label", "metric", "value", "ci_low", "ci_high"])
        w.writerows(_long_rows(report, kind))
        return buf.getvalue().rstrip("\n")
    if kind == "emotions":
        header, rows, footer = ["label", "precision", "recall", "F1", "support"], _emotion_rows(report), \
            _emotion_footer(report)
        title = f"Emotions: {report['pred']['path']} vs {report['gold']['path']}"
    else:
        header, rows, footer = ["metric", "value"], _cause_rows(report), _cause_footer(report)
        title = f"Cause spans: {report['pred']['path']} [{report['pred']['column']}] vs {report['gold']['path']}"
    if fmt == "markdown":
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines += [""] + [f"{x}  " for x in footer]
        return "\n".join(lines).rstrip()
    from rich.console import Console
    from rich.table import Table

    table = Table(*header)
    for i, col in enumerate(table.columns):
        col.justify = "left" if i == 0 else "right"
    for row in rows:
        table.add_row(*row)
    buf = io.StringIO()
    console = Console(file=buf, width=160, highlight=False, color_system=None)
    console.print(title, markup=False, soft_wrap=True)
    console.print(table)
    for line in footer:
        console.print(line, markup=False, soft_wrap=True)
    return buf.getvalue().rstrip("\n")


def _emit(report: dict[str, Any], warnings: list[str], kind: str, fmt: str) -> None:
    for w in warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(render(report, kind, fmt))


# ---------------------------------------------------------------- commands

@evaluate_app.command("emotions")
def emotions_cmd(
    gold: Gold, pred: Pred,
    gold_col: Annotated[Optional[str], typer.Option(
        "--gold-col", help="Gold label column(s): one label column, or comma-separated 0/1 columns "
        "(COLUMN or COLUMN=Emotion). Default: the six columns Anger..Surprise, else an "
        "emotion/label column.", show_default=False)] = None,
    pred_col: Annotated[Optional[str], typer.Option(
        "--pred-col", help="Prediction label column(s), same syntax. Default: an emotion/label "
        "column, else the six 0/1 columns.", show_default=False)] = None,
    id_col: IdCol = None, bootstrap: Bootstrap = 1000, seed: Seed = 0,
    compare: Annotated[Optional[Path], typer.Option(
        "--compare", help="A second predictions file: paired bootstrap test of its macro-F1 minus "
        "--pred's.", show_default=False)] = None,
    compare_col: Annotated[Optional[str], typer.Option(
        "--compare-col", help="Label column(s) of --compare (default: --pred-col).",
        show_default=False)] = None,
    fmt: Format = "table",
    encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLinesOpt = o.BadLines.error,
) -> None:
    """Per-emotion precision, recall, F1 and support, macro/micro averages, bootstrap CIs.

    Each emotion is scored as its own binary task, as in the paper. Labels may be
    six 0/1 columns, one label column or comma-separated labels; fine-grained names
    (Annoyance, gratitude, ...) map to the six basic emotions; Neutral, Unparsed,
    Hallucination and empty mean no emotion. Rows join on the id column.
    """
    _check_format(fmt)
    with o.reading_tables(encoding, sep, bad_lines):
        report, warnings = emotions_report(gold, pred, gold_col, pred_col, id_col, bootstrap, seed,
                                           compare, compare_col)
    _emit(report, warnings, "emotions", fmt)


@evaluate_app.command("causes")
def causes_cmd(
    gold: Gold, pred: Pred,
    gold_col: Annotated[str, typer.Option("--gold-col", help="Gold span column.")] = GOLD_SPAN_DEFAULT,
    pred_col: Annotated[Optional[str], typer.Option(
        "--pred-col", help="Predicted span column (default: `cause`, as written by `emocause causes`).",
        show_default=False)] = None,
    bleu: Annotated[str, typer.Option(
        "--bleu", help="word: sacrebleu over words; paper: the paper's character-level NLTK-style "
        "BLEU on cleaned text (see docs/metrics.md).")] = "word",
    id_col: IdCol = None,
    text_col: Annotated[Optional[str], typer.Option(
        "--text-col", help="Comment text, for the grounded share (default: detected in --pred, "
        "then --gold: text, Text, modified_comment, ...).", show_default=False)] = None,
    bootstrap: Bootstrap = 1000, seed: Seed = 0, fmt: Format = "table",
    encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLinesOpt = o.BadLines.error,
) -> None:
    """BLEU-1..4 of predicted cause spans, token F1, exact match, span lengths, grounded share.

    --bleu word (default) prints sacrebleu's sentence-average and corpus BLEU with its
    signature; --bleu paper reproduces the paper's computation (GPT-4 BLEU-2 = 0.598).
    """
    _check_format(fmt)
    with o.reading_tables(encoding, sep, bad_lines):
        report, warnings = causes_report(gold, pred, gold_col, pred_col, id_col, text_col, bleu,
                                         bootstrap, seed)
    _emit(report, warnings, "causes", fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate")
