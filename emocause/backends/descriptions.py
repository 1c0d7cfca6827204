"""Short descriptions of the emotions, for the zero-shot ``embedding`` backend.

The ``embedding`` backend cannot read a prompt.  It compares a comment with a
*description* of each emotion instead, in the embedding space of a sentence
model, and answers the emotion whose description is closest.  This module is
that list of descriptions, kept beside :mod:`emocause.emotions.taxonomy`.

A description is a few short phrases: the emotion's names, then a few things a
developer says when feeling it (in code review, issue and mailing-list voice).
The backend embeds each phrase and averages them into one unit vector per
emotion (a centroid), so one phrase can widen an emotion's reach without
dominating it.

Coverage:

* the six basic emotions (:data:`emocause.emotions.taxonomy.BASIC`);
* ``Frustration``, the emotion of the paper's case study (the
  ``frustration-detect`` and ``frustration-cause`` prompts), which needs
  words of its own for the yes/no question and for finding its cause (its
  phrases were written, not tuned: the training split has no Frustration
  label);
* every other label a prompt may list or a ``causes`` run may ask about falls
  back to its basic emotion's description through
  :func:`emocause.emotions.taxonomy.to_basic` (``Annoyance`` -> Anger, ``Gratitude`` ->
  Love, ``Nervousness`` -> Fear, ...); a name the taxonomy does not know is
  described by the name itself;
* in a prompt's label list every name is scored by its basic emotion's
  description (:func:`label_description`), so ``basic``, ``secondary``,
  ``goemotions`` and ``all-levels`` give the same basic emotion;
* ``Neutral`` has no description: it is the answer when the closest
  description is less similar than :data:`NEUTRAL_THRESHOLD`.

The phrases and :data:`NEUTRAL_THRESHOLD` were chosen on the paper's training
split only; how, with the figures, is in docs/backends.md ("How the
descriptions and the threshold were chosen").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from emocause.emotions.taxonomy import BASIC, NEUTRAL, NO_EMOTION, to_basic

#: label -> phrases; docs/backends.md says how they were chosen.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Anger": (
        "Anger, annoyance, frustration or irritation.",
        "This is annoying and frustrating; it is broken again.",
        "I disagree, this is wrong and pointless.",
        "Why was this closed? Please do not ignore this issue.",
    ),
    "Love": (
        "Love, gratitude and appreciation.",
        "Thanks a lot, I really appreciate your help!",
        "This is awesome, great work, I love it.",
        "Thank you for the detailed report, it made this easy.",
    ),
    "Fear": (
        "Fear, worry, anxiety or concern.",
        "I am worried this could break things or cause a crash.",
        "We need to be careful, this is risky and dangerous.",
        "Any updates? We really need this fixed urgently.",
        "We must not forget this, otherwise users will hit the bug.",
    ),
    "Joy": (
        "Joy, happiness, satisfaction or agreement.",
        "Sounds good, I agree, I will do it.",
        "Nice, glad it works now! :)",
        "Yes, we will fix it.",
        "Great, it is fixed and works perfectly.",
    ),
    "Sadness": (
        "Sadness, disappointment, regret or an apology.",
        "Sorry, unfortunately that does not work.",
        "Oops, my mistake, it is still not working.",
    ),
    "Surprise": (
        "Surprise, confusion or curiosity.",
        "I am not sure I understand; why is this here?",
        "Wow, this is strange, I did not expect that.",
        "Not sure about this, is it really needed?",
    ),
    "Frustration": (
        "Frustration, exasperation and irritation with the software, the process or other people.",
        "This keeps failing and wastes my time; I have tried everything.",
        "Still broken after all this time, this is so frustrating.",
        "Why is this so hard? Nothing works and nobody answers.",
    ),
}

#: Below this similarity to the closest description, the answer is Neutral.
NEUTRAL_THRESHOLD = 0.25


def description(label: str) -> tuple[str, ...] | None:
    """The phrases describing ``label``: its own, else its basic emotion's, else the name itself.

    ``None`` for labels that mean "no emotion" (Neutral, Yes/No, empty): they
    are never matched by similarity.
    """
    label = str(label).strip()
    if label in NO_EMOTION or label in ("Yes", "No"):
        return None
    if label in DESCRIPTIONS:
        return DESCRIPTIONS[label]
    basic = to_basic(label)
    if basic is not None:
        return DESCRIPTIONS[basic]
    return (f"{label}.",)


def label_description(label: str) -> tuple[str, ...] | None:
    """The phrases a label is scored by when it is one answer among a list: its basic emotion's.

    In a label list, every name of one basic emotion stands for that emotion
    (the answer is mapped to it anyway), so all are scored by the basic
    emotion's description, the one that was tuned; a label's own description
    (``Frustration``) serves when that emotion is asked about by name (causes,
    yes/no).  Names the taxonomy does not know are described by themselves.
    """
    if description(label) is None:
        return None
    basic = to_basic(label)
    return DESCRIPTIONS[basic] if basic is not None else (f"{str(label).strip()}.",)


def candidates(labels: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(answer label, phrases) for each distinct description among a prompt's labels.

    Labels that share a description (``Annoyance``, ``Rage`` and ``Anger``
    all stand for Anger) are scored once; the answer is the basic emotion's
    own name when the list has it, else the first listed label of that
    emotion.  An empty list means the six basic emotions.
    """
    listed = [str(x) for x in labels if label_description(x) is not None] or list(BASIC)
    groups: dict[tuple[str, ...], list[str]] = {}
    for label in listed:
        groups.setdefault(label_description(label), []).append(label)  # type: ignore[arg-type]
    out: list[tuple[str, tuple[str, ...]]] = []
    for phrases, names in groups.items():
        own = [n for n in names if n in BASIC]
        out.append(((own or names)[0], phrases))
    return out


def fingerprint(extra: Iterable[object] = ()) -> str:
    """A short hash of the descriptions and constants, recorded in manifests."""
    payload = json.dumps([DESCRIPTIONS, NEUTRAL_THRESHOLD, list(extra)],
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


__all__ = ["DESCRIPTIONS", "NEUTRAL", "NEUTRAL_THRESHOLD", "candidates",
           "description", "fingerprint", "label_description"]
