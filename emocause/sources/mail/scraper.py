"""Mailing-list sources: local mbox files, Pipermail indexes and HyperKitty exports, resumably.

Each is a :class:`~emocause.sources.session.Source`: it yields records in
batches with the cursor that says an archive (a file, a month) is done, and
:func:`~emocause.sources.session.run_source` commits them.

Conventions (see ``docs/mail.md``):

* Messages without a ``Message-ID`` or a parseable ``Date``, and messages past
  the size cap, are skipped and counted; the same ``Message-ID`` seen twice
  (one message in two archives) is kept once.
* Every message of an archive read is stored; ``--since``/``--until`` select
  what goes into the output.  So a later run with a wider window needs no new
  download, and a month that straddles the window is complete.

Resuming: each archive file, Pipermail month or HyperKitty month is committed
with a cursor in one transaction.  A rerun skips local files whose size and
modification time are unchanged, and remote months already fetched, except
the most recent one fetched, which may have grown since.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emocause.errors import UsageError
from emocause.sources.http import Reply, Target
from emocause.sources.limits import MAX_MONTHS, MB
from emocause.sources.mail.archives import (MailLimits, find_archives, mbox_members, read_member)
from emocause.sources.mail.message import parse_message
from emocause.sources.mail.remote import (NOTE_MONTHS, Period, Web, base_url,
                                          hyperkitty_message_url, hyperkitty_months, index_links,
                                          parse_hyperkitty_url)
from emocause.sources.records import Window
from emocause.sources.session import Batch, Progress, Source
from emocause.sources.store import RecordStore
from emocause.urls import redact_url

#: Records per transaction inside one large archive (the file's cursor goes with the last).
CHUNK = 1000


@dataclass
class MailStats:
    """What a mail scrape did, for the summary and the manifest."""

    messages: int = 0        # messages read from archives
    kept: int = 0            # with a Message-ID and a Date, first time seen in this run
    no_message_id: int = 0
    no_date: int = 0
    too_large: int = 0       # past --max-message-mb: skipped unread
    duplicates: int = 0      # the same Message-ID again in this run
    outside_window: int = 0  # kept, stored, but not in --since/--until
    files: int = 0           # local archives read
    files_unchanged: int = 0  # skipped: same size and time as at the last run
    not_mbox: int = 0        # files in a folder (or zip members) that are not mbox
    months_fetched: int = 0
    months_skipped: int = 0  # fetched by an earlier run
    months_outside: int = 0  # not requested: outside --since/--until
    months_missing: int = 0  # listed in the index but 404
    links_offsite: int = 0   # index links to another site or folder: not followed

    def skipped(self) -> dict[str, int]:
        reasons = {"no Message-ID": self.no_message_id, "no Date": self.no_date,
                   "larger than --max-message-mb": self.too_large}
        return {k: v for k, v in reasons.items() if v}

    def rows(self) -> dict[str, int]:
        return {"messages read": self.messages,
                "duplicates (same Message-ID)": self.duplicates,
                "skipped: no Message-ID": self.no_message_id, "skipped: no Date": self.no_date,
                "skipped: larger than --max-message-mb": self.too_large,
                "outside --since/--until": self.outside_window}


class MailSource(Source):
    """What every mail source shares: parsing, deduplication, batches, counts."""

    source_name = "mail"

    def __init__(self, project: str, window: Window, limits: MailLimits | None = None) -> None:
        super().__init__(window)
        self.project = project
        self.limits = (limits or MailLimits()).check()
        self.stats = MailStats()
        self._seen: set[str] = set()
        self._complete = False
        self._progress = Progress()

    @property
    def command(self) -> str:  # type: ignore[override]
        return f"scrape {self.source_name}"

    def complete(self) -> bool:
        return self._complete

    def _limits(self) -> dict[str, int]:
        return {"max_message_mb": self.limits.max_message_bytes // MB,
                "max_archive_mb": self.limits.max_archive_bytes // MB,
                "max_download_mb": self.limits.max_download_bytes // MB}

    def ingest(self, messages: Iterable[bytes | None], url_for: Callable[[str], str],
               cursors: dict[str, Any]) -> Iterator[Batch]:
        """Parse and dedupe messages into batches; ``cursors`` go with the last one."""
        batch: list[dict[str, Any]] = []
        try:
            for raw in messages:
                self.stats.messages += 1
                self._progress.advance(1)
                if raw is None:
                    self.stats.too_large += 1
                    continue
                rec, why = parse_message(raw, self.project, url_for)
                if rec is None:
                    setattr(self.stats, why, getattr(self.stats, why) + 1)
                    continue
                if rec["id"] in self._seen:
                    self.stats.duplicates += 1
                    continue
                self._seen.add(rec["id"])
                self.stats.kept += 1
                if not self.window.contains(rec["created_at"]):
                    self.stats.outside_window += 1
                batch.append(rec)
                if len(batch) >= CHUNK:
                    yield Batch(batch)
                    batch = []
        except Exception:
            # The archive broke off (a cap, corrupt data): keep what was read, without the
            # archive's cursor, so the next run reads it again.
            if batch:
                yield Batch(batch)
            raise
        yield Batch(batch, cursors)

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self.stats).items()} | {"skipped": self.stats.skipped()}

    def summary(self) -> dict[str, Any]:
        return self.stats.rows()

    def manifest_extra(self) -> dict[str, Any]:
        return {"mail": dict(vars(self.stats)), "limits": self._limits()}


# ----------------------------------------------------------------------------- local files

class MboxSource(MailSource):
    """mbox files and folders (plain, gzip, bzip2, zip); unchanged files are skipped."""

    source_name = "mbox"

    def __init__(self, paths: list[Path], project: str, window: Window,
                 limits: MailLimits | None = None) -> None:
        super().__init__(project, window, limits)
        self.paths = [Path(p) for p in paths]
        find_archives(self.paths)  # a missing path is one line before anything is opened

    @property
    def identity(self) -> dict[str, Any]:
        return {"source": "mbox", "project": self.project}

    @property
    def parameters(self) -> dict[str, Any]:
        return {"paths": [str(p) for p in self.paths], **self._limits()}

    def fetch(self, store: RecordStore, progress: Progress) -> Iterator[Batch]:
        self._complete, self._progress = False, progress
        progress.start(f"mbox {self.project}")
        for path, explicit in find_archives(self.paths):
            st = path.stat()
            name = f"file:{path.resolve()}"
            stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
            done = store.cursor(name)
            if done and {k: done.get(k) for k in stamp} == stamp:
                self.stats.files_unchanged += 1
                continue
            with mbox_members(path, str(path)) as (members, not_mbox):
                if explicit and not members:
                    raise UsageError(f"{path}: not an mbox archive (no mbox inside, or no 'From ' "
                                     f"line at its start)")
                self.stats.not_mbox += not_mbox
                if not members:
                    continue
                self.stats.files += 1
                for i, member in enumerate(members):
                    last = i == len(members) - 1
                    yield from self.ingest(read_member(member, self.limits),
                                           lambda mid, label=member.label: f"{label}#{mid}",
                                           {name: stamp} if last else {})
        if not self.stats.files and not self.stats.files_unchanged:
            raise UsageError(f"no mbox archive in {', '.join(str(p) for p in self.paths)}")
        progress.done()
        self._complete = True

    def summary(self) -> dict[str, Any]:
        st = self.stats
        return {**st.rows(), "files read": st.files,
                "files unchanged since last run": st.files_unchanged,
                "files skipped (not mbox)": st.not_mbox}


# ----------------------------------------------------------------------------- remote months

class _RemoteSource(MailSource):
    """Monthly archives on a web server: plan the months, fetch each into a temporary file."""

    prefix = ""

    def __init__(self, web: Web, target: Target, project: str, window: Window,
                 limits: MailLimits | None = None, max_months: int = MAX_MONTHS) -> None:
        super().__init__(project, window, limits)
        self.web, self.target = web, target
        self.max_months = max_months

    @property
    def shown(self) -> str:
        return self.target.shown

    @property
    def identity(self) -> dict[str, Any]:
        parts = urlsplit(self.shown)
        return {"source": self.source_name, "project": self.project,
                "url": parts._replace(path=parts.path.rstrip("/")).geturl()}

    @property
    def parameters(self) -> dict[str, Any]:
        o = self.web.options
        return {"url": self.shown, "retries": o.retries, "timeout": o.timeout,
                "deadline": o.deadline, "max_months": self.max_months, **self._limits()}

    def close(self) -> None:
        self.web.close()

    def _plan(self, periods: list[Period], store: RecordStore) -> list[Period]:
        """Months to fetch: in the window, not fetched yet, or the latest one fetched (it may grow)."""
        prefix = self.prefix
        done = store.cursors(prefix)
        dated = [p for p in periods if p.start is not None and prefix + p.key in done]
        latest = max(dated, key=lambda p: p.start or date.min).key if dated else None
        todo = []
        for p in periods:
            if not p.overlaps(self.window):
                self.stats.months_outside += 1
            elif prefix + p.key in done and p.key != latest:
                self.stats.months_skipped += 1
            else:
                todo.append(p)
        if len(todo) > self.max_months:
            raise UsageError(f"{self.shown}: this would send {len(todo):,} monthly requests, more "
                             f"than --max-months {self.max_months:,}; narrow --since/--until or "
                             f"raise --max-months")
        if len(todo) > NOTE_MONTHS:
            self._progress.note(f"{self.shown}: fetching {len(todo):,} monthly archives")
        return todo

    def _fetch_month(self, p: Period, params: dict[str, str] | None,
                     url_for: Callable[[str], str], missing_is_error: bool) -> Iterator[Batch]:
        with tempfile.TemporaryDirectory(prefix="emocause-mail-") as tmp:
            path = Path(tmp) / "archive"
            with path.open("w+b") as sink:
                resp = self.web.get(p.url, params, max_bytes=self.limits.max_download_bytes,
                                    sink=sink)
            shown = redact_url(str(resp.url))
            if resp.status_code == 404:
                if missing_is_error:
                    raise UsageError(f"{shown}: not found (HTTP 404); check the list URL")
                self.stats.months_missing += 1
                return
            if resp.status_code != 200:
                raise UsageError(f"{shown}: HTTP {resp.status_code}")
            cursor = {self.prefix + p.key: {"url": shown, "bytes": resp.size}}
            with mbox_members(path, shown) as (members, not_mbox):
                if not_mbox and not members:  # an HTML error or login page served with 200
                    raise UsageError(f"{shown}: not an mbox archive (Content-Type: "
                                     f"{resp.headers.get('content-type', 'none')})")
                for i, member in enumerate(members):
                    yield from self.ingest(read_member(member, self.limits), url_for,
                                           cursor if i == len(members) - 1 else {})
                if not members:  # an empty month: remember it was fetched
                    yield Batch([], cursor)
        self.stats.months_fetched += 1

    def _check_index(self, resp: Reply, what: str) -> None:
        shown = redact_url(str(resp.url))
        if resp.status_code == 404:
            raise UsageError(f"{shown}: {what} not found (HTTP 404)")
        if resp.status_code != 200:
            raise UsageError(f"{shown}: HTTP {resp.status_code} for the {what}")


class PipermailSource(_RemoteSource):
    """A Pipermail (Mailman 2) or mod_mbox archive index and its monthly archives."""

    source_name = "pipermail"
    prefix = "pipermail:"
    #: An archive index page is small; a larger one is not an index.
    MAX_INDEX_BYTES = 16 * MB

    def fetch(self, store: RecordStore, progress: Progress) -> Iterator[Batch]:
        self._complete, self._progress = False, progress
        progress.start(f"pipermail {self.project}")
        base = base_url(self.target.url)
        resp = self.web.get(base, max_bytes=self.MAX_INDEX_BYTES)
        self._check_index(resp, "archive index")
        index_url = str(resp.url)
        periods, offsite = index_links(resp.text, base_url(index_url))
        self.stats.links_offsite += offsite
        for p in self._plan(periods, store):
            yield from self._fetch_month(p, None, lambda mid, u=redact_url(p.url): u,
                                         missing_is_error=False)
        progress.done()
        self._complete = True

    def summary(self) -> dict[str, Any]:
        return {**self.stats.rows(), **_month_rows(self.stats),
                "index links not followed (another site)": self.stats.links_offsite,
                "requests": self.web.stats.requests, "retries": self.web.stats.retries}

    def manifest_extra(self) -> dict[str, Any]:
        return {**super().manifest_extra(), "http": self.web.stats.as_dict()}


class HyperKittySource(_RemoteSource):
    """HyperKitty (Mailman 3) monthly mbox exports: ``export/NAME.mbox.gz?start=&end=``."""

    source_name = "hyperkitty"
    prefix = "hyperkitty:"

    def __init__(self, web: Web, target: Target, project: str, window: Window, now: datetime,
                 limits: MailLimits | None = None, max_months: int = MAX_MONTHS) -> None:
        super().__init__(web, target, project, window, limits, max_months)
        self.list_url, self.list_name = parse_hyperkitty_url(target.url)
        self.now = now

    def fetch(self, store: RecordStore, progress: Progress) -> Iterator[Batch]:
        self._complete, self._progress = False, progress
        progress.start(f"hyperkitty {self.project}")
        local = self.list_name.split("@", 1)[0]
        shown_list = redact_url(self.list_url)
        months = hyperkitty_months(self.list_url, local, self.window, self.now)
        for p in self._plan(months, store):
            start, end = p.start or date.min, p.end or date.max  # always set for these months
            yield from self._fetch_month(p, {"start": start.isoformat(), "end": end.isoformat()},
                                         lambda mid: hyperkitty_message_url(shown_list, mid),
                                         missing_is_error=True)
        progress.done()
        self._complete = True

    def summary(self) -> dict[str, Any]:
        return {**self.stats.rows(), **_month_rows(self.stats), "requests": self.web.stats.requests,
                "retries": self.web.stats.retries}

    def manifest_extra(self) -> dict[str, Any]:
        return {**super().manifest_extra(), "http": self.web.stats.as_dict()}


def _month_rows(st: MailStats) -> dict[str, int]:
    return {"months fetched": st.months_fetched, "months skipped (fetched before)": st.months_skipped,
            "months outside --since/--until": st.months_outside,
            "months missing (HTTP 404)": st.months_missing}

