"""Writing a :class:`~emocause.report.model.Report`: HTML, Markdown, CSV, JSON and SVG charts.

Comments are untrusted input.  In the HTML every value goes through Jinja2's
autoescaping; comment text is shown through :func:`comment_html`, which
escapes everything and turns only Markdown code spans and fences into
``<code>``; links are kept only when they are ``http(s)`` URLs; the charts are
SVG written by :mod:`emocause.report.charts`, which escapes every label; and
the page has no script and loads nothing (a Content-Security-Policy says so
too).  In the Markdown, HTML and Markdown syntax in comment text is escaped,
code spans stay code.  CSV cells that a spreadsheet would run as a formula
are neutralised (:func:`emocause.tables.spreadsheet_safe`) unless raw CSV is
asked for; ``summary.json`` keeps every text exactly as written.

A report is written whole or not at all: every file goes into a folder beside
``--out`` first, which then takes its place.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from emocause import __version__
from emocause.files import write_error, write_text
from emocause.report.model import Member, Report
from emocause.tables import as_text

#: Every file a report may contain (a rerun into the same folder removes the stale ones).
CHART_NAMES = ("months", "sizes", "timeline", "roles")
OUTPUT_FILES = ("report.html", "report.md", "clusters.csv", "summary.json", "manifest.json",
                "annotations.csv")


# ----------------------------------------------------------------------------- comment text

_FENCE = re.compile(r"```[^\n`]*\n?(.*?)(?:```|\Z)", re.S)
_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\(\s*<?[^()\s]*(?:\([^()\s]*\)[^()\s]*)*>?\s*\)")


def _inline_html(text: str) -> Markup:
    parts: list[Markup] = []
    pos = 0
    for m in _CODE.finditer(text):
        parts.append(escape(text[pos:m.start()]))
        parts.append(Markup("<code>{}</code>").format(m.group(2).strip() or m.group(2)))
        pos = m.end()
    parts.append(escape(text[pos:]))
    return Markup("").join(parts)


def comment_html(value: object) -> Markup:
    """Comment text as safe HTML: everything escaped; Markdown code as ``<code>``, links as
    their text (the address is not followed), nothing else interpreted."""
    text = _MD_LINK.sub(r"\1", as_text(value))
    parts: list[Markup] = []
    pos = 0
    for m in _FENCE.finditer(text):
        parts.append(_inline_html(text[pos:m.start()]))
        parts.append(Markup('<code class="block">{}</code>').format(m.group(1).strip("\n")))
        pos = m.end()
    parts.append(_inline_html(text[pos:]))
    return Markup("").join(parts)


def clip(value: object, width: int) -> str:
    """``value`` on one line, cut at a word boundary to about ``width`` characters."""
    text = " ".join(as_text(value).split())
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0].rstrip(",;:") + " …"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~<>!])")


def md_escape(text: object, width: int | None = None) -> str:
    """Text safe inside Markdown: one line, HTML and Markdown syntax escaped."""
    text = " ".join(as_text(text).split())
    if width and len(text) > width:
        text = text[:width - 1].rstrip() + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def md_text(value: object, width: int | None = None) -> str:
    """Comment text for Markdown: escaped like :func:`md_escape`, but code spans stay code."""
    text = " ".join(_MD_LINK.sub(r"\1", as_text(value)).split())
    if width and len(text) > width:
        text = text[:width - 1].rstrip() + "…"
    out, pos = [], 0
    for m in _CODE.finditer(text):
        code = m.group(2).strip() or m.group(2)
        fence = "`" * (max((len(r) for r in re.findall(r"`+", code)), default=0) + 1)
        pad = " " if code.startswith("`") or code.endswith("`") else ""
        out.append(md_escape(text[pos:m.start()]) + f"{fence}{pad}{code}{pad}{fence}")
        pos = m.end()
    out.append(md_escape(text[pos:]))
    return "".join(out)


def md_url(url: str) -> str:
    """A link target that cannot end the Markdown link early."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C")


# ----------------------------------------------------------------------------- shared pieces

def _period(report: Report) -> str:
    when = pd.to_datetime(report.causes["date"], utc=True).dropna()
    if when.empty:
        return "undated comments"
    return f"{when.min():%Y-%m-%d} to {when.max():%Y-%m-%d}"


