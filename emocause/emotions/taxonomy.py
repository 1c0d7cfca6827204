"""The emotion names emocause knows, the paper's label lists, and the mappings to basic emotions.

One place for every emotion name and every convention that turns a name into
one of the six basic emotions (Shaver et al. 1987: Anger, Fear, Joy, Love,
Sadness, Surprise):

* :data:`LABEL_SETS`: the four label lists the paper's prompts offer
  (replication package, ``prompts/Emotion_Classification_Prompts.md``), name
  for name and in the paper's order, even its spelling ``Disappoint``.
* :data:`KNOWN`: every name of those four lists (142 names).  Only these (and
  their inflected forms, :data:`VARIANTS`) are emotions to emocause.
* :data:`MAPPINGS`: named conventions from a known name to a basic emotion.
  ``default`` follows the gold data's annotation guide; ``paper`` reproduces
  the paper's published verdicts; ``goemotions-ekman`` is GoEmotions' own
  Ekman grouping.  docs/prompts.md explains each difference.
* :func:`to_basic`: a name (any case, plural or adjective form) to its basic
  emotion under a mapping.

Everything here is data and lookups; free-text answers are parsed in
:mod:`emocause.emotions.answers`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from emocause.errors import UsageError

BASIC: tuple[str, ...] = ("Anger", "Fear", "Joy", "Love", "Sadness", "Surprise")
NEUTRAL = "Neutral"
UNPARSED = "Unparsed"
#: The paper's name for an answer outside the list (emocause writes ``Unparsed``).
HALLUCINATION = "Hallucination"
#: Values that mean "no emotion" wherever labels are read: the one definition.
NO_EMOTION = frozenset({"", NEUTRAL, UNPARSED, HALLUCINATION, "None", "No", "0", "nan"})


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


#: The label lists of the paper's four classification prompts, verbatim and in its order.
PAPER_LISTS: dict[str, tuple[str, ...]] = {
    "basic": _names("Anger, Fear, Love, Joy, Sadness, Surprise"),
    "goemotions": _names(
        "Admiration, Amusement, Anger, Annoyance, Approval, Caring, Confusion, Curiosity, Desire, "
        "Disappointment, Disapproval, Disgust, Embarrassment, Excitement, Fear, Gratitude, Grief, Joy, "
        "Love, Nervousness, Optimism, Pride, Realization, Relief, Remorse, Sadness, Surprise"),
    "secondary": _names(
        "Anger, Fear, Love, Joy, Sadness, Surprise, Irritation, Rage, Envy, Disgust, Torment, Disapproval, "
        "Affection, Lust, Longing, Gratitude, Horror, Nervousness, Cheerfulness, Zest, Contentment, "
        "Optimism, Pride, Enthrallment, Relief, Approval, Admiration, Suffering, Disappointment, Shame, "
        "Neglect, Sympathy, Confusion, Curiosity, Realization"),
    "all-levels": _names(
        "Anger, Irritation, Annoyance, Agitation, Grumpiness, Aggravation, Grouchiness, Exasperation, "
        "Frustration, Rage, Fury, Hate, Dislike, Resentment, Outrage, Wrath, Hostility, Bitterness, "
        "Ferocity, Loathing, Scorn, Spite, Vengefulness, Envy, Jealousy, Disgust, Revulsion, Contempt, "
        "Torment, Disapproval, Fear, Horror, Alarm, Fright, Panic, Terror, Hysteria, Shock, Mortification, "
        "Nervousness, Anxiety, Distress, Worry, Uneasiness, Tenseness, Apprehension, Dread, Joy, "
        "Cheerfulness, Happiness, Amusement, Satisfaction, Bliss, Gaiety, Glee, Jolliness, Joviality, "
        "Delight, Enjoyment, Gladness, Jubilation, Elation, Ecstasy, Euphoria, Zest, Enthusiasm, "
        "Excitement, Thrill, Zeal, Exhilaration, Contentment, Pleasure, Optimism, Eagerness, Hope, Pride, "
        "Triumph, Enthrallment, Rapture, Relief, Approval, Admiration, Love, Affection, Liking, Caring, "
        "Compassion, Fondness, Attraction, Tenderness, Sentimentality, Adoration, Lust, Desire, Passion, "
        "Infatuation, Longing, Sadness, Suffering, Hurt, Anguish, Agony, Depression, Sorrow, Despair, "
        "Gloom, Hopelessness, Glumness, Unhappiness, Grief, Woe, Misery, Melancholy, Disappoint, "
        "Displeasure, Dismay, Shame, Guilt, Regret, Remorse, Neglect, Embarrassment, Insecurity, Insult, "
        "Rejection, Alienation, Isolation, Loneliness, Homesickness, Defeat, Dejection, Humiliation, "
        "Sympathy, Pity, Surprise, Amazement, Astonishment, Confusion, Curiosity, Realization"),
}

#: One emotion under two spellings of the paper's lists: an answer in either spelling is on a
#: list that has the other ("Disappointment" answers the all-levels list's "Disappoint").
SPELLINGS: dict[str, str] = {"Disappoint": "Disappointment"}

#: Label lists offered by the prompt families (Neutral is always allowed too).
LABEL_SETS: dict[str, tuple[str, ...]] = {**PAPER_LISTS, "yesno": ("Yes", "No")}

#: The default mapping, basic emotion -> names, following the gold data's annotation guide:
#: Shaver's tree for its own names (as the paper's all-levels list groups them), and the
#: guide's conventions for the rest: Love includes gratitude and appreciation of others
#: (Gratitude, Caring, Desire are Love); Approval and Admiration are Joy; Disapproval is
#: Anger; Confusion, Curiosity and Realization are Surprise.
DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "Anger": _names(
        "Anger, Irritation, Annoyance, Agitation, Grumpiness, Aggravation, Grouchiness, Exasperation, "
        "Frustration, Rage, Fury, Hate, Dislike, Resentment, Outrage, Wrath, Hostility, Bitterness, "
        "Ferocity, Loathing, Scorn, Spite, Vengefulness, Envy, Jealousy, Disgust, Revulsion, Contempt, "
        "Torment, Disapproval"),
    "Fear": _names(
        "Fear, Horror, Alarm, Fright, Panic, Terror, Hysteria, Shock, Mortification, Nervousness, Anxiety, "
        "Distress, Worry, Uneasiness, Tenseness, Apprehension, Dread"),
    "Joy": _names(
        "Joy, Cheerfulness, Happiness, Amusement, Satisfaction, Bliss, Gaiety, Glee, Jolliness, Joviality, "
        "Delight, Enjoyment, Gladness, Jubilation, Elation, Ecstasy, Euphoria, Zest, Enthusiasm, "
        "Excitement, Thrill, Zeal, Exhilaration, Contentment, Pleasure, Optimism, Eagerness, Hope, Pride, "
        "Triumph, Enthrallment, Rapture, Relief, Approval, Admiration"),
    "Love": _names(
        "Love, Affection, Liking, Caring, Compassion, Fondness, Attraction, Tenderness, Sentimentality, "
        "Adoration, Lust, Desire, Passion, Infatuation, Longing, Gratitude"),
    "Sadness": _names(
        "Sadness, Suffering, Hurt, Anguish, Agony, Depression, Sorrow, Despair, Gloom, Hopelessness, "
        "Glumness, Unhappiness, Grief, Woe, Misery, Melancholy, Disappoint, Disappointment, Displeasure, "
        "Dismay, Shame, Guilt, Regret, Remorse, Neglect, Embarrassment, Insecurity, Insult, Rejection, "
        "Alienation, Isolation, Loneliness, Homesickness, Defeat, Dejection, Humiliation, Sympathy, Pity"),
    "Surprise": _names("Surprise, Amazement, Astonishment, Confusion, Curiosity, Realization"),
}

#: GoEmotions' own grouping of its 27 names into Ekman's six (google-research/goemotions,
#: data/ekman_mapping.json).  Ekman has Disgust and no Love; Disgust is Anger among the
#: basic six here (as in Shaver's tree), and Love itself is Joy.
GOEMOTIONS_EKMAN: dict[str, tuple[str, ...]] = {
    "Anger": ("Anger", "Annoyance", "Disapproval", "Disgust"),
    "Fear": ("Fear", "Nervousness"),
    "Joy": ("Joy", "Amusement", "Approval", "Excitement", "Gratitude", "Love", "Optimism", "Relief",
            "Pride", "Admiration", "Desire", "Caring"),
    "Sadness": ("Sadness", "Disappointment", "Embarrassment", "Grief", "Remorse"),
    "Surprise": ("Surprise", "Realization", "Confusion", "Curiosity"),
}


def _invert(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    return {name: basic for basic, names in groups.items() for name in names}


#: Every known name (the four lists) -> its basic emotion under the default mapping.
TO_BASIC: dict[str, str] = _invert(DEFAULT_GROUPS)
#: Every emotion name emocause knows: the union of the paper's four lists.
KNOWN: tuple[str, ...] = tuple(TO_BASIC)
GOEMOTIONS: tuple[str, ...] = PAPER_LISTS["goemotions"]


@dataclass(frozen=True)
class EmotionMapping:
    """A named convention: known name -> basic emotion, or ``Unparsed`` for a name it rejects."""

    name: str
    description: str
    table: Mapping[str, str] = field(repr=False)

    @property
    def sha256(self) -> str:
        """Hash of the table (sorted JSON): recorded in manifests beside the name."""
        payload = json.dumps(sorted(self.table.items()), separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}

    def basic(self, name: str) -> str:
        """The basic emotion of a canonical known name (``Unparsed`` when the mapping rejects it)."""
        return self.table.get(name, UNPARSED)


def _with(base: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    return {name: overrides.get(name, basic) for name, basic in base.items()}


MAPPINGS: dict[str, EmotionMapping] = {m.name: m for m in (
    EmotionMapping(
        "default", "the gold data's annotation guide: Shaver's tree; gratitude, caring and desire are "
        "Love; approval and admiration are Joy; disapproval is Anger; confusion, curiosity and "
        "realization are Surprise", TO_BASIC),
    EmotionMapping(
        "paper", "the paper's published verdicts: the default, except that Worry is a hallucination "
        "(Unparsed) although the all-levels list offers it", _with(TO_BASIC, {"Worry": UNPARSED})),
    EmotionMapping(
        "goemotions-ekman", "GoEmotions' own Ekman grouping for its 27 names (gratitude, admiration, "
        "caring, desire and love are Joy; disgust is Anger); the default for Shaver's other names",
        _with(TO_BASIC, _invert(GOEMOTIONS_EKMAN))),
)}
DEFAULT_MAPPING = "default"


def get_mapping(mapping: str | EmotionMapping | None = None) -> EmotionMapping:
    """A mapping by name (``None`` = the default), or one passed through."""
    if isinstance(mapping, EmotionMapping):
        return mapping
    name = mapping or DEFAULT_MAPPING
    if name not in MAPPINGS:
        raise UsageError(f"unknown mapping {name!r}; use one of {', '.join(MAPPINGS)}")
    return MAPPINGS[name]


#: Inflected, adjective and participle forms of known names (lowercase) -> the name.  Only
#: forms of a name itself: a near-synonym (appreciation, concern, confidence) is not one.
VARIANTS: dict[str, str] = {
    # Anger
    "angry": "Anger", "angered": "Anger", "irritated": "Irritation", "irritating": "Irritation",
    "annoyed": "Annoyance", "annoying": "Annoyance", "agitated": "Agitation", "grumpy": "Grumpiness",
    "aggravated": "Aggravation", "aggravating": "Aggravation", "grouchy": "Grouchiness",
    "exasperated": "Exasperation", "exasperating": "Exasperation", "frustrated": "Frustration",
    "frustrating": "Frustration", "enraged": "Rage", "furious": "Fury", "hateful": "Hate",
    "hated": "Hate", "resentful": "Resentment", "outraged": "Outrage", "wrathful": "Wrath",
    "hostile": "Hostility", "bitter": "Bitterness", "ferocious": "Ferocity", "loathing": "Loathing",
    "scornful": "Scorn", "spiteful": "Spite", "vengeful": "Vengefulness", "envious": "Envy",
    "jealous": "Jealousy", "disgusted": "Disgust", "disgusting": "Disgust", "revulsed": "Revulsion",
    "contemptuous": "Contempt", "tormented": "Torment", "disapproving": "Disapproval",
    "disapprove": "Disapproval",
    # Fear
    "afraid": "Fear", "fearful": "Fear", "horrified": "Horror", "alarmed": "Alarm",
    "frightened": "Fright", "panicked": "Panic", "panicky": "Panic", "terrified": "Terror",
    "hysterical": "Hysteria", "shocked": "Shock", "mortified": "Mortification",
    "nervous": "Nervousness", "anxious": "Anxiety", "distressed": "Distress", "worried": "Worry",
    "uneasy": "Uneasiness", "tense": "Tenseness", "apprehensive": "Apprehension",
    "dreadful": "Dread",
    # Joy
    "joyful": "Joy", "joyous": "Joy", "cheerful": "Cheerfulness", "happy": "Happiness",
    "amused": "Amusement", "satisfied": "Satisfaction", "blissful": "Bliss", "gleeful": "Glee",
    "jolly": "Jolliness", "jovial": "Joviality", "delighted": "Delight", "glad": "Gladness",
    "jubilant": "Jubilation", "elated": "Elation", "ecstatic": "Ecstasy", "euphoric": "Euphoria",
    "enthusiastic": "Enthusiasm", "excited": "Excitement", "thrilled": "Thrill",
    "zealous": "Zeal", "exhilarated": "Exhilaration", "content": "Contentment",
    "contented": "Contentment", "pleased": "Pleasure", "optimistic": "Optimism",
    "eager": "Eagerness", "hopeful": "Hope", "proud": "Pride", "triumphant": "Triumph",
    "enthralled": "Enthrallment", "relieved": "Relief", "approving": "Approval",
    "approve": "Approval", "admiring": "Admiration", "admire": "Admiration",
    # Love
    "loving": "Love", "affectionate": "Affection", "caring": "Caring", "compassionate": "Compassion",
    "fond": "Fondness", "attracted": "Attraction", "tender": "Tenderness",
    "sentimental": "Sentimentality", "adoring": "Adoration", "lustful": "Lust",
    "desirous": "Desire", "passionate": "Passion", "infatuated": "Infatuation",
    "grateful": "Gratitude",
    # Sadness
    "sad": "Sadness", "suffering": "Suffering", "anguished": "Anguish", "depressed": "Depression",
    "sorrowful": "Sorrow", "despairing": "Despair", "gloomy": "Gloom", "hopeless": "Hopelessness",
    "glum": "Glumness", "unhappy": "Unhappiness", "grieving": "Grief", "woeful": "Woe",
    "miserable": "Misery", "melancholic": "Melancholy", "melancholy": "Melancholy",
    "disappointed": "Disappointment", "disappointing": "Disappointment", "displeased": "Displeasure",
    "dismayed": "Dismay", "ashamed": "Shame", "guilty": "Guilt", "regretful": "Regret",
    "remorseful": "Remorse", "neglected": "Neglect", "embarrassed": "Embarrassment",
    "embarrassing": "Embarrassment", "insecure": "Insecurity", "insulted": "Insult",
    "rejected": "Rejection", "alienated": "Alienation", "isolated": "Isolation",
    "lonely": "Loneliness", "homesick": "Homesickness", "defeated": "Defeat", "dejected": "Dejection",
    "humiliated": "Humiliation", "sympathetic": "Sympathy", "pitying": "Pity",
    # Surprise
    "surprised": "Surprise", "surprising": "Surprise", "amazed": "Amazement",
    "astonished": "Astonishment", "confused": "Confusion", "confusing": "Confusion",
    "curious": "Curiosity", "realisation": "Realization", "realized": "Realization",
    "realised": "Realization",
    # no emotion, and the yes/no prompt's answers
    "neutral": NEUTRAL, "none": NEUTRAL, "no emotion": NEUTRAL, "no emotions": NEUTRAL,
    "nothing": NEUTRAL, "n/a": NEUTRAL, "yes": "Yes", "no": "No",
}


def normalize(text: str) -> str:
    """Lowercase ASCII words: accents folded, punctuation to spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z/ ]+", " ", text.lower()).split())


