"""Mailing-list archives (mbox files, Pipermail, HyperKitty) as records, resumably.

Parsing is the standard library's: :class:`mailbox.mbox` splits an archive
into messages (on ``From `` lines, as every mbox writer escapes them) and
:mod:`email` parses each one with the ``compat32`` policy.  ``compat32`` never
raises on malformed headers; it hands back the raw values, which this module
decodes itself (RFC 2047 encoded words, 8-bit bytes in any charset), so one
broken message can never stop a scrape.  ``mailbox.mbox`` needs a file, so
compressed archives (gzip, bzip2, zip: detected by their magic bytes, not their
names, because servers mislabel them) and downloads are first written, streamed,
to a temporary file: memory stays flat whatever the archive's size.

Conventions (see ``docs/mail.md``):

* ``author`` is the sender's address in lower case: a stable identity across
  display-name spellings.  Pipermail's ``user at host`` obfuscation is undone.
* ``is_bot``: the address's local part names a machine (no-reply, bot, jenkins,
  buildbot, mailer-daemon, notifications, ...).
* Messages without a ``Message-ID`` or a parseable ``Date`` are skipped and
  counted separately; the same ``Message-ID`` seen twice (one message in two
  archives) is kept once.
* Every message of an archive read is stored; ``--since``/``--until`` select
  what goes into the output.  So a later run with a wider window needs no new
  download, and a month that straddles the window is complete.

Resuming: each archive file, Pipermail month or HyperKitty month is committed
with a cursor in one transaction.  A rerun skips local files whose size and
modification time are unchanged, and remote months already fetched, except
the most recent one fetched, which may have grown since.
"""

from __future__ import annotations

import base64
import bz2
import codecs
import gzip
import hashlib
import mailbox
import random
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from emocause.errors import UsageError
from emocause.sources.http import HttpStats, Waiter, get_with_retries
from emocause.sources.records import Window, iso_utc, mail_record, parse_iso
from emocause.sources.store import RecordStore, UpsertCounts

#: Records per transaction inside one large archive (the file's cursor goes with the last).
CHUNK = 1000
_MONTHS = {name: i for i, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
     ("october", "oct"), ("november", "nov"), ("december", "dec")], start=1) for name in names}
_ARCHIVE_EXT = (".txt", ".txt.gz", ".mbox", ".mbox.gz", ".mbx", ".gz", ".bz2", ".zip")
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"PK\x03\x04", "zip"))
# Codecs that decode any byte sequence without error, so a wrong label would never be noticed:
# valid UTF-8 is tried before them (8-bit text in those charsets is almost never valid UTF-8).
_PERMISSIVE = re.compile(r"^(iso8859-\d+|cp\d+|ascii|koi8-[a-z]+|mac-[a-z]+|latin-?1)$")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)\s+(?==\?)")
_BLOCK_TAGS = ["p", "div", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3",
               "h4", "h5", "h6", "hr"]
_FOLD = re.compile(r"\r?\n[ \t]*")
_ANGLE = re.compile(r"<([^<>\s]+)>")
_AT_OBFUSCATED = re.compile(r"(?<![\w.+-])([\w.+%-]+) at ([\w-]+(?:\.[\w-]+)+)(?![\w-])")
_ANGLE_AT = re.compile(r"<([\w.+%-]+) at ([\w-]+(?:\.[\w-]+)+)>")
_BOT_LOCAL = re.compile(
    r"^(no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster|mailman|jenkins|buildbot|"
    r"gerrit|jira|notifications?)$|(^|[-_.+])(bot|no-?reply|jenkins|buildbot|notifications?|"
    r"bounces?)($|[-_.+])", re.I)


@dataclass
class MailStats:
    """What a mail scrape did, for the summary and the manifest."""

    messages: int = 0        # messages read from archives
    kept: int = 0            # with a Message-ID and a Date, first time seen in this run
    no_message_id: int = 0
    no_date: int = 0
    duplicates: int = 0      # the same Message-ID again in this run
    outside_window: int = 0  # kept, stored, but not in --since/--until
    files: int = 0           # local archives read
    files_unchanged: int = 0  # skipped: same size and time as at the last run
    not_mbox: int = 0        # files in a folder (or zip members) that are not mbox
    months_fetched: int = 0
    months_skipped: int = 0  # fetched by an earlier run
    months_outside: int = 0  # not requested: outside --since/--until
    months_missing: int = 0  # listed in the index but 404
    counts: UpsertCounts = field(default_factory=UpsertCounts)

    def rows(self) -> dict[str, int]:
        """Summary lines (the CLI adds the output's own counts)."""
        return {"messages read": self.messages, "new records": self.counts.new,
                "already stored": self.counts.unchanged + self.counts.updated,
                "duplicates (same Message-ID)": self.duplicates,
                "skipped: no Message-ID": self.no_message_id, "skipped: no Date": self.no_date,
                "outside --since/--until": self.outside_window}


