"""The cascade (``--gate``): a cheap offline classifier decides which rows the LLM sees.

A comment the gate scores clearly unemotional is not sent: its row gets ``Neutral`` with
``emotion_status = gated`` (for ``causes``: no cause, ``cause_status = gated``).  Every other
row goes to the LLM as usual.  On a study where most comments carry no emotion this saves
most of the LLM calls; the threshold sets how many emotional rows may be lost.

The gate is any backend that scores each of the six basic emotions per text:
``emotion_scores(texts)`` (probabilities, e.g. a fine-tuned encoder) or ``scores(texts)`` (the
margins of the ``trained`` backend's linear classifiers).  A row passes when its highest
score reaches the threshold.

The threshold is never chosen on a test set.  :func:`calibrate` picks it on labelled
training data: the scores each training comment gets from a model that did not see it
(k-fold cross-validation for the ``trained`` kinds, which are refit per fold; in-sample
scores for a gate that cannot be refit), and the highest threshold that keeps ``recall`` of
the training set's emotional comments.  It is stored as ``gate.json`` in the model folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emocause.backends import BACKENDS, Backend, create
from emocause.errors import UsageError
from emocause.files import write_text

#: The file in a gate model's folder that holds its calibrated threshold.
GATE_FILE = "gate.json"
#: Share of the training set's emotional comments a calibrated gate keeps, by default.
DEFAULT_RECALL = 0.95
#: ``--gate default`` (the shipped fine-tuned model): the margin over the emotions' thresholds that
#: keeps 95% of the emotional comments of github-train, from the out-of-fold scores of the model's
#: own 5-fold cross-validation (``python -m benchmarks.bench_cascade --gate default --oof FOLDS/oof.csv``).
SHIPPED_CALIBRATION: dict[str, Any] = {
    "threshold": -0.6298, "recall": 0.95, "folds": 5, "rows": 1600,
    "calibrated_on": "out-of-fold scores of emotions-minilm's 5-fold cross-validation on github-train.csv"}


def emotion_scores(backend: Backend, texts: Sequence[str]) -> np.ndarray:
    """(n x emotions) scores of a gate backend; higher means more likely emotional."""
    if hasattr(backend, "emotion_scores"):
        return np.asarray(backend.emotion_scores(list(texts)), dtype=np.float64)
    if hasattr(backend, "scores"):
        scores = np.asarray(backend.scores(list(texts)), dtype=np.float64)
        # Margins over each emotion's own threshold (log-odds for the finetuned backend; the
        # trained backend's thresholds are 0), so one gate threshold means the same for every emotion.
        thresholds = getattr(backend, "thresholds", None)
        return scores - np.asarray(thresholds, dtype=np.float64) if thresholds is not None else scores
    raise UsageError(f"the {backend.name} backend gives no per-emotion scores; a gate needs a model "
                     f"from `emocause train` or a backend with emotion_scores")


def gate_backend(spec: str, device: str | None = None) -> Backend:
    """``DIR`` (a ``trained`` model folder), ``BACKEND:MODEL``, or ``default`` (the fine-tuned gate)."""
    if spec == "default":
        if "finetuned" not in BACKENDS:
            raise UsageError("--gate default needs the finetuned backend, which this install lacks; give "
                             "--gate DIR, a model from `emocause train` (docs/scale.md)")
        return create("finetuned", device=device)
    if ":" in spec and not Path(spec).exists():
        name, model = spec.split(":", 1)
        return create(name, model=model, device=device)
    return create("trained", model=spec, device=device)


def threshold_for(scores: np.ndarray, emotional: np.ndarray, recall: float) -> float:
    """The highest threshold at which rows whose best score reaches it keep ``recall`` of the
    emotional rows."""
    if not 0 < recall <= 1:
        raise UsageError(f"--recall {recall}: give a share between 0 and 1 (e.g. 0.95)")
    best = np.sort(scores.max(axis=1)[emotional.astype(bool)])
    if not len(best):
        raise UsageError("the labelled data has no emotional comment to calibrate on")
    lost = math.floor(len(best) * (1 - recall) + 1e-9)  # emotional rows that may fall below
    return float(best[min(lost, len(best) - 1)])


def out_of_fold_scores(texts: Sequence[str], labels: np.ndarray, kind: str, folds: int = 5,
                       seed: int = 0) -> np.ndarray:
    """Each text's scores from a ``kind`` model trained on the other folds (stratified on
    whether the comment is emotional)."""
    from sklearn.model_selection import StratifiedKFold

    from emocause.backends import baselines

    if kind != "tfidf-svm":
        raise UsageError(f"cross-validated calibration refits tfidf-svm models; {kind} gates are "
                         f"calibrated on their training scores (calibrate(..., folds=0))")
    texts = list(texts)
    out = np.zeros((len(texts), labels.shape[1]))
    emotional = labels.any(axis=1).astype(int)
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, emotional):
        model = baselines.fit([texts[i] for i in train], labels[train], kind, seed=seed)
        out[held] = baselines.decision(model, [texts[i] for i in held])
    return out


@dataclass(frozen=True)
class Calibration:
    threshold: float
    recall: float
    folds: int
    rows: int
    emotional: int
    #: Share of the training rows the gate lets through at the threshold.
    passed_share: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def calibrate(texts: Sequence[str], labels: np.ndarray, backend: Backend | None = None, kind: str = "tfidf-svm",
              recall: float = DEFAULT_RECALL, folds: int = 5, seed: int = 0) -> Calibration:
    """The gate threshold from labelled training data (see the module docstring).

    ``folds`` > 1: out-of-fold scores of ``kind`` models refit per fold; ``folds=0``: the
    scores of ``backend`` itself (a gate that cannot be refit).
    """
    if folds > 1:
        scores = out_of_fold_scores(texts, labels, kind, folds, seed)
    elif backend is not None:
        scores = emotion_scores(backend, texts)
    else:
        raise UsageError("calibrate needs folds > 1 or a backend to score with")
    emotional = labels.any(axis=1)
    t = threshold_for(scores, emotional, recall)
    passed = float((scores.max(axis=1) >= t).mean())
    return Calibration(t, recall, folds, len(texts), int(emotional.sum()), passed)


def save_calibration(model_dir: str | Path, calibration: Calibration, source: dict[str, Any]) -> Path:
    return write_text(Path(model_dir) / GATE_FILE,
                      json.dumps({**calibration.as_dict(), "calibrated_on": source}, indent=2) + "\n")


class Gate:
    """A gate ready to score rows: its backend and threshold."""

    def __init__(self, spec: str, threshold: float | None = None, device: str | None = None) -> None:
        self.spec = spec
        self.backend = gate_backend(spec, device)
        self.calibration: dict[str, Any] | None = None
        if threshold is None and spec == "default":
            self.calibration = dict(SHIPPED_CALIBRATION)
            threshold = float(SHIPPED_CALIBRATION["threshold"])
        if threshold is None:
            stored = Path(spec) / GATE_FILE
            if not stored.is_file():
                raise UsageError(f"--gate {spec}: no calibrated threshold ({GATE_FILE}); run `emocause "
                                 f"calibrate-gate LABELED --model {spec}` or give --gate-threshold")
            try:
                self.calibration = json.loads(stored.read_text(encoding="utf-8"))
                threshold = float(self.calibration["threshold"])  # type: ignore[index]
            except (ValueError, KeyError, TypeError):
                raise UsageError(f"{stored}: not a gate calibration; run `emocause calibrate-gate` again") from None
        self.threshold = float(threshold)

    def passes(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text goes to the LLM (empty texts are skipped anyway: they pass here)."""
        keep = [i for i, t in enumerate(texts) if t.strip()]
        out = [True] * len(texts)
        if keep:
            best = emotion_scores(self.backend, [texts[i] for i in keep]).max(axis=1)
            for i, score in zip(keep, best):
                out[i] = bool(score >= self.threshold)
        return out

    def describe(self) -> dict[str, Any]:
        return {"model": self.spec, "backend": self.backend.name, "threshold": self.threshold,
                "calibration": self.calibration}

    def close(self) -> None:
        self.backend.close()
