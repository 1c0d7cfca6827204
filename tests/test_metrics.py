"""Metric functions against hand-computed cases and scikit-learn; bootstrap behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from emocause.evaluate import metrics

LABELS = ("A", "B", "C")


def test_hand_computed_multilabel():
    # rows x labels; label A: TP=2 FP=1 FN=1; label B: TP=0 FP=0 FN=2; label C: TP=1 FP=1 FN=0
    y = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 0, 0]])
    p = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1], [1, 0, 0]])
    r = metrics.multilabel_scores(y, p, LABELS)
    assert r["n"] == 4
    a, b, c = (r["per_label"][k] for k in LABELS)
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3, 3))
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == (0.0, 0.0, 0.0, 2)  # nothing predicted
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == pytest.approx((0.5, 1.0, 2 / 3, 1))
    assert r["macro"]["f1"] == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)
    # micro pools TP=3, FP=2, FN=3
    assert r["micro"]["precision"] == pytest.approx(3 / 5)
    assert r["micro"]["recall"] == pytest.approx(3 / 6)
    assert r["micro"]["f1"] == pytest.approx(6 / 11)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.random((200, 6)) < 0.2
    p = rng.random((200, 6)) < 0.25
    y[:, 4] = False          # a label that never occurs
    p[:, 5] = False          # a label never predicted
    names = [f"L{i}" for i in range(6)]
    r = metrics.multilabel_scores(y, p, names)
    P, R, F, S = precision_recall_fscore_support(y, p, average=None, zero_division=0)
    for i, name in enumerate(names):
        got = r["per_label"][name]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((P[i], R[i], F[i]))
        assert got["support"] == S[i]
    for avg in ("macro", "micro"):
        P, R, F, _ = precision_recall_fscore_support(y, p, average=avg, zero_division=0)
        assert (r[avg]["precision"], r[avg]["recall"], r[avg]["f1"]) == pytest.approx((P, R, F))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        metrics.multilabel_scores(np.zeros((3, 2)), np.zeros((3, 3)), ("a", "b"))


def test_resample_weights_are_seeded_histograms():
    w = metrics.resample_weights(50, 30, seed=7)
    assert w.shape == (30, 50)
    assert np.all(w.sum(1) == 50)
    assert np.array_equal(w, metrics.resample_weights(50, 30, seed=7))
    assert not np.array_equal(w, metrics.resample_weights(50, 30, seed=8))
    # the histogram of the same index draws
    idx = np.random.default_rng(7).integers(0, 50, size=(30, 50))
    assert np.array_equal(w[3], np.bincount(idx[3], minlength=50))
    with pytest.raises(ValueError):
        metrics.resample_weights(0, 10, 0)


def test_vectorised_intervals_equal_explicit_resampling_with_sklearn():
    rng = np.random.default_rng(3)
    y = rng.random((60, 3)) < 0.3
    p = rng.random((60, 3)) < 0.3
    n_boot, seed = 25, 11
    w = metrics.resample_weights(len(y), n_boot, seed)
    iv = metrics.multilabel_intervals(y, p, LABELS, w)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    f1 = np.array([precision_recall_fscore_support(y[i], p[i], average=None, zero_division=0)[2] for i in idx])
    macro = np.array([precision_recall_fscore_support(y[i], p[i], average="macro", zero_division=0)[2]
                      for i in idx])
    micro_p = np.array([precision_recall_fscore_support(y[i], p[i], average="micro", zero_division=0)[0]
                        for i in idx])
    for j, lab in enumerate(LABELS):
        assert iv["per_label"][lab]["f1"] == pytest.approx(list(np.quantile(f1[:, j], [0.025, 0.975])))
    assert iv["macro"]["f1"] == pytest.approx(list(np.quantile(macro, [0.025, 0.975])))
    assert iv["micro"]["precision"] == pytest.approx(list(np.quantile(micro_p, [0.025, 0.975])))


def test_intervals_are_deterministic_and_bracket_the_estimate():
    rng = np.random.default_rng(5)
    y = rng.random((400, 6)) < 0.2
    p = y ^ (rng.random((400, 6)) < 0.1)
    names = [str(i) for i in range(6)]
    a = metrics.multilabel_intervals(y, p, names, metrics.resample_weights(400, 200, 0))
    b = metrics.multilabel_intervals(y, p, names, metrics.resample_weights(400, 200, 0))
    c = metrics.multilabel_intervals(y, p, names, metrics.resample_weights(400, 200, 1))
    assert a == b
    assert a != c
    point = metrics.multilabel_scores(y, p, names)["macro"]["f1"]
    lo, hi = a["macro"]["f1"]
    assert lo < point < hi


def test_paired_bootstrap_identical_systems():
    rng = np.random.default_rng(0)
    y = rng.random((100, 6)) < 0.3
    p = rng.random((100, 6)) < 0.3
    t = metrics.paired_macro_f1(y, p, p.copy(), metrics.resample_weights(100, 200, 0))
    assert t.diff == 0.0 and t.ci == (0.0, 0.0) and t.p_value == 1.0
    assert t.as_dict()["resamples"] == 200


def test_paired_bootstrap_detects_a_clearly_better_system():
    rng = np.random.default_rng(1)
    y = rng.random((300, 6)) < 0.3
    weak = rng.random((300, 6)) < 0.3                   # random guessing
    strong = y ^ (rng.random((300, 6)) < 0.05)          # 5% of cells flipped
    t = metrics.paired_macro_f1(y, weak, strong, metrics.resample_weights(300, 500, 0))
    assert t.diff > 0.4
    assert t.ci[0] > 0
    assert t.p_value == pytest.approx(1 / 501)          # no resample as extreme: the floor
    u = metrics.paired_macro_f1(y, strong, weak, metrics.resample_weights(300, 500, 0))
    assert u.diff == pytest.approx(-t.diff) and u.ci[1] < 0


def test_paired_p_value_counts_centred_resamples():
    # diff = 0.1; centred resamples |d* - d| = 0.05, 0.1, 0.2 -> two of three at least as extreme
    t = metrics.paired_bootstrap(0.5, 0.6, np.array([0.5, 0.5, 0.5]), np.array([0.65, 0.7, 0.8]))
    assert t.diff == pytest.approx(0.1)
    assert t.p_value == pytest.approx((1 + 2) / (1 + 3))


def test_mean_and_ratio_intervals():
    v = np.arange(10, dtype=float)
    w = metrics.resample_weights(10, 300, 0)
    iv = metrics.mean_intervals({"v": v}, w)["v"]
    assert iv[0] < v.mean() < iv[1]
    exact = np.quantile(w @ v / 10, [0.025, 0.975])
    assert iv == pytest.approx(list(exact))
    assert metrics.ratio_interval(np.ones(10), np.zeros(10), w) is None
    lo, hi = metrics.ratio_interval(np.array([1, 0] * 5, float), np.ones(10), w)
    assert 0 <= lo < 0.5 < hi <= 1


def test_prf_zero_division_is_zero():
    p, r, f = metrics.prf(np.array([0]), np.array([0]), np.array([0]))
    assert (p[0], r[0], f[0]) == (0.0, 0.0, 0.0)
