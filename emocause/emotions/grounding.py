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


def _refine(span: str, text: str, start: int, end: int) -> tuple[int, int]:
    """Snap a fuzzy window to word boundaries, trying a word more or less on each side.

    ``partial_ratio_alignment`` returns a window as long as the span, which is
    too short when the model dropped letters; the best-scoring nearby word
    window (by ``fuzz.ratio``, case-insensitive) fixes that.
    """
    bounds = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if not bounds:
        return start, end
    first = next((i for i, (a, b) in enumerate(bounds) if b > start), 0)
    last = next((i for i in range(len(bounds) - 1, -1, -1) if bounds[i][0] < end), len(bounds) - 1)
    target = span.lower()
    best = (-1.0, start, end)
    for i in range(max(0, first - 1), min(len(bounds), first + 2)):
        for j in range(max(i, last - 1), min(len(bounds), last + 3)):
            a, b = bounds[i][0], bounds[j][1]
            score = fuzz.ratio(target, text[a:b].lower())
            if score > best[0]:
                best = (score, a, b)
    return best[1], best[2]


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
    start, end = _refine(span, text, pos[al.dest_start], pos[al.dest_end - 1] + 1)
    return Grounding(start, end, "fuzzy", round(float(al.score), 2))
