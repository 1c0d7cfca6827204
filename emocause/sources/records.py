"""The one record shape every source produces, and the pure functions that build it.

A record is a plain ``dict`` with exactly :data:`COLUMNS` (plus private keys
starting with ``_`` that the store keeps but the output drops).  Keeping one
shape for GitHub issues, comments, reviews and mail means every downstream
command (``classify``, ``causes``, ``report``) works on any scraped table and
tables from several sources can simply be concatenated.

Conventions (see ``docs/records.md``):

* ``id`` is stable and prefixed by source and kind (``github:issue_comment:123``,
  ``mail:<message-id without brackets>``) so ids never collide across kinds
  (GitHub numbers issue comments and review comments independently).
* Times are UTC ISO 8601 strings with second precision, ``2016-02-01T07:10:24Z``:
  they sort and compare correctly as strings, which the store relies on.
* ``thread`` is always a string (an issue/PR number, or a mail thread's root id)
  so CSV, JSONL and Parquet outputs have one column type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from emocause import dates
from emocause.dates import iso_utc
from emocause.errors import UsageError
from emocause.sources.preprocess import preprocess

#: Output columns, in order.  ``text`` is ``body`` after :mod:`emocause.sources.preprocess`.
COLUMNS = ("id", "source", "project", "kind", "thread", "is_pull_request", "author",
           "author_association", "is_bot", "created_at", "updated_at", "url", "title", "body",
           "text", "message_id", "in_reply_to")
#: Values of ``kind``.
KINDS = ("issue", "issue_comment", "review_comment", "review", "mail")

_ISO = "%Y-%m-%dT%H:%M:%SZ"
_BOT_LOGIN = re.compile(r"\[bot\]$", re.I)
_NUMBER_AT_END = re.compile(r"/(\d+)/?$")


# ----------------------------------------------------------------------------- time

def parse_iso(value: str) -> datetime:
    """GitHub's ``2016-02-01T07:10:24Z`` (or any ISO 8601 form) -> aware UTC datetime."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def normalize_time(value: str | None) -> str:
    """A timestamp from an API as our canonical string ('' when missing)."""
    if not value:
        return ""
    try:
        return iso_utc(parse_iso(value))
    except ValueError:
        return ""


def shift(value: str, seconds: int) -> str:
    """A canonical timestamp moved by ``seconds``."""
    return iso_utc(parse_iso(value) + timedelta(seconds=seconds))


@dataclass(frozen=True)
class Window:
    """The ``--since``/``--until`` window, on ``created_at``: ``since <= created_at < until``.

    ``until`` is stored exclusive.  A date-only ``--until 2023-12-31`` means the
    whole of that day (exclusive bound 2024-01-01T00:00:00Z); a date-time is
    inclusive to the second.  So ``--since 2023-01-01 --until 2023-12-31`` is
    the calendar year 2023.
    """

    since: str | None = None
    until: str | None = None  # exclusive

    def contains(self, created_at: str) -> bool:
        if not created_at:
            return self.since is None and self.until is None
        if self.since is not None and created_at < self.since:
            return False
        if self.until is not None and created_at >= self.until:
            return False
        return True

    def describe(self) -> dict[str, str | None]:
        return {"since": self.since, "until_exclusive": self.until}


def parse_window(since: str | None, until: str | None) -> Window:
    """Parse ``--since``/``--until`` with :func:`emocause.dates.parse_window`; one clear line if bad."""
    lo, hi = dates.parse_window(since, until)
    return Window(iso_utc(lo) if lo else None, iso_utc(hi) if hi else None)


# ----------------------------------------------------------------------------- GitHub

