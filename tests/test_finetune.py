"""Fine-tuning (``train --kind finetune``) and the ``finetuned`` backend, on a tiny BERT built from a config.

The tiny encoder (2 layers, hidden size 64, a word-level vocabulary of the
training texts) runs the real code paths (tokenizer, peft LoRA, training,
safetensors artifact, loading, merging) in seconds; the shipped MiniLM adapter
is tested in tests/test_finetuned_default.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emocause.backends import finetune
from emocause.backends.base import Request
from emocause.backends.finetuned import FinetunedBackend
from emocause.emotions.taxonomy import BASIC, NEUTRAL
from emocause.errors import UsageError

WORDS = {
    "Anger": "annoying broken stop wrong angry",
    "Fear": "worried risky careful afraid danger",
    "Joy": "glad works nice happy agree",
    "Love": "thanks awesome appreciate love great",
    "Sadness": "sorry unfortunately sad regret oops",
    "Surprise": "wow strange unexpected why surprised",
}
NEUTRAL_WORDS = "bump version update file config docs setup ci matrix python"


def labelled_frame(n: int = 96, seed: int = 0) -> pd.DataFrame:
    """Comments whose emotion is carried by a few words, one emotion (or none) each."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = i % 8
        emotion = BASIC[k] if k < 6 else None
        words = list(rng.choice(NEUTRAL_WORDS.split(), 2 if emotion else 4))
        if emotion:
            words += list(rng.choice(WORDS[emotion].split(), 2, replace=False))
        rng.shuffle(words)
        rows.append({"id": i, "text": " ".join(words) + ".", **{e: int(e == emotion) for e in BASIC}})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer BERT with random weights and a word-level WordPiece vocabulary, saved like a hub model."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."] + sorted(
        {w for ws in [*WORDS.values(), NEUTRAL_WORDS, "this is a the it"] for w in ws.split()})
    word_piece = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    word_piece.normalizer = normalizers.BertNormalizer(lowercase=True)
    word_piece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    word_piece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=word_piece, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]").save_pretrained(folder)
    torch.manual_seed(0)
    # Wide initial weights and no dropout: random features that keep each word distinct, so a
    # few epochs learn the emotion words (the default 0.02 initialisation learns very slowly).
    config = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=64,
                        initializer_range=0.2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model(tiny_base, tmp_path_factory) -> Path:
    """A fine-tuned tiny model, trained through the real CLI (2-fold CV, 10 epochs)."""
    from emocause.cli.app import main

    work = tmp_path_factory.mktemp("finetune")
    labeled = work / "labeled.csv"
    labelled_frame().to_csv(labeled, index=False)
    out = work / "model"
    assert main(["train", str(labeled), "--kind", "finetune", "--base", str(tiny_base),
                 "--model-out", str(out), "--cv", "2", "--epochs", "10", "--learning-rate", "0.01",
                 "--max-length", "16", "--lora-r", "8", "--threads", "1", "--folds-out", str(work / "folds")]) == 0
    return out


def answers(backend, reqs):
    got: dict[int, object] = {}
    backend.generate(reqs, lambda i, r: got.__setitem__(i, r))
    return [got[i] for i in range(len(reqs))]


# -- the artifact ------------------------------------------------------------------------------
def test_artifact_is_small_plain_files(tiny_model):
    assert sorted(p.name for p in tiny_model.iterdir()) == [
        "README.md", "adapter.safetensors", "manifest.json", "model.json"]
    doc = json.loads((tiny_model / "model.json").read_text())
    assert doc["format"] == finetune.FORMAT and doc["emotions"] == list(BASIC)
    assert doc["recipe"]["folds"] == 2 and doc["recipe"]["threads"] == 1
    assert set(doc["thresholds"]) == set(BASIC) and all(0 < t < 1 for t in doc["thresholds"].values())
    assert len(doc["base"]["sha256"]) == 64 and doc["training"]["rows"] == 96
    assert doc["cv"]["neutral_share_gold"] == pytest.approx(0.25)
    from safetensors.numpy import load_file

    tensors = load_file(tiny_model / "adapter.safetensors")
    assert tensors["head.weight"].shape == (6, 64)
    assert all(".lora_" in k for k in tensors if k.startswith("encoder."))
    assert "Thresholds" in (tiny_model / "README.md").read_text()
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    assert manifest["command"] == "train" and manifest["kind"] == "finetune"


def test_training_is_bit_for_bit_reproducible(tiny_model, tiny_base, tmp_path, cli):
    labeled = tmp_path / "labeled.csv"
    labelled_frame().to_csv(labeled, index=False)
    out = tmp_path / "again"
    r = cli("train", labeled, "--kind", "finetune", "--base", tiny_base, "--model-out", out,
            "--cv", "2", "--epochs", "10", "--learning-rate", "0.01", "--max-length", "16", "--lora-r", "8",
            "--threads", "1")
    assert r.code == 0, r.err
    for name in ("adapter.safetensors", "model.json", "README.md"):
        assert (out / name).read_bytes() == (tiny_model / name).read_bytes(), name


