"""Finding a model's span in the comment it came from.

LLMs paraphrase, change case, re-flow whitespace and drop punctuation, so a
span is located in three steps, and the first that succeeds wins:

1. ``exact``: the span occurs verbatim;
2. ``normalized``: it occurs when case and runs of whitespace are ignored
   (offsets are mapped back to the original text);
3. ``fuzzy``: the best-aligned window of the text (``rapidfuzz``'s
   ``partial_ratio_alignment``) scores at least ``threshold`` (0-100).

Otherwise the span is *not grounded* and its offsets are empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

#: Minimum partial-ratio score (0-100) for a fuzzy match to count as grounded.
FUZZY_THRESHOLD = 85.0


@dataclass(frozen=True)
class Grounding:
    start: int | None
    end: int | None
    kind: str  # exact | normalized | fuzzy | none
    score: float

    @property
    def grounded(self) -> bool:
        return self.kind != "none"


NOT_GROUNDED = Grounding(None, None, "none", 0.0)


def _squash(text: str) -> tuple[str, list[int]]:
    """Lowercased text with whitespace runs collapsed, and each char's original offset."""
    out: list[str] = []
    pos: list[int] = []
    prev_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if prev_space:
                continue
            prev_space = True
            out.append(" ")
        else:
            prev_space = False
            out.append(ch.lower())
        pos.append(i)
    return "".join(out), pos


def ground(span: str, text: str, threshold: float = FUZZY_THRESHOLD) -> Grounding:
    """Where ``span`` lies in ``text`` (character offsets, end exclusive)."""
    span = span.strip()
    if not span or not text:
        return NOT_GROUNDED
    i = text.find(span)
    if i >= 0:
        return Grounding(i, i + len(span), "exact", 100.0)
    s_text, pos = _squash(text)
    s_span, _ = _squash(span)
    s_span = s_span.strip()
    j = s_text.find(s_span) if s_span else -1
    if j >= 0:
        return Grounding(pos[j], pos[j + len(s_span) - 1] + 1, "normalized", 100.0)
    if len(s_span) < 3:
        return NOT_GROUNDED
    al = fuzz.partial_ratio_alignment(s_span, s_text, score_cutoff=threshold)
    if al is None or al.score < threshold or al.dest_end <= al.dest_start:
        return NOT_GROUNDED
    start, end = pos[al.dest_start], pos[al.dest_end - 1] + 1
    # Widen to whole words so the offsets never cut a word in half.
    while start > 0 and re.match(r"\w", text[start - 1]) and re.match(r"\w", text[start]):
        start -= 1
    while end < len(text) and re.match(r"\w", text[end]) and re.match(r"\w", text[end - 1]):
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Grounding(start, end, "fuzzy", round(float(al.score), 2))
