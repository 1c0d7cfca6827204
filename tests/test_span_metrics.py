"""Span metrics: paper-mode BLEU (hand cases, NLTK, the paper's 0.598), word BLEU vs sacrebleu, SQuAD F1."""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest
from sacrebleu.metrics import BLEU

from emocause.evaluate import spans as sm
from emocause.tables import read_table


def test_paper_clean():
    assert sm.paper_clean("  It’s a BUG!!  (see #42)\n\nok ") == "its a bug see 42 ok"
    assert sm.paper_clean("naïve café") == "nave caf"          # non-ASCII letters are dropped, not folded
    assert sm.paper_clean("---") == ""
    assert sm.paper_clean("a_b\tc") == "a b c"


def test_char_bleu_hand_computed():
    w2 = sm.PAPER_WEIGHTS[2]
    assert sm.char_bleu_paper("abcd", "abcd", w2) == pytest.approx(1.0)
    # unigrams 3/4 match, bigrams {ab} of {ab, bx, xd} -> 1/3; equal length: no brevity penalty
    assert sm.char_bleu_paper("abcd", "abxd", w2) == pytest.approx(math.sqrt(3 / 4 * 1 / 3))
    # hypothesis shorter than the reference: BP = exp(1 - 3/1)
    assert sm.char_bleu_paper("abc", "a", (1.0,)) == pytest.approx(math.exp(-2))
    # no bigram in a one-character hypothesis: a zero precision with positive weight gives 0
    assert sm.char_bleu_paper("abc", "a", w2) == 0.0
    # no common character at all, empty hypothesis, empty reference
    assert sm.char_bleu_paper("abc", "xyz", (1.0,)) == 0.0
    assert sm.char_bleu_paper("abc", "", (1.0,)) == 0.0
    assert sm.char_bleu_paper("", "abc", (1.0,)) == 0.0
    # spaces are characters: "a b" vs "ab" share a and b, not the bigram
    assert sm.char_bleu_paper("ab", "a b", (1.0,)) == pytest.approx(2 / 3)
    # clipping: repeated characters only count as often as the reference has them
    assert sm.char_bleu_paper("ab", "aaa", (1.0,)) == pytest.approx(1 / 3)


def test_char_bleu_matches_nltk():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    rng = random.Random(0)
    cases = [("", ""), ("a", ""), ("", "a"), ("ab", "a"), ("a", "ab"), ("abc abc", "abc"),
             ("the cause", "the cause is here"), ("x", "x")]
    cases += [("".join(rng.choice("ab c") for _ in range(rng.randint(0, 12))),
               "".join(rng.choice("ab c") for _ in range(rng.randint(0, 12)))) for _ in range(400)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ref, hyp in cases:
            for weights in sm.PAPER_WEIGHTS.values():
                expected = nltk_bleu.sentence_bleu([ref], hyp, weights=weights)
                # NLTK returns < 1e-70 instead of 0 for a zero precision with positive weight
                assert sm.char_bleu_paper(ref, hyp, weights) == pytest.approx(expected, rel=1e-12, abs=1e-60), (ref, hyp)


def test_word_bleu_matches_sacrebleu_directly():
    refs = ["the build fails on windows", "thanks a lot for the quick fix", "this is not a bug",
            "I hate this flaky test", "x"]
    hyps = ["the build fails", "thanks for the fix", "it is not a bug at all", "", "y"]
    stats, sig = sm.word_bleu_stats(refs, hyps)
    rows = sm.sentence_bleu_rows(stats)
    corpus = sm.corpus_bleu(stats.sum(0))
    for j, n in enumerate(sm.ORDERS):
        sent = BLEU(max_ngram_order=n, effective_order=True)
        for i, (r, h) in enumerate(zip(refs, hyps)):
            assert rows[i, j] == pytest.approx(sent.sentence_score(h, [r]).score / 100)
        assert corpus[str(n)] == pytest.approx(BLEU(max_ngram_order=n).corpus_score(hyps, [refs]).score / 100)
    assert sig["sentence"].startswith("nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:")
    assert "eff:no" in sig["corpus"]


def test_squad_token_f1_and_exact_match():
    assert sm.squad_normalize("The  Cat, sat!") == "cat sat"
    assert sm.token_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)   # p 2/3, r 1
    assert sm.token_f1("cat cat dog", "cat") == pytest.approx(2 * (1 * 1 / 3) / (1 + 1 / 3))
    assert sm.token_f1("", "") == 1.0
    assert sm.token_f1("cat", "") == 0.0 and sm.token_f1("", "cat") == 0.0
    assert sm.token_f1("cat", "dog") == 0.0
    assert sm.exact_match("The cat.", "cat") == 1.0
    assert sm.exact_match("the cat", "cats") == 0.0


