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
from datetime import date, datetime, timedelta, timezone
from typing import Any

from emocause import dates
from emocause.dates import iso_utc
from emocause.errors import UsageError
from emocause.sources.preprocess import preprocess
from emocause.urls import redact_url

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


def normalize_time(value: Any) -> str:
    """A timestamp from an API as our canonical string ('' when missing or not a timestamp)."""
    if not value or not isinstance(value, str):
        return ""
    try:
        return iso_utc(parse_iso(value))
    except (ValueError, OverflowError):
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


def _as_text(value: str | date | datetime | None) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_window(since: str | date | datetime | None, until: str | date | datetime | None) -> Window:
    """Parse ``--since``/``--until`` with :func:`emocause.dates.parse_window`; one clear line if bad.

    Library callers may pass ``date`` or ``datetime`` objects (a naive datetime is UTC).
    """
    lo, hi = dates.parse_window(_as_text(since), _as_text(until))
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


# Machine accounts that are not GitHub Apps: ``-bot``, ``_bot``, ``bot`` or ``robot`` as a word of the
# login (``k8s-ci-robot``, ``jenkins-bot``, ``bot``), never inside a word (``abbot``, ``botany``).
_BOT_WORD = re.compile(r"(^|[-_.])(ro)?bots?($|[-_.\d])", re.I)