def _roles_text(report: Report) -> str:
    roles = report.parameters.get("roles")
    return ", ".join(roles) if roles else "all authors"


def _denominators(report: Report) -> dict[str, int] | None:
    """Comments showing the emotion per month, when the input has them (all months covered)."""
    return report.months or None


def draw_charts(report: Report, width: str = "100%", link: bool = True) -> dict[str, str]:
    """The report's charts as SVG text: months, sizes (also in two halves, for the page's
    two columns), timeline, roles."""
    from emocause.report import charts

    labels = [t.label for t in report.themes]
    rows = [(t.id, t.label, t.size, t.authors) for t in report.themes]
    half = (len(rows) + 2) // 2  # two columns on a wide page: themes, then the rest and "other"
    peak = max([t.size for t in report.themes] + [report.n_other, 1])
    return {
        "sizes_a": charts.sizes_chart(rows[:half], None, width, link=link, peak=peak),
        "sizes_b": charts.sizes_chart(rows[half:], report.n_other, width, link=link, peak=peak),
        "months": charts.months_chart(report.months, report.totals, report.emotion, width),
        "sizes": charts.sizes_chart([(t.id, t.label, t.size, t.authors) for t in report.themes],
                                    report.n_other, width, link=link),
        "timeline": charts.timeline_chart(report.timeline_months,
                                          [(t.id, t.label, t.timeline) for t in report.themes],
                                          _denominators(report), report.emotion, width),
        "roles": charts.roles_chart(labels, [t.roles for t in report.themes],
                                    report.roles_overall, report.role_order, width),
    }


