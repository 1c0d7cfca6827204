"""Turning a model's raw answer into a label or a span (pure functions).

Malformed answers are never an error: a label answer outside the prompt's list
becomes ``Unparsed`` (the paper's "hallucination") and the raw text is kept
beside it by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from emocause.emotions.taxonomy import NEUTRAL, UNPARSED, match_label, to_basic

# Straight and curly double quotes, and the guillemets/low quotes some models use.
_QUOTED = re.compile(r"[\"\u201c\u201d\u201e\u00ab\u00bb]\s*(.+?)\s*[\"\u201c\u201d\u201e\u00ab\u00bb]", re.S)


def parse_label(raw: str | None, labels: Sequence[str]) -> tuple[str, str]:
    """(the matched label, its basic emotion); ``Unparsed`` when the answer names no listed label.

    The basic emotion is one of the six, ``Neutral`` or ``Unparsed``.  For a
    Yes/No prompt the label is ``Yes``/``No`` and the "basic" value repeats it.
    """
    if raw is None or not raw.strip():
        return UNPARSED, UNPARSED
    label = match_label(raw, tuple(labels))
    if label is None:
        return UNPARSED, UNPARSED
    if label == NEUTRAL:
        return NEUTRAL, NEUTRAL
    if label in ("Yes", "No"):
        return label, label
    return label, to_basic(label) or UNPARSED


def parse_span(raw: str | None) -> str:
    """The first double-quoted string (straight or curly quotes), else the whole answer, trimmed."""
    if raw is None:
        return ""
    text = raw.strip()
    m = _QUOTED.search(text)
    if m and m.group(1).strip():
        return m.group(1).strip()
    # A single unbalanced opening quote: drop it rather than keep it in the span.
    return text.strip("\"\u201c\u201d").strip()