class SkipItem(ValueError):
    """An API item that cannot become a record; ``reason`` is counted and reported, never fatal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_bot_user(user: Mapping[str, Any] | None, heuristic: bool = True) -> bool:
    """GitHub Apps have ``type == "Bot"`` and logins ending in ``[bot]`` (GitHub's documented rule).

    With ``heuristic``, also machine accounts named like one (``-bot``, ``bot`` or
    ``robot`` as a word of the login): CI and release accounts are often plain users.
    """
    if not isinstance(user, Mapping):
        return False
    login = str(user.get("login") or "")
    if user.get("type") == "Bot" or _BOT_LOGIN.search(login):
        return True
    return heuristic and bool(_BOT_WORD.search(login))


def _login(user: Any) -> str:
    # A deleted account comes back as null or {} (GitHub shows it as "ghost"): keep it empty.
    return str(user.get("login") or "") if isinstance(user, Mapping) else ""


def _number_from_url(url: Any) -> str:
    m = _NUMBER_AT_END.search(url) if isinstance(url, str) else None
    return m.group(1) if m else ""


def _scalar(value: Any) -> str:
    """A scalar field as text; containers (a server answering nonsense) as empty."""
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def _checked(item: Any) -> Mapping[str, Any]:
    """The item if it is an object with an id, else :class:`SkipItem` saying why not."""
    if not isinstance(item, Mapping):
        raise SkipItem("not an object")
    iid = item.get("id")
    if isinstance(iid, bool) or not isinstance(iid, (int, str)) or not str(iid).strip():
        raise SkipItem("no id")
    return item


def _stamp(item: Mapping[str, Any], key: str, required: bool = True) -> str:
    """A timestamp field as our canonical string; :class:`SkipItem` when missing (if required) or bad."""
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise SkipItem(f"no {key}")
        return ""
    text = normalize_time(value) if isinstance(value, str) else ""
    if not text:
        raise SkipItem(f"{key} is not a timestamp")
    return text


def empty_record() -> dict[str, Any]:
    return {c: "" for c in COLUMNS} | {"is_pull_request": False, "is_bot": False}


def _github(kind: str, item: Mapping[str, Any], project: str, thread: str, *,
            created: str, updated: str, is_pr: bool, title: str = "",
            in_reply_to: str = "", bot_heuristic: bool = True) -> dict[str, Any]:
    body = item.get("body")
    if body is not None and not isinstance(body, str):
        raise SkipItem("body is not text")
    user = item.get("user")
    url = item.get("html_url")
    rec = empty_record()
    rec.update(
        id=f"github:{kind}:{item['id']}", source="github", project=project, kind=kind,
        thread=thread, is_pull_request=is_pr, author=_login(user),
        author_association=_scalar(item.get("author_association")),
        is_bot=is_bot_user(user, bot_heuristic), created_at=created,
        updated_at=updated or created, url=redact_url(url) if isinstance(url, str) else "",
        title=title, body=body or "", in_reply_to=in_reply_to)
    rec["text"] = preprocess(rec["body"], "github")
    return rec


def is_pull_request(item: Mapping[str, Any]) -> bool:
    """Whether an issue-list item is a pull request: its ``pull_request`` object names a URL.

    Older API responses give every plain issue ``"pull_request": {"html_url": null, ...}``:
    the key alone, or an object of nulls, says nothing.
    """
    pr = item.get("pull_request")
    return isinstance(pr, Mapping) and any(isinstance(pr.get(k), str) and pr.get(k)
                                           for k in ("url", "html_url", "diff_url", "patch_url"))


def from_issue(item: Any, project: str, bot_heuristic: bool = True) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/issues`` (issues and pull requests alike)."""
    item = _checked(item)
    number = item.get("number")
    if isinstance(number, bool) or not (isinstance(number, int) or str(number).isdigit()):
        raise SkipItem("no number")
    return _github("issue", item, project, str(number), created=_stamp(item, "created_at"),
                   updated=_stamp(item, "updated_at", required=False),
                   is_pr=is_pull_request(item), title=_scalar(item.get("title")),
                   bot_heuristic=bot_heuristic)


def from_issue_comment(item: Any, project: str, bot_heuristic: bool = True) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/issues/comments``.

    The list does not say whether the issue is a pull request; the html_url
    sometimes does (``/pull/``), and :func:`finalize` fixes the rest from the
    issue records.
    """
    item = _checked(item)
    url = item.get("html_url")
    return _github("issue_comment", item, project, _number_from_url(item.get("issue_url")),
                   created=_stamp(item, "created_at"),
                   updated=_stamp(item, "updated_at", required=False),
                   is_pr=isinstance(url, str) and "/pull/" in url, bot_heuristic=bot_heuristic)


def from_review_comment(item: Any, project: str, bot_heuristic: bool = True) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/pulls/comments`` (comments on a diff line)."""
    item = _checked(item)
    parent = item.get("in_reply_to_id")
    parent = parent if isinstance(parent, (int, str)) and not isinstance(parent, bool) else None
    return _github("review_comment", item, project, _number_from_url(item.get("pull_request_url")),
                   created=_stamp(item, "created_at"),
                   updated=_stamp(item, "updated_at", required=False), is_pr=True,
                   in_reply_to=f"github:review_comment:{parent}" if parent else "",
                   bot_heuristic=bot_heuristic)


def from_review(item: Any, project: str, pr_number: int,
                bot_heuristic: bool = True) -> dict[str, Any]:
    """An item of ``GET /repos/{o}/{r}/pulls/{n}/reviews``.

    Reviews have only ``submitted_at``: it is both ``created_at`` and
    ``updated_at``.  A pending review has none (:class:`SkipItem`, counted).
    """
    item = _checked(item)
    if item.get("submitted_at") in (None, ""):
        raise SkipItem("pending review (no submitted_at)")
    submitted = _stamp(item, "submitted_at")
    return _github("review", item, project, str(pr_number), created=submitted, updated=submitted,
                   is_pr=True, bot_heuristic=bot_heuristic)


# ----------------------------------------------------------------------------- mail

# A message id as RFC 5322 writes it: <left@right>, no spaces.  "<yes>" (git send-email's
# --in-reply-to prompt answered "yes") and other junk are not ids and never join threads.
_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_REPLY_PREFIX = re.compile(r"(?:re|aw|sv|antw|odp|vs|r|ref)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.I)
_LIST_TAGS = re.compile(r"(?:\[[^\]]*\]\s*)*")
#: A reply joins an earlier message by subject only within this many days.
SUBJECT_THREAD_DAYS = 90


def valid_message_id(value: str) -> bool:
    return bool(value) and _MESSAGE_ID.fullmatch(value.strip()) is not None


def mail_id(message_id: str) -> str:
    """``<abc@host>`` -> ``mail:abc@host``."""
    return "mail:" + message_id.strip().strip("<>")


def mail_record(*, message_id: str, project: str, author: str, created_at: str, url: str,
                subject: str, body: str, in_reply_to: str, references: list[str],
                is_bot: bool) -> dict[str, Any]:
    """A mail message.  ``thread`` is filled in by :func:`finalize` (it needs the other messages).

    ``in_reply_to`` and ``references`` that are not valid message ids are dropped here.
    """
    rec = empty_record()
    rec.update(
        id=mail_id(message_id), source="mail", project=project, kind="mail", author=author,
        is_bot=is_bot, created_at=created_at, updated_at=created_at, url=redact_url(url),
        title=subject, body=body, text=preprocess(body, "mail"), message_id=message_id,
        in_reply_to=mail_id(in_reply_to) if valid_message_id(in_reply_to) else "")
    rec["_references"] = [mail_id(r) for r in references if valid_message_id(r)]
    return rec


def base_subject(subject: str) -> tuple[str, bool]:
    """(subject without reply prefixes, lower case; whether it had one): ``Re: [x] Re: Y`` -> ``[x] y``."""
    s = " ".join(str(subject or "").split())
    reply = False
    while True:
        tags = _LIST_TAGS.match(s)
        head = tags.group(0) if tags else ""
        m = _REPLY_PREFIX.match(s, len(head))
        if not m:
            break
        reply = True
        s = head + s[m.end():]
    return s.strip().lower(), reply


def thread_roots(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Mail record id -> id of its thread's root, always a message we have.

    A message's parent is its ``In-Reply-To`` when that names a stored message,
    else the nearest stored ``References`` entry.  A reply (``Re:``) with
    neither joins the latest earlier message with the same subject from the
    last :data:`SUBJECT_THREAD_DAYS` days, and so does a message whose valid
    ``In-Reply-To``/``References`` name only messages we do not have (a reply to
    a message outside the archive).  A reference to a message we do not
    have never joins threads by itself: 26 patches answering ``In-Reply-To: <yes>``,
    or two series citing one unarchived id, stay apart.  Cycles (broken headers)
    stop where they close.
    """
    from bisect import bisect_left

    recs = sorted(records, key=lambda r: (r.get("created_at") or "", r["id"]))
    known = {r["id"] for r in recs}
    parent: dict[str, str] = {}
    for r in recs:
        own = r["id"]
        irt = r.get("in_reply_to") or ""
        p = irt if irt in known and irt != own else ""
        if not p:
            p = next((x for x in reversed(list(r.get("_references") or []))
                      if x in known and x != own), "")
        parent[own] = p
    by_subject: dict[str, list[tuple[str, str]]] = {}
    subjects: dict[str, tuple[str, bool]] = {}
    for r in recs:
        subjects[r["id"]] = base_subject(str(r.get("title") or ""))
        if subjects[r["id"]][0]:
            by_subject.setdefault(subjects[r["id"]][0], []).append(
                (r.get("created_at") or "", r["id"]))
    for r in recs:
        base, reply = subjects[r["id"]]
        reply = reply or bool(r.get("in_reply_to") or r.get("_references"))
        if parent[r["id"]] or not reply or not base:
            continue
        same = by_subject[base]
        created = r.get("created_at") or ""
        i = bisect_left(same, (created, r["id"]))
        if i > 0:
            when, earlier = same[i - 1]
            if not created or not when or shift(created, -SUBJECT_THREAD_DAYS * 86400) <= when:
                parent[r["id"]] = earlier
    roots: dict[str, str] = {}
    for start in parent:
        path: list[str] = []
        seen: set[str] = set()
        cur = start
        while True:
            if cur in roots:
                root = roots[cur]
                break
            path.append(cur)
            seen.add(cur)
            p = parent.get(cur, "")
            if not p or p in seen:
                root = cur
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
