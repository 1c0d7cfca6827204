"""Describing clusters of causes: keywords, a label, representative causes, who wrote them.

Keywords are class-based TF-IDF (c-TF-IDF, as in BERTopic): every cluster,
and the unclustered causes as one more class, is treated as one document; a
term scores high for a cluster when it is frequent there and rare across the
clusters.  Counting unclustered causes as a class keeps words that are common
everywhere ("issue", "tensorflow") from becoming every theme's keyword.  A
term must also appear in at least two of a cluster's causes, so one long cause
cannot name its theme.

Everything here is a pure function of the causes, their embeddings and their
labels; the report module does the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Tokens that survive sklearn's English stop list but say nothing in comments.
EXTRA_STOP_WORDS = frozenset({
    "don", "doesn", "didn", "isn", "wasn", "aren", "won", "ll", "ve", "re", "hi", "hello",
    "thanks", "thank", "please", "just", "like", "think", "ok", "okay", "yes", "sure",
    "maybe", "really", "actually", "know", "let", "lot", "got", "get", "use", "used",
    "using", "did", "does", "doing", "going", "want", "need", "needs", "way", "thing", "things",
})

_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MENTION = re.compile(r"(?<!\w)@[\w-]+")
_HEX = re.compile(r"\b[0-9a-f]{7,40}\b", re.I)
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z0-9_+#-]*[a-zA-Z0-9+#]\b"


def clean(text: str) -> str:
    """A cause without links, @mentions and commit hashes (they are not themes)."""
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return _HEX.sub(" ", text)


@dataclass
class Theme:
    """One reported cluster."""

    id: int
    size: int
    share: float
    keywords: list[str]
    scores: list[float]
    label: str
    examples: list[int]  # row positions of the causes closest to the centre
    similarities: list[float]  # their cosine similarity to the centre
    roles: dict[str, int] = field(default_factory=dict)
    cohesion: float = 0.0  # mean cosine similarity of members to the centre


def ctfidf(texts: Sequence[str], classes: np.ndarray, vectorizer) -> tuple[  # type: ignore[no-untyped-def]
        np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(terms, classes, scores, causes containing the term, causes) per class row; ``None``
    when ``texts`` hold no term at all.

    Score of term t in class c: ``tf(t, c) / |c| * log(1 + A / f(t))`` with
    ``|c|`` the words in c, ``A`` the mean words per class and ``f(t)`` the
    frequency of t over all classes (every class, ``-1`` included, is a row).
    """
    from scipy.sparse import csr_matrix

    try:
        docs = vectorizer.fit_transform([clean(t) for t in texts])
    except ValueError:  # nothing but stop words
        return None
    terms = vectorizer.get_feature_names_out()
    all_classes, cls_idx = np.unique(np.asarray(classes), return_inverse=True)
    cls_idx = cls_idx.ravel()
    onehot = csr_matrix((np.ones(len(cls_idx)), (cls_idx, np.arange(len(cls_idx)))),
                        shape=(len(all_classes), len(cls_idx)))
    counts = np.asarray((onehot @ docs).todense(), dtype=np.float64)
    present = np.asarray((onehot @ (docs > 0).astype(np.float64)).todense())
    words = counts.sum(axis=1, keepdims=True)
    words[words == 0] = 1.0
    idf = np.log1p((counts.sum() / len(all_classes)) / np.maximum(counts.sum(axis=0), 1.0))
    sizes = np.bincount(cls_idx, minlength=len(all_classes))
    return np.asarray(terms), all_classes, counts / words * idf, present, sizes


