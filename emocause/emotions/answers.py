"""Turning a model's raw answer, or a label cell, into emotions (pure functions; all parsing lives here).

Tolerant, never inventive:

* case, punctuation, quotes, markdown, plurals, a leading phrase ("Emotion:
  Joy") and the inflected or adjective forms of a known name
  (:data:`emocause.emotions.taxonomy.VARIANTS`: ``grateful`` -> Gratitude,
  ``Confused`` -> Confusion) are understood;
* an answer is matched against the prompt's own list first; a known name the
  prompt did not list still maps to its basic emotion, as the paper did, and
  is marked ``off-list`` (GPT-4 answered ``Gratitude`` to the all-levels list,
  which lacks it);
* anything else is ``Unparsed`` (the paper's "hallucination"), even a
  near-synonym (``Appreciation``, ``Concern``) or ``Yes`` to a label prompt.

Malformed answers are never an error: the caller keeps the raw text beside
the parsed label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from emocause.emotions.taxonomy import (KNOWN, NEUTRAL, NO_EMOTION, SPELLINGS, UNPARSED, EmotionMapping,
                                        canonical, normalize, plural_stems, to_basic)

# Straight and curly double quotes, and the guillemets/low quotes some models use.
_QUOTED = re.compile(r"[\"\u201c\u201d\u201e\u00ab\u00bb]\s*(.+?)\s*[\"\u201c\u201d\u201e\u00ab\u00bb]", re.S)
_PREFIX = re.compile(
    r"^(?:answer|emotion|label|output|response|the emotion(?: expressed)?(?: is)?|"
    r"the answer is|i would say|it is|this is|this comment expresses|expressed emotion)\s*[:\-]?\s*",
    re.I)
#: Words that negate the emotion named after them ("not angry"): such an answer is not guessed at.
_NEGATIONS = frozenset({"not", "no", "never", "without", "nor", "isn", "doesn", "don", "t"})
_NO_EMOTION_LOWER = frozenset(x.lower() for x in NO_EMOTION)

#: Characters of an answer that label parsing reads: a label answer names its emotion in its first
#: words, so a runaway answer (megabytes from a cache, a file, a misbehaving server) costs no more.
MAX_LABEL_CHARS = 4096
#: Characters of an answer that span parsing reads (a cause is a part of one comment).
MAX_SPAN_CHARS = 1 << 16

#: Statuses of a parsed label answer (``emotion_status`` adds skipped and failed: ...).
OK, OFF_LIST, UNPARSED_STATUS = "ok", "off-list", "unparsed"


@dataclass(frozen=True)
class Answer:
    """One parsed label answer.

    ``label`` is the name matched (as the list spells it), ``Neutral`` or
    ``Unparsed``; ``basic`` is one of the six, ``Neutral`` or ``Unparsed`` (for
    a yes/no prompt without a target emotion, ``Yes``/``No``); ``on_list`` says
    whether the prompt offered the label.
    """

    label: str
    basic: str
    on_list: bool = True

    @property
    def status(self) -> str:
        if self.basic == UNPARSED:
            return UNPARSED_STATUS
        return OK if self.on_list else OFF_LIST


UNPARSED_ANSWER = Answer(UNPARSED, UNPARSED, False)


def is_no_emotion(value: object) -> bool:
    """Whether a label cell means "no emotion" (Neutral, Unparsed, Hallucination, None, No, 0, empty)."""
    text = "" if value is None else str(value).strip().strip(".!").strip()
    return text.lower() in _NO_EMOTION_LOWER


@lru_cache(maxsize=64)
def _index(labels: tuple[str, ...]) -> dict[str, str]:
    """normalized form -> label, for one label list (the other spelling of a name included)."""
    idx = {normalize(label): label for label in reversed(labels)}
    for a, b in SPELLINGS.items():
        for label, other in ((a, b), (b, a)):
            if label in labels:
                idx.setdefault(normalize(other), label)
    return idx


def _lookup(key: str, idx: dict[str, str], allow_neutral: bool) -> str | None:
    """The listed label (or Neutral) a normalized phrase names, else None."""
    for candidate in (key, *plural_stems(key)):
        if candidate in idx:
            return idx[candidate]
    name = canonical(key)
    if name == NEUTRAL:
        return NEUTRAL if allow_neutral else None
    if name is not None:
        return idx.get(normalize(name))
    return None


def match_label(answer: str, labels: Sequence[str], allow_neutral: bool = True) -> str | None:
    """The label from ``labels`` that ``answer`` names, ``Neutral``, or ``None`` if neither.

    Tolerates case, punctuation, quotes, plurals, the forms of a name ("angry"),
    a leading phrase ("Emotion: Joy", "The emotion is joy.") and an answer that
    names exactly one listed label among other words, unless a negation comes
    with it ("not angry").  A known emotion that is *not* in ``labels`` does
    not match here (:func:`parse_answer` then looks it up among all known names).
    """
    idx = _index(tuple(labels))
    text = answer.lstrip()[:MAX_LABEL_CHARS].rstrip() if answer else ""
    first = text.splitlines()[0] if text else ""
    for cand in (first, _PREFIX.sub("", first.strip(" \t\"'`*_.")), text):
        key = normalize(cand)
        if key:
            hit = _lookup(key, idx, allow_neutral)
            if hit:
                return hit
    # One listed label (or a form of one) among several words, e.g. "Joy - the author thanks..."
    words = normalize(first).split()
    found: list[str] = []
    for i, w in enumerate(words):
        for k in (" ".join(words[i:i + 2]), w):
            hit = _lookup(k, idx, allow_neutral)
            if hit:
                found.append(hit)
                break
    distinct = list(dict.fromkeys(found))
    if len(distinct) != 1:
        return None
    hit = distinct[0]
    if hit not in (NEUTRAL, "Yes", "No") and _NEGATIONS & set(words):
        return None
    return hit


def parse_answer(raw: str | None, labels: Sequence[str], mapping: str | EmotionMapping | None = None,
                 task: str = "label", target: str | None = None) -> Answer:
    """A model's answer to a label (or yes/no) prompt that offered ``labels``.

    ``mapping`` names the convention from label to basic emotion (see
    :data:`emocause.emotions.taxonomy.MAPPINGS`).  For a ``yesno`` task, ``Yes``
    means ``target`` (the prompt's emotion) and ``No`` means Neutral.
    """
    if raw is None or not str(raw).strip():
        return UNPARSED_ANSWER
    raw = str(raw).lstrip()[:MAX_LABEL_CHARS]
    labels = tuple(labels)
    yesno = task == "yesno" or ("Yes" in labels and "No" in labels)
    label = match_label(str(raw), labels)
    on_list = label is not None
    if label is None and not yesno:
        label = match_label(str(raw), KNOWN)
    if label is None:
        return UNPARSED_ANSWER
    if label == NEUTRAL:
        return Answer(NEUTRAL, NEUTRAL)
    if label in ("Yes", "No"):
        if task != "yesno":
            return Answer(label, label)
        if label == "No":
            return Answer(NEUTRAL, NEUTRAL)
        return Answer(target or "Yes", to_basic(target, mapping) or "Yes") if target else Answer("Yes", "Yes")
    return Answer(label, to_basic(label, mapping) or UNPARSED, on_list)


def parse_label(raw: str | None, labels: Sequence[str],
                mapping: str | EmotionMapping | None = None) -> tuple[str, str]:
    """(the matched label, its basic emotion); ``Unparsed`` when the answer names no known emotion.

    The basic emotion is one of the six, ``Neutral`` or ``Unparsed``.  For a
    Yes/No prompt the label is ``Yes``/``No`` and the "basic" value repeats it.
    """
    a = parse_answer(raw, labels, mapping)
    return a.label, a.basic


def parse_span(raw: str | None) -> str:
    """The first double-quoted string (straight or curly quotes), else the whole answer, trimmed."""
    if raw is None:
        return ""
    text = raw.lstrip()[:MAX_SPAN_CHARS].rstrip()
    m = _QUOTED.search(text)
    if m and m.group(1).strip():
        return m.group(1).strip()
    # A single unbalanced opening quote: drop it rather than keep it in the span.
    return text.strip("\"\u201c\u201d").strip()


def split_labels(value: object) -> list[str]:
    """A cell with one or several labels ("Joy", "Anger, Sadness", "Joy;Love") as a list."""
    if value is None:
        return []
    text = str(value).strip()
    if not text or text.lower() == "nan":
        return []
    return [p.strip() for p in re.split(r"[,;|]", text) if p.strip()]


def cell_emotions(value: object, mapping: str | EmotionMapping | None = None) -> tuple[set[str], list[str]]:
    """Basic emotions named in one label cell, and the parts that name no known emotion.

    A known name the mapping rejects (``paper``: Worry) counts as no emotion and is
    not reported as unknown: it is a verdict, not a typo.
    """
    found: set[str] = set()
    unknown: list[str] = []
    for part in split_labels(value):
        if is_no_emotion(part):
            continue
        name = match_label(part, KNOWN, allow_neutral=True)
        if name == NEUTRAL:
            continue
        if name is None:
            unknown.append(part)
            continue
        basic = to_basic(name, mapping)
        if basic:
            found.add(basic)
    return found, unknown


def basic_set(value: object, mapping: str | EmotionMapping | None = None) -> set[str]:
    """The set of basic emotions named in a label cell (fine-grained names mapped up)."""
    return cell_emotions(value, mapping)[0]


def row_emotion(value: object, mapping: str | EmotionMapping | None = None) -> str | None:
    """The emotion a ``causes`` row asks about, or ``None`` (no emotion, or rejected by the mapping)."""
    text = "" if value is None else str(value).strip()
    if is_no_emotion(text):
        return None
    name = canonical(text)
    if name in KNOWN and to_basic(name, mapping) is None:
        return None
    return text
