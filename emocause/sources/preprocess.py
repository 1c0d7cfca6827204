"""Comment text as the emotion models saw it in the labeled GitHub dataset.

The evaluation data (``../shared/data/paper/github-*.csv``) was preprocessed
with four placeholders, and models score best on text that looks the same:

* ``@login`` mentions -> ``[USER]`` (351 in the dataset),
* URLs -> ``[URL]``; inside Markdown links only the target changes:
  ``[docs](https://...)`` -> ``[docs]([URL])``, ``![image]([URL])``,
* a block quoted with ``>`` -> one line ``[BLOCK QUOTE].``,
* a fenced code block (```` ``` ```` or ``~~~``) -> one line ``[TRIPLE QUOTE].``.

The dataset writes both block placeholders with a trailing period on a line of
their own (112 of 147 block quotes, 102 of 107 code blocks), keeps inline
``code`` spans, HTML tags (``<sub>``, ``<details>``), emoji and blank lines
as written, and has no surrounding whitespace.  This module does the same, and
also (where the dataset has no example):

* removes HTML comments ``<!-- ... -->`` (issue-template hints the author never
  wrote, and GitHub does not render),
* turns e-mail addresses into ``[USER]`` (an address names a person, like a mention),
* leaves ``@`` inside inline code alone (```@Component```, ```@angular/core```),
  as well as ``pkg@1.2.3`` and ``@scope/package``,
* collapses three or more consecutive newlines to two.

Mail (``kind="mail"``) first replaces inline patches (diffstat, ``diff --git``,
``---``/``+++`` headers and ``@@`` hunks) with ``[TRIPLE QUOTE].``, like fenced
code, then drops what is not the author's own words: the signature (after a
``-- `` line), mailing-list footers, Pipermail's "next part" attachment notes,
"-----Original Message-----" and Outlook header blocks with the unquoted
message below them, "Sent from my phone" lines, and attribution lines ("On
Mon, X <x@y> wrote:", or a ``From:``/``Date:`` block) before a quote; the
author's own lines after a quote always stay.  Quoted replies then collapse to
``[BLOCK QUOTE].`` like on GitHub.  ``@`` mentions are not a mail convention,
so only addresses are replaced there.  On GitHub, a reply sent by e-mail loses
its "On ... wrote:" line too.

Everything here is a pure function of the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

USER = "[USER]"
URL = "[URL]"
BLOCK_QUOTE = "[BLOCK QUOTE]."
TRIPLE_QUOTE = "[TRIPLE QUOTE]."
PLACEHOLDERS = (USER, URL, BLOCK_QUOTE, TRIPLE_QUOTE)
KINDS = ("github", "mail")

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_QUOTE = re.compile(r"^ {0,3}>")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_AUTOLINK = re.compile(r"<(?:https?|ftp)://[^\s<>]+>|<www\.[^\s<>]+>", re.I)
_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'`]+|(?<![\w.@/])www\.[A-Za-z0-9-]+\.[^\s<>\"'`]+", re.I)
_EMAIL = re.compile(r"(?:mailto:)?(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}(?![\w-])", re.I)
# GitHub logins: alphanumerics and single hyphens, at most 39 characters.  Not after a word
# character or one of @ . / ` \ - (emails, pkg@1.2, paths), not followed by / (scoped package
# or team) or by .x (a domain).
_MENTION = re.compile(r"(?<![\w@./`\\-])@[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
                      r"(?![\w@-]|/[\w-]|\.[A-Za-z0-9])")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_URL_TRAILING = ".,;:!?*_~'\""

# -- mail ------------------------------------------------------------------------------------
_SIG_DELIMITER = re.compile(r"^-- ?$")
_NEXT_PART = re.compile(r"^-{3,}\s*next part\s*-{3,}\s*$", re.I)
_ORIGINAL = re.compile(r"^\s*-{3,}\s*(original message|forwarded message)\s*-{3,}\s*$", re.I)
_UNDERSCORES = re.compile(r"^_{20,}\s*$")
_RULE_LINE = re.compile(r"^[-_=*]{20,}\s*$")
#: A rule line this close to the end with a list footer below it starts the list's trailer
#: (SourceForge lists put an advertisement between the rule and the footer).
_TRAILER_LINES = 15
_LIST_FOOTER = re.compile(r"mailing list|listinfo|unsubscribe|list archive", re.I)
_SENT_FROM = re.compile(r"^\s*(sent from my |sent from mail for |get outlook for )", re.I)
_OUTLOOK_FROM = re.compile(r"^\s*\*?From:\*?\s+\S")
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date):\*?\s+\S")
_HEADER_LINE = re.compile(r"^\s*\*?(From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Importance):\*?(\s|$)",
                          re.I)
_ATTRIBUTION = re.compile(r"\b(wrote|writes|said|a écrit|schrieb|escribió|scrisse|napisał)\s*:\s*$",
                          re.I)


# -- patches (mail) -----------------------------------------------------------------------------
_DIFF_START = re.compile(r"^(diff --git |diff -[a-zA-Z]+ \S|Index: \S|GIT binary patch$)")
_OLD_FILE = re.compile(r"^--- \S")
_NEW_FILE = re.compile(r"^\+\+\+ \S")
_RULE = re.compile(r"^={10,}\s*$")
_PATCH_SEPARATOR = re.compile(r"^---\s*$")  # git format-patch: message above, diffstat and diff below
_DIFF_META = re.compile(
    r"^(diff |index [0-9a-f]|--- |\+\+\+ |new file mode|deleted file mode|old mode|new mode|"
    r"similarity index|dissimilarity index|rename from|rename to|copy from|copy to|Binary files|"
    r"GIT binary patch|literal \d|delta \d|Index: |={10,}|Only in )")
_HUNK_LINE = re.compile(r"^(@@|[ +\-\\])")
_DIFFSTAT = re.compile(r"^ \S.*\|\s+(\d+ ?[+\-]*|Bin\b.*)\s*$")
_DIFFSTAT_TOTAL = re.compile(r"^ \d+ files? changed")
# One search over the whole text before the line-by-line pass: most mail has no patch.
_MAYBE_PATCH = re.compile(r"^(diff |Index: |GIT binary|--- |---\s*$| \S.*\|\s+\d)", re.M)


def _patch_starts(lines: list[str], i: int) -> bool:
    line = lines[i]
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if _DIFF_START.match(line) and not line.startswith("Index: "):
        return True
    if line.startswith("Index: ") and _RULE.match(nxt):
        return True
    if _OLD_FILE.match(line) and _NEW_FILE.match(nxt):
        return True
    if _DIFFSTAT.match(line):  # a diffstat on its own (a cover letter): stat lines, then a total
        k = i
        while k < len(lines) and _DIFFSTAT.match(lines[k]):
            k += 1
        return k < len(lines) and _DIFFSTAT_TOTAL.match(lines[k]) is not None
    if _PATCH_SEPARATOR.match(line):
        k = _next_nonblank(lines, i + 1)
        return k < len(lines) and (_DIFFSTAT.match(lines[k]) is not None
                                  or _DIFFSTAT_TOTAL.match(lines[k]) is not None
                                  or _DIFF_START.match(lines[k]) is not None)
    return False


def _patch_end(lines: list[str], i: int) -> int:
    """The index after a patch (diffstat, headers, hunks) that starts at line ``i``."""
    n = len(lines)
    j = i + 1
    while j < n:
        line = lines[j]
        if _SIG_DELIMITER.match(line):
            break
        if (_DIFF_META.match(line) or _HUNK_LINE.match(line) or _DIFFSTAT.match(line)
                or _DIFFSTAT_TOTAL.match(line)):
            j += 1
            continue
        if not line.strip():  # blank: inside the patch only if more patch follows
            k = _next_nonblank(lines, j)
            if k < n and not _SIG_DELIMITER.match(lines[k]) and (
                    _DIFF_META.match(lines[k]) or _HUNK_LINE.match(lines[k])
                    or _DIFFSTAT.match(lines[k])):
                j = k
                continue
        break
    return j


def replace_patches(text: str) -> str:
    """Inline patches (diffstat, ``diff --git``, ``---``/``+++``, ``@@`` hunks) -> ``[TRIPLE QUOTE].``.

    A patch is code, like a fenced block: the emotion models should read the
    human words around it.  Quoted patches (``> +line``) are left to the quote rule.
    """
    if not _MAYBE_PATCH.search(text):
        return text
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _patch_starts(lines, i):
            out.append(TRIPLE_QUOTE)
            i = _patch_end(lines, i)
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _next_nonblank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def replace_blocks(text: str) -> str:
    """Fenced code -> ``[TRIPLE QUOTE].``; runs of ``>`` lines -> ``[BLOCK QUOTE].``.

    A fence closes on a line of the same character at least as long (or at the
    end: GitHub renders an unclosed fence to the end too).  A ``` line whose
    info string holds a backtick is inline code, not a fence (CommonMark).
    Quote lines separated only by blank lines form one quote.
    """
    lines = text.split("\n")
    out: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        m = _FENCE.match(line)
        if m and not (m["fence"][0] == "`" and "`" in m["info"]):
            char, size = m["fence"][0], len(m["fence"])
            close = re.compile(rf"^\s*{re.escape(char)}{{{size},}}\s*$")
            j = i + 1
            while j < n and not close.match(lines[j]):
                j += 1
            out.append(TRIPLE_QUOTE)
            i = j + 1
            continue
        if _QUOTE.match(line):
            j = i + 1
            while j < n:
                if _QUOTE.match(lines[j]):
                    j += 1
                    continue
                k = _next_nonblank(lines, j)
                if k > j and k < n and _QUOTE.match(lines[k]):
                    j = k
                    continue
                break
            out.append(BLOCK_QUOTE)
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _trim_url(url: str) -> tuple[str, str]:
    """Split trailing punctuation (and unbalanced brackets) off a matched URL."""
    tail = ""
    while url:
        last = url[-1]
        if (last in _URL_TRAILING
                or (last == ")" and url.count(")") > url.count("("))
                or (last == "]" and url.count("]") > url.count("["))):
            tail = last + tail
            url = url[:-1]
        else:
            break
    return url, tail


def _replace_url(m: re.Match[str]) -> str:
    url, tail = _trim_url(m.group(0))
    return (URL if url else "") + tail


def _inline(text: str, mentions: bool) -> str:
    text = _AUTOLINK.sub(URL, text)
    text = _URL.sub(_replace_url, text)
    text = _EMAIL.sub(USER, text)
    if mentions:
        text = _MENTION.sub(USER, text)
    return text


def _outside_code(text: str, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to the text between inline code spans (code stays as written)."""
    parts, last = [], 0
    for m in _INLINE_CODE.finditer(text):
        parts.append(fn(text[last:m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(fn(text[last:]))
    return "".join(parts)


def _finish(text: str) -> str:
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def clean_github(text: str) -> str:
    """A GitHub issue, comment or review body, the way the labeled dataset wrote it.

    A reply sent by e-mail keeps GitHub's rendering of the quote; its "On ...
    wrote:" attribution line before the quote (or left alone at the end) is
    dropped, as in mail.
    """
    text = _HTML_COMMENT.sub("", _normalize_newlines(text))
    text = "\n".join(_drop_attributions(replace_blocks(text).split("\n")))
    return _finish(_outside_code(text, lambda s: _inline(s, mentions=True)))


def _header_block_end(lines: list[str], i: int) -> int:
    """The index after a ``From:``/``Date:``... block that starts at ``i``."""
    j = i + 1
    while j < len(lines) and _HEADER_LINE.match(lines[j]):
        j += 1
    return j


def strip_mail_noise(text: str) -> str:
    """Cut signatures, footers and forwarded/original-message tails; drop attribution lines.

    A ``From:``/``Date:`` (or ``Sent:``) header block followed by unquoted text
    starts a forwarded or Outlook-quoted message: it and everything below are
    cut.  Followed by ``>`` lines it is only an attribution (a common kernel
    style): the block goes, and the quote and the author's own lines below stay.
    """
    lines = _normalize_newlines(text).split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (_SIG_DELIMITER.match(line) or _NEXT_PART.match(line) or _ORIGINAL.match(line)
                or _SENT_FROM.match(line)):
            break
        if _UNDERSCORES.match(line) and any(_LIST_FOOTER.search(x) for x in lines[i + 1:i + 4]):
            break
        if (_RULE_LINE.match(line) and len(lines) - i <= _TRAILER_LINES
                and any(_LIST_FOOTER.search(x) for x in lines[i + 1:])):
            break
        if (_OUTLOOK_FROM.match(line) and i + 1 < len(lines) and _OUTLOOK_NEXT.match(lines[i + 1])):
            j = _header_block_end(lines, i)
            k = _next_nonblank(lines, j)
            if k < len(lines) and _QUOTE.match(lines[k]):
                i = j  # an attribution block: drop it, keep what follows
                continue
            break
        kept.append(line)
        i += 1
    return "\n".join(_drop_attributions(kept))


def _drop_attributions(lines: list[str]) -> list[str]:
    """Attribution lines ("On Mon, X <x@y> wrote:") before a quote or at the end, dropped."""
    if not any(_ATTRIBUTION.search(line) for line in lines):
        return lines
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        # An attribution is one line, or two when a long "On ... <addr>" wrapped.
        span = 0
        if _ATTRIBUTION.search(line):
            span = 1
        elif (line.lstrip().startswith("On ") and i + 1 < len(lines)
              and _ATTRIBUTION.search(lines[i + 1]) and not _QUOTE.match(lines[i + 1])):
            span = 2
        if span and not _QUOTE.match(line):
            k = _next_nonblank(lines, i + span)
            if k >= len(lines) or _QUOTE.match(lines[k]) or lines[k].strip() == BLOCK_QUOTE:
                i += span
                continue
        out.append(line)
        i += 1
    return out


def clean_mail(text: str) -> str:
    """A mail body: the author's own words, patches and quotes collapsed, links and addresses replaced."""
    text = replace_blocks(strip_mail_noise(replace_patches(_normalize_newlines(text))))
    return _finish(_outside_code(text, lambda s: _inline(s, mentions=False)))


def preprocess(text: str | None, kind: str = "github") -> str:
    """``clean_github`` or ``clean_mail``; ``None`` gives ``""``."""
    if not text:
        return ""
    if kind == "mail":
        return clean_mail(text)
    if kind == "github":
        return clean_github(text)
    raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")


def placeholder_counts(texts: Iterable[str]) -> dict[str, int]:
    """How many of each placeholder a batch of preprocessed texts holds (for summaries)."""
    counts = dict.fromkeys(PLACEHOLDERS, 0)
    for t in texts:
        for tok in PLACEHOLDERS:
            counts[tok] += t.count(tok)
    return counts
