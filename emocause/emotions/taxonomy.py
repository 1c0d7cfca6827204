"""Emotion taxonomies and the matching of model answers to them.

One place for every emotion name the tool knows:

* Shaver et al. (1987) emotion tree, as tabulated by Parrott (2001): six basic
  emotions, 25 secondary groups and 135 tertiary names.  Every name maps to its
  basic emotion.  This is the list the paper's ``all-levels`` prompt offers.
* The 27 GoEmotions categories (Demszky et al., 2020) mapped to the six basic
  emotions (see ``GOEMOTIONS_TO_BASIC`` for the reasoning of each choice).
* ``match_label``: tolerant matching of a free-text answer against a label list
  (case, punctuation, plurals, adjective forms such as "angry" for "Anger").

The functions here are pure; nothing reads files or the network.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

BASIC: tuple[str, ...] = ("Anger", "Fear", "Joy", "Love", "Sadness", "Surprise")
NEUTRAL = "Neutral"
UNPARSED = "Unparsed"
#: Values that mean "no emotion" wherever labels are compared.
NO_EMOTION = frozenset({"", NEUTRAL, UNPARSED, "Hallucination", "None", "nan"})

#: Shaver's tree: basic -> secondary -> tertiary names (Parrott 2001, table 1).
SHAVER_TREE: dict[str, dict[str, tuple[str, ...]]] = {
    "Love": {
        "Affection": ("Adoration", "Affection", "Love", "Fondness", "Liking", "Attraction",
                      "Caring", "Tenderness", "Compassion", "Sentimentality"),
        "Lust": ("Arousal", "Desire", "Lust", "Passion", "Infatuation"),
        "Longing": ("Longing",),
    },
    "Joy": {
        "Cheerfulness": ("Amusement", "Bliss", "Cheerfulness", "Gaiety", "Glee", "Jolliness",
                         "Joviality", "Joy", "Delight", "Enjoyment", "Gladness", "Happiness",
                         "Jubilation", "Elation", "Satisfaction", "Ecstasy", "Euphoria"),
        "Zest": ("Enthusiasm", "Zeal", "Zest", "Excitement", "Thrill", "Exhilaration"),
        "Contentment": ("Contentment", "Pleasure"),
        "Pride": ("Pride", "Triumph"),
        "Optimism": ("Eagerness", "Hope", "Optimism"),
        "Enthrallment": ("Enthrallment", "Rapture"),
        "Relief": ("Relief",),
    },
    "Surprise": {
        "Surprise": ("Amazement", "Surprise", "Astonishment"),
    },
    "Anger": {
        "Irritation": ("Aggravation", "Irritation", "Agitation", "Annoyance", "Grouchiness",
                       "Grumpiness"),
        "Exasperation": ("Exasperation", "Frustration"),
        "Rage": ("Anger", "Rage", "Outrage", "Fury", "Wrath", "Hostility", "Ferocity",
                 "Bitterness", "Hate", "Loathing", "Scorn", "Spite", "Vengefulness", "Dislike",
                 "Resentment"),
        "Disgust": ("Disgust", "Revulsion", "Contempt"),
        "Envy": ("Envy", "Jealousy"),
        "Torment": ("Torment",),
    },
    "Sadness": {
        "Suffering": ("Agony", "Suffering", "Hurt", "Anguish"),
        "Sadness": ("Depression", "Despair", "Hopelessness", "Gloom", "Glumness", "Sadness",
                    "Unhappiness", "Grief", "Sorrow", "Woe", "Misery", "Melancholy"),
        "Disappointment": ("Dismay", "Disappointment", "Displeasure"),
        "Shame": ("Guilt", "Shame", "Regret", "Remorse"),
        "Neglect": ("Alienation", "Isolation", "Neglect", "Loneliness", "Rejection",
                    "Homesickness", "Defeat", "Dejection", "Insecurity", "Embarrassment",
                    "Humiliation", "Insult"),
        "Sympathy": ("Pity", "Sympathy"),
    },
    "Fear": {
        "Horror": ("Alarm", "Shock", "Fear", "Fright", "Horror", "Terror", "Panic", "Hysteria",
                   "Mortification"),
        "Nervousness": ("Anxiety", "Nervousness", "Tenseness", "Uneasiness", "Apprehension",
                        "Worry", "Distress", "Dread"),
    },
}

#: GoEmotions' 27 categories -> Shaver's basic emotion.  Where Shaver's tree has
#: the name (annoyance, disappointment, pride, ...) its branch decides; the rest
#: follow the closest tertiary name: admiration ~ adoration (Love), approval and
#: gratitude ~ satisfaction (Joy), disapproval ~ dislike (Anger), confusion,
#: curiosity and realization ~ the cognitive "surprise" branch.
GOEMOTIONS_TO_BASIC: dict[str, str] = {
    "Admiration": "Love", "Amusement": "Joy", "Anger": "Anger", "Annoyance": "Anger",
    "Approval": "Joy", "Caring": "Love", "Confusion": "Surprise", "Curiosity": "Surprise",
    "Desire": "Love", "Disappointment": "Sadness", "Disapproval": "Anger", "Disgust": "Anger",
    "Embarrassment": "Sadness", "Excitement": "Joy", "Fear": "Fear", "Gratitude": "Joy",
    "Grief": "Sadness", "Joy": "Joy", "Love": "Love", "Nervousness": "Fear",
    "Optimism": "Joy", "Pride": "Joy", "Realization": "Surprise", "Relief": "Joy",
    "Remorse": "Sadness", "Sadness": "Sadness", "Surprise": "Surprise",
}
GOEMOTIONS: tuple[str, ...] = tuple(GOEMOTIONS_TO_BASIC)

SECONDARY: tuple[str, ...] = tuple(dict.fromkeys(s for b in SHAVER_TREE.values() for s in b))
TERTIARY: tuple[str, ...] = tuple(dict.fromkeys(
    t for b in SHAVER_TREE.values() for names in b.values() for t in names))


def _build_basic_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for basic, groups in SHAVER_TREE.items():
        out[basic] = basic
        for secondary, names in groups.items():
            out.setdefault(secondary, basic)
            for name in names:
                out.setdefault(name, basic)
    for name, basic in GOEMOTIONS_TO_BASIC.items():
        out.setdefault(name, basic)
    return out


#: Every known name (Shaver levels and GoEmotions) -> basic emotion.
TO_BASIC: dict[str, str] = _build_basic_map()

#: Label lists offered by the prompt families (Neutral is always allowed too).
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "basic": BASIC,
    "goemotions": GOEMOTIONS,
    "secondary": tuple(dict.fromkeys((*BASIC, *SECONDARY))),
    "all-levels": tuple(dict.fromkeys((*BASIC, *SECONDARY, *TERTIARY))),
    "yesno": ("Yes", "No"),
}

#: Adjective, verb and other common forms an LLM answers with instead of the noun.
VARIANTS: dict[str, str] = {
    "angry": "Anger", "mad": "Anger", "irritated": "Irritation", "annoyed": "Annoyance",
    "annoying": "Annoyance", "frustrated": "Frustration", "frustrating": "Frustration",
    "exasperated": "Exasperation", "furious": "Fury", "outraged": "Outrage",
    "disgusted": "Disgust", "hostile": "Hostility", "bitter": "Bitterness",
    "resentful": "Resentment", "envious": "Envy", "jealous": "Jealousy", "hateful": "Hate",
    "agitated": "Agitation", "grumpy": "Grumpiness", "grouchy": "Grouchiness",
    "contemptuous": "Contempt", "spiteful": "Spite", "disapproving": "Disapproval",
    "afraid": "Fear", "scared": "Fear", "fearful": "Fear", "frightened": "Fright",
    "terrified": "Terror", "horrified": "Horror", "alarmed": "Alarm", "shocked": "Shock",
    "anxious": "Anxiety", "nervous": "Nervousness", "worried": "Worry", "tense": "Tenseness",
    "uneasy": "Uneasiness", "apprehensive": "Apprehension", "distressed": "Distress",
    "panicked": "Panic", "concerned": "Worry", "concern": "Worry",
    "happy": "Happiness", "glad": "Gladness", "joyful": "Joy", "joyous": "Joy",
    "cheerful": "Cheerfulness", "amused": "Amusement", "delighted": "Delight",
    "satisfied": "Satisfaction", "enthusiastic": "Enthusiasm", "excited": "Excitement",
    "thrilled": "Thrill", "content": "Contentment", "pleased": "Pleasure", "proud": "Pride",
    "hopeful": "Hope", "optimistic": "Optimism", "eager": "Eagerness", "relieved": "Relief",
    "elated": "Elation", "ecstatic": "Ecstasy", "euphoric": "Euphoria", "grateful": "Gratitude",
    "thankful": "Gratitude", "thanks": "Gratitude", "appreciation": "Gratitude",
    "approving": "Approval", "happyness": "Happiness",
    "loving": "Love", "affectionate": "Affection", "caring": "Caring", "tender": "Tenderness",
    "compassionate": "Compassion", "sentimental": "Sentimentality", "passionate": "Passion",
    "admiring": "Admiration", "fond": "Fondness", "desirous": "Desire",
    "sad": "Sadness", "unhappy": "Unhappiness", "depressed": "Depression",
    "despairing": "Despair", "hopeless": "Hopelessness", "gloomy": "Gloom", "glum": "Glumness",
    "sorrowful": "Sorrow", "miserable": "Misery", "melancholic": "Melancholy",
    "disappointed": "Disappointment", "disappointing": "Disappointment", "dismayed": "Dismay",
    "displeased": "Displeasure", "guilty": "Guilt", "ashamed": "Shame", "regretful": "Regret",
    "remorseful": "Remorse", "embarrassed": "Embarrassment", "humiliated": "Humiliation",
    "insulted": "Insult", "lonely": "Loneliness", "rejected": "Rejection", "isolated": "Isolation",
    "neglected": "Neglect", "defeated": "Defeat", "dejected": "Dejection", "insecure": "Insecurity",
    "hurt": "Hurt", "suffering": "Suffering", "sympathetic": "Sympathy", "grieving": "Grief",
    "surprised": "Surprise", "surprising": "Surprise", "amazed": "Amazement",
    "astonished": "Astonishment", "confused": "Confusion", "curious": "Curiosity",
    "neutral": NEUTRAL, "none": NEUTRAL, "no emotion": NEUTRAL, "nothing": NEUTRAL,
    "n/a": NEUTRAL, "no": "No", "yes": "Yes",
}

_PREFIX = re.compile(
    r"^(?:answer|emotion|label|output|response|the emotion(?: expressed)?(?: is)?|"
    r"the answer is|i would say|it is|this is|this comment expresses|expressed emotion)\s*[:\-]?\s*",
    re.I)


def normalize(text: str) -> str:
    """Lowercase ASCII words: accents folded, punctuation to spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z/ ]+", " ", text.lower()).split())


