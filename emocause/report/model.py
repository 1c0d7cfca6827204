"""The report's data: what a maintainer asks about each theme, computed once (no I/O).

:func:`build` joins the causes, their embeddings, the themes and their labels
into a :class:`Report`; :mod:`emocause.report.render` only formats it.  Per
theme: how many causes and how many distinct authors (and how much of it the
most active authors wrote, so one person's boilerplate is visible), the split
by author role, when it was first and last seen, causes per month, the causes
closest to its centre with links, sub-themes, and every cause.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emocause.report.inputs import month_counts

#: Causes listed per theme (and for "other") in the page; all are in clusters.csv.
MAX_LISTED = 500


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
class Member:
    """One cause in a theme's full list."""

    cause: str
    url: str | None
    author: str
    role: str
    date: str | None
    similarity: float | None
    reassigned: bool = False


@dataclass
class SubTheme:
    id: int
    label: str
    size: int
    example: str  # its most central cause


@dataclass
class ThemeView:
    id: int
    size: int
    share: float
    label: str
    keywords: list[str]  # class-based TF-IDF terms (stop words removed): for search and data
    roles: dict[str, int]
    cohesion: float
    examples: list[Example]
    phrases: list[str] = field(default_factory=list)  # readable key phrases, after the label
    authors: int = 0
    top_authors: list[tuple[str, int]] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    timeline: dict[str, int] = field(default_factory=dict)
    reassigned: int = 0
    subthemes: list[SubTheme] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)

    @property
    def top_share(self) -> float:
        """Share of the theme's causes written by its most active author."""
        return self.top_authors[0][1] / self.size if self.top_authors and self.size else 0.0

    @property
    def top3_share(self) -> float:
        return sum(n for _, n in self.top_authors[:3]) / self.size if self.size else 0.0


@dataclass
class Report:
    """Everything the output files show."""

    title: str
    emotion: str
    causes: pd.DataFrame  # cause_frame + cluster, cluster_label, subtheme, ..., centre_similarity
    themes: list[ThemeView]
    months: dict[str, int]  # comments showing the emotion per month
    totals: dict[str, int] | None  # all comments per month (scraped records only)
    counts: dict[str, Any]
    parameters: dict[str, Any]
    role_order: list[str]
    roles_overall: dict[str, int]
    timeline_months: list[str] = field(default_factory=list)
    other: list[Member] = field(default_factory=list)
    created: str = ""

    @property
    def n_causes(self) -> int:
        return len(self.causes)

    @property
    def n_clustered(self) -> int:
        return int((self.causes["cluster"] >= 1).sum())

    @property
    def n_other(self) -> int:
        return self.n_causes - self.n_clustered

    @property
    def coverage(self) -> float:
        return self.n_clustered / self.n_causes if self.n_causes else 0.0


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


