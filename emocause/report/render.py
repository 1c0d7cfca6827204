"""The case-study report: from causes and their clusters to four files a maintainer can read.

This module holds the parts of ``emocause report`` that do not talk to a
model: finding the columns of an input table, filtering by author role and
time window, turning a cause table into the report's data (:class:`Report`),
and writing ``clusters.csv``, ``summary.json``, ``report.md`` and
``report.html`` (plus the charts as PNG files for the Markdown).

Comments are untrusted input.  In the HTML every value goes through Jinja2's
autoescaping (the template never marks comment text safe), links are kept only
when they are ``http(s)`` URLs, and charts are PNG images, so a comment cannot
inject markup or script.  In the Markdown, HTML and Markdown syntax in comment
text is escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emocause import __version__
from emocause import dates
from emocause.errors import UsageError
from emocause.files import write_bytes
from emocause.sources.records import parse_repo
from emocause.tables import TEXT_COLUMNS, as_text, pick_column

CAUSE_COLUMNS = ("cause", "Cause", "Emotion Causes", "emotion_cause", "Emotion_Causes", "causes",
                 "Causes")
DATE_COLUMNS = ("created_at", "Date", "date", "created", "timestamp", "time")
ROLE_COLUMNS = ("author_association", "UserType", "role", "user_type", "association")
URL_COLUMNS = ("url", "html_url", "URL", "link")
AUTHOR_COLUMNS = ("author", "User", "user", "login")
ISSUE_COLUMNS = ("Issue_ID", "issue_id", "issue_number", "issue")
COMMENT_ID_COLUMNS = ("Comment_ID", "comment_id")
PROJECT_COLUMNS = ("project", "repo", "repository")
#: The paper's case study: comments by contributors, collaborators and members.
PAPER_ROLES = ("CONTRIBUTOR", "COLLABORATOR", "MEMBER")
NO_ROLE = "(none)"


# ----------------------------------------------------------------------------- columns and filters

@dataclass
class Columns:
    """Which input column holds what (``None``: not present)."""

    text: str | None
    cause: str | None = None
    date: str | None = None
    role: str | None = None
    url: str | None = None
    author: str | None = None
    issue: str | None = None
    comment_id: str | None = None
    project: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)


def resolve_columns(df: pd.DataFrame, where: str, text: str | None = None,
                    cause: str | None = None, date: str | None = None, role: str | None = None,
                    url: str | None = None, need_cause: bool = False) -> Columns:
    """Explicit names must exist (one line naming the columns that do); others are auto-detected."""
    def pick(explicit: str | None, candidates: Sequence[str], what: str, required: bool) -> str | None:
        return pick_column(df, explicit, candidates, what, where, required=required)

    text_col = pick(text, TEXT_COLUMNS, "text", not need_cause)
    return Columns(
        text=text_col,
        cause=pick(cause, CAUSE_COLUMNS, "cause", need_cause),
        date=pick(date, DATE_COLUMNS, "date", False),
        role=pick(role, ROLE_COLUMNS, "role", False),
        url=pick(url, URL_COLUMNS, "url", False),
        author=pick(None, AUTHOR_COLUMNS, "author", False),
        issue=pick(None, ISSUE_COLUMNS, "issue", False),
        comment_id=pick(None, COMMENT_ID_COLUMNS, "comment-id", False),
        project=pick(None, PROJECT_COLUMNS, "project", False),
    )


def parse_roles(value: str | None) -> tuple[str, ...] | None:
    """``A,B,C`` -> upper-cased names; ``all`` (or ``*``) -> ``None`` (no role filter)."""
    if value is None:
        return PAPER_ROLES
    names = tuple(dict.fromkeys(v.strip().upper() for v in value.split(",") if v.strip()))
    if not names:
        raise UsageError("--roles is empty; give role names such as CONTRIBUTOR,MEMBER, or 'all'")
    if any(n in ("ALL", "*") for n in names):
        return None
    return names


def parse_when(value: str | None, option: str, end: bool = False) -> pd.Timestamp | None:
    """A ``--since``/``--until`` date as a UTC timestamp (:mod:`emocause.dates` rules); an
    upper bound is inclusive (a bare ``--until`` day, month or year includes all of it)."""
    if value is None or not value.strip():
        return None
    ts = pd.Timestamp(dates.parse_bound(value, option, end=end))
    return ts - pd.Timedelta(microseconds=1) if end else ts


def parse_dates(values: pd.Series) -> pd.Series:
    """Timestamps in UTC (naive ones read as UTC); unreadable values become NaT."""
    text = values.map(as_text)
    parsed = pd.to_datetime(text.where(text.str.strip() != "", None), errors="coerce", utc=True,
                            format="mixed")
    return parsed


def _truthy(value: object) -> bool:
    return as_text(value).strip().lower() in ("true", "1", "yes")


def filter_rows(df: pd.DataFrame, cols: Columns, roles: tuple[str, ...] | None,
                roles_explicit: bool, since: pd.Timestamp | None, until: pd.Timestamp | None,
                where: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows written by people (no bots) in the roles and the window; with what was dropped and why.

    The paper's role set is the default; a table with no role column (a mailing
    list) is kept whole unless ``--roles`` was given explicitly.
    """
    counts: dict[str, Any] = {"rows": len(df)}
    keep = pd.Series(True, index=df.index)
    if "is_bot" in df.columns:
        bots = df["is_bot"].map(_truthy)
        counts["bots"] = int(bots.sum())
        keep &= ~bots
    role_values = (df[cols.role].map(lambda v: as_text(v).strip().upper()) if cols.role
                   else pd.Series("", index=df.index))
    if roles is not None:
        if cols.role is None or not role_values.astype(bool).any():
            if roles_explicit:
                raise UsageError(f"{where}: --roles needs a role column (tried "
                                 f"{', '.join(ROLE_COLUMNS)}; pass --role-col); columns are: "
                                 f"{', '.join(map(str, df.columns))}")
            counts["roles_note"] = "no author roles in the input: role filter not applied"
        else:
            in_role = role_values.isin(roles)
            counts["other_roles"] = int((keep & ~in_role).sum())
            keep &= in_role
    if since is not None or until is not None:
        if cols.date is None:
            raise UsageError(f"{where}: --since/--until need a date column (tried "
                             f"{', '.join(DATE_COLUMNS)}; pass --date-col); columns are: "
                             f"{', '.join(map(str, df.columns))}")
        dates = parse_dates(df[cols.date])
        undated = dates.isna()
        counts["undated"] = int((keep & undated).sum())
        inside = ~undated
        if since is not None:
            inside &= dates >= since
        if until is not None:
            inside &= dates <= until
        counts["outside_window"] = int((keep & ~undated & ~inside).sum())
        keep &= inside
    counts["kept"] = int(keep.sum())
    return df[keep], counts


