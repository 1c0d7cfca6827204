from pathlib import Path

import pytest

from emocause.annotate import prompts
from emocause.emotions.answers import parse_label, parse_span
from emocause.errors import UsageError
from emocause.emotions.grounding import ground
from emocause.emotions.taxonomy import LABEL_SETS

FAMILIES = {"basic": 6, "goemotions": 27, "secondary": 35, "all-levels": 140}


@pytest.mark.parametrize("name,n", FAMILIES.items())
def test_label_families_offer_their_labels(name, n):
    t = prompts.load(name)
    assert t.task == "label" and len(t.labels) == n
    rendered = t.render("The build is broken again.", "github")
    assert "GitHub" in rendered and "The build is broken again." in rendered
    assert ", ".join(t.labels) in rendered and "Neutral" in rendered


def test_every_bundled_prompt_parses_and_has_a_stable_hash():
    names = {t.name for t in prompts.list_templates()}
    assert names >= {*FAMILIES, "cause", "frustration-detect", "frustration-cause"}
    assert prompts.load("cause").sha256 == prompts.load("cause").sha256
    assert prompts.load("frustration-detect").meta["emotion"] == "Frustration"


def test_render_is_single_pass_and_platform_aware():
    t = prompts.load("cause")
    out = t.render("I typed {emotion} and {text} literally", "mail", "Anger")
    assert "I typed {emotion} and {text} literally" in out
    assert "mailing list" in out and "message" in out and "Anger" in out
    assert "Stack Overflow" in t.render("x", "stackoverflow", "Joy")
    assert "JIRA" in t.render("x", "jira", "Joy")


def test_user_template_file_without_header(tmp_path: Path):
    f = tmp_path / "mine.txt"
    f.write_text("On {platform}, why is the author feeling {emotion}? {text}")
    t = prompts.load(str(f))
    assert t.task == "span" and t.name == "mine"
    g = tmp_path / "label.txt"
    g.write_text("Label this: {text}")
    assert prompts.load(str(g)).task == "label" and len(prompts.load(str(g)).labels) == 140


def test_bad_prompt_names_and_files():
    with pytest.raises(UsageError, match="unknown prompt 'nope'.*basic"):
        prompts.load("nope")
    with pytest.raises(UsageError, match="not found"):
        prompts.load("missing/file.txt")


@pytest.mark.parametrize("family,answer,label,basic", [
    ("all-levels", "Annoyance", "Annoyance", "Anger"),
    ("all-levels", "worry.", "Worry", "Fear"),
    ("all-levels", "Neutral", "Neutral", "Neutral"),
    # a known name the prompt did not list maps anyway, as the paper did (issue 15; was Unparsed)
    ("all-levels", "Gratitude", "Gratitude", "Love"),
    ("basic", "Sadness", "Sadness", "Sadness"),
    ("basic", "Frustration", "Frustration", "Anger"),
    ("basic", "Appreciation", "Unparsed", "Unparsed"),
    ("goemotions", "Admiration", "Admiration", "Joy"),   # the gold data's guide (issue 15; was Love)
    ("goemotions", "curiosity", "Curiosity", "Surprise"),
    ("secondary", "Exasperation", "Exasperation", "Anger"),
    ("secondary", "Nervousness!", "Nervousness", "Fear"),
    ("frustration-detect", "Yes.", "Yes", "Yes"),
    ("frustration-detect", "no", "No", "No"),
    ("basic", "", "Unparsed", "Unparsed"),
])
def test_parse_label_for_every_family(family, answer, label, basic):
    assert parse_label(answer, prompts.load(family).labels) == (label, basic)


@pytest.mark.parametrize("raw,span", [
    ('"the tests keep failing"', "the tests keep failing"),
    ("The cause is \u201cCI is red again\u201d.", "CI is red again"),
    ('Span: "first" and "second"', "first"),
    ("  no quotes here  ", "no quotes here"),
    ('"unbalanced quote', "unbalanced quote"),
    (None, ""),
])
def test_parse_span(raw, span):
    assert parse_span(raw) == span


def test_grounding_exact_normalized_fuzzy_and_none():
    text = "Thanks! But the build keeps failing on CI.\nI have   NO idea why."
    g = ground("the build keeps failing", text)
    assert (g.kind, text[g.start:g.end]) == ("exact", "the build keeps failing")
    g = ground("i have no idea why", text)
    assert g.kind == "normalized" and text[g.start:g.end] == "I have   NO idea why"
    g = ground("the bild keeps failin on CI", text)
    assert g.kind == "fuzzy" and "build keeps failing on CI" in text[g.start:g.end]
    assert not ground("completely different words about cats", text).grounded
    assert not ground("", text).grounded
    assert LABEL_SETS["basic"]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_prompts_show_prints_the_prompt_as_the_model_receives_it(cli, name):
    r = cli("prompts", "show", name, "--platform", "jira")
    assert r.code == 0, r.err
    listed = ", ".join(LABEL_SETS[name])
    assert f"Emotions: {listed}." in r.out and '"""{text}"""' in r.out      # the list filled in, a placeholder
    assert "You are a JIRA user" in r.out and "arouses in you" in r.out      # the paper's reader stance
    assert "write Neutral" in r.out and "exactly one word" in r.out           # its answer rules
    assert "{emotions}" not in r.out and "{platform}" not in r.out and "# sha256: " in r.out
    src = cli("prompts", "show", name, "--source")
    assert "{emotions}" in src.out and "# task: label" in src.out