def test_folds_out_holds_loadable_fold_models_and_oof(tiny_model):
    folds = tiny_model.parent / "folds"
    oof = pd.read_csv(folds / "oof.csv")
    assert len(oof) == 96 and set(oof["fold"]) == {0, 1} and list(oof["row"]) == list(range(96))
    for k in (0, 1):
        art = finetune.read_artifact(folds / f"fold-{k}")
        assert art.doc["training"]["fold"] == k


# -- the backend -------------------------------------------------------------------------------
def test_the_model_learned_the_emotion_words(tiny_model):
    backend = FinetunedBackend(model=str(tiny_model), device="cpu")
    texts = [f"setup {w} docs." for w in ("annoying broken", "thanks awesome",
                                          "sorry unfortunately")] + ["bump version update docs."]
    probs = backend.probabilities(backend.scores(texts))
    assert [BASIC[j] for j in probs[:3].argmax(axis=1)] == ["Anger", "Love", "Sadness"]
    assert probs[3].max() < probs[:3].max(axis=1).min()


def test_label_answers_carry_every_emotion_and_all_scores(tiny_model):
    backend = FinetunedBackend(model=str(tiny_model), device="cpu")
    texts = ["annoying broken bump.", "thanks awesome docs.", "bump version update docs."]
    got = answers(backend, [Request(prompt="", text=t, task="label", labels=BASIC) for t in texts])
    for resp in got:
        assert set(resp.extra) == {"emotions", "emotion_scores"}
        scores = json.loads(resp.extra["emotion_scores"])
        assert list(scores) == list(BASIC) and all(0 <= v <= 1 for v in scores.values())
        firing = [e for e in BASIC if scores[e] >= backend.artifact.thresholds[BASIC.index(e)]]
        assert resp.extra["emotions"] == (";".join(firing) or NEUTRAL)
        assert resp.text == NEUTRAL if not firing else resp.text in firing
    # a label list that excludes an emotion never answers it
    only = answers(backend, [Request(prompt="", text=texts[0], task="label", labels=("Joy",))])[0]
    assert only.text in ("Joy", NEUTRAL) and "Anger" not in only.extra["emotions"]


def test_yesno_and_span_answers(tiny_model):
    backend = FinetunedBackend(model=str(tiny_model), device="cpu")
    yes, no = answers(backend, [
        Request(prompt="", text="annoying broken stop wrong.", task="yesno", emotion="Frustration"),
        Request(prompt="", text="bump version update docs.", task="yesno", emotion="Frustration")])
    assert (yes.text, no.text) == ("Yes", "No")
    text = "bump version update docs. thanks awesome appreciate love. setup ci matrix."
    span = answers(backend, [Request(prompt="", text=text, task="span", emotion="Love")])[0].text
    assert span == '"thanks awesome appreciate love."'


def test_classify_and_causes_through_the_cli(tiny_model, tmp_path, cli):
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": ["annoying broken bump.", "thanks awesome docs.", ""]}) \
        .to_csv(src, index=False)
    out = tmp_path / "out.csv"
    r = cli("classify", src, "--out", out, "--backend", "finetuned", "--model", tiny_model,
            "--prompt", "basic")
    assert r.code == 0, r.err
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns[-6:]) == ["emotion_raw", "emotion_label", "emotion", "emotion_status",
                                     "emotions", "emotion_scores"]
    assert df["emotion_status"].tolist() == ["ok", "ok", "skipped"] and df["emotions"][2] == ""
    manifest = json.loads((tmp_path / "out.csv.manifest.json").read_text())
    assert manifest["backend"] == "finetuned" and manifest["kind"] == "finetune"
    assert len(manifest["adapter_sha256"]) == 64 and set(manifest["params"]["thresholds"]) == set(BASIC)
    r = cli("causes", out, "--out", tmp_path / "c.csv", "--backend", "finetuned", "--model", tiny_model,
            "--emotion-col", "emotion")
    assert r.code == 0, r.err
    causes = pd.read_csv(tmp_path / "c.csv", keep_default_na=False)
    assert set(causes.loc[causes["cause_status"] == "ok", "cause_match"]) <= {"exact"}


