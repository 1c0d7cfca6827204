"""Remote archives: Pipermail / mod_mbox indexes, HyperKitty monthly exports, and the client for them.

An archive index is untrusted HTML: only links under the list's own base URL
(same scheme, host and port, below its path: :func:`emocause.urls.same_site`)
are followed, so an index cannot send the scraper, or the credentials on its
client, to another host or port.  The number of monthly requests a walk would
send is known before the first one and is checked against a cap.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import IO
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from emocause.errors import UsageError
from emocause.sources.http import (HttpOptions, HttpStats, Reply, Target, Waiter,
                                   get_with_retries, make_client, split_credentials)
from emocause.sources.mail.archives import ARCHIVE_EXT
from emocause.sources.records import Window, iso_utc, parse_iso
from emocause.urls import check_http_url, redact_url, same_site

_MONTHS = {name: i for i, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
     ("october", "oct"), ("november", "nov"), ("december", "dec")], start=1) for name in names}
#: Above this many monthly requests a run says how many it will send before sending them.
NOTE_MONTHS = 60


@dataclass(frozen=True)
class Period:
    """One remote archive: a month (``key`` ``YYYY-MM``) or, if its name says no month, its name."""

    key: str
    url: str
    start: date | None = None

    @property
    def end(self) -> date | None:
        return None if self.start is None else add_months(self.start, 1)

    def overlaps(self, window: Window) -> bool:
        if self.start is None or self.end is None:
            return True
        lo = iso_utc(datetime(self.start.year, self.start.month, 1, tzinfo=timezone.utc))
        hi = iso_utc(datetime(self.end.year, self.end.month, 1, tzinfo=timezone.utc))
        return ((window.since is None or hi > window.since)
                and (window.until is None or lo < window.until))


def add_months(d: date, n: int) -> date:
    """First day of the month ``n`` months after ``d``'s month."""
    k = d.year * 12 + (d.month - 1) + n
    return date(k // 12, k % 12 + 1, 1)


def _month_of(filename: str) -> date | None:
    m = re.match(r"^(\d{4})-([A-Za-z]+)\.", filename)  # Mailman 2: 2016-April.txt.gz
    if m and m.group(2).lower() in _MONTHS and 1970 <= int(m.group(1)) <= 2100:
        return date(int(m.group(1)), _MONTHS[m.group(2).lower()], 1)
    m = re.match(r"^(\d{4})(\d{2})\.mbox", filename)  # Apache mod_mbox: 201603.mbox
    if m and 1 <= int(m.group(2)) <= 12 and 1970 <= int(m.group(1)) <= 2100:
        return date(int(m.group(1)), int(m.group(2)), 1)
    return None


def pipermail_archives(index_html: str, base_url: str) -> list[Period]:
    """The downloadable archives an archive index links to under ``base_url``, oldest first.

    Mailman 2 links ``2016-April.txt.gz`` (or ``.txt``); Apache's mod_mbox links
    ``201603.mbox/thread``, whose mbox is ``201603.mbox``.  One archive per month.
    Links to another host, port or scheme, or outside the list's folder, are ignored.
    """
    return index_links(index_html, base_url)[0]


def index_links(index_html: str, base_url: str) -> tuple[list[Period], int]:
    """:func:`pipermail_archives`, and how many archive links it left out as off-site."""
    from bs4 import BeautifulSoup

    seen: dict[str, Period] = {}
    offsite = 0
    for a in BeautifulSoup(index_html, "html.parser").find_all("a", href=True):
        href = str(a["href"]).strip()
        href = re.sub(r"/(thread|date|author|subject)(\.html)?$", "", href)
        try:
            url = urljoin(base_url, href)
            name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        except ValueError:  # a malformed link (bad port, bad IPv6 literal): not ours
            continue
        if not name.lower().endswith(ARCHIVE_EXT):
            continue
        if not same_site(url, base_url):
            offsite += 1
            continue
        start = _month_of(name)
        key = f"{start.year:04d}-{start.month:02d}" if start else name
        seen.setdefault(key, Period(key, url, start))
    return sorted(seen.values(), key=lambda p: (p.start or date.max, p.key)), offsite


def hyperkitty_months(list_url: str, list_name: str, window: Window,
                      now: datetime) -> list[Period]:
    """Monthly exports from ``--since`` (default: 12 months before ``now``) to ``--until`` or now."""
    today = now.astimezone(timezone.utc).date()
    last = date(today.year, today.month, 1)
    if window.until is not None:  # exclusive: the last month is that of the second before it
        end = parse_iso(window.until) - timedelta(seconds=1)
        last = min(last, date(end.year, end.month, 1))
    if window.since is not None:
        first = date(int(window.since[:4]), int(window.since[5:7]), 1)
    else:
        first = add_months(date(today.year, today.month, 1), -12)
    out, cur = [], first
    while cur <= last:
        out.append(Period(f"{cur.year:04d}-{cur.month:02d}",
                          f"{list_url}export/{list_name}.mbox.gz", cur))
        cur = add_months(cur, 1)
    return out


def hyperkitty_message_url(list_url: str, message_id: str) -> str:
    """HyperKitty's stable message page: base32 of the SHA-1 of the Message-ID (no brackets)."""
    digest = base64.b32encode(hashlib.sha1(message_id.encode("utf-8")).digest()).decode("ascii")
    return f"{list_url}message/{digest}/"


def parse_hyperkitty_url(url: str) -> tuple[str, str]:
    """``https://host/hyperkitty/list/NAME@host/`` -> (that URL with a final /, ``NAME@host``).

    Credentials stay on the URL returned; a query does not (the exports are URLs below it:
    :func:`~emocause.sources.http.split_credentials` carries secret parameters on the client).
    """
    url = check_http_url(url, "list URL", "https://host/hyperkitty/list/NAME@host/")
    parts = urlsplit(url)
    m = re.search(r"/list/([^/@\s]+@[^/\s]+)/?$", parts.path)
    if not m:
        raise UsageError(f"{redact_url(url)}: expected a HyperKitty list URL like "
                         f"https://host/hyperkitty/list/NAME@host/")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return parts._replace(path=path, query="", fragment="").geturl(), unquote(m.group(1))


def pipermail_project(url: str) -> str:
    """The list name: the archive URL's last path segment."""
    parts = urlsplit(url)
    return unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or (parts.hostname or "mail")


def base_url(url: str) -> str:
    """The list's folder URL (a final ``/``), query kept."""
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return parts._replace(path=path).geturl()


@dataclass
class Web:
    """A client for one list's site with the shared rules: deadline, size cap, retries.

    Built from the list's URL: its credentials ride on the client, never in a
    stored or printed URL (:class:`~emocause.sources.http.Target`).
    """

    client: httpx.Client
    options: HttpOptions = field(default_factory=HttpOptions)
    waiter: Waiter = field(default_factory=Waiter)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    stats: HttpStats = field(default_factory=HttpStats)

    @classmethod
    def for_target(cls, target: Target, options: HttpOptions, waiter: Waiter | None = None,
                   transport: httpx.BaseTransport | None = None) -> Web:
        client = make_client(options, auth=target.auth, params=target.params, transport=transport)
        return cls(client, options, waiter or Waiter())

    def get(self, url: str, params: dict[str, str] | None = None, *, max_bytes: int,
            sink: IO[bytes] | None = None) -> Reply:
        return get_with_retries(self.client, url, params=params, options=self.options,
                                waiter=self.waiter, rng=self.rng, stats=self.stats, what=url,
                                max_bytes=max_bytes, sink=sink)

    def close(self) -> None:
        self.client.close()


def target_for(url: str) -> Target:
    """A list URL checked and split into what is sent and what is shown."""
    return split_credentials(check_http_url(url, "list URL", "https://host/pipermail/LIST/"))