# GitHub's rules: an owner is 1-39 letters, digits and hyphens, not starting with a hyphen
# (GitHub Enterprise also allows '_'); a repository name is 1-100 of letters, digits, '.', '-',
# '_', and never '.' or '..' (either would change the API path).
_OWNER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,38}")
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def parse_repo(spec: str, option: str = "repository") -> str:
    """``OWNER/REPO`` checked against GitHub's naming rules (one line if not), returned as given."""
    text = str(spec).strip()
    owner, sep, name = text.partition("/")
    if (not sep or not _OWNER.fullmatch(owner) or not _REPO_NAME.fullmatch(name)
            or name in (".", "..")):
        raise UsageError(f"{option} {text!r}: expected OWNER/REPO as on GitHub, e.g. tensorflow/tensorflow")
    return text


def is_bot_user(user: Mapping[str, Any] | None) -> bool:
    """GitHub Apps have ``type == "Bot"``; their logins end in ``[bot]``."""
    if not user:
        return False
    return user.get("type") == "Bot" or bool(_BOT_LOGIN.search(str(user.get("login") or "")))


def _login(user: Mapping[str, Any] | None) -> str:
    # A deleted account comes back as null or {} (GitHub shows it as "ghost"): keep it empty.
    return str((user or {}).get("login") or "")


def _number_from_url(url: str | None) -> str:
    m = _NUMBER_AT_END.search(url or "")
    return m.group(1) if m else ""


def empty_record() -> dict[str, Any]:
    return {c: "" for c in COLUMNS} | {"is_pull_request": False, "is_bot": False}


def _github(kind: str, item: Mapping[str, Any], project: str, thread: str, *,
            created: str, updated: str, is_pr: bool, title: str = "",
            in_reply_to: str = "") -> dict[str, Any]:
    user = item.get("user")
    rec = empty_record()
    rec.update(
        id=f"github:{kind}:{item['id']}", source="github", project=project, kind=kind,
        thread=thread, is_pull_request=is_pr, author=_login(user),
        author_association=str(item.get("author_association") or ""),
        is_bot=is_bot_user(user), created_at=created, updated_at=updated or created,
        url=str(item.get("html_url") or ""), title=title, body=str(item.get("body") or ""),
        in_reply_to=in_reply_to)
    rec["text"] = preprocess(rec["body"], "github")
    return rec


def from_issue(item: Mapping[str, Any], project: str) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/issues`` (issues and pull requests alike)."""
    return _github("issue", item, project, str(item["number"]),
                   created=normalize_time(item.get("created_at")),
                   updated=normalize_time(item.get("updated_at")),
                   is_pr=bool(item.get("pull_request")), title=str(item.get("title") or ""))


def from_issue_comment(item: Mapping[str, Any], project: str) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/issues/comments``.

    The list does not say whether the issue is a pull request; the html_url
    sometimes does (``/pull/``), and :func:`finalize` fixes the rest from the
    issue records.
    """
    url = str(item.get("html_url") or "")
    return _github("issue_comment", item, project, _number_from_url(item.get("issue_url")),
                   created=normalize_time(item.get("created_at")),
                   updated=normalize_time(item.get("updated_at")), is_pr="/pull/" in url)


