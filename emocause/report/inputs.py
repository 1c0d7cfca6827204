"""The report's inputs: which column holds what, which rows are kept, and the causes as a table.

Pure functions over a pandas table (no I/O): the pipeline reads the file, these
find the columns, filter by author role and time window, and turn every row
into the report's own columns (:func:`cause_frame`).  Every user-fixable problem
is one :class:`~emocause.errors.UsageError` line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from emocause import dates
from emocause.errors import UsageError
from emocause.evaluate.labels import normalize_id
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


def parse_roles(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``A,B,C`` (or a list) -> upper-cased names; ``all`` (or ``*``) -> ``None`` (no role filter)."""
    if value is None:
        return PAPER_ROLES
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names = tuple(dict.fromkeys(v.strip().upper() for v in parts if v.strip()))
    if not names:
        raise UsageError("--roles is empty; give role names such as CONTRIBUTOR,MEMBER, or 'all'")
    if any(n in ("ALL", "*") for n in names):
        return None
    return names


def parse_when(value: str | None, option: str, end: bool = False) -> pd.Timestamp | None:
    """A ``--since``/``--until`` date as a UTC timestamp (:mod:`emocause.dates` rules); an
    upper bound is inclusive (a bare ``--until`` day, month or year includes all of it)."""
    if value is None or not str(value).strip():
        return None
    ts = pd.Timestamp(dates.parse_bound(str(value), option, end=end))
    return ts - pd.Timedelta(microseconds=1) if end else ts


def parse_dates(values: pd.Series) -> pd.Series:
    """Timestamps in UTC (naive ones read as UTC); unreadable values become NaT."""
    text = values.map(as_text)
    return pd.to_datetime(text.where(text.str.strip() != "", None), errors="coerce", utc=True,
                          format="mixed")


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
        when = parse_dates(df[cols.date])
        undated = when.isna()
        counts["undated"] = int((keep & undated).sum())
        inside = ~undated
        if since is not None:
            inside &= when >= since
        if until is not None:
            inside &= when <= until
        counts["outside_window"] = int((keep & ~undated & ~inside).sum())
        keep &= inside
    counts["kept"] = int(keep.sum())
    return df[keep], counts


# ----------------------------------------------------------------------------- normalised causes

def strip_quotes(value: object) -> str:
    """A cause as written in the paper's files: one line, surrounding (curly) double quotes removed.

    Not :func:`emocause.emotions.answers.parse_span`: that takes the *first quoted
    part* of a model's answer, while a cause cell is already the span, so quotes
    inside it (``He said "no" twice``) are part of the cause and stay.
    """
    text = " ".join(as_text(value).split())
    while len(text) >= 2 and text[0] in "\"\u201c\u201d" and text[-1] in "\"\u201c\u201d":
        text = text[1:-1].strip()
    return text.strip("\"\u201c\u201d").strip() if text.count('"') == 1 else text


def safe_url(value: object) -> str | None:
    """``value`` if it is an http(s) URL without whitespace (so never ``javascript:``), else None.

    Any cell type is accepted (a number, NaN, a list from JSON): it is simply not a link.
    """
    text = as_text(value).strip()
    if re.fullmatch(r"https?://[^\s<>\"'\\]+", text, flags=re.I):
        return text
    return None


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
    number, cid = normalize_id(issue), normalize_id(comment_id)
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
    ``owner/name`` project column).  ``url`` is ``""`` when a row has no link.
    """
    n = len(df)

    def column(name: str | None) -> list[str]:
        return [as_text(v) for v in df[name].tolist()] if name else [""] * n

    urls = [safe_url(u) for u in df[cols.url].tolist()] if cols.url else [None] * n
    if cols.issue:
        projects = column(cols.project)
        for i, (issue, cid) in enumerate(zip(column(cols.issue), column(cols.comment_id))):
            if urls[i] is None:
                urls[i] = github_link(repo or projects[i].strip() or None, issue, cid)
    when = parse_dates(df[cols.date]) if cols.date else pd.Series(pd.NaT, index=df.index,
                                                                   dtype="datetime64[ns, UTC]")
    roles = [as_text(r).strip().upper() or NO_ROLE for r in column(cols.role)] if cols.role \
        else [NO_ROLE] * n
    return pd.DataFrame({
        "row": df.index.to_numpy(),
        "cause": [strip_quotes(c) for c in cause_values],
        "comment": column(cols.text),
        "date": when.to_numpy(),
        "role": roles,
        "author": [a.strip() for a in column(cols.author)],
        "url": [u or "" for u in urls],
    })


def month_counts(values: pd.Series) -> dict[str, int]:
    """``{"YYYY-MM": count}`` for the dated values, months without any included as 0."""
    d = pd.to_datetime(values, utc=True).dropna()
    if d.empty:
        return {}
    months = d.dt.strftime("%Y-%m")
    counts = months.value_counts()
    span = pd.period_range(d.min().strftime("%Y-%m"), d.max().strftime("%Y-%m"), freq="M")
    return {str(p): int(counts.get(str(p), 0)) for p in span}


def check_enough(n_causes: int, min_samples: int, min_cluster_size: int, what: str) -> None:
    """One clear line when there are too few causes for any theme to exist."""
    need = max(min_samples, min_cluster_size, 2)
    if n_causes == 0:
        raise UsageError(f"no causes to cluster: {what}")
    if n_causes < need:
        raise UsageError(f"only {n_causes} cause{'s' if n_causes != 1 else ''} to cluster ({what}); "
                         f"a theme needs at least {need} (--min-cluster-size/--min-samples)")
