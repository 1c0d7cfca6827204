"""What a model reads of a comment: its cleaned text, its sentences, and the clauses that may be a cause.

Every offline backend reads comments through these functions, so they agree on
what a sentence is and which pieces of a comment can be answered as a cause:

* :func:`clean_text` drops what carries no emotion and only confuses a sentence
  model: fenced code, quoted lines (``> ...``), URLs and the anonymisation
  placeholders of the paper's data (``[USER]``, ``[URL]``, ...).
* :func:`sentences` / :func:`comment_sentences` cut the cleaned text at
  sentence ends.
* :func:`span_candidates` offers character ranges of the *original* comment
  (sentences, and clauses of sentences that have several) that contain no
  double quote and no code, so a span answered from them is always found
  verbatim (grounded ``exact``).

Pure functions, no I/O.
"""

from __future__ import annotations

import re

#: Sentences of a comment scored for its emotion (long comments: the first ones).
MAX_SENTENCES = 12

_FENCED = re.compile(r"```.*?(?:```|$)", re.S)
_QUOTED_LINE = re.compile(r"(?m)^[ \t]*>.*$")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_PLACEHOLDER = re.compile(r"\[(?:USER|URL|BLOCK QUOTE|TRIPLE QUOTE|CODE|EMAIL|IMAGE)\]\.?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: Where a cause candidate ends: sentence ends, line breaks, and every double-quote character
#: (a span answer must not contain one, or the quoted-answer parser would cut it short).
_SEGMENT_BREAK = re.compile(r"(?<=[.!?])\s+|\n+|[\"\u201c\u201d\u201e\u00ab\u00bb]")
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?=(?:but|because|although|though|since|so that|"
                           r"while|whereas|unless)\b)", re.I)
_LEAD = re.compile(r"^[\s>*\-#•]+")


def clean_text(text: str) -> str:
    """The comment without code, quoted lines, URLs and placeholders, whitespace collapsed."""
    text = _FENCED.sub(" ", text)
    text = _QUOTED_LINE.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _PLACEHOLDER.sub(" ", text)
    return " ".join(text.split())


def model_text(text: str) -> str:
    """What a model reads of a whole comment: the cleaned text, else the raw text, never empty."""
    return clean_text(text) or " ".join(text.split()) or " "


def sentences(cleaned: str, limit: int = MAX_SENTENCES) -> list[str]:
    """The sentences of a cleaned comment (at most ``limit``, fragments of <3 chars dropped)."""
    return [s for s in (p.strip() for p in _SENTENCE_END.split(cleaned)) if len(s) > 2][:limit]


def comment_sentences(text: str) -> list[str]:
    """What is embedded of a comment: its cleaned sentences, else its cleaned text, else the raw text."""
    cleaned = clean_text(text)
    return sentences(cleaned) or [cleaned or " ".join(text.split()) or " "]


def span_candidates(text: str) -> list[tuple[int, int]]:
    """Character ranges of the comment's sentences and clauses that may be a cause.

    Each range starts and ends on a non-space character, contains no double
    quote and no code; a clause is also offered on its own when its sentence
    has several.  Ranges that hold nothing but URLs or placeholders are dropped.
    """
    masked = _FENCED.sub(lambda m: "\n" * len(m.group(0)), text)  # keep offsets, drop code
    out: list[tuple[int, int]] = []

    def add(a: int, b: int) -> None:
        piece = text[a:b]
        lead = _LEAD.match(piece)
        a += lead.end() if lead else 0
        piece = text[a:b]
        b = a + len(piece.rstrip())
        if b - a >= 3 and len(clean_text(text[a:b])) >= 3 and (a, b) not in out:
            out.append((a, b))

    start = 0
    for brk in [*_SEGMENT_BREAK.finditer(masked), None]:
        end = brk.start() if brk else len(masked)
        if end > start:
            add(start, end)
            seg = masked[start:end]
            cuts = list(_CLAUSE_BREAK.finditer(seg))
            if cuts:
                c0 = 0
                for m in [*cuts, None]:
                    c1 = m.start() if m else len(seg)
                    add(start + c0, start + c1)
                    c0 = m.end() if m else c0
        start = brk.end() if brk else len(masked)
    return out


def fallback_span(text: str) -> str:
    """The answer when a comment offers no candidate (nothing but code or URLs): its first
    quote-free piece, quoted, else nothing."""
    piece = next((p.strip() for p in _SEGMENT_BREAK.split(text) if p.strip()), "")
    return f'"{piece}"' if piece else ""


__all__ = ["MAX_SENTENCES", "clean_text", "comment_sentences", "fallback_span", "model_text",
           "sentences", "span_candidates"]