def ctfidf_keywords(texts: Sequence[str], classes: np.ndarray, top_n: int = 8,
                    ngram_range: tuple[int, int] = (1, 3),
                    min_docs: int = 2) -> dict[int, list[tuple[str, float]]]:
    """Top c-TF-IDF terms for every class ``>= 0`` (class ``-1`` only informs the IDF).

    Stop words are removed before n-grams are formed (see :func:`ctfidf`).
    Terms in fewer than ``min_docs`` causes of the class are skipped (unless the
    class is smaller than that).
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = np.asarray(classes)
    wanted = sorted(int(c) for c in np.unique(classes) if c >= 0)
    if not wanted:
        return {}
    vectorizer = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS),
                                 token_pattern=_TOKEN, ngram_range=ngram_range, lowercase=True)
    table = ctfidf(texts, classes, vectorizer)
    if table is None:
        return {c: [] for c in wanted}
    terms, all_classes, scores, present, sizes = table
    out: dict[int, list[tuple[str, float]]] = {}
    for row, c in enumerate(all_classes):
        if c < 0:
            continue
        need = min(min_docs, int(sizes[row]))
        s = np.where(present[row] >= need, scores[row], 0.0)
        top = [j for j in np.argsort(-s, kind="stable")[:top_n * 3] if s[j] > 0]
        out[int(c)] = [(str(terms[j]), float(s[j])) for j in top]
    return {c: _drop_redundant(out.get(c, []), top_n) for c in wanted}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _drop_redundant(ranked: list[tuple[str, float]], top_n: int) -> list[tuple[str, float]]:
    """Fold shorter terms into the longer phrases that contain them, keeping ``top_n`` terms.

    "merge", "conflicts", "merge conflicts" become one keyword, "merge
    conflicts", at the rank of the best of them: a theme reads better as a
    phrase.  A term whose words (plurals folded) all occur in one kept phrase
    is dropped.
    """
    kept: list[tuple[str, float]] = []
    for term, score in ranked:
        words = [_stem(w) for w in term.split()]
        if any(set(words) <= {_stem(w) for w in k.split()} for k, _ in kept):
            continue
        inside = [i for i, (k, _) in enumerate(kept)
                  if set(_stem(w) for w in k.split()) <= set(words)]
        if inside:
            pos = inside[0]
            best = max(score, *(kept[i][1] for i in inside))
            kept = [kv for i, kv in enumerate(kept) if i not in inside]
            kept.insert(pos, (term, best))
        else:
            kept.append((term, score))
        if len(kept) >= top_n + 4:
            break
    return kept[:top_n]


def label_from_keywords(keywords: Sequence[str], n: int = 2) -> str:
    """A short label from keywords, e.g. ``Resolve merge conflicts · rebase``: the last resort of
    :mod:`emocause.report.labels`, for a theme with no readable phrase whose central cause is
    nothing but links, mentions and hashes.

    Up to ``n`` keywords; a keyword sharing a word with one already chosen is
    skipped, so the label names different aspects of the theme.
    """
    chosen: list[str] = []
    used: set[str] = set()
    for kw in keywords:
        words = {_stem(w) for w in kw.split()}
        if words & used:
            continue
        chosen.append(kw)
        used |= words
        if len(chosen) == n:
            break
    if not chosen:
        return "(no keywords)"
    label = " · ".join(chosen)
    return label[0].upper() + label[1:]


def centre_examples(X: np.ndarray, members: np.ndarray, texts: Sequence[str],
                    k: int = 3) -> tuple[list[int], list[float], float]:
    """The ``k`` members closest to the cluster centre, distinct by text; and the mean similarity.

    The centre is the normalised mean of the members' unit vectors, so the
    similarity of a member to it is a cosine similarity.
    """
    if len(members) == 0:
        return [], [], 0.0
    centre = X[members].mean(axis=0)
    norm = float(np.linalg.norm(centre))
    centre = centre / norm if norm > 0 else centre
    sims = X[members] @ centre
    chosen: list[int] = []
    sims_out: list[float] = []
    seen: set[str] = set()
    for j in np.argsort(-sims, kind="stable"):
        row = int(members[j])
        key = " ".join(texts[row].lower().split())
        if key in seen:
            continue
        seen.add(key)
        chosen.append(row)
        sims_out.append(float(sims[j]))
        if len(chosen) == k:
            break
    return chosen, sims_out, float(sims.mean())


def describe(X: np.ndarray, texts: Sequence[str], report_ids: np.ndarray,
             roles: Sequence[str] | None = None, top_n: int = 8,
             n_examples: int = 3, labels: Mapping[int, str] | None = None) -> list[Theme]:
    """A :class:`Theme` for every report id ``>= 1``, in id order (largest first).

    ``report_ids`` is ``-1`` for causes outside the reported clusters; they take
    part in the keyword IDF as one class.  ``labels`` (from
    :mod:`emocause.report.labels`) name the themes; a theme missing from it is
    named by its keywords.
    """
    report_ids = np.asarray(report_ids)
    n = len(report_ids)
    keywords = ctfidf_keywords(texts, report_ids, top_n=top_n)
    themes: list[Theme] = []
    for cid in sorted(int(c) for c in np.unique(report_ids) if c >= 1):
        members = np.flatnonzero(report_ids == cid)
        kw = keywords.get(cid, [])
        examples, sims, cohesion = centre_examples(X, members, texts, n_examples)
        role_counts: dict[str, int] = {}
        if roles is not None:
            for r in (roles[i] for i in members):
                role_counts[r] = role_counts.get(r, 0) + 1
            role_counts = dict(sorted(role_counts.items(), key=lambda kv: (-kv[1], kv[0])))
        themes.append(Theme(
            id=cid, size=len(members), share=len(members) / n if n else 0.0,
            keywords=[t for t, _ in kw], scores=[round(s, 4) for _, s in kw],
            label=(labels or {}).get(cid) or label_from_keywords([t for t, _ in kw]),
            examples=examples, similarities=sims,
            roles=role_counts, cohesion=cohesion))
    return themes