def _shown(value: Any) -> str:
    """A parameter as shown in the Method table: file paths by name only (no local paths)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(_shown, value))
    text = str(value)
    if os.path.isabs(os.path.expanduser(text)) or text.startswith(("~", "./", "../")):
        return Path(text).name or text
    return text


def param_rows(report: Report) -> list[tuple[str, str]]:
    rows = []
    for k, v in report.parameters.items():
        if k == "roles" and v is None:
            v = "all"
        if v is None or v == "" or isinstance(v, dict):
            continue
        rows.append((k.replace("_", " "), _shown(v)))
    rows.append(("clustering time", f"{report.counts['cluster_seconds']:.2f} s"))
    return rows


def _kpis(report: Report) -> list[dict[str, str]]:
    c = report.counts
    rows = []
    if "emotion_comments" in c:  # scraped records: the model chose the comments
        rows.append({"value": f"{c['comments']:,}", "name": "comments analysed"})
        rows.append({"value": f"{c['emotion_comments']:,}",
                     "name": f"show {report.emotion.lower()}"})
    authors = report.causes["author"].replace("", np.nan).nunique()
    rows += [{"value": f"{report.n_causes:,}", "name": "causes"},
             {"value": f"{len(report.themes)}", "name": "themes"},
             {"value": f"{100 * report.coverage:.0f}%", "name": "causes in a named theme"}]
    if authors:
        rows.append({"value": f"{authors:,}", "name": "authors"})
    return rows


# ----------------------------------------------------------------------------- HTML

def render_html(report: Report, charts: dict[str, str] | None = None) -> str:
    """``report.html``: one file, no script, nothing loaded; every value autoescaped."""
    import jinja2

    from emocause.report import charts as chart_mod

    env = jinja2.Environment(loader=jinja2.PackageLoader("emocause.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["comment"] = comment_html
    env.filters["clip"] = clip
    colours = chart_mod.role_colours(report.role_order)
    charts = charts if charts is not None else draw_charts(report)
    cards = {t.id: {"timeline": Markup(chart_mod.sparkline(report.timeline_months, t.timeline)),
                    "roles": Markup(chart_mod.role_strip(t.roles, colours))}
             for t in report.themes}
    return env.get_template("report.html.j2").render(
        r=report, title=report.title, emotion=report.emotion, roles_text=_roles_text(report),
        period=_period(report), themes=report.themes, kpis=_kpis(report),
        charts={k: Markup(v) for k, v in charts.items()}, cards=cards, colours=colours,
        counts=report.counts, params=report.parameters, param_rows=param_rows(report),
        from_causes=bool(report.parameters.get("from_causes")), version=__version__,
        has_months=bool(report.months), has_timeline=bool(report.timeline_months),
        denominators=_denominators(report) is not None, method=method_text(report),
        created=report.created)


# ----------------------------------------------------------------------------- Markdown

def _md_member(m: Member, width: int = 300) -> str:
    meta = " · ".join(x for x in (md_escape(m.author), md_escape(m.role), m.date or "") if x)
    link = f" · [comment]({md_url(m.url)})" if m.url else ""
    return f"- \u201c{md_text(m.cause, width)}\u201d ({meta}{link})"


def render_markdown(report: Report, chart_dir: str = "charts") -> str:
    """``report.md``: the same content as the HTML page, charts as linked SVG files."""
    c = report.counts
    emotion = md_escape(report.emotion)
    lines = [
        f"# What causes {md_escape(report.emotion.lower())} in {md_escape(report.title)}", "",
        f"{report.n_causes:,} causes of {emotion} in comments by "
        f"{md_escape(_roles_text(report))} ({_period(report)}), grouped into "
        f"{len(report.themes)} themes; {report.n_clustered:,} causes "
        f"({100 * report.coverage:.1f}%) are in a named theme and {report.n_other:,} in "
        f"\u201cother\u201d.", ""]
    if "emotion_comments" in c:
        lines += [f"Comments analysed: {c['comments']:,}; showing {emotion}: "
                  f"{c['emotion_comments']:,}.", ""]
    lines += [f"![{emotion} comments per month]({chart_dir}/months.svg)", "",
              "## Themes", "", f"![Causes per theme]({chart_dir}/sizes.svg)", "",
              "| # | Theme | Causes | Authors | Top author | First seen | Last seen |",
              "|---:|---|---:|---:|---|---|---|"]
    for t in report.themes:
        top = (f"{md_escape(t.top_authors[0][0])} ({100 * t.top_share:.0f}%)"
               if t.top_authors else "")
        lines.append(f"| {t.id} | [{md_escape(t.label)}](#theme-{t.id}) | {t.size:,} | "
                     f"{t.authors:,} | {top} | {t.first_seen or ''} | {t.last_seen or ''} |")
    lines.append(f"| | Other (in no theme) | {report.n_other:,} | | | | |")
    lines += ["", "## Themes over time", "", f"![Themes over time]({chart_dir}/timeline.svg)", "",
              "## Who writes them", "", f"![Themes by author role]({chart_dir}/roles.svg)", "",
              "## The themes in detail", ""]
    for t in report.themes:
        roles = ", ".join(f"{md_escape(r)} {100.0 * n / t.size:.0f}%" for r, n in t.roles.items())
        who = f"{t.authors:,} authors"
        if t.top_authors:
            who += (f"; the most active, {md_escape(t.top_authors[0][0])}, wrote "
                    f"{t.top_authors[0][1]:,} ({100 * t.top_share:.0f}%), the top three "
                    f"{100 * t.top3_share:.0f}%")
        seen = f" First seen {t.first_seen}, last seen {t.last_seen}." if t.first_seen else ""
        lines += [f'<a id="theme-{t.id}"></a>', "", f"### {t.id}. {md_escape(t.label)}", "",
                  f"{t.size:,} causes ({100 * t.share:.1f}%); {who}. By role: {roles}.{seen}"
                  + (f" {t.reassigned:,} joined by similarity." if t.reassigned else ""), ""]
        if t.phrases:
            lines += [f"Key phrases: {md_escape('; '.join(t.phrases))}.", ""]
        if t.subthemes:
            lines += ["Sub-themes:", ""]
            lines += [f"- {md_escape(s.label)} ({s.size:,}): \u201c{md_text(s.example, 160)}\u201d"
                      for s in t.subthemes]
            lines.append("")
        lines += ["Closest to the centre:", ""]
        for e in t.examples:
            lines.append(_md_member(Member(e.cause, e.url, e.author, e.role, e.date, e.similarity),
                                    400))
        lines += ["", f"<details><summary>All {t.size:,} causes</summary>", ""]
        lines += [_md_member(m) for m in t.members]
        if t.size > len(t.members):
            lines.append(f"- … and {t.size - len(t.members):,} more in clusters.csv")
        lines += ["", "</details>", ""]
    lines += ["## Other", "",
              f"{report.n_other:,} causes are in no theme (too far from every theme's centre).", ""]
    if report.other:
        lines += [f"<details><summary>All {report.n_other:,} other causes</summary>", ""]
        lines += [_md_member(m) for m in report.other]
        if report.n_other > len(report.other):
            lines.append(f"- … and {report.n_other - len(report.other):,} more in clusters.csv")
        lines += ["", "</details>", ""]
    lines += ["## Method", "", method_text(report, md_escape), "", "| parameter | value |",
              "|---|---|"]
    lines += [f"| {md_escape(k)} | {md_escape(v)} |" for k, v in param_rows(report)]
    lines += ["", f"Generated by emocause {__version__} on {report.created}.", ""]
    return "\n".join(lines)


def method_text(report: Report, esc: Any = str) -> str:
    """How the themes were made, in two or three sentences (``esc`` escapes the values taken
    from the input: :func:`md_escape` for Markdown; the HTML template autoescapes it all)."""
    p, c = report.parameters, report.counts
    model = esc(str(_shown(p.get("embedding_model"))))
    if p.get("method") == "paper":
        how = (f"clustered as in the paper: DBSCAN with cosine distance (eps {p.get('eps')}, "
               f"min samples {p.get('min_samples')}); a theme is a cluster of at least "
               f"{p.get('min_cluster_size')} causes, and the rest are \u201cother\u201d "
               f"({c['noise']:,} noise, {c['in_small_clusters']:,} in smaller clusters).")
    else:
        algo = p.get("algorithm")
        step = ("average-linkage agglomerative clustering with cosine distance (merging stops "
                f"at {p.get('threshold')})" if algo == "agglomerative" else
                f"{esc(str(algo).upper())}")
        how = (f"grouped by {step}; groups of at least {p.get('min_cluster_size')} causes are "
               f"themes, and every other cause joined the theme whose centre is most similar to "
               f"it when that cosine similarity was at least {p.get('min_similarity')} "
               f"({c.get('reassigned', 0):,} did); the remaining {report.n_other:,} are "
               "\u201cother\u201d. Themes of many causes are split again into sub-themes.")
    label = ("named by a language model from their most central causes"
             if p.get("labels") == "model" else
             "named by the phrase of their causes closest to the theme's centre")
    return (f"Causes were embedded with {model} and {how} Themes are {label}; the examples are "
            "the causes closest to each theme's centre.")


# ----------------------------------------------------------------------------- data files

def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def _public_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: (_shown(v) if k in ("input", "embedding_model") and v else v)
            for k, v in parameters.items()}


def summary_data(report: Report) -> dict[str, Any]:
    """``summary.json``: counts, parameters, the timeline and every theme in full."""
    when = pd.to_datetime(report.causes["date"], utc=True).dropna()
    return {
        "title": report.title,
        "emotion": report.emotion,
        "n_causes": report.n_causes,
        "n_clustered": report.n_clustered,
        "n_unclustered": report.n_other,
        "coverage": round(report.coverage, 4),
        "n_noise": report.counts["noise"],
        "n_in_small_clusters": report.counts["in_small_clusters"],
        "n_reassigned": report.counts.get("reassigned", 0),
        "first_date": when.min().isoformat() if not when.empty else None,
        "last_date": when.max().isoformat() if not when.empty else None,
        "roles": report.roles_overall,
        "months": report.months,
        "comments_per_month": report.totals,
        "timeline": {"months": report.timeline_months,
                     "themes": {str(t.id): t.timeline for t in report.themes}},
        "clusters": [{
            "id": t.id, "size": t.size, "share": round(t.share, 4), "label": t.label,
            "keywords": t.keywords, "phrases": t.phrases, "roles": t.roles,
            "cohesion": t.cohesion,
            "authors": t.authors, "top_authors": [{"author": a, "causes": n} for a, n in t.top_authors],
            "top_author_share": round(t.top_share, 4), "first_seen": t.first_seen,
            "last_seen": t.last_seen, "reassigned": t.reassigned,
            "subthemes": [{"id": s.id, "label": s.label, "size": s.size, "example": s.example}
                          for s in t.subthemes],
            "examples": [{"cause": e.cause, "comment": e.comment, "url": e.url, "role": e.role,
                          "author": e.author, "date": e.date, "similarity": e.similarity}
                         for e in t.examples],
        } for t in report.themes],
        "counts": report.counts,
        "parameters": _public_parameters(report.parameters),
        "created": report.created,
        "emocause_version": __version__,
    }


def clusters_table(report: Report) -> pd.DataFrame:
    """``clusters.csv``: every cause with its theme (``-1``: other), in input order."""
    df = report.causes.copy()
    df["date"] = [None if pd.isna(d) else pd.Timestamp(d).isoformat() for d in df["date"]]
    cols = ["row", "cluster", "cluster_label", "subtheme", "subtheme_label", "cause",
            "centre_similarity", "reassigned", "algorithm_label", "core", "role", "author",
            "date", "url", "comment"]
    return df[cols]


# ----------------------------------------------------------------------------- the folder

def _stage_files(report: Report, stage: Path, annotations: pd.DataFrame | None,
                 csv_raw: bool) -> list[str]:
    from emocause.tables import spreadsheet_safe, write_table

    def table(df: pd.DataFrame) -> pd.DataFrame:
        return df if csv_raw else spreadsheet_safe(df)

    names = []
    charts = draw_charts(report)
    files = draw_charts(report, width="720", link=False)
    (stage / "charts").mkdir()
    for name in CHART_NAMES:  # the halves of "sizes" are for the page only
        write_text(stage / "charts" / f"{name}.svg", files[name] + "\n")
        names.append(f"charts/{name}.svg")
    write_table(table(clusters_table(report)), stage / "clusters.csv")
    if annotations is not None:
        write_table(table(annotations), stage / "annotations.csv")
        names.append("annotations.csv")
    summary = json.dumps(summary_data(report), indent=2, ensure_ascii=False, default=_json_default)
    write_text(stage / "summary.json", summary + "\n")
    write_text(stage / "report.md", render_markdown(report))
    write_text(stage / "report.html", render_html(report, charts))
    return sorted(names + ["clusters.csv", "summary.json", "report.md", "report.html"])


def _put_in_place(stage: Path, out: Path) -> None:
    """Move the staged report to ``out``: one rename when ``out`` is new or empty, else file by
    file over the previous report (report files it no longer has are removed; other files stay)."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(stage, out)
        return
    for name in OUTPUT_FILES:
        if not (stage / name).exists() and (out / name).is_file():
            (out / name).unlink()
    old_charts = out / "charts"
    if old_charts.is_dir():
        for p in old_charts.iterdir():
            if p.stem in CHART_NAMES and p.suffix in (".png", ".svg") and p.is_file():
                p.unlink()
    old_charts.mkdir(exist_ok=True)
    for p in sorted(stage.rglob("*")):
        if p.is_file():
            os.replace(p, out / p.relative_to(stage))
    shutil.rmtree(stage, ignore_errors=True)


def write_report(report: Report, out: str | Path, annotations: pd.DataFrame | None = None,
                 manifest: dict[str, Any] | None = None, csv_raw: bool = False) -> dict[str, Path]:
    """Write the report into ``out``, whole or not at all; returns file name -> path.

    Everything is written into a hidden folder beside ``out`` and then moved into
    place, so a failure (a full disk, an interrupt) leaves the previous report, or
    nothing, never half a report.  ``manifest`` holds the :func:`write_manifest` fields.
    """
    from emocause.manifest import write_manifest

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # mkdir (not mkdtemp) so the folder gets the permissions the umask gives.
        stage = out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
        stage.mkdir()
    except OSError as exc:
        raise write_error(out, exc) from None
    try:
        names = _stage_files(report, stage, annotations, csv_raw)
        fields = dict(manifest or {})
        fields["outputs"] = names + ["manifest.json"]
        write_manifest(stage, "report", output=str(out), **fields)
        _put_in_place(stage, out)
    except OSError as exc:
        raise write_error(out, exc) from None
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return {name: out / name for name in names + ["manifest.json"]}