def _day(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _members(out: pd.DataFrame, rows: np.ndarray, limit: int = MAX_LISTED) -> list[Member]:
    """The causes at ``rows``, most central first (by similarity to the theme's centre)."""
    part = out.iloc[rows]
    if part["centre_similarity"].notna().any():
        part = part.sort_values("centre_similarity", ascending=False, kind="stable")
    return [Member(cause=r.cause, url=r.url or None, author=r.author, role=r.role, date=_day(r.date),
                   similarity=None if pd.isna(r.centre_similarity) else float(r.centre_similarity),
                   reassigned=bool(r.reassigned))
            for r in part.head(limit).itertuples(index=False)]


def _timeline(dates: pd.Series, months: Sequence[str]) -> dict[str, int]:
    counts = month_counts(dates)
    return {m: counts.get(m, 0) for m in months}


def build(frame: pd.DataFrame, X: np.ndarray, grouping: Any, title: str, emotion: str,
          counts: dict[str, Any], parameters: dict[str, Any],
          labels: Mapping[int, str] | None = None,
          sub_labels: Mapping[tuple[int, int], str] | None = None,
          phrases: Mapping[int, list[str]] | None = None,
          totals: dict[str, int] | None = None, months: dict[str, int] | None = None,
          n_examples: int = 3, top_keywords: int = 8) -> Report:
    """Join causes, embeddings, themes and labels into a :class:`Report` (no I/O).

    ``grouping`` is a :class:`emocause.report.clustering.Grouping`.  ``months``
    (emotion comments per month) defaults to the causes' months; scraped
    records pass every comment that showed the emotion, cause or not.
    """
    from emocause.manifest import now
    from emocause.report.clustering import centres
    from emocause.report.themes import describe

    ids = grouping.ids
    clustering = grouping.clustering
    texts = frame["cause"].tolist()
    roles = frame["role"].tolist()
    themes = describe(X, texts, ids, roles, top_n=top_keywords, n_examples=n_examples,
                      labels=labels)
    label_of = {t.id: t.label for t in themes}
    sub_labels = sub_labels or {}
    out = frame.copy()
    out["cluster"] = ids
    out["cluster_label"] = [label_of.get(int(i), "") for i in ids]
    sub = np.full(len(out), -1, dtype=np.int64)
    for theme, sub_ids in grouping.subthemes.items():
        sub[np.flatnonzero(ids == theme)] = sub_ids
    out["subtheme"] = sub
    out["subtheme_label"] = [sub_labels.get((int(t), int(s)), "") if s >= 1 else ""
                             for t, s in zip(ids, sub)]
    out["reassigned"] = grouping.reassigned
    out["algorithm_label"] = clustering.labels
    out["core"] = clustering.core if clustering.core is not None else pd.NA
    sims = np.full(len(out), np.nan)
    which = [t.id for t in themes]
    for t, centre in zip(which, centres(X, ids, which)):
        members = np.flatnonzero(ids == t)
        sims[members] = X[members] @ centre
    out["centre_similarity"] = np.round(sims, 4)

    months = months if months is not None else month_counts(out["date"])
    span = sorted(set(months) | set(month_counts(out["date"])))
    role_overall = out["role"].value_counts()
    role_order = [str(r) for r in role_overall.index]
    views: list[ThemeView] = []
    for t in themes:
        members = np.flatnonzero(ids == t.id)
        rows = out.iloc[members]
        examples = []
        for row, sim in zip(t.examples, t.similarities):
            r = out.iloc[row]
            before, span_text, after = _excerpt(r["comment"], r["cause"])
            examples.append(Example(
                cause=r["cause"], comment=r["comment"], url=r["url"] or None, role=r["role"],
                author=r["author"], date=_day(r["date"]), similarity=round(sim, 4),
                before=before, span=span_text, after=after))
        authors = Counter(a for a in rows["author"] if a)
        dated = pd.to_datetime(rows["date"], utc=True).dropna()
        subs: list[SubTheme] = []
        if t.id in grouping.subthemes:
            sub_ids = grouping.subthemes[t.id]
            for s in sorted(int(x) for x in np.unique(sub_ids[sub_ids >= 1])):
                part = members[sub_ids == s]
                best = part[int(np.nanargmax(sims[part]))]
                subs.append(SubTheme(id=s, label=sub_labels.get((t.id, s), ""), size=len(part),
                                     example=texts[best]))
            subs.sort(key=lambda x: (-x.size, x.id))
        views.append(ThemeView(
            id=t.id, size=t.size, share=t.share, label=t.label, keywords=t.keywords,
            roles={r: t.roles[r] for r in role_order if r in t.roles},
            cohesion=round(t.cohesion, 4), examples=examples,
            phrases=list((phrases or {}).get(t.id, [])), authors=len(authors),
            top_authors=authors.most_common(3),
            first_seen=_day(dated.min()) if not dated.empty else None,
            last_seen=_day(dated.max()) if not dated.empty else None,
            timeline=_timeline(rows["date"], span), reassigned=int(rows["reassigned"].sum()),
            subthemes=subs, members=_members(out, members)))
    labels_raw = clustering.labels
    counts = dict(counts)
    other = ids < 1
    small = (labels_raw >= 0) & other  # in a cluster too small to be a theme, and not reassigned
    counts.update({
        "causes": len(out), "themes": len(views), "clustered": int((~other).sum()),
        "other": int(other.sum()), "reassigned": int(grouping.reassigned.sum()),
        "noise": int(((labels_raw < 0) & other).sum()),
        "small_clusters": int(len(np.unique(labels_raw[small]))),
        "in_small_clusters": int(small.sum()),
        "unique_causes": int(clustering.n_unique),
        "cluster_seconds": round(float(clustering.seconds), 3),
    })
    return Report(title=title, emotion=emotion, causes=out, themes=views, months=months,
                  totals=totals, counts=counts, parameters=parameters, role_order=role_order,
                  roles_overall={str(k): int(v) for k, v in role_overall.items()},
                  timeline_months=span, other=_members(out, np.flatnonzero(other)),
                  created=now())