def plural_stems(word: str) -> tuple[str, ...]:
    """What ``word`` may be the plural of (``frustrations`` -> ``frustration``; ``worries`` -> ``worry``)."""
    out = []
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2 and not word.endswith("ss"):
            out.append(word[: -len(suffix)] + repl)
    return tuple(out)


@lru_cache(maxsize=1)
def _forms() -> dict[str, str]:
    """normalized form -> known name, ``Neutral``, ``Yes`` or ``No``."""
    idx: dict[str, str] = {}
    for name in KNOWN:
        idx.setdefault(normalize(name), name)
    for form, name in VARIANTS.items():
        idx.setdefault(normalize(form), name)
    return idx


def canonical(text: str) -> str | None:
    """The known name (or ``Neutral``/``Yes``/``No``) that ``text`` is a form of, else ``None``.

    Tolerates case, punctuation, quotes, plurals and the forms in :data:`VARIANTS`;
    never guesses beyond them.
    """
    key = normalize(text)
    if not key:
        return None
    idx = _forms()
    for candidate in (key, *plural_stems(key)):
        if candidate in idx:
            return idx[candidate]
    return None


def to_basic(label: object, mapping: str | EmotionMapping | None = None) -> str | None:
    """The basic emotion a name stands for under ``mapping`` (default: the guide's), else ``None``.

    ``None`` for no-emotion values (Neutral, Unparsed, empty, ...), names emocause
    does not know, and names the mapping rejects (``paper``: Worry).
    """
    if label is None:
        return None
    text = str(label).strip()
    if text in NO_EMOTION:
        return None
    name = text if text in TO_BASIC else canonical(text)
    if name is None or name not in TO_BASIC:
        return None
    basic = get_mapping(mapping).basic(name)
    return None if basic == UNPARSED else basic


def labels_for(names: Iterable[str]) -> tuple[str, ...]:
    """A label tuple with duplicates removed, order kept."""
    return tuple(dict.fromkeys(names))