def from_review_comment(item: Mapping[str, Any], project: str) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/pulls/comments`` (comments on a diff line)."""
    parent = item.get("in_reply_to_id")
    return _github("review_comment", item, project, _number_from_url(item.get("pull_request_url")),
                   created=normalize_time(item.get("created_at")),
                   updated=normalize_time(item.get("updated_at")), is_pr=True,
                   in_reply_to=f"github:review_comment:{parent}" if parent else "")


def from_review(item: Mapping[str, Any], project: str, pr_number: int) -> dict[str, Any] | None:
    """An item of ``GET /repos/{o}/{r}/pulls/{n}/reviews``; ``None`` for pending reviews.

    Reviews have only ``submitted_at``: it is both ``created_at`` and ``updated_at``.
    """
    submitted = normalize_time(item.get("submitted_at"))
    if not submitted:
        return None
    return _github("review", item, project, str(pr_number), created=submitted, updated=submitted,
                   is_pr=True)


# ----------------------------------------------------------------------------- mail

def mail_id(message_id: str) -> str:
    """``<abc@host>`` -> ``mail:abc@host``."""
    return "mail:" + message_id.strip().strip("<>")


def mail_record(*, message_id: str, project: str, author: str, created_at: str, url: str,
                subject: str, body: str, in_reply_to: str, references: list[str],
                is_bot: bool) -> dict[str, Any]:
    """A mail message.  ``thread`` is filled in by :func:`finalize` (it needs the other messages)."""
    rec = empty_record()
    rec.update(
        id=mail_id(message_id), source="mail", project=project, kind="mail", author=author,
        is_bot=is_bot, created_at=created_at, updated_at=created_at, url=url, title=subject,
        body=body, text=preprocess(body, "mail"), message_id=message_id,
        in_reply_to=mail_id(in_reply_to) if in_reply_to else "")
    rec["_references"] = [mail_id(r) for r in references]
    return rec


def thread_roots(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Mail record id -> id of its thread's root.

    Walk ``in_reply_to`` through the messages we have.  Where the walk leaves
    the archive (the parent was never archived, or is in a month not fetched),
    the first ``References`` entry names the root (RFC 5322 keeps it first);
    failing that the missing parent itself does, so its replies still group.
    """
    parent: dict[str, str] = {}
    first_ref: dict[str, str] = {}
    for r in records:
        refs = list(r.get("_references") or [])
        parent[r["id"]] = r.get("in_reply_to") or (refs[-1] if refs else "")
        first_ref[r["id"]] = refs[0] if refs else ""
    roots: dict[str, str] = {}
    for start in parent:
        path, cur = [], start
        while True:
            if cur in roots:
                root = roots[cur]
                break
            path.append(cur)
            p = parent.get(cur, "")
            if not p or p in path:  # a root, or a cycle (broken headers): stop here
                root = cur
                break
            if p not in parent:  # parent not archived
                root = first_ref.get(cur) or p
                break
            cur = p
        for node in path:
            roots[node] = root
    return roots


# ----------------------------------------------------------------------------- output

def finalize(records: list[dict[str, Any]], window: Window | None = None) -> list[dict[str, Any]]:
    """Fill what needs all records (PR flags of issue comments, mail threads); apply the window.

    Pure: returns new dicts with exactly :data:`COLUMNS` (``text`` as stored, or
    ``""``: :func:`to_frame` fills it), sorted by time then id.
    """
    prs = {(r["project"], r["thread"]) for r in records
           if r.get("kind") == "issue" and r.get("is_pull_request")}
    mails = [r for r in records if r.get("kind") == "mail"]
    roots = thread_roots(mails) if mails else {}
    out = []
    for r in records:
        if window is not None and not window.contains(r.get("created_at", "")):
            continue
        rec = {c: r.get(c, "") for c in COLUMNS}
        if rec["kind"] == "issue_comment" and (rec["project"], rec["thread"]) in prs:
            rec["is_pull_request"] = True
        if rec["kind"] == "mail":
            rec["thread"] = roots.get(rec["id"], rec["id"])
        rec["is_pull_request"] = bool(rec["is_pull_request"])
        rec["is_bot"] = bool(rec["is_bot"])
        out.append(rec)
    out.sort(key=lambda r: (r["created_at"], r["id"]))
    return out


def to_frame(records: list[dict[str, Any]], window: Window | None = None):  # -> pd.DataFrame
    """Finalized records with ``text`` as a DataFrame in :data:`COLUMNS` order."""
    import pandas as pd

    rows = finalize(records, window)
    for r in rows:
        if not r["text"] and r["body"]:  # records from builders carry it; older states may not
            r["text"] = preprocess(r["body"], "mail" if r["kind"] == "mail" else "github")
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in COLUMNS:
        if col not in ("is_pull_request", "is_bot"):
            df[col] = df[col].astype(str)
    return df
