from emocause.emotions import taxonomy as t


def test_shaver_tree_sizes_and_every_name_maps_to_a_basic_emotion():
    assert len(t.TERTIARY) == 135
    assert len(t.SECONDARY) == 25
    assert len(t.LABEL_SETS["all-levels"]) == 135
    assert len(t.GOEMOTIONS) == 27
    for name in (*t.TERTIARY, *t.SECONDARY, *t.GOEMOTIONS):
        assert t.TO_BASIC[name] in t.BASIC, name


def test_known_mappings():
    assert t.to_basic("Annoyance") == "Anger"
    assert t.to_basic("Frustration") == "Anger"
    assert t.to_basic("Worry") == "Fear"
    assert t.to_basic("Gratitude") == "Joy"
    assert t.to_basic("Admiration") == "Love"
    assert t.to_basic("Disappointment") == "Sadness"
    assert t.to_basic("Amazement") == "Surprise"
    assert t.to_basic("Neutral") is None and t.to_basic("Unparsed") is None and t.to_basic("") is None


def test_match_label_tolerates_case_punctuation_plural_variants_and_prefixes():
    labels = t.LABEL_SETS["all-levels"]
    assert t.match_label("annoyance.", labels) == "Annoyance"
    assert t.match_label("  ANGER!!", labels) == "Anger"
    assert t.match_label("Frustrations", labels) == "Frustration"
    assert t.match_label("angry", labels) == "Anger"
    assert t.match_label('"Joy"', labels) == "Joy"
    assert t.match_label("The emotion is Worry.", labels) == "Worry"
    assert t.match_label("Emotion: Relief", labels) == "Relief"
    assert t.match_label("**Neutral**", labels) == "Neutral"
    assert t.match_label("Joy - the author thanks the reviewer", labels) == "Joy"


def test_match_label_rejects_answers_outside_the_list():
    assert t.match_label("Annoyance", t.BASIC) is None  # known, but not offered: a hallucination
    assert t.match_label("Gratitude", t.LABEL_SETS["all-levels"]) is None
    assert t.match_label("Banana", t.BASIC) is None
    assert t.match_label("Joy and Sadness", t.BASIC) is None  # two labels: ambiguous
    assert t.match_label("", t.BASIC) is None


def test_goemotions_answers_map_to_basic():
    labels = t.LABEL_SETS["goemotions"]
    assert t.match_label("gratitude", labels) == "Gratitude"
    assert t.to_basic(t.match_label("confused", labels)) == "Surprise"


def test_basic_set_and_split_labels():
    assert t.split_labels("Joy, Frustration;Love") == ["Joy", "Frustration", "Love"]
    assert t.basic_set("Joy, Frustration") == {"Joy", "Anger"}
    assert t.basic_set("Neutral") == set()
    assert t.basic_set(None) == set()
