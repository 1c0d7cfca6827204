"""The shipped fine-tuned model, the offline default: no key, no network, no training step."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from emocause import config
from emocause.backends.base import Request
from emocause.backends.finetune import SHIPPED, read_artifact
from emocause.backends.finetuned import FinetunedBackend
from emocause.emotions.taxonomy import BASIC, NEUTRAL
from emocause.files import file_sha256

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_comments.csv"


@pytest.fixture(scope="module")
def backend() -> FinetunedBackend:
    return FinetunedBackend(device="cpu")


def test_the_default_backend_is_the_shipped_model():
    assert config.DEFAULT_BACKEND == "finetuned"
    assert sorted(p.name for p in SHIPPED.iterdir()) == ["README.md", "adapter.safetensors", "model.json"]
    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size < 5 * 1024 * 1024  # the whole artifact, well under 5 MB
    art = read_artifact(SHIPPED)
    assert art.emotions == BASIC and art.base["name"] == "all-MiniLM-L6-v2"
    assert [f["name"] for f in art.doc["training"]["files"]] == ["github-train.csv"]
    assert art.doc["cv"]["macro_f1"] > 0.5 and art.recipe.folds == 5


def test_trained_on_the_shared_training_split(paper_dir):
    """The recorded training file is the paper's train split, byte for byte (never a test split)."""
    art = read_artifact(SHIPPED)
    (trained,) = art.doc["training"]["files"]
    assert trained["sha256"] == file_sha256(paper_dir / "github-train.csv")
    assert trained["sha256"] != file_sha256(paper_dir / "github-test.csv")


CLEAR = {
    "I'm worried this migration will drop the index and lock production for minutes.": "Fear",
    "Thanks a lot for the detailed review, I really appreciate your help!": "Love",
    "This is broken again and it is really annoying. Stop closing issues without reading them.": "Anger",
    "Bumped the minimum supported Python to 3.9 in setup.cfg and updated the CI matrix.": NEUTRAL,
}


def test_clear_comments(backend):
    got: dict[int, object] = {}
    reqs = [Request(prompt="", text=t, task="label", labels=BASIC) for t in CLEAR]
    backend.generate(reqs, lambda i, r: got.__setitem__(i, r))
    assert [got[i].text for i in range(len(reqs))] == list(CLEAR.values())
    for i in range(len(reqs)):
        scores = json.loads(got[i].extra["emotion_scores"])
        assert list(scores) == list(BASIC)


def test_classify_sample_offline_by_default(tmp_path, cli):
    out = tmp_path / "out.csv"
    r = cli("classify", SAMPLE, "--out", out)
    assert r.code == 0, r.err
    src = pd.read_csv(SAMPLE, keep_default_na=False)
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df["id"]) == list(src["id"]) and (df["emotion_status"] == "ok").all()
    assert set(df["emotion"]) <= set(BASIC) | {NEUTRAL} and df["emotion"].nunique() >= 4
    for emotion, emotions, scores in zip(df["emotion"], df["emotions"], df["emotion_scores"]):
        listed = emotions.split(";")
        assert emotion in listed and set(json.loads(scores)) == set(BASIC)
    manifest = json.loads((tmp_path / "out.csv.manifest.json").read_text())
    assert manifest["backend"] == "finetuned" and manifest["model"] == "emotions-minilm"
    assert manifest["adapter_sha256"] == file_sha256(SHIPPED / "adapter.safetensors")
    assert manifest["device"] == "cpu" and manifest["precision"] in ("bf16", "fp32")


def test_causes_with_the_default_backend_are_grounded(tmp_path, cli):
    labeled = tmp_path / "labeled.csv"
    assert cli("classify", SAMPLE, "--out", labeled).code == 0
    out = tmp_path / "causes.csv"
    r = cli("causes", labeled, "--out", out, "--emotion-col", "emotion")
    assert r.code == 0, r.err
    df = pd.read_csv(out, keep_default_na=False)
    asked = df[df["emotion"] != NEUTRAL]
    assert len(asked) > 0 and (asked["cause_match"] == "exact").all()
    for _, row in asked.iterrows():
        assert row["text"][int(row["cause_start"]):int(row["cause_end"])] == row["cause"]


def test_the_embedding_backend_stays_available_by_name(tmp_path, cli):
    r = cli("classify", SAMPLE, "--out", tmp_path / "e.csv", "--backend", "embedding",
            "--prompt", "basic", "--limit", "3")
    assert r.code == 0, r.err
    assert json.loads((tmp_path / "e.csv.manifest.json").read_text())["backend"] == "embedding"