def test_word_counts():
    assert sm.word_count("don't   panic!", "word") == 2
    assert sm.word_count("don't   panic!", "paper") == 3        # don t panic


def test_evaluate_spans_small_case_and_grounding():
    golds = ["the build fails", "thanks for the fix", "not a bug"]
    preds = ["The build fails!", "", "completely unrelated words here"]
    texts = ["Sadly the build fails on CI.", "Thanks for the fix!", "It is not a bug."]
    r = sm.evaluate_spans(golds, preds, "word", texts)
    assert r["n"] == 3 and r["mode"] == "word" and "ci" not in r
    assert r["exact_match"] == pytest.approx(1 / 3)
    assert r["empty_predictions"] == 1
    assert r["span_words"] == {"gold": pytest.approx(10 / 3), "pred": pytest.approx(7 / 3)}
    # "The build fails!" is found (case-insensitive fuzzy/normalized), the unrelated span is not
    assert r["grounded"]["spans"] == 2
    assert r["grounded"]["share"] == pytest.approx(0.5)
    assert r["grounded"]["by_kind"]["none"] == 1
    p = sm.evaluate_spans(golds, preds, "paper")
    assert p["corpus_bleu"] is None and p["grounded"] is None
    assert p["bleu"]["1"] > 0.3
    with pytest.raises(ValueError):
        sm.evaluate_spans([], [], "word")
    with pytest.raises(ValueError):
        sm.evaluate_spans(["a"], ["a"], "chars")


def test_bootstrap_is_seeded():
    rng = random.Random(2)
    words = "the cause of this bug is a flaky test in the build".split()
    golds = [" ".join(rng.sample(words, 5)) for _ in range(40)]
    preds = [" ".join(rng.sample(words, 4)) for _ in range(40)]
    a = sm.evaluate_spans(golds, preds, "word", n_boot=50, seed=3)
    b = sm.evaluate_spans(golds, preds, "word", n_boot=50, seed=3)
    c = sm.evaluate_spans(golds, preds, "word", n_boot=50, seed=4)
    assert a == b
    assert a["ci"] != c["ci"]
    lo, hi = a["ci"]["corpus_bleu"]["2"]
    assert lo <= a["corpus_bleu"]["2"] <= hi
    assert a["bootstrap"] == {"resamples": 50, "seed": 3, "level": 0.95, "method": "percentile"}


def test_paper_mode_reproduces_the_published_bleu2(paper_dir):
    """The paper's 0.598 is GPT-4's paper-mode BLEU-2 on the released outputs; the others are not."""
    causes = read_table(paper_dir / "causes.csv")
    gold = read_table(paper_dir / "manual_causes.csv").set_index("id")["Cause Span"]
    refs = gold.loc[causes["id"]].tolist()
    bleu2 = {col: sm.paper_bleu_rows(refs, causes[col].tolist())[:, 1].mean()
             for col in ("ChatGPT", "GPT-4", "Flan-Alpaca-XL")}
    assert bleu2["GPT-4"] == pytest.approx(0.598, abs=0.003)
    assert abs(bleu2["ChatGPT"] - 0.598) > 0.05 and abs(bleu2["Flan-Alpaca-XL"] - 0.598) > 0.03
    # the same outputs in word-level BLEU-2 are far lower
    word = sm.evaluate_spans(refs, causes["GPT-4"].tolist(), "word")
    assert word["bleu"]["2"] == pytest.approx(0.512, abs=0.002)
    assert np.isclose(bleu2["GPT-4"], 0.5983, atol=5e-5)
