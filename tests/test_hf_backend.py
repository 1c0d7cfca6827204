"""The ``hf`` backend on real (tiny, random-weight) transformers models built from configs.

Three models are built offline into temporary directories, each with a real
fast tokenizer trained on a few sentences with the ``tokenizers`` library:

* a T5 (encoder-decoder, right padding);
* a GPT-2 (decoder-only, left padding) whose weights are set so that it always
  says "Joy": its output layer norm returns a fixed vector and its token
  embeddings are orthonormal, so the logit of "Joy" is the only non-zero one;
* a Llama with a chat template.

Random weights answer nonsense, which is what these tests need: batching must
not change a single token, answers must come back in input order, and the
prompt must never leak into a causal model's answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from emocause.backends.base import Request  # noqa: E402
from emocause.backends.hf import HFBackend, looks_like_path  # noqa: E402
from emocause.errors import FatalBackendError  # noqa: E402

CORPUS = [
    "You are a GitHub user reading the following comment written by another developer.",
    "Which emotion does the author of this comment express? Choose exactly one from this list",
    "Joy Anger Fear Love Sadness Surprise Neutral answer with the single emotion word only",
    "the build is broken again thanks a lot for the fix I am worried about the release",
    "user : assistant :",
]
CHAT_TEMPLATE = ("{% for m in messages %}<s> user : {{ m['content'] }} </s>{% endfor %}"
                 "{% if add_generation_prompt %}<s> assistant :{% endif %}")


def build_tokenizer(specials: list[str], template: str, bos_or_eos: str):
    """A word-level fast tokenizer trained on CORPUS (no download, no sentencepiece)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=specials))
    tk.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(bos_or_eos, tk.token_to_id(bos_or_eos))])
    tk.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    kw = {"pad_token": "<pad>", "unk_token": "<unk>", "eos_token": "</s>"}
    if "<s>" in specials:
        kw["bos_token"] = "<s>"
    return PreTrainedTokenizerFast(tokenizer_object=tk, **kw)