def test_neutral_share_picks_the_stored_thresholds(tiny_model, tmp_path, cli):
    """--neutral-share reads the thresholds the training stored for that share (one per 0.05 step,
    chosen by the same cross-validation); a higher share never gives fewer Neutral answers."""
    from emocause.backends.finetune import NEUTRAL_SHARES, choose_thresholds

    doc = json.loads((tiny_model / "model.json").read_text())
    table = doc["cv"]["thresholds_by_neutral_share"]
    assert sorted(map(float, table)) == list(NEUTRAL_SHARES)
    oof = pd.read_csv(tiny_model.parent / "folds" / "oof.csv")  # the same out-of-fold probabilities
    labels = labelled_frame()[list(BASIC)].to_numpy()[oof["row"]]
    assert list(table["0.60"].values()) == list(choose_thresholds(oof[list(BASIC)].to_numpy(), labels, 0.6))
    src = tmp_path / "in.csv"
    labelled_frame(48, seed=5)[["text"]].to_csv(src, index=False)
    neutral = {}
    for share in (0.05, 0.6):
        out = tmp_path / f"out-{share}.csv"
        r = cli("classify", src, "--out", out, "--backend", "finetuned", "--model", tiny_model,
                "--prompt", "basic", "--neutral-share", str(share))
        assert r.code == 0, r.err
        params = json.loads((tmp_path / f"out-{share}.csv.manifest.json").read_text())["params"]
        assert params["neutral_share"] == share
        assert list(params["thresholds"].values()) == list(table[f"{share:.2f}"].values())
        neutral[share] = (pd.read_csv(out, keep_default_na=False)["emotion"] == NEUTRAL).sum()
    assert neutral[0.6] >= neutral[0.05]
    r = cli("classify", src, "--out", tmp_path / "x.csv", "--backend", "embedding", "--neutral-share", "0.4")
    assert r.code == 2 and "--neutral-share needs --backend finetuned" in r.err
    r = cli("classify", src, "--out", tmp_path / "x.csv", "--backend", "finetuned", "--model", tiny_model,
            "--neutral-share", "0.9")
    assert r.code == 2 and "--neutral-share" in r.err and "0.75" in r.err
    del doc["cv"]["thresholds_by_neutral_share"]
    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    (bare / "model.json").write_text(json.dumps(doc))
    r = cli("classify", src, "--out", tmp_path / "x.csv", "--backend", "finetuned", "--model", bare,
            "--neutral-share", "0.4")
    assert r.code == 2 and "stores no thresholds per neutral share" in r.err


def test_evaluate_scores_the_multi_label_column(tiny_model, tmp_path, cli):
    """`evaluate emotions --pred-col emotions` reads the ;-joined column: checked against sklearn."""
    from sklearn.metrics import f1_score

    gold = labelled_frame(48, seed=3)
    src = tmp_path / "gold.csv"
    gold.to_csv(src, index=False)
    out = tmp_path / "pred.csv"
    assert cli("classify", src, "--out", out, "--backend", "finetuned", "--model", tiny_model,
               "--prompt", "basic").code == 0
    r = cli("evaluate", "emotions", "--gold", src, "--pred", out, "--pred-col", "emotions",
            "--format", "json", "--bootstrap", "0")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    pred = pd.read_csv(out, keep_default_na=False)["emotions"]
    expected = np.mean([f1_score(gold[e], [int(e in p.split(";")) for p in pred], zero_division=0)
                        for e in BASIC])
    assert report["macro"]["f1"] == pytest.approx(expected, abs=1e-9)


# -- crafted or mismatched model folders --------------------------------------------------------
def _corrupt(model: Path, tmp: Path, case: str) -> Path:
    bad = tmp / "bad"
    shutil.copytree(model, bad)
    doc = json.loads((bad / "model.json").read_text())
    if case == "weights-fifo":
        (bad / "adapter.safetensors").unlink()
        os.mkfifo(bad / "adapter.safetensors")
    elif case == "weights-dev-zero":
        (bad / "adapter.safetensors").unlink()
        (bad / "adapter.safetensors").symlink_to("/dev/zero")
    elif case == "config-fifo":
        (bad / "model.json").unlink()
        os.mkfifo(bad / "model.json")
    elif case == "not-safetensors":
        (bad / "adapter.safetensors").write_bytes(b"\x80\x04 pickle? no.")
    elif case == "huge-header":
        header = json.dumps({"head.weight": {"dtype": "F32", "shape": [1 << 40, 1 << 20],
                                             "data_offsets": [0, 1 << 62]}}).encode()
        (bad / "adapter.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    elif case == "int-weights":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(bad / "adapter.safetensors")
        tensors["head.bias"] = tensors["head.bias"].astype(np.int32)
        save_file(tensors, bad / "adapter.safetensors")
    elif case == "wrong-head":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(bad / "adapter.safetensors")
        tensors["head.weight"] = np.zeros((6, 63), dtype=np.float32)
        save_file(tensors, bad / "adapter.safetensors")
    elif case == "other-base":
        doc["base"]["sha256"] = "0" * 64
    elif case == "threshold":
        doc["thresholds"]["Joy"] = 1.5
    elif case == "recipe":
        doc["recipe"]["lora_r"] = "eight"
    elif case == "linear":
        doc["format"] = "emocause-linear-model"
    if case in ("other-base", "threshold", "recipe", "linear"):
        (bad / "model.json").write_text(json.dumps(doc))
    return bad


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case,message", [
    ("weights-fifo", "not a regular file"), ("weights-dev-zero", "not a regular file"),
    ("config-fifo", "not a regular file"), ("not-safetensors", "not a safetensors file"),
    ("huge-header", "not a safetensors file"), ("int-weights", "not finite floating point"),
    ("wrong-head", "no head of shape"), ("other-base", "trained on other weights"),
    ("threshold", "one threshold in (0, 1)"), ("recipe", "lora_r"), ("linear", "--backend trained"),
])
def test_crafted_model_folders_are_one_line(case, message, tiny_model, tmp_path, cli):
    bad = _corrupt(tiny_model, tmp_path, case)
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["thanks awesome."]}).to_csv(src, index=False)
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "finetuned", "--model", bad)
    assert r.code == 2 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert message in r.err


