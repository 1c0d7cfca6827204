"""URLs from users and data: validated before use, stripped of credentials before they are shown.

One helper, :func:`redact_url`, is applied to every URL before it is stored in a
row, a manifest or a state file, logged, or printed in an error: ``user:pass@``
and secret-looking query parameters (``token``, ``key``, ``sig``, ...) never
leave the process.  :func:`redact_text` does the same for URLs inside a message.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from emocause.errors import UsageError

#: Query parameter names whose values are secrets (matched case-insensitively, as substrings).
SECRET_PARAMS = re.compile(r"token|key|secret|passw|pwd|auth|sig|credential|session|code", re.I)
REDACTED = "REDACTED"
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` without ``user:pass@`` and with secret query values replaced by ``REDACTED``."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return _URL_IN_TEXT.sub(lambda m: REDACTED, text) if "@" in text else text
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(SECRET_PARAMS.search(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if SECRET_PARAMS.search(k) else v) for k, v in pairs],
                              safe="/:")
    if netloc == parts.netloc and query == parts.query:
        return text
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL inside ``text`` passed through :func:`redact_url`."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), str(text))


def check_http_url(url: str, option: str = "URL", example: str = "https://host/path/") -> str:
    """An http(s) URL with a host and a valid port (credentials stripped), or one line saying why not."""
    text = str(url).strip()
    shown = redact_url(text)
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        raise UsageError(f"{option} {shown!r}: not a valid URL (bad port?); expected e.g. {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} {shown!r}: expected an http(s) URL like {example}")
    if port == 0:
        raise UsageError(f"{option} {shown!r}: port 0 is not a usable port")
    return text


def same_site(url: str, base: str) -> bool:
    """Whether ``url`` is on ``base``'s scheme, host and port, under its path (for following links)."""
    u, b = urlsplit(url), urlsplit(base)
    if (u.scheme, u.hostname, u.port) != (b.scheme, b.hostname, b.port):
        return False
    prefix = b.path if b.path.endswith("/") else b.path.rsplit("/", 1)[0] + "/"
    return u.path.startswith(prefix)
