"""Scores of predicted cause spans against gold spans: BLEU (two flavours), token F1, exact match.

Two BLEU modes, because the paper's number and the standard number answer
different questions:

``word`` (default)
    sacrebleu's BLEU over words (13a tokenizer, case kept).  Sentence-level
    scores use sacrebleu's sentence settings (exponential smoothing, effective
    order) and are averaged over rows; the corpus-level score pools n-gram
    counts over all rows (sacrebleu's corpus defaults).  BLEU-n uses n-grams of
    order 1..n with uniform weights.  Scores are on the 0-1 scale (sacrebleu's
    0-100 divided by 100) so both modes compare directly.

``paper``
    What the paper's replication notebook (``blue_score/bleu.ipynb``) computes:
    each text is cleaned (printable ASCII only, every run of non-alphanumerics
    becomes one space, lowercase, trimmed), then NLTK's ``sentence_bleu`` is
    called with ``[reference]`` and ``hypothesis`` as plain *strings*, so its
    n-grams are n-grams of **characters** (spaces included); weights
    (1.0), (0.5, 0.5), (0.33, 0.33, 0.33), (0.25, 0.25, 0.25, 0.25) exactly as
    in the notebook (note BLEU-3's weights sum to 0.99); no smoothing; the
    per-row scores are averaged.  :func:`char_bleu_paper` re-implements those
    semantics in a few lines (NLTK itself is only used by the tests, as a
    cross-check): a sentence with no matching character scores 0, a zero
    precision at an order with positive weight scores 0 (NLTK returns a
    number below 1e-70 with a warning), the brevity penalty is per sentence,
    ``exp(1 - r/c)`` when the hypothesis is not longer than the reference.

The notebook additionally lemmatises (WordNet, POS-tagged) and Porter-stems
the words before scoring; that needs NLTK's data packages and is left out.
On the released outputs the difference is below 0.003 BLEU (see
docs/metrics.md).

Token F1 and exact match follow the SQuAD evaluation script (lowercase, ASCII
punctuation and the articles a/an/the removed, whitespace collapsed; token
multiset overlap); as in SQuAD 2.0, two empty spans agree (F1 = EM = 1).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from emocause.evaluate import metrics

#: BLEU-n weights of the paper's notebook (BLEU-3 really uses 0.33, not 1/3).
PAPER_WEIGHTS: dict[int, tuple[float, ...]] = {
    1: (1.0,), 2: (0.5, 0.5), 3: (0.33, 0.33, 0.33), 4: (0.25, 0.25, 0.25, 0.25)}
ORDERS = (1, 2, 3, 4)
MODES = ("word", "paper")

_PRINTABLE = frozenset(string.printable)
_NON_ALNUM = re.compile(r"[^0-9a-zA-Z]+")
_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def paper_clean(text: str) -> str:
    """The notebook's cleaning: printable ASCII, non-alphanumeric runs -> one space, lowercase, trim."""
    kept = "".join(ch for ch in text if ch in _PRINTABLE)
    return _NON_ALNUM.sub(" ", kept).lower().strip()


def _char_ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def char_bleu_paper(reference: str, hypothesis: str, weights: Sequence[float]) -> float:
    """NLTK ``sentence_bleu([reference], hypothesis, weights)`` for plain strings, no smoothing.

    Both arguments are already cleaned; n-grams are substrings of n characters.
    """
    hyp_len, ref_len = len(hypothesis), len(reference)
    if hyp_len == 0:
        return 0.0
    log_sum = 0.0
    for n, w in enumerate(weights, start=1):
        hyp_counts = _char_ngrams(hypothesis, n)
        ref_counts = _char_ngrams(reference, n)
        matched = sum(min(c, ref_counts[g]) for g, c in hyp_counts.items())
        if matched == 0:
            if n == 1 or w > 0:
                return 0.0
            continue
        total = max(1, hyp_len - n + 1)
        log_sum += w * math.log(matched / total)
    bp = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    return bp * math.exp(log_sum)