def _silence_specials(embedding: torch.Tensor, tok) -> None:
    """Zero the special tokens' (tied) embeddings so a random model emits words, not pad/eos."""
    with torch.no_grad():
        for t in (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.bos_token_id):
            if t is not None:
                embedding[t].zero_()


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    out = tmp_path_factory.mktemp("tiny-t5")
    tok = build_tokenizer(["<pad>", "</s>", "<unk>"], "$A </s>", "</s>")
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        decoder_start_token_id=tok.pad_token_id, pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id))
    _silence_specials(model.shared.weight, tok)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def joy_gpt2_dir(tmp_path_factory) -> Path:
    """A GPT-2 that answers "Joy" to everything (see the module docstring)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    out = tmp_path_factory.mktemp("tiny-gpt2")
    tok = build_tokenizer(["<pad>", "<s>", "</s>", "<unk>"], "<s> $A", "<s>")
    n = 64
    assert len(tok) <= n
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=n, n_layer=2, n_head=4,
                                       n_positions=512, bos_token_id=tok.bos_token_id,
                                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    joy = tok.convert_tokens_to_ids("Joy")
    with torch.no_grad():
        q, _ = torch.linalg.qr(torch.randn(n, n))
        model.transformer.wte.weight.copy_(q[: len(tok)])  # orthonormal rows (tied to lm_head)
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(10.0 * q[joy])
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def llama_chat_dir(tmp_path_factory) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = build_tokenizer(["<pad>", "<s>", "</s>", "<unk>"], "<s> $A", "<s>")
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(1)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id))
    _silence_specials(model.model.embed_tokens.weight, tok)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def requests(n: int = 9, max_tokens: int = 5) -> list[Request]:
    """Prompts of clearly different lengths, in no particular length order."""
    lengths = [3, 11, 1, 7, 15, 2, 9, 4, 13][:n]
    words = " ".join(CORPUS).split()
    return [Request(prompt=" ".join(words[(i * 5) % 20:(i * 5) % 20 + k]), text=f"t{i}", task="label",
                    max_tokens=max_tokens) for i, k in enumerate(lengths)]


def run(backend: HFBackend, reqs: list[Request]) -> tuple[list[str], list[int]]:
    answers: dict[int, str] = {}
    order: list[int] = []

    def on_result(i, resp):
        assert resp.ok and i not in answers
        answers[i] = resp.text
        order.append(i)

    backend.generate(reqs, on_result)
    assert sorted(answers) == list(range(len(reqs)))
    return [answers[i] for i in range(len(reqs))], order


@pytest.mark.parametrize("fixture,side,arch", [("t5_dir", "right", "encoder-decoder"),
                                               ("joy_gpt2_dir", "left", "decoder-only"),
                                               ("llama_chat_dir", "left", "decoder-only")])
def test_batched_answers_equal_one_at_a_time_in_input_order(request, fixture, side, arch):
    path = request.getfixturevalue(fixture)
    reqs = requests()
    batched = HFBackend(model=str(path), batch_size=4, device="cpu")
    got, order = run(batched, reqs)
    single, _ = run(HFBackend(model=str(path), batch_size=1, device="cpu"), reqs)
    assert got == single  # padding (on the right side) changes no token, order is restored
    assert all(a.strip() for a in got)
    assert batched.tokenizer.padding_side == side
    d = batched.describe()
    assert d["architecture"] == arch and d["device"] == "cpu" and d["dtype"] == "float32"
    # Reported batch by batch, longest prompts first: the first four are the four longest.
    lengths = [len(ids) for ids in batched.encode_prompts(reqs)]
    assert set(order[:4]) == set(sorted(range(len(reqs)), key=lambda i: -lengths[i])[:4])


def test_plan_batches_groups_similar_lengths_and_max_tokens():
    b = HFBackend(model="unused", batch_size=2)
    plan = b.plan_batches([5, 50, 7, 48, 6, 49], [8, 8, 8, 8, 96, 96])
    assert plan == [[1, 3], [2, 0], [5, 4]]
    assert sorted(i for batch in plan for i in batch) == list(range(6))


def test_causal_answer_is_the_continuation_only(joy_gpt2_dir):
    b = HFBackend(model=str(joy_gpt2_dir), batch_size=8, device="cpu")
    got, _ = run(b, requests(max_tokens=3))
    assert got == ["Joy Joy Joy"] * 9  # no prompt words leak into the answer


def test_chat_template_wraps_the_prompt(llama_chat_dir, t5_dir):
    chat = HFBackend(model=str(llama_chat_dir), device="cpu")
    assert chat.tokenizer is not None  # loads the model
    assert chat.chat_template and chat.describe()["chat_template"] is True
    assert chat.prompt_text("Is the build broken") == \
        "<s> user : Is the build broken </s><s> assistant :"
    ids = chat.encode_prompts([Request(prompt="the build", text="x", task="label")])[0]
    assert chat.tokenizer.convert_ids_to_tokens(ids) == \
        ["<s>", "user", ":", "the", "build", "</s>", "<s>", "assistant", ":"]  # one <s>, not two
    seq2seq = HFBackend(model=str(t5_dir), device="cpu")
    assert seq2seq.tokenizer is not None
    assert not seq2seq.chat_template and seq2seq.prompt_text("hello") == "hello"


def test_usage_counts_tokens(t5_dir):
    b = HFBackend(model=str(t5_dir), batch_size=3, device="cpu")
    seen = []
    b.generate(requests(3, max_tokens=4), lambda i, r: seen.append((i, r.usage)))
    lengths = [len(x) for x in b.encode_prompts(requests(3))]
    for i, usage in seen:
        assert usage["prompt_tokens"] == lengths[i] and 1 <= usage["completion_tokens"] <= 4


def test_classify_cli_with_hf_batches_and_hits_the_cache(tmp_path, cli, joy_gpt2_dir):
    src = tmp_path / "in.csv"
    texts = ["the build is broken again", "", "thanks a lot for the fix", "I am worried about the release",
             "the fix", "Which author", "thanks", "another developer reading"]
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(src, index=False)
    cache = tmp_path / "cache.sqlite"
    args = ["classify", src, "--out", tmp_path / "a.csv", "--backend", "hf", "--model", joy_gpt2_dir,
            "--device", "cpu", "--batch-size", 3, "--prompt", "basic", "--cache", cache]
    r = cli(*args)
    assert r.code == 0, r.err
    df = pd.read_csv(tmp_path / "a.csv", keep_default_na=False)
    assert list(df["id"]) == list(range(len(texts)))
    assert list(df["emotion"]) == ["Joy", "", "Joy", "Joy", "Joy", "Joy", "Joy", "Joy"]
    assert list(df["emotion_status"]) == ["ok", "skipped"] + ["ok"] * 6
    first = json.loads((tmp_path / "a.csv.manifest.json").read_text())
    assert first["backend"] == "hf" and first["architecture"] == "decoder-only"
    assert first["counts"]["sent"] == 7 and first["batch_size"] == 3

    args[3] = tmp_path / "b.csv"
    r = cli(*args)
    assert r.code == 0, r.err
    second = json.loads((tmp_path / "b.csv.manifest.json").read_text())
    assert second["counts"]["sent"] == 0 and second["counts"]["cached"] == 7
    assert list(pd.read_csv(tmp_path / "b.csv", keep_default_na=False)["emotion"]) == list(df["emotion"])


def test_causes_cli_with_t5(tmp_path, cli, t5_dir):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["the build is broken again", "thanks a lot for the fix"]}).to_csv(src, index=False)
    r = cli("causes", src, "--out", tmp_path / "c.jsonl", "--emotion", "Anger", "--backend", "hf",
            "--model", t5_dir, "--device", "cpu", "--no-cache")
    assert r.code == 0, r.err
    df = pd.read_json(tmp_path / "c.jsonl", lines=True)
    assert df["cause_status"].isin(["ok", "unparsed"]).all() and df["cause_raw"].str.len().gt(0).all()


def test_missing_local_path_is_one_line(tmp_path, cli):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["hello"]}).to_csv(src, index=False)
    missing = tmp_path / "no" / "such-model"
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "hf", "--model", missing)
    assert r.code == 2
    assert str(missing) in r.err and "does not exist" in r.err and "--model" in r.err
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("offline", [True, False])
def test_hub_name_not_cached_is_one_line(tmp_path, cli, monkeypatch, offline):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["hello"]}).to_csv(src, index=False)
    if not offline:  # online, but the hub's port is closed: refused at once, no retries
        import huggingface_hub.constants

        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy",
                    "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "hf", "--model",
            "emocause-tests/no-such-model")
    assert r.code == 2
    assert "'emocause-tests/no-such-model'" in r.err and "not in the local Hugging Face cache" in r.err
    assert ("HF_HUB_OFFLINE is set" if offline else "hub is unreachable (no network)") in r.err
    assert "huggingface-cli download" in r.err and "--model DIR" in r.err
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1


def test_directory_without_a_model_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    b = HFBackend(model=str(empty))
    with pytest.raises(FatalBackendError, match="holds no loadable model"):
        b.generate([Request(prompt="x", text="x", task="label")], lambda i, r: None)


def test_construction_is_cheap_and_default_model_is_the_papers():
    b = HFBackend()
    assert b.model == "declare-lab/flan-alpaca-xl" and b._model is None
    assert looks_like_path("./m") and looks_like_path("/abs/m") and looks_like_path("a/b/c")
    assert not looks_like_path("google/flan-t5-base")