# ----------------------------------------------------------------------------- decoding

def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except (LookupError, ValueError, TypeError):
        return None  # unknown-8bit, x-user-defined, garbage: fall back below


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes in a declared, wrong or unknown charset -> text, never raising.

    Order: ASCII; the declared charset (strict), but after UTF-8 when the
    declared one accepts any bytes (Latin-1 and friends, often mislabeled
    UTF-8); UTF-8; cp1252 (what "iso-8859-1" mail usually is); Latin-1,
    which decodes anything.
    """
    if not data:
        return ""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        pass
    declared = _codec(charset)
    order = (["utf-8", declared] if declared and _PERMISSIVE.match(declared)
             else [declared, "utf-8"])
    for enc in (*order, "cp1252"):
        if enc is None:
            continue
        try:
            return data.decode(enc).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):  # LookupError: bytes-to-bytes codecs (base64)
            continue
    return data.decode("latin-1")


def _decode_word(match: re.Match[str]) -> str:
    try:
        parts = decode_header(match.group(0))
    except Exception:  # malformed base64/quoted-printable raises several types: keep the raw word
        return match.group(0)
    return "".join(p if isinstance(p, str) else decode_bytes(p, cs) for p, cs in parts)


def decode_header_value(value: str | None) -> str:
    """An unfolded header with RFC 2047 encoded words decoded (each in its own charset).

    Encoded words are decoded one by one, not through :func:`email.header.make_header`,
    which raises when a word's bytes do not match its declared charset.
    """
    if not value:
        return ""
    text = _FOLD.sub(" ", value)
    if "=?" in text:
        text = _ENCODED_WORD.sub(_decode_word, _BETWEEN_WORDS.sub("", text))
    return text.strip()


def header(msg: Message, name: str) -> str:
    """A header's decoded value ('' when absent); raw 8-bit bytes decoded like a body."""
    for key, value in msg.raw_items():
        if key.lower() != name.lower():
            continue
        raw = str(value)
        try:
            raw.encode("ascii")
        except UnicodeEncodeError:  # bytes the parser kept as surrogates, or a Header object
            try:
                raw = decode_bytes(raw.encode("ascii", "surrogateescape"))
            except UnicodeEncodeError:
                pass
        return decode_header_value(raw)
    return ""


def parse_sender(value: str) -> tuple[str, str]:
    """``From`` -> (address in lower case, display name); Pipermail's ``a at b.c`` undone."""
    if "@" not in value:
        value = _AT_OBFUSCATED.sub(r"\1@\2", value, count=1)
    pairs = getaddresses([value])
    name, addr = pairs[0] if pairs else ("", "")
    if "@" not in addr:  # not an address at all: keep what there is as the identity
        return (addr or value).strip().lower(), name.strip()
    return addr.strip().lower(), name.strip()


def is_bot_address(address: str) -> bool:
    """A machine sender: no-reply, bot, CI and notification addresses, mailer daemons."""
    return bool(_BOT_LOCAL.search(address.split("@", 1)[0]))