def test_recipe_and_training_input_errors_are_one_line(tiny_base, tmp_path, cli):
    labeled = tmp_path / "l.csv"
    labelled_frame(16).to_csv(labeled, index=False)
    cases = [
        (["--learning-rate", "2"], "learning_rate"),
        (["--neutral-share", "1"], "neutral_share"),
        (["--cv", "1"], "at least 2 folds"),
        (["--cv", "20"], "too few examples"),
        (["--base", str(tmp_path / "nope")], "does not exist"),
        (["--base", str(tmp_path)], "no config.json"),
    ]
    for extra, message in cases:
        r = cli("train", labeled, "--kind", "finetune", "--model-out", tmp_path / "m",
                "--base", tiny_base, *extra)
        assert r.code == 2 and "Traceback" not in r.err and message in r.err, (extra, r.err)
    r = cli("train", labeled, labeled, "--model-out", tmp_path / "m2")
    assert r.code == 2 and "one labelled file" in r.err


def test_device_cuda_is_one_line_for_every_local_backend(tiny_model, tmp_path, cli):
    """One device check for all: --device cuda on a machine without CUDA."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["thanks awesome."]}).to_csv(src, index=False)
    svm = tmp_path / "svm"
    train = labelled_frame()
    train.to_csv(tmp_path / "l.csv", index=False)
    assert cli("train", tmp_path / "l.csv", "--model-out", svm).code == 0
    for args in (["--backend", "finetuned", "--model", tiny_model], ["--backend", "embedding"],
                 ["--backend", "trained", "--model", svm], ["--backend", "hf", "--model", tiny_model]):
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--device", "cuda", *args)
        assert r.code == 2 and "CUDA is not available" in r.err and "Traceback" not in r.err, (args, r.err)
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--device", "tpu", "--backend", "embedding")
    assert r.code == 2 and "unknown device" in r.err
    with pytest.raises(UsageError, match="CUDA"):
        finetune.load(finetune.read_artifact(tiny_model), "cuda:0")


def test_saved_and_loaded_model_gives_the_trained_logits(tiny_base, tmp_path):
    """fit -> save -> read -> load (adapters merged into the base) reproduces the trained model's logits."""
    frame = labelled_frame()
    recipe = finetune.Recipe(base=str(tiny_base), epochs=3, learning_rate=0.01, max_length=16,
                             threads=1, folds=0)
    base = finetune.load_base(recipe.base)
    ids = finetune.tokenize(base.tokenizer, frame["text"].tolist(), recipe.max_length)
    labels = frame[list(BASIC)].to_numpy()
    model = finetune.fit(base, ids, labels, recipe)
    expected = finetune.logits(model, ids, base.tokenizer.pad_token_id)
    finetune.save(tmp_path / "m", model, base, recipe, np.full(6, 0.5), BASIC, {"files": []}, None)
    loaded, _, device = finetune.load(finetune.read_artifact(tmp_path / "m"), "cpu")
    assert device == "cpu" and not any(".lora_" in name for name, _ in loaded.named_parameters())
    np.testing.assert_allclose(finetune.logits(loaded, ids, base.tokenizer.pad_token_id), expected,
                               rtol=1e-4, atol=1e-5)
    untrained = finetune.logits(finetune.build(base, recipe).train(False), ids, base.tokenizer.pad_token_id)
    assert np.abs(untrained - expected).max() > 0.1  # training changed the adapters and the head


def test_report_device_cuda_is_one_line_before_any_work(tmp_path, cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    src = tmp_path / "causes.csv"
    pd.DataFrame({"text": ["x"] * 3, "cause": ["the build is red"] * 3}).to_csv(src, index=False)
    r = cli("report", src, "--from-causes", "--out", tmp_path / "r", "--device", "cuda")
    assert r.code == 2 and "CUDA is not available" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "r").exists()
