"""Supervised baselines: one binary linear classifier per basic emotion, saved without pickle.

The paper compares zero-shot LLMs with supervised emotion classifiers trained
on labelled developer comments.  Two kinds are offered here:

* ``tfidf-svm``, after ESEM-E (Murgia et al.): TF-IDF of word uni- and
  bi-grams, a linear SVM per emotion.
* ``embedding-logreg``: sentence embeddings (all-MiniLM-L6-v2 by default)
  and a logistic regression per emotion.  A comment's features are the
  embedding of the whole (cleaned) comment next to the mean embedding of its
  sentences, the same sentences the ``embedding`` backend scores.

Hyper-parameters were chosen by cross-validation on ``github-train.csv`` only
(the search and its figures: docs/backends.md).

A model is a directory of plain files, so loading one can never run code
(no pickle, no joblib): ``model.json`` (kind, emotions, parameters, training
provenance), ``coef.npy`` and ``intercept.npy`` (k x d weights, k biases), and
for ``tfidf-svm`` ``vocabulary.json`` (the n-grams in feature order) and
``idf.npy``.  Arrays are read with ``allow_pickle=False``.  A comment's score
for an emotion is ``features @ coef[k] + intercept[k]``: the SVM margin or
the logistic log-odds; the classifier fires when the score is above 0.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emocause.errors import UsageError
from emocause.emotions.taxonomy import BASIC

KINDS = ("tfidf-svm", "embedding-logreg")
FORMAT = "emocause-linear-model"
FORMAT_VERSION = 1

#: Chosen by cross-validation on github-train.csv (docs/backends.md).
TFIDF_PARAMS: dict[str, Any] = {"ngram_range": [1, 2], "min_df": 2, "lowercase": True,
                                "sublinear_tf": False}
SVM_PARAMS: dict[str, Any] = {"C": 0.05, "class_weight": "balanced"}
LOGREG_PARAMS: dict[str, Any] = {"C": 0.3, "class_weight": "balanced", "max_iter": 3000}

#: texts -> L2-normalised embeddings (n x d); lets callers choose progress display and device.
Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass
class LinearModel:
    """A trained baseline: one linear scorer per emotion (rows of ``coef``)."""

    kind: str
    emotions: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    vocabulary: list[str] | None = None
    idf: np.ndarray | None = None

    @property
    def embedding_model(self) -> str | None:
        return self.meta.get("embedding_model")


# -- labelled data ----------------------------------------------------------------------------
def parse_labels(df: Any, where: str, emotions: Sequence[str] = BASIC) -> np.ndarray:
    """The 0/1 emotion columns as an int matrix (n x k); one clear error for anything else."""
    from emocause.tables import require_columns

    require_columns(df, emotions, where)
    out = np.zeros((len(df), len(emotions)), dtype=np.int8)
    for j, col in enumerate(emotions):
        for i, value in enumerate(df[col].tolist()):
            v = str(value).strip().lower()
            if v in ("1", "1.0", "true", "yes"):
                out[i, j] = 1
            elif v not in ("0", "0.0", "false", "no", "", "nan", "none"):
                raise UsageError(f"{where}: column {col!r} must hold 0/1 labels; row {i + 1} has "
                                 f"{str(value)[:40]!r}")
    return out


# -- features ---------------------------------------------------------------------------------
def embedding_features(texts: Sequence[str], encode: Encoder) -> np.ndarray:
    """[whole-comment embedding, mean of sentence embeddings] per comment (n x 2d), one encode call."""
    from emocause.emotions.candidates import comment_sentences, model_text

    wholes = [model_text(t) for t in texts]
    sents = [comment_sentences(t) for t in texts]
    unique = list(dict.fromkeys([*wholes, *(s for ss in sents for s in ss)]))
    index = {u: i for i, u in enumerate(unique)}
    vecs = encode(unique)
    out = np.empty((len(texts), 2 * vecs.shape[1]), dtype=np.float32)
    for i, (whole, ss) in enumerate(zip(wholes, sents)):
        mean = vecs[[index[s] for s in ss]].mean(axis=0)
        out[i, : vecs.shape[1]] = vecs[index[whole]]
        out[i, vecs.shape[1]:] = mean / (np.linalg.norm(mean) or 1.0)
    return out


def _vectorizer(vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    p = TFIDF_PARAMS
    return TfidfVectorizer(ngram_range=tuple(p["ngram_range"]), min_df=1 if vocabulary else p["min_df"],
                           lowercase=p["lowercase"], sublinear_tf=p["sublinear_tf"],
                           vocabulary=vocabulary)


def _classifier(kind: str, seed: int) -> Any:
    if kind == "tfidf-svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(random_state=seed, **SVM_PARAMS)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(random_state=seed, **LOGREG_PARAMS)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    return kind


# -- training ---------------------------------------------------------------------------------
def fit(texts: Sequence[str], labels: np.ndarray, kind: str, seed: int = 0,
        encode: Encoder | None = None, embedding_model: str | None = None,
        emotions: Sequence[str] = BASIC, on_emotion: Callable[[str], None] | None = None,
        features: np.ndarray | None = None) -> LinearModel:
    """Train one binary classifier per emotion column of ``labels``.

    ``encode`` (and the name of its model) is required for ``embedding-logreg``;
    ``features`` may pass precomputed embedding features instead.
    ``on_emotion`` is called after each emotion's classifier is trained (progress).
    """
    check_kind(kind)
    if len(texts) == 0:
        raise UsageError("no labelled comments to train on")
    vocabulary = idf = None
    if kind == "tfidf-svm":
        vec = _vectorizer()
        try:
            X = vec.fit_transform(texts)
        except ValueError as exc:  # e.g. every n-gram below min_df
            raise UsageError(f"cannot build TF-IDF features: {exc}") from None
        terms = vec.get_feature_names_out()
        vocabulary, idf = [str(t) for t in terms], vec.idf_.astype(np.float64)
    else:
        if features is None:
            if encode is None:
                raise ValueError("embedding-logreg needs an encoder")
            features = embedding_features(texts, encode)
        X = features
    coef = np.zeros((len(emotions), X.shape[1]), dtype=np.float64)
    intercept = np.zeros(len(emotions), dtype=np.float64)
    positives: dict[str, int] = {}
    for j, emotion in enumerate(emotions):
        y = labels[:, j].astype(int)
        positives[emotion] = int(y.sum())
        if y.min() == y.max():
            raise UsageError(f"column {emotion!r}: every comment is labelled {int(y[0])}; "
                             f"a classifier needs both 0 and 1 examples")
        clf = _classifier(kind, seed).fit(X, y)
        coef[j] = np.asarray(clf.coef_).ravel()
        intercept[j] = float(np.asarray(clf.intercept_).ravel()[0])
        if on_emotion is not None:
            on_emotion(emotion)
    params = {"tfidf": TFIDF_PARAMS, "svm": SVM_PARAMS} if kind == "tfidf-svm" else \
        {"logreg": LOGREG_PARAMS, "features": "whole+sentence-mean"}
    meta: dict[str, Any] = {"params": params, "seed": seed, "rows": len(texts),
                            "positives": positives, "n_features": int(X.shape[1])}
    if kind == "embedding-logreg":
        meta["embedding_model"] = embedding_model
    return LinearModel(kind, tuple(emotions), coef, intercept, meta, vocabulary, idf)


def cross_validate(texts: Sequence[str], labels: np.ndarray, kind: str, folds: int, seed: int = 0,
                   features: np.ndarray | None = None,
                   emotions: Sequence[str] = BASIC) -> dict[str, float]:
    """Per-emotion F1 of ``folds``-fold stratified cross-validation (TF-IDF refit in each fold)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    out: dict[str, float] = {}
    for j, emotion in enumerate(emotions):
        y = labels[:, j].astype(int)
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        if kind == "tfidf-svm":
            pred = cross_val_predict(make_pipeline(_vectorizer(), _classifier(kind, seed)),
                                     np.asarray(texts, dtype=object), y, cv=cv)
        else:
            pred = cross_val_predict(_classifier(kind, seed), features, y, cv=cv)
        out[emotion] = float(f1_score(y, pred, zero_division=0))
    return out