def html_to_text(html: str) -> str:
    """HTML mail -> plain text the way a mail client shows it.

    Scripts, styles, the head and comments are dropped; inline tags join their
    text (``Build <b>failed</b>`` stays one line); block tags and ``<br>`` break
    lines; source whitespace collapses except inside ``<pre>``.
    """
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for s in soup.find_all(string=True):
        if s.find_parent("pre") is None:
            s.replace_with(re.sub(r"\s+", " ", str(s)))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [line.replace("\xa0", " ").strip() for line in soup.get_text().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return decode_bytes(payload, part.get_content_charset())
    return str(part.get_payload() or "")


def message_body(msg: Message) -> str:
    """The text/plain parts that are not attachments; else the first HTML part as text."""
    plain: list[str] = []
    html: str | None = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html" and html is None:
            html = _part_text(part)
    if plain:
        text = "\n\n".join(p.strip("\n") for p in plain)
    elif html is not None:
        text = html_to_text(html)
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _ANGLE_AT.sub(r"<\1@\2>", text).strip()


def _first_id(value: str) -> str:
    m = _ANGLE.search(value)
    if m:
        return f"<{m.group(1)}>"
    token = value.strip().split()[0] if value.strip() else ""
    return f"<{token.strip('<>')}>" if token.strip("<>") else ""


def _date(value: str) -> str:
    if not value.strip():
        return ""
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""
    try:
        return iso_utc(dt)
    except (ValueError, OverflowError):  # a year outside what datetime can shift to UTC
        return ""


def parse_message(raw: bytes, project: str,
                  url_for: Callable[[str], str]) -> tuple[dict[str, Any] | None, str]:
    """One message's bytes -> (record, '') or (None, 'no_message_id' | 'no_date').

    ``url_for`` gets the Message-ID without brackets and returns the record's url.
    """
    msg = message_from_bytes(raw, policy=compat32)
    message_id = _first_id(header(msg, "Message-ID"))
    if not message_id:
        return None, "no_message_id"
    created = _date(header(msg, "Date"))
    if not created:
        return None, "no_date"
    author = parse_sender(header(msg, "From"))[0]
    in_reply_to = _first_id(header(msg, "In-Reply-To"))
    references = [f"<{r}>" for r in _ANGLE.findall(header(msg, "References"))]
    rec = mail_record(message_id=message_id, project=project, author=author, created_at=created,
                      url=url_for(message_id.strip("<>")), subject=header(msg, "Subject"),
                      body=message_body(msg), in_reply_to=in_reply_to, references=references,
                      is_bot=is_bot_address(author))
    return rec, ""


# ----------------------------------------------------------------------------- archives

def _kind(head: bytes) -> str:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "plain"


def _looks_like_mbox(path: Path) -> bool:
    """An mbox starts with a ``From `` line (blank lines before it tolerated); empty is one too."""
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    return not head or head.startswith(b"From ")


def _decompress(src: Path, kind: str, dest: Path) -> None:
    opener: Callable[..., Any] = gzip.open if kind == "gzip" else bz2.open
    with opener(src, "rb") as fin, dest.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


@contextmanager
def plain_mboxes(path: Path, label: str | None = None) -> Iterator[tuple[list[tuple[str, Path]], int]]:
    """The plain mbox files inside ``path``: ([(label, plain path)], members that are not mbox).

    A plain file is itself; gzip and bzip2 are decompressed to a temporary
    file; a zip gives each member that is (after decompression) an mbox.
    Corrupt compressed data raises one line naming the file.
    """
    label = label or str(path)
    with path.open("rb") as f:
        kind = _kind(f.read(4))
    if kind == "plain":
        ok = _looks_like_mbox(path)
        yield ([(label, path)] if ok else []), int(not ok)
        return
    with tempfile.TemporaryDirectory(prefix="emocause-mbox-") as tmp:
        found: list[tuple[str, Path]] = []
        skipped = 0
        try:
            if kind == "zip":
                with zipfile.ZipFile(path) as zf:
                    for i, info in enumerate(m for m in zf.infolist() if not m.is_dir()):
                        out = Path(tmp) / f"member{i}"
                        with zf.open(info) as fin, out.open("wb") as fout:
                            shutil.copyfileobj(fin, fout, 1 << 20)
                        with out.open("rb") as f:
                            inner = _kind(f.read(4))
                        if inner in ("gzip", "bzip2"):
                            plain = Path(tmp) / f"member{i}.plain"
                            _decompress(out, inner, plain)
                            out = plain
                        if inner != "zip" and _looks_like_mbox(out):
                            found.append((f"{label}/{info.filename}", out))
                        else:
                            skipped += 1
            else:
                out = Path(tmp) / "plain"
                _decompress(path, kind, out)
                if _looks_like_mbox(out):
                    found.append((label, out))
                else:
                    skipped += 1
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, ValueError) as exc:
            raise UsageError(f"{label}: not a readable {kind} archive ({exc})") from None
        yield found, skipped


def read_mbox(path: Path) -> Iterator[bytes]:
    """The messages of a plain mbox file, as bytes without the ``From `` separator line."""
    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


