"""One mail message's bytes -> one record: headers and bodies decoded, never raising.

Parsing is the standard library's :mod:`email` with the ``compat32`` policy,
which never raises on malformed headers: it hands back the raw values, and
this module decodes them itself (RFC 2047 encoded words, 8-bit bytes in any
charset), so one broken message can never stop a scrape.

Decoding order (:func:`decode_bytes`): the declared charset first, strictly
(so 7-bit encodings such as ISO-2022-JP or UTF-7 are honoured); when the
declared charset accepts any byte (Latin-1 and friends, often mislabeled UTF-8)
UTF-8 is tried before it; then UTF-8, cp1252, Latin-1.  Addresses are parsed
from the raw header before any encoded word is decoded, so an encoded display
name holding a comma (``=?iso-8859-1?Q?M=FCller=2C_Hans?=``) stays one name.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from emocause.sources.records import iso_utc, mail_record

# Codecs that decode any byte sequence without error, so a wrong label would never be noticed:
# valid UTF-8 is tried before them (8-bit text in those charsets is almost never valid UTF-8).
_PERMISSIVE = re.compile(r"^(iso8859-\d+|cp\d+|ascii|koi8-[a-z]+|mac-[a-z]+|latin-?1)$")
# Codecs that turn any even-length byte string into (wrong) text: trusted only with NUL bytes.
_WIDE = re.compile(r"^utf[-_]?(16|32)")
# ISO-2022 escape sequences: 7-bit text that is not ASCII text.
_ISO2022 = re.compile(rb"\x1b[$(][@ABDJ()CI]")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)\s+(?==\?)")
_BLOCK_TAGS = ["p", "div", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3",
               "h4", "h5", "h6", "hr"]
# Quoted replies in HTML mail: <blockquote>, Gmail's and Thunderbird's quote containers, and
# the other clients' equivalents.  Rendered as "> " lines, so they collapse like plain-text quotes.
_HTML_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote",
                       "OutlookMessageHeader", "zmail_extra")
# Outlook on the web: a header block (From/Sent/To) in this div, the original message after it.
_OUTLOOK_REPLY_ID = "divRplyFwdMsg"
_FOLD = re.compile(r"\r?\n[ \t]*")
_ANGLE = re.compile(r"<([^<>\s]+)>")
_AT_OBFUSCATED = re.compile(r"(?<![\w.+-])([\w.+%-]+) at ([\w-]+(?:\.[\w-]+)+)(?![\w-])")
_ANGLE_AT = re.compile(r"<([\w.+%-]+) at ([\w-]+(?:\.[\w-]+)+)>")
# Machine senders, by the address's local part: no-reply and notification addresses, list
# owners and bounce handlers, daemons, CI and review systems.
_BOT_LOCAL = re.compile(
    r"^(no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster|mailman|majordomo|jenkins|"
    r"buildbot|gerrit|jira|bugzilla|patchwork|notify|notifications?|owner-.*)$"
    r"|(^|[-_.+])((ro)?bot|no-?reply|jenkins|buildbot|notify|notifications?|bounces?|owner|daemon|"
    r"request)($|[-_.+])", re.I)
# ... and by a display name that says so ("kernel test robot", "GitHub Notifications").
_BOT_NAME = re.compile(r"\b((ro)?bot|daemon|no-?reply|notifications?|mailer)\b", re.I)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').split("*", 1)[0].lower()  # RFC 2231 "utf-8*en": the charset
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None  # unknown-8bit, x-user-defined, garbage: fall back below


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes in a declared, wrong or unknown charset -> text, never raising (order: module docstring)."""
    if not data:
        return ""
    declared = _codec(charset)
    if declared and _WIDE.match(declared) and b"\x00" not in data:
        declared = None  # "utf-16" on bytes without a NUL is a wrong label
    if declared is None and _ISO2022.search(data):
        declared = "iso2022_jp_2"  # undeclared ISO-2022 (JP, KR, CN escapes)
    if declared is None:
        order: list[str | None] = ["ascii", "utf-8"]
    elif _PERMISSIVE.match(declared):
        order = ["utf-8", declared]
    else:
        order = [declared, "utf-8"]
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


