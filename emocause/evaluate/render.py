"""Rendering evaluation reports: a rich table, JSON, tidy CSV or Markdown (pure text, no I/O)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from emocause.errors import UsageError
from emocause.progress import printable

FORMATS = ("table", "json", "csv", "markdown")


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else one line saying which are."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


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
    rc = r.get("recall_ceiling")
    if rc and rc["positives"]:
        lines.append(f"recall ceiling for one label per row: micro {rc['micro']:.3f}, macro {rc['macro']:.3f} "
                     f"({rc['reachable']} of {rc['positives']} gold positives reachable; "
                     f"{rc['multi_label_rows']} rows have several gold emotions"
                     + (f"; no gold positive, recall 0: {', '.join(rc['no_support'])}" if rc.get("no_support")
                        else "") + ")")
    a = r.get("answers")
    if a:
        st = a["statuses"]
        lines.append(f"raw answers to the {a['prompt']} prompt ({a['labels']} labels): {st['ok']} on its list, "
                     f"{st['off-list']} off it (mapped), {st['unparsed']} unparsed")
    if r.get("mapping"):
        lines.append(f"mapping: {r['mapping']['name']} (sha256 {r['mapping']['sha256'][:12]})")
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
        rc = r.get("recall_ceiling")
        if rc:
            add("recall_ceiling", "", "micro", rc["micro"])
            add("recall_ceiling", "", "macro", rc["macro"])
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
        return printable("\n".join(lines).rstrip())
    from rich.console import Console
    from rich.table import Table

    table = Table(*header)
    for i, col in enumerate(table.columns):
        col.justify = "left" if i == 0 else "right"
    for row in rows:
        table.add_row(*row)
    buf = io.StringIO()
    console = Console(file=buf, width=160, highlight=False, color_system=None)
    console.print(printable(title), markup=False, soft_wrap=True)
    console.print(table)
    for line in footer:
        console.print(printable(line), markup=False, soft_wrap=True)
    return buf.getvalue().rstrip("\n")
