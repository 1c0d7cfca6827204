"""The ``embedding`` backend with the real bundled all-MiniLM-L6-v2 (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from emocause.backends import descriptions as ed
from emocause.backends.base import Request
from emocause.backends.embedding import EmbeddingBackend
from emocause.backends.structured import target_emotion
from emocause.emotions.candidates import clean_text, span_candidates
from emocause.emotions.taxonomy import BASIC, LABEL_SETS, NEUTRAL, to_basic

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_comments.csv"


@pytest.fixture(scope="module")
def backend() -> EmbeddingBackend:
    return EmbeddingBackend(device="cpu")


def answers(backend: EmbeddingBackend, reqs: list[Request]) -> list[str]:
    got: dict[int, str] = {}
    backend.generate(reqs, lambda i, r: got.__setitem__(i, r.text))
    assert sorted(got) == list(range(len(reqs)))
    return [got[i] for i in range(len(reqs))]


# -- descriptions (pure) ----------------------------------------------------------------------
def test_every_basic_emotion_and_frustration_has_a_description():
    for name in (*BASIC, "Frustration"):
        assert ed.DESCRIPTIONS[name] and all(p.strip() for p in ed.DESCRIPTIONS[name])
    assert ed.description("Gratitude") == ed.DESCRIPTIONS["Love"]  # the one mapping: thanks are Love
    assert ed.description("Worry") == ed.DESCRIPTIONS["Fear"]  # Shaver tertiary -> basic
    assert ed.description("Frustration") != ed.DESCRIPTIONS["Anger"]  # its own, for causes
    assert ed.description("Schadenfreude") == ("Schadenfreude.",)  # unknown: the name itself
    assert ed.description(NEUTRAL) is None and ed.description("Yes") is None
    assert 0 < ed.NEUTRAL_THRESHOLD < 1 and len(ed.fingerprint()) == 12


def test_candidates_group_a_label_list_by_basic_emotion():
    all_levels = ed.candidates(LABEL_SETS["all-levels"])
    assert [c[0] for c in all_levels] == ["Anger", "Fear", "Joy", "Love", "Sadness", "Surprise"]
    assert sorted(ed.candidates(LABEL_SETS["goemotions"])) == sorted(ed.candidates(BASIC)) == \
        sorted(ed.candidates(LABEL_SETS["secondary"])) == sorted(all_levels)
    custom = ed.candidates(("Irritation", "Worry", "Cheerfulness", "Neutral", "Annoyance"))
    assert [c[0] for c in custom] == ["Irritation", "Worry", "Cheerfulness"]
    assert ed.candidates(()) == ed.candidates(BASIC)


# -- text handling (pure) ---------------------------------------------------------------------
TRICKY = ('Thanks for the PR! Unfortunately the build is broken again, because someone merged '
          '"fix-ci" without tests.\n```\nrm -rf build; echo "done"\n```\n> quoted: really?\n'
          'See https://example.org/x for details; I am worried this will hit users.')


def test_span_candidates_are_clean_slices_without_quotes_or_code():
    ranges = span_candidates(TRICKY)
    pieces = [TRICKY[a:b] for a, b in ranges]
    assert "I am worried this will hit users." in pieces
    assert "Unfortunately the build is broken again" in pieces  # a clause of a longer sentence
    for a, b in ranges:
        piece = TRICKY[a:b]
        assert piece == piece.strip() and len(piece) >= 3
        assert not any(q in piece for q in '"\u201c\u201d')
        assert "rm -rf" not in piece  # fenced code is never a cause
    assert clean_text(TRICKY).startswith("Thanks for the PR!") and "rm -rf" not in clean_text(TRICKY)
    assert "https://" not in clean_text(TRICKY) and "[USER]" not in clean_text("[USER] hi there")


def test_target_emotion_prefers_the_request_then_the_prompt_outside_the_comment():
    from emocause.annotate import prompts

    t = prompts.load("frustration-detect")
    comment = "What a joy, I love this release."
    req = Request(prompt=t.render(comment), text=comment, task="yesno", labels=t.labels)
    assert target_emotion(req) == "Frustration"
    assert target_emotion(Request(prompt="", text="x", task="yesno", emotion="Fear")) == "Fear"
    assert target_emotion(Request(prompt="Answer Yes or No: {x}", text="x", task="yesno")) is None


# -- the model --------------------------------------------------------------------------------
def test_construction_is_cheap(backend):
    fresh = EmbeddingBackend()
    assert fresh._model is None and fresh.model == "all-MiniLM-L6-v2"
    assert fresh.params()["threshold"] == ed.NEUTRAL_THRESHOLD
    assert not fresh.cacheable and not fresh.uses_prompt


CLEAR = {
    "I'm worried this migration will drop the index and lock production for minutes.": "Fear",
    "Great work on the docs, the new examples are wonderful. Love it.": "Love",
    "Unfortunately I won't be able to keep maintaining this plugin. Sorry everyone.": "Sadness",
    "Wow, I did not expect that at all, this is strange.": "Surprise",
    "This is broken again and it is really annoying and frustrating.": "Anger",
    "Glad this finally landed, it works perfectly now :)": "Joy",
    "Bumped the minimum supported Python to 3.9 in setup.cfg and updated the CI matrix.": NEUTRAL,
}


def test_label_answers_for_clear_comments(backend):
    reqs = [Request(prompt="", text=t, task="label", labels=LABEL_SETS["all-levels"]) for t in CLEAR]
    assert answers(backend, reqs) == list(CLEAR.values())


def test_label_answers_respect_the_prompts_label_list(backend):
    texts = list(CLEAR)
    custom = ("Irritation", "Worry", "Cheerfulness", "Affection", "Disappointment", "Amazement")
    got = answers(backend, [Request(prompt="", text=t, task="label", labels=custom) for t in texts])
    assert set(got) <= set(custom) | {NEUTRAL}
    assert [to_basic(g) or NEUTRAL for g in got] == list(CLEAR.values())
    go = answers(backend, [Request(prompt="", text=t, task="label", labels=LABEL_SETS["goemotions"])
                           for t in texts])
    assert set(go) <= set(LABEL_SETS["goemotions"]) | {NEUTRAL}


def test_yesno_answers_about_the_asked_emotion(backend):
    reqs = [Request(prompt="", text=t, task="yesno", labels=("Yes", "No"), emotion="Frustration")
            for t in ("This keeps failing and wastes my time; still broken after all this time.",
                      "Thanks a lot, this works perfectly now!")]
    assert answers(backend, reqs) == ["Yes", "No"]


def test_span_answer_is_the_most_emotional_sentence_and_quoted(backend):
    text = ("Bumped the version in setup.py. I am really worried this will break production for "
            "our users. The changelog is in docs/.")
    got = answers(backend, [Request(prompt="", text=text, task="span", emotion="Fear"),
                            Request(prompt="", text=TRICKY, task="span", emotion="Worry")])
    assert got[0] == '"I am really worried this will break production for our users."'
    assert got[1].startswith('"') and got[1].endswith('"') and got[1][1:-1] in TRICKY


# -- through the CLI --------------------------------------------------------------------------
def test_classify_sample_offline_with_the_embedding_backend(tmp_path, cli):
    out = tmp_path / "out.csv"
    r = cli("classify", SAMPLE, "--out", out, "--backend", "embedding")
    assert r.code == 0, r.err
    src = pd.read_csv(SAMPLE, keep_default_na=False)
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns[: len(src.columns)]) == list(src.columns) and list(df["id"]) == list(src["id"])
    assert set(df["emotion"]) <= set(BASIC) | {NEUTRAL} and (df["emotion_status"] == "ok").all()
    assert df["emotion"].nunique() >= 6  # varied comments get varied emotions
    manifest = json.loads((tmp_path / "out.csv.manifest.json").read_text())
    assert manifest["backend"] == "embedding" and manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["prompt"]["name"] == "all-levels"
    assert manifest["params"]["descriptions"] == ed.fingerprint()


def test_causes_are_always_grounded_exactly(tmp_path, cli):
    labeled = tmp_path / "labeled.jsonl"
    assert cli("classify", SAMPLE, "--out", labeled, "--backend", "embedding").code == 0
    out = tmp_path / "causes.csv"
    r = cli("causes", labeled, "--out", out, "--emotion-col", "emotion", "--backend", "embedding")
    assert r.code == 0, r.err
    df = pd.read_csv(out, keep_default_na=False)
    asked = df[df["emotion"] != NEUTRAL]
    assert len(asked) > 0 and (asked["cause_match"] == "exact").all()
    for _, row in asked.iterrows():
        start, end = int(row["cause_start"]), int(row["cause_end"])
        assert row["text"][start:end] == row["cause"]
    assert (df.loc[df["emotion"] == NEUTRAL, "cause_status"] == "skipped").all()


def test_frustration_detect_prompt_through_the_cli(tmp_path, cli):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["Still broken after all this time, this is so frustrating. Nothing works.",
                           "Thanks, the new release works perfectly for us."]}).to_csv(src, index=False)
    out = tmp_path / "f.csv"
    r = cli("classify", src, "--out", out, "--prompt", "frustration-detect", "--backend", "embedding")
    assert r.code == 0, r.err
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df["emotion_raw"]) == ["Yes", "No"]
    assert list(df["emotion"]) == ["Anger", NEUTRAL]


def test_conflicting_model_options_are_one_line(tmp_path, cli):
    r = cli("classify", SAMPLE, "--out", tmp_path / "o.csv", "--model", "a-model",
            "--embedding-model", "another", "--backend", "embedding")
    assert r.code == 2 and "disagree" in r.err and "Traceback" not in r.err