# ----------------------------------------------------------------------------- normalised causes

def strip_quotes(value: object) -> str:
    """A cause as written in the paper's files: surrounding (curly) double quotes removed."""
    text = " ".join(as_text(value).split())
    while len(text) >= 2 and text[0] in "\"\u201c\u201d" and text[-1] in "\"\u201c\u201d":
        text = text[1:-1].strip()
    return text.strip("\"\u201c\u201d").strip() if text.count('"') == 1 else text


def safe_url(value: object) -> str | None:
    """``value`` if it is an http(s) URL without whitespace (so never ``javascript:``), else None."""
    text = as_text(value).strip()
    if re.fullmatch(r"https?://[^\s<>\"']+", text, flags=re.I):
        return text
    return None


def _clean_id(value: object) -> str:
    text = as_text(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _valid_repo(repo: str) -> bool:
    try:
        parse_repo(repo)
    except UsageError:
        return False
    return True


def github_link(repo: str | None, issue: object, comment_id: object) -> str | None:
    """``https://github.com/OWNER/NAME/issues/N#issuecomment-C`` (or the issue alone) for a known repo."""
    if not repo or not _valid_repo(repo):
        return None
    number, cid = _clean_id(issue), _clean_id(comment_id)
    if not number.isdigit():
        return None
    link = f"https://github.com/{repo}/issues/{number}"
    return link + (f"#issuecomment-{cid}" if cid.isdigit() else "")


def cause_frame(df: pd.DataFrame, cols: Columns, cause_values: Sequence[object],
                repo: str | None = None) -> pd.DataFrame:
    """The report's own columns: row, cause, comment, date, role, author, url (one row per input row).

    ``row`` is the row's position in the input table, so every cause in
    ``clusters.csv`` can be traced back.  Links come from the url column, else
    from issue and comment ids when the repository is known (``--repo`` or an
    ``owner/name`` project column).
    """
    n = len(df)

    def column(name: str | None) -> list[str]:
        return [as_text(v) for v in df[name].tolist()] if name else [""] * n

    urls = [safe_url(u) for u in column(cols.url)]
    if cols.issue:
        projects = column(cols.project)
        for i, (issue, cid) in enumerate(zip(column(cols.issue), column(cols.comment_id))):
            if urls[i] is None:
                urls[i] = github_link(repo or projects[i].strip() or None, issue, cid)
    dates = parse_dates(df[cols.date]) if cols.date else pd.Series(pd.NaT, index=df.index,
                                                                    dtype="datetime64[ns, UTC]")
    roles = [as_text(r).strip().upper() or NO_ROLE for r in column(cols.role)] if cols.role \
        else [NO_ROLE] * n
    return pd.DataFrame({
        "row": df.index.to_numpy(),
        "cause": [strip_quotes(c) for c in cause_values],
        "comment": column(cols.text),
        "date": dates.to_numpy(),
        "role": roles,
        "author": column(cols.author),
        "url": urls,
    })


def month_counts(dates: pd.Series) -> dict[str, int]:
    """``{"YYYY-MM": count}`` for the dated values, months without any included as 0."""
    d = pd.to_datetime(dates, utc=True).dropna()
    if d.empty:
        return {}
    months = d.dt.strftime("%Y-%m")
    counts = months.value_counts()
    span = pd.period_range(d.min().strftime("%Y-%m"), d.max().strftime("%Y-%m"), freq="M")
    return {str(p): int(counts.get(str(p), 0)) for p in span}


# ----------------------------------------------------------------------------- the report data

@dataclass
class Example:
    cause: str
    comment: str
    url: str | None
    role: str
    author: str
    date: str | None
    similarity: float
    # The comment split around the grounded cause, for highlighting.
    before: str = ""
    span: str = ""
    after: str = ""


@dataclass
class ThemeView:
    id: int
    size: int
    share: float
    label: str
    keywords: list[str]
    roles: dict[str, int]
    cohesion: float
    examples: list[Example]


@dataclass
class Report:
    """Everything the four output files show."""

    title: str
    emotion: str
    causes: pd.DataFrame  # cause_frame + cluster, cluster_label, algorithm_label, core, centre_similarity
    themes: list[ThemeView]
    months: dict[str, int]
    totals: dict[str, int] | None  # all comments per month (scraped records only)
    counts: dict[str, Any]
    parameters: dict[str, Any]
    role_order: list[str]
    roles_overall: dict[str, int]
    created: str = ""

    @property
    def n_causes(self) -> int:
        return len(self.causes)

    @property
    def n_clustered(self) -> int:
        return int((self.causes["cluster"] >= 1).sum())


def _excerpt(comment: str, cause: str, width: int = 700) -> tuple[str, str, str]:
    """(before, cause as found, after) of ``comment``, trimmed to about ``width`` characters."""
    from emocause.emotions.grounding import ground

    g = ground(cause, comment)
    if g.start is None or g.end is None:
        text = comment if len(comment) <= width else comment[:width].rstrip() + " …"
        return text, "", ""
    before, span, after = comment[:g.start], comment[g.start:g.end], comment[g.end:]
    room = max(80, (width - len(span)) // 2)
    if len(before) > room:
        before = "… " + before[-room:].lstrip()
    if len(after) > room:
        after = after[:room].rstrip() + " …"
    return before, span, after


def build(frame: pd.DataFrame, X: np.ndarray, clustering: Any, min_cluster_size: int,
          title: str, emotion: str, counts: dict[str, Any], parameters: dict[str, Any],
          totals: dict[str, int] | None = None, months: dict[str, int] | None = None,
          n_examples: int = 3, top_keywords: int = 8) -> Report:
    """Join causes, embeddings and cluster labels into a :class:`Report` (no I/O).

    ``months`` (emotion comments per month) defaults to the causes' months;
    scraped records pass every comment that showed the emotion, cause or not.
    """
    from emocause.report.clustering import reported
    from emocause.manifest import now
    from emocause.report.themes import describe

    ids = reported(clustering.labels, min_cluster_size)
    texts = frame["cause"].tolist()
    roles = frame["role"].tolist()
    themes = describe(X, texts, ids, roles, top_n=top_keywords, n_examples=n_examples)
    label_of = {t.id: t.label for t in themes}
    out = frame.copy()
    out["cluster"] = ids
    out["cluster_label"] = [label_of.get(int(i), "") for i in ids]
    out["algorithm_label"] = clustering.labels
    out["core"] = clustering.core if clustering.core is not None else pd.NA
    sims = np.full(len(out), np.nan)
    for t in themes:
        members = np.flatnonzero(ids == t.id)
        centre = X[members].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        sims[members] = X[members] @ centre
    out["centre_similarity"] = np.round(sims, 4)

    role_overall = out["role"].value_counts()
    role_order = [str(r) for r in role_overall.index]
    views: list[ThemeView] = []
    for t in themes:
        examples = []
        for row, sim in zip(t.examples, t.similarities):
            r = out.iloc[row]
            before, span, after = _excerpt(r["comment"], r["cause"])
            date = r["date"]
            examples.append(Example(
                cause=r["cause"], comment=r["comment"], url=r["url"], role=r["role"],
                author=r["author"], date=None if pd.isna(date) else pd.Timestamp(date).strftime("%Y-%m-%d"),
                similarity=round(sim, 4), before=before, span=span, after=after))
        ordered = {r: t.roles[r] for r in role_order if r in t.roles}
        views.append(ThemeView(id=t.id, size=t.size, share=t.share, label=t.label,
                               keywords=t.keywords, roles=ordered, cohesion=round(t.cohesion, 4),
                               examples=examples))
    labels = clustering.labels
    counts = dict(counts)
    small = (labels >= 0) & (ids < 0)
    counts.update({
        "causes": len(out), "themes": len(views), "clustered": int((ids >= 1).sum()),
        "noise": int((labels < 0).sum()), "small_clusters": int(len(np.unique(labels[small]))),
        "in_small_clusters": int(small.sum()), "unique_causes": int(clustering.n_unique),
        "cluster_seconds": round(float(clustering.seconds), 3),
    })
    return Report(title=title, emotion=emotion, causes=out, themes=views,
                  months=months if months is not None else month_counts(out["date"]),
                  totals=totals, counts=counts,
                  parameters=parameters, role_order=role_order,
                  roles_overall={str(k): int(v) for k, v in role_overall.items()}, created=now())


# ----------------------------------------------------------------------------- outputs

def draw_charts(report: Report) -> dict[str, bytes]:
    """The three charts as PNG bytes: months, sizes, roles."""
    from emocause.report import charts

    labels = [t.label for t in report.themes]
    return {
        "months": charts.months_chart(report.months, report.totals, report.emotion),
        "sizes": charts.sizes_chart(labels, [t.size for t in report.themes],
                                    report.n_causes - report.n_clustered),
        "roles": charts.roles_chart(labels, [t.roles for t in report.themes], report.roles_overall,
                                    report.role_order),
    }


def summary_data(report: Report) -> dict[str, Any]:
    """``summary.json``: counts, parameters and every theme with its keywords and examples."""
    dates = pd.to_datetime(report.causes["date"], utc=True).dropna()
    return {
        "title": report.title,
        "emotion": report.emotion,
        "n_causes": report.n_causes,
        "n_clustered": report.n_clustered,
        "n_unclustered": report.n_causes - report.n_clustered,
        "n_noise": report.counts["noise"],
        "n_in_small_clusters": report.counts["in_small_clusters"],
        "first_date": dates.min().isoformat() if not dates.empty else None,
        "last_date": dates.max().isoformat() if not dates.empty else None,
        "roles": report.roles_overall,
        "months": report.months,
        "comments_per_month": report.totals,
        "clusters": [{
            "id": t.id, "size": t.size, "share": round(t.share, 4), "label": t.label,
            "keywords": t.keywords, "roles": t.roles, "cohesion": t.cohesion,
            "examples": [{"cause": e.cause, "comment": e.comment, "url": e.url, "role": e.role,
                          "author": e.author, "date": e.date, "similarity": e.similarity}
                         for e in t.examples],
        } for t in report.themes],
        "counts": report.counts,
        "parameters": report.parameters,
        "created": report.created,
        "emocause_version": __version__,
    }


def clusters_table(report: Report) -> pd.DataFrame:
    """``clusters.csv``: every cause with its theme (``-1``: in none), in input order."""
    df = report.causes.copy()
    df["date"] = [None if pd.isna(d) else pd.Timestamp(d).isoformat() for d in df["date"]]
    cols = ["row", "cluster", "cluster_label", "cause", "centre_similarity", "algorithm_label",
            "core", "role", "author", "date", "url", "comment"]
    return df[cols]


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def md_escape(text: str, width: int | None = None) -> str:
    """Comment text safe inside Markdown: one line, HTML and Markdown syntax escaped."""
    text = " ".join(as_text(text).split())
    if width and len(text) > width:
        text = text[:width - 1].rstrip() + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _period(report: Report) -> str:
    dates = pd.to_datetime(report.causes["date"], utc=True).dropna()
    if dates.empty:
        return "undated comments"
    return f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"


def _roles_text(report: Report) -> str:
    roles = report.parameters.get("roles")
    return ", ".join(roles) if roles else "all authors"


def render_markdown(report: Report, chart_dir: str = "charts") -> str:
    """``report.md``: the same content as the HTML page, charts as linked PNG files."""
    c = report.counts
    pct = (100.0 * report.n_clustered / report.n_causes) if report.n_causes else 0.0
    lines = [
        f"# What causes {md_escape(report.emotion.lower())} in {md_escape(report.title)}", "",
        f"{report.n_causes:,} causes of {md_escape(report.emotion)} in comments by "
        f"{md_escape(_roles_text(report))} ({_period(report)}), grouped into "
        f"{len(report.themes)} themes; {report.n_clustered:,} causes ({pct:.1f}%) fall in a theme.",
        "",
    ]
    if "emotion_comments" in c:
        lines += [f"Comments analysed: {c['comments']:,}; showing {md_escape(report.emotion)}: "
                  f"{c.get('emotion_comments', report.n_causes):,}.", ""]
    lines += [f"![{md_escape(report.emotion)} comments per month]({chart_dir}/months.png)", "",
              "## Themes", "",
              "| # | Theme | Causes | Share | Keywords | Top role |",
              "|---:|---|---:|---:|---|---|"]
    for t in report.themes:
        top_role = max(t.roles, key=lambda r: t.roles[r], default="")
        top_share = 100.0 * t.roles.get(top_role, 0) / t.size if t.size else 0.0
        lines.append(f"| {t.id} | {md_escape(t.label)} | {t.size:,} | {100 * t.share:.1f}% | "
                     f"{md_escape(', '.join(t.keywords[:6]))} | {md_escape(top_role)} "
                     f"({top_share:.0f}%) |")
    if not report.themes:
        lines.append("| | no theme has enough causes | | | | |")
    lines += ["", f"![Causes per theme]({chart_dir}/sizes.png)", "",
              f"![Themes by author role]({chart_dir}/roles.png)", ""]
    for t in report.themes:
        roles = ", ".join(f"{md_escape(r)} {100.0 * n / t.size:.0f}%" for r, n in t.roles.items())
        lines += [f"### {t.id}. {md_escape(t.label)}", "",
                  f"{t.size:,} causes ({100 * t.share:.1f}%). Keywords: "
                  f"{md_escape(', '.join(t.keywords))}. By role: {roles}.", "",
                  "Closest to the centre:", ""]
        for e in t.examples:
            meta = " · ".join(x for x in (md_escape(e.author), md_escape(e.role), e.date or "") if x)
            link = f" · [comment]({e.url.replace('(', '%28').replace(')', '%29')})" if e.url else ""
            lines.append(f"- \u201c{md_escape(e.cause, 400)}\u201d ({meta}{link})")
        lines.append("")
    p = report.parameters
    lines += ["## Method", "",
              f"Causes embedded with `{md_escape(str(p.get('embedding_model')))}`, clustered with "
              f"{md_escape(str(p.get('algorithm', '')).upper())} "
              f"({md_escape(_algo_text(p))}); themes are clusters with at least "
              f"{p.get('min_cluster_size')} causes. {c['noise']:,} causes are noise and "
              f"{c['in_small_clusters']:,} sit in {c['small_clusters']:,} smaller "
              f"cluster{'' if c['small_clusters'] == 1 else 's'}. "
              "Keywords are class-based TF-IDF; examples are the causes closest to each theme's "
              "centre.", "",
              f"Generated by emocause {__version__} on {report.created}.", ""]
    return "\n".join(lines)


def _algo_text(p: dict[str, Any]) -> str:
    if p.get("algorithm") == "hdbscan":
        return f"min_cluster_size {p.get('min_cluster_size')}, min_samples {p.get('min_samples')}"
    return f"cosine eps {p.get('eps')}, min_samples {p.get('min_samples')}"


_HTML = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>What causes {{ emotion|lower }} in {{ title }}</title>
<style>
:root { --ink:#2b2d42; --muted:#6b7080; --line:#e3e5ea; --bg:#f6f7f9; --card:#fff; --accent:#4C72B0; --mark:#fff1b8; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--ink); background:var(--bg); }
.wrap { max-width: 1080px; margin: 0 auto; padding: 0 24px; }
header.hero { background: linear-gradient(135deg,#2b2d42,#4C72B0); color:#fff; padding: 36px 0 30px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; opacity: .8; margin:0 0 6px; }
h1 { font-size: 30px; line-height:1.2; margin: 0 0 10px; }
.lede { font-size: 16px; margin:0; opacity:.92; max-width: 820px; }
h2 { font-size: 21px; margin: 38px 0 14px; }
section { margin-bottom: 8px; }
.kpis { display:grid; grid-template-columns: repeat(auto-fit,minmax(160px,1fr)); gap: 14px; margin-top: -22px; }
.kpi { background: var(--card); border-radius: 10px; padding: 14px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.kpi b { display:block; font-size: 24px; }
.kpi span { color: var(--muted); font-size: 13px; }
.panel { background: var(--card); border-radius: 10px; padding: 16px 18px; box-shadow: 0 1px 3px rgba(0,0,0,.08); margin-bottom: 16px; }
.panel img { width:100%; height:auto; display:block; }
.scroll { overflow-x: auto; }
@media (max-width: 640px) { h1 { font-size: 24px; } .wrap { padding: 0 14px; } .kw { display: none; } }
table { width:100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align:left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.num, th.num { text-align: right; white-space: nowrap; }
td a { color: var(--ink); font-weight: 600; text-decoration: none; }
td a:hover { text-decoration: underline; }
.kw { color: var(--muted); }
.rolebar { display:flex; height: 10px; border-radius: 5px; overflow:hidden; background: var(--line); min-width: 120px; }
.rolebar span { display:block; height:100%; }
.legend { display:flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; color: var(--muted); margin: 8px 0 0; }
.legend i { display:inline-block; width:10px; height:10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.card { background: var(--card); border-radius: 10px; padding: 18px 20px; box-shadow: 0 1px 3px rgba(0,0,0,.08); margin-bottom: 18px; border-left: 4px solid var(--accent); }
.card h3 { margin: 0 0 4px; font-size: 18px; }
.card .meta { color: var(--muted); font-size: 13px; margin-bottom: 10px; }
.chips { display:flex; flex-wrap:wrap; gap:6px; margin: 8px 0 12px; }
.chip { background: #eef2fa; color: #34508a; border-radius: 999px; padding: 2px 10px; font-size: 13px; }
.examples { list-style:none; margin: 12px 0 0; padding:0; }
.examples li { border-top: 1px solid var(--line); padding: 10px 0; }
.cause { font-size: 15px; margin: 0 0 4px; }
.cause::before { content: "\201C"; color: var(--muted); }
.cause::after { content: "\201D"; color: var(--muted); }
.exmeta { font-size: 12.5px; color: var(--muted); }
.exmeta a { color: var(--accent); }
details { margin-top: 4px; font-size: 13px; }
details summary { cursor: pointer; color: var(--muted); }
.comment { white-space: pre-wrap; word-break: break-word; background: var(--bg); border-radius: 6px; padding: 8px 10px; margin-top: 6px; }
mark { background: var(--mark); padding: 0 1px; }
dl.params { display:grid; grid-template-columns: max-content 1fr; gap: 4px 18px; font-size: 14px; margin:0; }
dl.params dt { color: var(--muted); }
dl.params dd { margin:0; word-break: break-word; }
.note { color: var(--muted); font-size: 13.5px; }
footer { color: var(--muted); font-size: 12.5px; padding: 26px 0 40px; }
@media print { header.hero { background:#2b2d42; -webkit-print-color-adjust: exact; print-color-adjust: exact; } .card, .panel { break-inside: avoid; } }
</style>
</head>
<body>
<header class="hero"><div class="wrap">
  <p class="eyebrow">emocause case study · {{ emotion }}</p>
  <h1>What causes {{ emotion|lower }} in {{ title }}</h1>
  <p class="lede">{{ "{:,}".format(n_causes) }} causes of {{ emotion|lower }} in comments by {{ roles_text }} ({{ period }}),
  grouped into {{ themes|length }} theme{{ "" if themes|length == 1 else "s" }} by meaning.</p>
</div></header>
<main class="wrap">
<section class="kpis">
  {% for k in kpis %}<div class="kpi"><b>{{ k.value }}</b><span>{{ k.name }}</span></div>{% endfor %}
</section>

<h2>Over time</h2>
<div class="panel">{% if has_months %}<img alt="{{ emotion }} comments per month" src="data:image/png;base64,{{ charts.months }}">{% else %}<p class="note">The comments have no dates{% if not params.get("columns", {}).get("date") %} (no date column found; see --date-col){% endif %}.</p>{% endif %}</div>

<h2>Themes</h2>
{% if themes %}
<div class="panel scroll">
<table>
<thead><tr><th class="num">#</th><th>Theme</th><th class="num">Causes</th><th class="num">Share</th><th class="kw">Keywords</th><th>By role</th></tr></thead>
<tbody>
{% for t in themes %}
<tr><td class="num">{{ t.id }}</td><td><a href="#theme-{{ t.id }}">{{ t.label }}</a></td>
<td class="num">{{ "{:,}".format(t.size) }}</td><td class="num">{{ "%.1f"|format(100 * t.share) }}%</td>
<td class="kw">{{ t.keywords[:5]|join(", ") }}</td>
<td><div class="rolebar">{% for r, n in t.roles.items() %}<span style="width:{{ "%.2f"|format(100.0 * n / t.size) }}%;background:{{ colours[r] }}" title="{{ r }}: {{ n }}"></span>{% endfor %}</div></td></tr>
{% endfor %}
</tbody>
</table>
<div class="legend">{% for r in role_order %}<span><i style="background:{{ colours[r] }}"></i>{{ r }}</span>{% endfor %}</div>
</div>
<div class="panel"><img alt="Causes per theme" src="data:image/png;base64,{{ charts.sizes }}"></div>
<div class="panel"><img alt="Themes by author role" src="data:image/png;base64,{{ charts.roles }}"></div>

<h2>The themes in detail</h2>
{% for t in themes %}
<article class="card" id="theme-{{ t.id }}">
  <h3>{{ t.id }}. {{ t.label }}</h3>
  <div class="meta">{{ "{:,}".format(t.size) }} causes · {{ "%.1f"|format(100 * t.share) }}% of all causes · cohesion {{ "%.2f"|format(t.cohesion) }}</div>
  <div class="chips">{% for k in t.keywords %}<span class="chip">{{ k }}</span>{% endfor %}</div>
  <div class="rolebar">{% for r, n in t.roles.items() %}<span style="width:{{ "%.2f"|format(100.0 * n / t.size) }}%;background:{{ colours[r] }}" title="{{ r }}: {{ n }}"></span>{% endfor %}</div>
  <div class="legend">{% for r, n in t.roles.items() %}<span><i style="background:{{ colours[r] }}"></i>{{ r }} {{ "%.0f"|format(100.0 * n / t.size) }}% ({{ n }})</span>{% endfor %}</div>
  <ul class="examples">
  {% for e in t.examples %}
    <li>
      <p class="cause">{{ e.cause }}</p>
      <div class="exmeta">{% if e.author %}{{ e.author }} · {% endif %}{{ e.role }}{% if e.date %} · {{ e.date }}{% endif %}{% if e.url %} · <a href="{{ e.url }}" rel="noopener noreferrer nofollow">view comment ↗</a>{% endif %}</div>
      {% if e.comment %}<details><summary>comment</summary><div class="comment">{{ e.before }}{% if e.span %}<mark>{{ e.span }}</mark>{% endif %}{{ e.after }}</div></details>{% endif %}
    </li>
  {% endfor %}
  </ul>
</article>
{% endfor %}
{% else %}
<div class="panel"><p class="note">No theme has {{ params.min_cluster_size }} or more causes with these settings. Try a larger time window, more roles, or a larger --eps.</p></div>
{% endif %}

<h2>Method</h2>
<div class="panel">
<p class="note">{% if from_causes %}Causes were read from the input file.{% else %}Each comment was asked whether it shows {{ emotion|lower }} ({{ params.detect_prompt }}), and the cause was extracted from those that do ({{ params.cause_prompt }}).{% endif %}
Causes were embedded with a sentence-transformer and clustered; a theme is a cluster with at least {{ params.min_cluster_size }} causes.
Keywords are class-based TF-IDF; the examples are the causes closest to each theme's centre, and cohesion is the mean cosine similarity of a theme's causes to that centre. {{ "{:,}".format(counts.noise) }} causes are noise and {{ "{:,}".format(counts.in_small_clusters) }} sit in {{ counts.small_clusters }} smaller cluster{{ "" if counts.small_clusters == 1 else "s" }}.</p>
<dl class="params">
{% for k, v in param_rows %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}
</dl>
</div>
</main>
<footer class="wrap">Generated by emocause {{ version }} on {{ created }}. Comments are quoted as their authors wrote them.</footer>
</body>
</html>
"""


def _kpis(report: Report) -> list[dict[str, str]]:
    c = report.counts
    pct = (100.0 * report.n_clustered / report.n_causes) if report.n_causes else 0.0
    rows = []
    if "emotion_comments" in c:  # scraped records: the model chose the comments
        rows.append({"value": f"{c['comments']:,}", "name": "comments analysed"})
        rows.append({"value": f"{c['emotion_comments']:,}",
                     "name": f"show {report.emotion.lower()}"})
    rows += [{"value": f"{report.n_causes:,}", "name": "causes"},
             {"value": f"{len(report.themes)}", "name": "themes"},
             {"value": f"{pct:.0f}%", "name": "causes in a theme"}]
    return rows


def _param_rows(report: Report) -> list[tuple[str, str]]:
    rows = []
    for k, v in report.parameters.items():
        if k == "roles" and v is None:
            v = "all"
        if v is None or v == "" or isinstance(v, dict):
            continue
        rows.append((k.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)))
    rows.append(("clustering time", f"{report.counts['cluster_seconds']:.2f} s"))
    return rows


def render_html(report: Report, charts: dict[str, bytes]) -> str:
    """``report.html``: one file, no external resources; every value autoescaped."""
    import jinja2

    from emocause.report.charts import role_colours

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_HTML)
    return template.render(
        title=report.title, emotion=report.emotion, n_causes=report.n_causes,
        roles_text=_roles_text(report), period=_period(report), themes=report.themes,
        kpis=_kpis(report), charts={k: base64.b64encode(v).decode("ascii") for k, v in charts.items()},
        colours=role_colours(report.role_order), role_order=report.role_order,
        counts=report.counts, params=report.parameters, param_rows=_param_rows(report),
        from_causes=bool(report.parameters.get("from_causes")), version=__version__,
        has_months=bool(report.months),
        created=report.created)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def write_outputs(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write the report's files into ``out_dir`` (each atomically); returns name -> path."""
    from emocause.tables import write_table

    out_dir.mkdir(parents=True, exist_ok=True)
    charts = draw_charts(report)
    chart_dir = out_dir / "charts"
    chart_dir.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    for name, png in charts.items():
        p = chart_dir / f"{name}.png"
        write_bytes(p, png)
        paths[f"charts/{name}.png"] = p
    paths["clusters.csv"] = write_table(clusters_table(report), out_dir / "clusters.csv")
    summary = json.dumps(summary_data(report), indent=2, ensure_ascii=False, default=_json_default)
    write_bytes(out_dir / "summary.json", (summary + "\n").encode("utf-8"))
    paths["summary.json"] = out_dir / "summary.json"
    write_bytes(out_dir / "report.md", render_markdown(report).encode("utf-8"))
    paths["report.md"] = out_dir / "report.md"
    write_bytes(out_dir / "report.html", render_html(report, charts).encode("utf-8"))
    paths["report.html"] = out_dir / "report.html"
    return paths


def check_enough(n_causes: int, min_samples: int, min_cluster_size: int, what: str) -> None:
    """One clear line when there are too few causes for any theme to exist."""
    need = max(min_samples, min_cluster_size, 2)
    if n_causes == 0:
        raise UsageError(f"no causes to cluster: {what}")
    if n_causes < need:
        raise UsageError(f"only {n_causes} cause{'s' if n_causes != 1 else ''} to cluster ({what}); "
                         f"a theme needs at least {need} (--min-cluster-size/--min-samples)")