def paper_bleu_rows(references: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
    """Per-row paper-mode BLEU-1..4 as an ``(n, 4)`` array (texts are cleaned here)."""
    out = np.zeros((len(references), len(ORDERS)))
    for i, (ref, hyp) in enumerate(zip(references, hypotheses)):
        r, h = paper_clean(ref), paper_clean(hyp)
        for j, n in enumerate(ORDERS):
            out[i, j] = char_bleu_paper(r, h, PAPER_WEIGHTS[n])
    return out


PAPER_SIGNATURE = ("paper|unit:char|clean:printable-ascii+alnum-runs+lower+strip|"
                   "weights:1;.5,.5;.33,.33,.33;.25x4|smooth:none|bp:sentence|avg:sentence")


def word_bleu_stats(references: Sequence[str], hypotheses: Sequence[str]) -> tuple[np.ndarray, dict[str, str]]:
    """sacrebleu's sufficient statistics per row, and the signatures.

    Returns an ``(n, 10)`` array ``[sys_len, ref_len, correct_1..4, total_1..4]``
    (sums of rows give corpus statistics of any subset or resample) and the
    sacrebleu signatures of the sentence- and corpus-level settings.
    """
    from sacrebleu.metrics import BLEU

    sent = BLEU(max_ngram_order=4, effective_order=True)
    rows = np.zeros((len(references), 10))
    for i, (ref, hyp) in enumerate(zip(references, hypotheses)):
        s = sent.sentence_score(hyp, [ref])
        rows[i] = [s.sys_len, s.ref_len, *s.counts, *s.totals]
    corpus = BLEU(max_ngram_order=4)
    corpus.corpus_score(["x"], [["x"]])  # the signature needs one evaluation (number of references)
    if not len(references):
        sent.sentence_score("x", ["x"])
    return rows, {"sentence": sent.get_signature().format(), "corpus": corpus.get_signature().format()}


def _bleu_from_stats(stats: np.ndarray, n: int, sentence: bool) -> float:
    from sacrebleu.metrics import BLEU

    return BLEU.compute_bleu(
        correct=[int(x) for x in stats[2:2 + n]], total=[int(x) for x in stats[6:6 + n]],
        sys_len=int(stats[0]), ref_len=int(stats[1]), smooth_method="exp",
        effective_order=sentence, max_ngram_order=n).score / 100.0


def sentence_bleu_rows(stats: np.ndarray) -> np.ndarray:
    """Per-row word BLEU-1..4 (sacrebleu sentence settings) as an ``(n, 4)`` array."""
    out = np.zeros((stats.shape[0], len(ORDERS)))
    for i, row in enumerate(stats):
        for j, n in enumerate(ORDERS):
            out[i, j] = _bleu_from_stats(row, n, sentence=True)
    return out


def corpus_bleu(stats: np.ndarray) -> dict[str, float]:
    """Corpus word BLEU-1..4 from summed statistics (an ``(10,)`` vector)."""
    return {str(n): _bleu_from_stats(stats, n, sentence=False) for n in ORDERS}


def squad_normalize(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, drop punctuation, drop articles, collapse spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(gold: str, pred: str) -> float:
    """SQuAD token F1 between two spans (both empty -> 1, one empty -> 0)."""
    g, p = squad_normalize(gold).split(), squad_normalize(pred).split()
    if not g or not p:
        return float(g == p)
    same = sum((Counter(g) & Counter(p)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(gold: str, pred: str) -> float:
    """1.0 when the SQuAD-normalised spans are equal."""
    return float(squad_normalize(gold) == squad_normalize(pred))


def word_count(text: str, mode: str) -> int:
    """Words of a span: whitespace words of the text (word mode) or of the cleaned text (paper mode)."""
    return len((paper_clean(text) if mode == "paper" else text).split())


def grounding_kinds(spans: Sequence[str], texts: Sequence[str]) -> list[str]:
    """How each span is grounded in its text: exact, normalized, fuzzy, none, or empty (no span)."""
    from emocause.emotions.grounding import ground

    return ["empty" if not s.strip() else ground(s, t).kind for s, t in zip(spans, texts)]


def evaluate_spans(golds: Sequence[str], preds: Sequence[str], mode: str = "word",
                   texts: Sequence[str] | None = None, n_boot: int = 0, seed: int = 0,
                   level: float = metrics.LEVEL) -> dict[str, Any]:
    """All span scores for aligned gold/predicted spans (and the comments, for grounding).

    Returns a JSON-ready dict: ``n``, ``mode``, ``bleu`` (row average of
    BLEU-1..4), ``corpus_bleu`` (word mode), ``signature``, ``token_f1``,
    ``exact_match``, ``span_words`` (mean words of gold and predicted spans),
    ``empty_predictions``, ``grounded`` (share of non-empty predictions found
    in the comment, by kind; ``None`` without texts) and, when ``n_boot`` > 0,
    ``ci`` with the same structure holding [low, high] percentile intervals.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    golds = [str(g) for g in golds]
    preds = [str(p) for p in preds]
    if len(golds) != len(preds):
        raise ValueError("golds and preds differ in length")
    n = len(golds)
    if n == 0:
        raise ValueError("no rows to evaluate")
    if mode == "paper":
        bleu_rows = paper_bleu_rows(golds, preds)
        stats, signature = None, {"sentence": PAPER_SIGNATURE}
    else:
        stats, signature = word_bleu_stats(golds, preds)
        bleu_rows = sentence_bleu_rows(stats)
    f1 = np.array([token_f1(g, p) for g, p in zip(golds, preds)])
    em = np.array([exact_match(g, p) for g, p in zip(golds, preds)])
    gold_words = np.array([word_count(g, mode) for g in golds], dtype=float)
    pred_words = np.array([word_count(p, mode) for p in preds], dtype=float)
    nonempty = np.array([bool(p.strip()) for p in preds], dtype=float)

    result: dict[str, Any] = {
        "n": n, "mode": mode,
        "bleu": {str(k): float(bleu_rows[:, j].mean()) for j, k in enumerate(ORDERS)},
        "corpus_bleu": corpus_bleu(stats.sum(0)) if stats is not None else None,
        "signature": signature,
        "token_f1": float(f1.mean()), "exact_match": float(em.mean()),
        "span_words": {"gold": float(gold_words.mean()), "pred": float(pred_words.mean())},
        "empty_predictions": int(n - nonempty.sum()),
        "grounded": None,
    }
    grounded = None
    if texts is not None:
        kinds = grounding_kinds(preds, [str(t) for t in texts])
        grounded = np.array([k not in ("none", "empty") for k in kinds], dtype=float)
        counted = Counter(k for k in kinds if k != "empty")
        spans = int(nonempty.sum())
        result["grounded"] = {
            "share": float(grounded.sum() / spans) if spans else None, "spans": spans,
            "by_kind": {k: int(counted.get(k, 0)) for k in ("exact", "normalized", "fuzzy", "none")}}
    if n_boot > 0:
        w = metrics.Resamples(n, n_boot, seed)
        per_row = {f"bleu{k}": bleu_rows[:, j] for j, k in enumerate(ORDERS)}
        per_row.update(token_f1=f1, exact_match=em, gold_words=gold_words, pred_words=pred_words)
        iv = metrics.mean_intervals(per_row, w, level)
        ci: dict[str, Any] = {
            "bleu": {str(k): iv[f"bleu{k}"] for k in ORDERS},
            "token_f1": iv["token_f1"], "exact_match": iv["exact_match"],
            "span_words": {"gold": iv["gold_words"], "pred": iv["pred_words"]},
            "corpus_bleu": None, "grounded": None}
        if stats is not None:
            resampled = w @ stats
            boot = np.array([[_bleu_from_stats(row, k, sentence=False) for k in ORDERS]
                             for row in resampled])
            lohi = metrics.percentile_interval(boot, level)
            ci["corpus_bleu"] = {str(k): [float(lohi[0, j]), float(lohi[1, j])]
                                 for j, k in enumerate(ORDERS)}
        if grounded is not None:
            ci["grounded"] = metrics.ratio_interval(grounded, nonempty, w, level)
        result["ci"] = ci
        result["bootstrap"] = {"resamples": n_boot, "seed": seed, "level": level,
                               "method": "percentile"}
    return result
