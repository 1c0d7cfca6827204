"""One parser for every date option (``--since``, ``--until``, report windows).

Accepted forms: ``2023``, ``2023-06``, ``2023-06-30`` and ISO 8601 date-times
(``2023-06-30T12:00:00Z``, offsets allowed).  As an upper bound a year, month or
day means the whole of it (``--until 2023-12`` is up to the end of December); a
date-time is inclusive to the second.  Dates outside :data:`EARLIEST` ..
:data:`LATEST` are refused in one line: they are typos, and a bound in the year
1000 would make a monthly archive walk send thousands of requests.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from emocause.errors import UsageError

EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)

_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HINT = "use YYYY, YYYY-MM, YYYY-MM-DD or an ISO date-time like 2023-01-31T12:00:00Z"


def _period(text: str) -> tuple[datetime, datetime] | None:
    """(start, exclusive end) of a bare year, month or day; ``None`` for a date-time."""
    if _YEAR.fullmatch(text):
        y = int(text)
        return datetime(y, 1, 1, tzinfo=timezone.utc), datetime(y + 1, 1, 1, tzinfo=timezone.utc)
    m = _MONTH.fullmatch(text)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        start = datetime(y, mo, 1, tzinfo=timezone.utc)
        nxt = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=timezone.utc)
        return start, nxt
    if _DAY.fullmatch(text):
        d = date.fromisoformat(text)
        start = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        return start, start + timedelta(days=1)
    return None


def parse_bound(value: str, option: str, end: bool = False) -> datetime:
    """A UTC datetime for a date option; with ``end`` the *exclusive* upper bound."""
    text = str(value).strip()
    try:
        period = _period(text)
        if period is not None:
            dt = period[1] if end else period[0]
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
            if end:
                dt = dt + timedelta(seconds=1)
    except (ValueError, OverflowError):
        raise UsageError(f"{option} {text!r} is not a date; {_HINT}") from None
    lo, hi = EARLIEST, LATEST + (timedelta(days=1) if end else timedelta(0))
    if not lo <= dt <= hi:
        raise UsageError(f"{option} {text!r} is out of range; give a date between "
                         f"{EARLIEST.date()} and {LATEST.date()}")
    return dt


def parse_window(since: str | None, until: str | None, since_option: str = "--since",
                 until_option: str = "--until") -> tuple[datetime | None, datetime | None]:
    """``(since, until_exclusive)`` as UTC datetimes; ``None`` where not given."""
    lo = parse_bound(since, since_option) if since not in (None, "") else None
    hi = parse_bound(until, until_option, end=True) if until not in (None, "") else None
    if lo is not None and hi is not None and lo >= hi:
        raise UsageError(f"{since_option} {since} is not before {until_option} {until}")
    return lo, hi


def iso_utc(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
