from emocause.emotions import answers as a
from emocause.emotions import taxonomy as t


def test_the_papers_four_lists_and_every_name_maps_to_a_basic_emotion():
    sizes = {name: len(labels) for name, labels in t.PAPER_LISTS.items()}
    assert sizes == {"basic": 6, "goemotions": 27, "secondary": 35, "all-levels": 140}
    for labels in t.PAPER_LISTS.values():
        assert len(set(labels)) == len(labels)
    assert set(t.KNOWN) == {n for labels in t.PAPER_LISTS.values() for n in labels}
    assert "Disappoint" in t.PAPER_LISTS["all-levels"] and "Arousal" not in t.KNOWN
    for mapping in t.MAPPINGS.values():
        assert set(mapping.table) == set(t.KNOWN)
        for name in t.KNOWN:
            assert mapping.table[name] in (*t.BASIC, t.UNPARSED), (mapping.name, name)
    for form, name in t.VARIANTS.items():
        assert name in (*t.KNOWN, t.NEUTRAL, "Yes", "No"), form


def test_known_mappings():
    assert t.to_basic("Annoyance") == "Anger"
    assert t.to_basic("Frustration") == "Anger"
    assert t.to_basic("Worry") == "Fear"
    # the gold data's guide (issue 15): thanks are Love, admiration is Joy (the old table had both reversed)
    assert t.to_basic("Gratitude") == "Love"
    assert t.to_basic("Admiration") == "Joy"
    assert t.to_basic("Disappointment") == "Sadness"
    assert t.to_basic("Amazement") == "Surprise"
    assert t.to_basic("Neutral") is None and t.to_basic("Unparsed") is None and t.to_basic("") is None


def test_named_mappings_differ_where_documented():
    default, paper, ekman = (t.get_mapping(n) for n in ("default", "paper", "goemotions-ekman"))
    assert {n for n in t.KNOWN if paper.table[n] != default.table[n]} == {"Worry"}
    assert t.to_basic("worried", "paper") is None and t.to_basic("worried") == "Fear"
    assert {n: ekman.table[n] for n in t.KNOWN if ekman.table[n] != default.table[n]} == {
        "Gratitude": "Joy", "Love": "Joy", "Desire": "Joy", "Caring": "Joy"}
    assert len({m.sha256 for m in t.MAPPINGS.values()}) == 3
    assert t.get_mapping(None) is default and t.get_mapping(paper) is paper
    try:
        t.get_mapping("ekman")
    except t.UsageError as exc:
        assert "default, paper, goemotions-ekman" in str(exc)
    else:
        raise AssertionError("an unknown mapping is an error")


def test_match_label_tolerates_case_punctuation_plural_variants_and_prefixes():
    labels = t.LABEL_SETS["all-levels"]
    assert a.match_label("annoyance.", labels) == "Annoyance"
    assert a.match_label("  ANGER!!", labels) == "Anger"
    assert a.match_label("Frustrations", labels) == "Frustration"
    assert a.match_label("angry", labels) == "Anger"
    assert a.match_label('"Joy"', labels) == "Joy"
    assert a.match_label("The emotion is Worry.", labels) == "Worry"
    assert a.match_label("Emotion: Relief", labels) == "Relief"
    assert a.match_label("**Neutral**", labels) == "Neutral"
    assert a.match_label("Joy - the author thanks the reviewer", labels) == "Joy"
    assert a.match_label("Worries", labels) == "Worry" and a.match_label("surprises", labels) == "Surprise"


def test_match_label_rejects_answers_outside_the_list():
    assert a.match_label("Annoyance", t.BASIC) is None  # known, but not offered: a hallucination
    assert a.match_label("Gratitude", t.LABEL_SETS["all-levels"]) is None
    assert a.match_label("Banana", t.BASIC) is None
    assert a.match_label("Joy and Sadness", t.BASIC) is None  # two labels: ambiguous
    assert a.match_label("", t.BASIC) is None
    assert a.match_label("The author is not angry", t.LABEL_SETS["all-levels"]) is None  # negated


def test_goemotions_answers_map_to_basic():
    labels = t.LABEL_SETS["goemotions"]
    assert a.match_label("gratitude", labels) == "Gratitude"
    assert t.to_basic(a.match_label("confused", labels)) == "Surprise"


def test_basic_set_and_split_labels():
    assert a.split_labels("Joy, Frustration;Love") == ["Joy", "Frustration", "Love"]
    assert a.basic_set("Joy, Frustration") == {"Joy", "Anger"}
    assert a.basic_set("Neutral") == set()
    assert a.basic_set(None) == set()
    assert a.basic_set("Gratitude, Worry", "paper") == {"Love"}