def raw_header(msg: Message, name: str) -> str:
    """A header's value as written, unfolded, encoded words left alone ('' when absent).

    Raw 8-bit bytes (kept by the parser as surrogates) are decoded like a body.
    """
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
        return _FOLD.sub(" ", raw).strip()
    return ""


def header(msg: Message, name: str) -> str:
    """A header's decoded value ('' when absent)."""
    return decode_header_value(raw_header(msg, name))


def parse_sender(value: str) -> tuple[str, str]:
    """A raw ``From`` -> (address in lower case, decoded display name).

    The address is parsed before encoded words are decoded (a decoded name may
    hold commas or angle brackets); Pipermail's ``a at b.c`` is undone.
    """
    if "@" not in value:
        value = _AT_OBFUSCATED.sub(r"\1@\2", value, count=1)
    pairs = getaddresses([value])
    name, addr = pairs[0] if pairs else ("", "")
    if "@" not in addr:  # an address inside an encoded word (against the RFC): decode, then parse
        decoded = decode_header_value(value)
        if "@" not in decoded:
            decoded = _AT_OBFUSCATED.sub(r"\1@\2", decoded, count=1)
        pairs = getaddresses([decoded])
        name, addr = pairs[0] if pairs else ("", "")
        if "@" not in addr:  # not an address at all: keep what there is as the identity
            return (addr or decoded).strip().lower(), name.strip()
        return addr.strip().lower(), name.strip()
    return addr.strip().lower(), decode_header_value(name).strip()


def is_bot_address(address: str, name: str = "") -> bool:
    """A machine sender: no-reply, notification, owner and bounce addresses, daemons, CI, robots."""
    return bool(_BOT_LOCAL.search(address.split("@", 1)[0])) or bool(name and _BOT_NAME.search(name))


def _quote_lines(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def _is_quote(tag: Any) -> bool:
    if tag.name == "blockquote":
        return True
    classes = tag.get("class") or []
    return any(c in _HTML_QUOTE_CLASSES for c in classes)


def html_to_text(html: str) -> str:
    """HTML mail -> plain text the way a mail client shows it.

    Scripts, styles, the head and comments are dropped; inline tags join their
    text (``Build <b>failed</b>`` stays one line); block tags and ``<br>`` break
    lines; source whitespace collapses except inside ``<pre>``.  Quoted replies
    (``<blockquote>``, ``gmail_quote``, ``moz-cite-prefix``, ...) come out as
    ``> `` lines, as a plain-text client would quote them.
    """
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(id=_OUTLOOK_REPLY_ID):
        quoted = soup.new_tag("blockquote")
        tag.insert_before(quoted)
        for node in [tag, *tag.next_siblings]:
            quoted.append(node.extract())
    for tag in soup.find_all(_is_quote):
        if tag.parent is None or any(_is_quote(p) for p in tag.parents if p.name):
            continue  # inside a quote handled as a whole
        pre = soup.new_tag("pre")
        pre.string = _quote_lines(html_to_text(tag.decode_contents()))
        tag.replace_with(pre)
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


def first_id(value: str) -> str:
    """The first ``<id>`` of a header (a bare token is bracketed), '' when none."""
    m = _ANGLE.search(value)
    if m:
        return f"<{m.group(1)}>"
    token = value.strip().split()[0] if value.strip() else ""
    return f"<{token.strip('<>')}>" if token.strip("<>") else ""


def parse_date(value: str) -> str:
    """A ``Date`` header as our canonical UTC string ('' when it does not parse)."""
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
    message_id = first_id(header(msg, "Message-ID"))
    if not message_id:
        return None, "no_message_id"
    created = parse_date(header(msg, "Date"))
    if not created:
        return None, "no_date"
    author, name = parse_sender(raw_header(msg, "From"))
    in_reply_to = first_id(header(msg, "In-Reply-To"))
    references = [f"<{r}>" for r in _ANGLE.findall(header(msg, "References"))]
    rec = mail_record(message_id=message_id, project=project, author=author, created_at=created,
                      url=url_for(message_id.strip("<>")), subject=header(msg, "Subject"),
                      body=message_body(msg), in_reply_to=in_reply_to, references=references,
                      is_bot=is_bot_address(author, name))
    return rec, ""