def find_archives(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Files to read, as (path, named explicitly); folders are walked recursively, sorted.

    A missing path is one line; hidden files (``.DS_Store``, ``.git``) in folders are ignored.
    """
    out: list[tuple[Path, bool]] = []
    for p in paths:
        if p.is_dir():
            out.extend((f, False) for f in sorted(p.rglob("*"))
                       if f.is_file() and not any(x.startswith(".") for x in f.relative_to(p).parts))
        elif p.is_file():
            out.append((p, True))
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def default_project(paths: list[Path]) -> str:
    """The first path's name without archive suffixes: ``dev-list.mbox.gz`` -> ``dev-list``."""
    name = paths[0].resolve().name if paths else "mail"
    for ext in (".gz", ".bz2", ".zip", ".mbox", ".txt", ".mbx"):
        if name.lower().endswith(ext) and len(name) > len(ext):
            name = name[: -len(ext)]
    return name or "mail"


# ----------------------------------------------------------------------------- periods

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
    if m and m.group(2).lower() in _MONTHS:
        return date(int(m.group(1)), _MONTHS[m.group(2).lower()], 1)
    m = re.match(r"^(\d{4})(\d{2})\.mbox", filename)  # Apache mod_mbox: 201603.mbox
    if m and 1 <= int(m.group(2)) <= 12:
        return date(int(m.group(1)), int(m.group(2)), 1)
    return None


def pipermail_archives(index_html: str, base_url: str) -> list[Period]:
    """The downloadable archives an archive index links to, oldest first.

    Mailman 2 links ``2016-April.txt.gz`` (or ``.txt``); Apache's mod_mbox links
    ``201603.mbox/thread``, whose mbox is ``201603.mbox``.  One archive per month.
    """
    from bs4 import BeautifulSoup

    seen: dict[str, Period] = {}
    for a in BeautifulSoup(index_html, "html.parser").find_all("a", href=True):
        href = str(a["href"]).strip()
        href = re.sub(r"/(thread|date|author|subject)(\.html)?$", "", href)
        name = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
        if not name.lower().endswith(_ARCHIVE_EXT):
            continue
        start = _month_of(name)
        key = f"{start.year:04d}-{start.month:02d}" if start else name
        seen.setdefault(key, Period(key, urljoin(base_url, href), start))
    return sorted(seen.values(), key=lambda p: (p.start or date.max, p.key))


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


# ----------------------------------------------------------------------------- scraper

@dataclass
class Web:
    """An HTTP client with the shared retry rules (5xx, 429, timeouts, Retry-After)."""

    client: httpx.Client
    max_retries: int = 6
    waiter: Waiter = field(default_factory=Waiter)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    stats: HttpStats = field(default_factory=HttpStats)

    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        return get_with_retries(self.client, url, params=params, max_retries=self.max_retries,
                                waiter=self.waiter, rng=self.rng, stats=self.stats, what=url)


class MailScraper:
    """Reads archives into a :class:`RecordStore`, one transaction per archive (or chunk)."""

    def __init__(self, store: RecordStore, project: str, window: Window,
                 on_message: Callable[[], None] | None = None) -> None:
        self.store, self.project, self.window = store, project, window
        self.on_message = on_message
        self.stats = MailStats()
        self._seen: set[str] = set()

    def ingest(self, messages: Iterable[bytes], url_for: Callable[[str], str],
               cursors: dict[str, Any]) -> int:
        """Parse, dedupe and commit messages; ``cursors`` go with the last transaction."""
        batch: list[dict[str, Any]] = []
        n = 0
        for raw in messages:
            self.stats.messages += 1
            n += 1
            if self.on_message is not None:
                self.on_message()
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
                self.stats.counts.add(self.store.commit(batch))
                batch = []
        self.stats.counts.add(self.store.commit(batch, cursors))
        return n

    # -- local files ---------------------------------------------------------------------------

    def scrape_files(self, paths: list[Path]) -> None:
        """mbox files and folders (plain, gzip, bzip2, zip); unchanged files are skipped."""
        for path, explicit in find_archives(paths):
            st = path.stat()
            name = f"file:{path.resolve()}"
            stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
            done = self.store.cursor(name)
            if done and {k: done.get(k) for k in stamp} == stamp:
                self.stats.files_unchanged += 1
                continue
            with plain_mboxes(path, str(path)) as (members, not_mbox):
                if explicit and not members:
                    raise UsageError(f"{path}: not an mbox archive (no mbox inside, or no 'From ' "
                                     f"line at its start)")
                self.stats.not_mbox += not_mbox
                if not members:
                    continue
                self.stats.files += 1
                for i, (label, plain) in enumerate(members):
                    last = i == len(members) - 1
                    self.ingest(read_mbox(plain), lambda mid, label=label: f"{label}#{mid}",
                                {name: stamp} if last else {})
        if not self.stats.files and not self.stats.files_unchanged:
            raise UsageError(f"no mbox archive in {', '.join(str(p) for p in paths)}")

    # -- remote months -------------------------------------------------------------------------

    def _plan(self, periods: list[Period], prefix: str) -> list[Period]:
        """Months to fetch: in the window, not fetched yet, or the latest one fetched (it may grow)."""
        done = self.store.cursors(prefix)
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
        return todo

    def _fetch_month(self, web: Web, p: Period, prefix: str, params: dict[str, str] | None,
                     url_for: Callable[[str], str], missing_is_error: bool) -> None:
        resp = web.get(p.url, params)
        if resp.status_code == 404:
            if missing_is_error:
                raise UsageError(f"{resp.url}: not found (HTTP 404); check the list URL")
            self.stats.months_missing += 1
            return
        if resp.status_code != 200:
            raise UsageError(f"{resp.url}: HTTP {resp.status_code}")
        with tempfile.TemporaryDirectory(prefix="emocause-mail-") as tmp:
            path = Path(tmp) / "archive"
            path.write_bytes(resp.content)
            cursor = {prefix + p.key: {"url": str(resp.url), "bytes": len(resp.content)}}
            with plain_mboxes(path, str(resp.url)) as (members, not_mbox):
                if not_mbox and not members:  # an HTML error or login page served with 200
                    raise UsageError(f"{resp.url}: not an mbox archive (Content-Type: "
                                     f"{resp.headers.get('content-type', 'none')})")
                for i, (_label, plain) in enumerate(members):
                    self.ingest(read_mbox(plain), url_for, cursor if i == len(members) - 1 else {})
                if not members:  # an empty month: remember it was fetched
                    self.stats.counts.add(self.store.commit((), cursor))
        self.stats.months_fetched += 1

    def scrape_pipermail(self, web: Web, url: str) -> None:
        """A Pipermail (Mailman 2) or mod_mbox archive index and its monthly archives."""
        base = url if url.endswith("/") else url + "/"
        resp = web.get(base)
        if resp.status_code == 404:
            raise UsageError(f"{base}: archive index not found (HTTP 404)")
        if resp.status_code != 200:
            raise UsageError(f"{base}: HTTP {resp.status_code} for the archive index")
        periods = pipermail_archives(resp.text, str(resp.url))
        for p in self._plan(periods, "pipermail:"):
            self._fetch_month(web, p, "pipermail:", None, lambda mid, u=p.url: u,
                              missing_is_error=False)

    def scrape_hyperkitty(self, web: Web, list_url: str, now: datetime) -> None:
        """HyperKitty (Mailman 3) monthly mbox exports: ``export/NAME.mbox.gz?start=&end=``."""
        list_url, name = parse_hyperkitty_url(list_url)
        local = name.split("@", 1)[0]
        for p in self._plan(hyperkitty_months(list_url, local, self.window, now), "hyperkitty:"):
            start, end = p.start or date.min, p.end or date.max  # always set for these months
            self._fetch_month(web, p, "hyperkitty:", {"start": start.isoformat(),
                                                     "end": end.isoformat()},
                              lambda mid: hyperkitty_message_url(list_url, mid),
                              missing_is_error=True)


def check_http_url(url: str) -> str:
    """An http(s) URL with a host, or one line saying what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r}: expected an http(s) URL like https://host/pipermail/LIST/")
    return url.strip()


def parse_hyperkitty_url(url: str) -> tuple[str, str]:
    """``https://host/hyperkitty/list/NAME@host/`` -> (that URL with a final /, ``NAME@host``)."""
    url = check_http_url(url)
    m = re.search(r"/list/([^/@\s]+@[^/\s]+)/?$", urlsplit(url).path)
    if not m:
        raise UsageError(f"{url}: expected a HyperKitty list URL like "
                         f"https://host/hyperkitty/list/NAME@host/")
    return (url if url.endswith("/") else url + "/"), unquote(m.group(1))


def pipermail_project(url: str) -> str:
    """The list name: the archive URL's last path segment."""
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or urlsplit(url).netloc