def _singular(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    return word


@lru_cache(maxsize=64)
def _index(labels: tuple[str, ...]) -> dict[str, str]:
    """normalized form (and its singular) -> canonical label, for one label list."""
    idx: dict[str, str] = {}
    for label in labels:
        key = normalize(label)
        idx.setdefault(key, label)
        idx.setdefault(_singular(key), label)
    return idx


def match_label(answer: str, labels: Sequence[str], allow_neutral: bool = True) -> str | None:
    """The label from ``labels`` that ``answer`` names, ``Neutral``, or ``None`` if neither.

    Tolerates case, punctuation, quotes, plurals, adjective forms ("angry"), a
    leading phrase ("Emotion: Joy", "The emotion is joy.") and an answer that
    names exactly one listed label among other words.  A known emotion that is
    *not* in ``labels`` does not match: the paper counts those as hallucinations.
    """
    idx = _index(tuple(labels))
    first = answer.strip().splitlines()[0] if answer.strip() else ""
    candidates = [first, _PREFIX.sub("", first.strip(" \t\"'`*_.")), answer]
    for cand in candidates:
        key = normalize(cand)
        if not key:
            continue
        for k in (key, _singular(key)):
            if k in idx:
                return idx[k]
            variant = VARIANTS.get(k)
            if variant == NEUTRAL and allow_neutral:
                return NEUTRAL
            if variant and normalize(variant) in idx:
                return idx[normalize(variant)]
    # One listed label (or variant of one) among several words, e.g. "Joy - the author thanks..."
    words = normalize(first).split()
    found: list[str] = []
    for i, w in enumerate(words):
        for k in (" ".join(words[i:i + 2]), w, _singular(w)):
            hit = idx.get(k) or (idx.get(normalize(VARIANTS[k])) if k in VARIANTS else None)
            if hit is None and allow_neutral and VARIANTS.get(k) == NEUTRAL:
                hit = NEUTRAL
            if hit:
                found.append(hit)
                break
    distinct = list(dict.fromkeys(found))
    if len(distinct) == 1:
        return distinct[0]
    return None


def to_basic(label: str | None) -> str | None:
    """The basic emotion of any known name (any Shaver level or GoEmotions), else ``None``.

    ``Neutral``/``Unparsed``/empty give ``None``: they mean "no emotion".
    """
    if label is None:
        return None
    label = str(label).strip()
    if label in NO_EMOTION:
        return None
    if label in TO_BASIC:
        return TO_BASIC[label]
    hit = match_label(label, tuple(TO_BASIC), allow_neutral=True)
    return TO_BASIC.get(hit) if hit and hit != NEUTRAL else None


def split_labels(value: object) -> list[str]:
    """A cell with one or several labels ("Joy", "Anger, Sadness", "Joy;Love") as a list."""
    if value is None:
        return []
    text = str(value).strip()
    if not text or text.lower() == "nan":
        return []
    return [p.strip() for p in re.split(r"[,;|]", text) if p.strip()]


def basic_set(value: object) -> set[str]:
    """The set of basic emotions named in a label cell (fine-grained names mapped up)."""
    out: set[str] = set()
    for part in split_labels(value):
        b = to_basic(part)
        if b:
            out.add(b)
    return out


def labels_for(names: Iterable[str]) -> tuple[str, ...]:
    """A label tuple with duplicates removed, order kept."""
    return tuple(dict.fromkeys(names))