# -- scoring ----------------------------------------------------------------------------------
def decision(model: LinearModel, texts: Sequence[str], encode: Encoder | None = None,
             features: np.ndarray | None = None) -> np.ndarray:
    """Scores (n x k): above 0 means the emotion's classifier fires."""
    if model.kind == "tfidf-svm":
        assert model.vocabulary is not None and model.idf is not None
        vec = _vectorizer({t: i for i, t in enumerate(model.vocabulary)})
        vec.idf_ = model.idf
        X = vec.transform(list(texts))
        return np.asarray(X @ model.coef.T) + model.intercept
    if features is None:
        if encode is None:
            raise ValueError("embedding-logreg needs an encoder")
        features = embedding_features(texts, encode)
    return features.astype(np.float64) @ model.coef.T + model.intercept


# -- files ------------------------------------------------------------------------------------
def check_output_dir(directory: str | Path) -> Path:
    """A directory a model may be written to: new, empty, or holding an earlier model (replaced)."""
    from emocause.files import check_writable

    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise UsageError(f"--model-out {d}: a file of that name exists; give a directory")
    if d.is_dir() and any(d.iterdir()) and not (d / "model.json").is_file():
        raise UsageError(f"--model-out {d}: the directory is not empty and holds no emocause model; "
                         f"give a new or empty directory")
    check_writable(d, "--model-out", directory=True)
    return d


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save(model: LinearModel, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the model directory (JSON + .npy only, each file atomically); returns ``model.json``'s path."""
    from emocause.files import write_bytes, write_text

    d = check_output_dir(directory)
    d.mkdir(parents=True, exist_ok=True)
    write_bytes(d / "coef.npy", _npy_bytes(model.coef))
    write_bytes(d / "intercept.npy", _npy_bytes(model.intercept))
    for stale in ("idf.npy", "vocabulary.json"):
        (d / stale).unlink(missing_ok=True)
    if model.kind == "tfidf-svm":
        write_bytes(d / "idf.npy", _npy_bytes(model.idf))
        write_text(d / "vocabulary.json", json.dumps(model.vocabulary, ensure_ascii=False))
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "kind": model.kind,
           "emotions": list(model.emotions), **model.meta, **(extra or {})}
    return write_text(d / "model.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def load(directory: str | Path) -> LinearModel:
    """Read a model directory written by :func:`save`, validating every part before reading it.

    Every file must be a regular file under a size cap, every array's header
    is checked (numeric dtype, a shape that fits the model and the file's
    size) before its data is read: :mod:`emocause.backends.artifacts`.
    """
    from emocause.backends.artifacts import read_array, read_description, read_json, regular_file

    d = Path(directory).expanduser()
    where = f"model {d}"
    doc, emotions = read_description(d, FORMAT, FORMAT_VERSION, "emocause train LABELED --model-out DIR")
    kind = check_kind(str(doc.get("kind")))
    k = len(emotions)
    coef = read_array(d / "coef.npy", where, ndim=2, shape=(k, None))
    intercept = read_array(d / "intercept.npy", where, shape=(k,))
    if not (np.issubdtype(coef.dtype, np.floating) and np.issubdtype(intercept.dtype, np.floating)):
        raise UsageError(f"model {d}: weights must be floating point, not {coef.dtype}/{intercept.dtype}")
    vocabulary = idf = None
    if kind == "tfidf-svm":
        idf = read_array(d / "idf.npy", where, shape=(coef.shape[1],))
        vocab_path = d / "vocabulary.json"
        regular_file(vocab_path, 64 * coef.shape[1] * 16 + 1024, where)  # ~1 KB per term at most
        vocabulary = read_json(vocab_path, where)
        if not (isinstance(vocabulary, list) and all(isinstance(t, str) for t in vocabulary)
                and len(vocabulary) == coef.shape[1] == idf.shape[0]):
            raise UsageError(f"model {d}: vocabulary, idf and weights disagree in size")
        if len(set(vocabulary)) != len(vocabulary):
            raise UsageError(f"model {d}: vocabulary.json repeats terms")
    elif not isinstance(doc.get("embedding_model"), str) or not doc.get("embedding_model"):
        raise UsageError(f"model {d}: model.json does not name its embedding model")
    meta = {k: v for k, v in doc.items() if k not in ("format", "version", "kind", "emotions")}
    return LinearModel(kind, tuple(str(e) for e in emotions), coef.astype(np.float64),
                       intercept.astype(np.float64), meta, vocabulary,
                       None if idf is None else idf.astype(np.float64))
