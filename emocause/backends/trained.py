"""Backend ``trained``: the supervised baselines written by ``emocause train``.

``--model DIR`` names the model directory (see :mod:`emocause.backends.baselines`).  The
model holds one binary classifier per basic emotion; this backend turns their
scores into the answers an LLM would give, so the rest of the pipeline is
unchanged:

* ``label`` task: among the emotions the prompt's label list allows (its
  labels mapped to basic emotions), the classifiers that fire (score above
  0).  When several fire, the answer is the **most confident** one, the
  highest score (SVM margin, or logistic log-odds); when none fires, ``Neutral``.
  The answer is the basic emotion's name when the list has it, else the first
  listed label of that emotion.
* ``yesno`` task: ``Yes`` when the classifier of the asked emotion's basic
  emotion fires (``Frustration`` -> Anger).
* ``span`` task: the sentence or clause of the comment (same candidates as the
  ``embedding`` backend) that the emotion's classifier scores highest, in
  double quotes.

Loading reads plain JSON and ``.npy`` files (never pickle).  Answers are cheap
and the model directory may be retrained in place, so they are not cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocause.backends.base import Request
from emocause.backends.embedding import StructuredBackend, span_candidates, target_emotion
from emocause.errors import UsageError
from emocause.emotions.taxonomy import NEUTRAL, to_basic


class TrainedBackend(StructuredBackend):
    """Answers from per-emotion linear classifiers (see the module docstring)."""

    name = "trained"

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 64,
                 embedding_model: str | None = None, **_: Any) -> None:
        if not model:
            raise UsageError("the trained backend needs --model DIR, a directory written by "
                             "`emocause train LABELED --model-out DIR`")
        if not (Path(model).expanduser() / "model.json").is_file():
            where = "does not exist" if not Path(model).expanduser().exists() else "has no model.json"
            raise UsageError(f"model {model} {where}; train one with "
                             f"`emocause train LABELED --model-out {model}`")
        super().__init__(str(model))
        self.device = device
        # MiniLM needs little memory and runs slower in small batches on a CPU: 64 at least.
        self.batch_size = max(64, int(batch_size))
        self.requested_embedding_model = embedding_model
        self._linear: Any = None
        self._st: Any = None

    @property
    def linear(self) -> Any:
        """The :class:`emocause.backends.baselines.LinearModel`, loaded on first use."""
        if self._linear is None:
            from emocause.backends import baselines

            self._linear = baselines.load(self.model)
            wanted = self.requested_embedding_model
            if wanted and self._linear.embedding_model and wanted != self._linear.embedding_model:
                raise UsageError(f"model {self.model} was trained on {self._linear.embedding_model} "
                                 f"embeddings; drop --embedding-model {wanted}")
        return self._linear

    def params(self) -> dict[str, Any]:
        return {"rule": "most-confident-firing"}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        if self._linear is not None:
            d.update(kind=self._linear.kind, emotions=list(self._linear.emotions),
                     trained={k: self._linear.meta.get(k) for k in
                              ("input", "rows", "seed", "created", "emocause_version")
                              if k in self._linear.meta})
            if self._linear.embedding_model:
                d["embedding_model"] = self._linear.embedding_model
        return d

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._st is None:
            from emocause.backends.encoders import check_device, quiet_transformers
            from emocause.backends.encoders import load_model

            quiet_transformers()
            self._st = load_model(self.linear.embedding_model, check_device(self.device))
        return np.asarray(self._st.encode(list(texts), batch_size=self.batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False), dtype=np.float32)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n x k) classifier scores, columns in ``linear.emotions`` order."""
        from emocause.backends import baselines

        if not texts:
            return np.zeros((0, len(self.linear.emotions)))
        return baselines.decision(self.linear, texts, encode=self.encode)

    def _column(self, emotion: str | None) -> int:
        basic = to_basic(emotion) if emotion else None
        if basic is None or basic not in self.linear.emotions:
            raise UsageError(f"model {self.model} has no classifier for {emotion!r}; it knows "
                             f"{', '.join(self.linear.emotions)}")
        return self.linear.emotions.index(basic)

    def answer_labels(self, reqs: Sequence[Request]) -> list[str]:
        emotions = self.linear.emotions
        s = self.scores([r.text for r in reqs])
        out: list[str] = []
        for r, row in zip(reqs, s):
            listed = [str(x) for x in r.labels]
            by_basic: dict[str, str] = {}
            for label in listed:
                b = to_basic(label)
                if b in emotions and (b not in by_basic or label == b):
                    by_basic[b] = label
            if not listed:
                by_basic = {e: e for e in emotions}
            best, best_score = NEUTRAL, 0.0
            for j, e in enumerate(emotions):
                if e in by_basic and row[j] > best_score:
                    best, best_score = by_basic[e], float(row[j])
            out.append(best)
        return out

    def answer_yesno(self, reqs: Sequence[Request]) -> list[str]:
        cols = [self._column(target_emotion(r)) for r in reqs]
        s = self.scores([r.text for r in reqs])
        return ["Yes" if s[i, c] > 0 else "No" for i, c in enumerate(cols)]

    def answer_spans(self, reqs: Sequence[Request]) -> list[str]:
        cols = [self._column(target_emotion(r)) for r in reqs]
        ranges = [span_candidates(r.text) for r in reqs]
        pieces = [r.text[a:b] for r, rs in zip(reqs, ranges) for a, b in rs]
        s = self.scores(pieces)
        out: list[str] = []
        at = 0
        for r, rs, c in zip(reqs, ranges, cols):
            if not rs:
                out.append("")
                continue
            k = int(np.argmax(s[at:at + len(rs), c]))
            a, b = rs[k]
            out.append(f'"{r.text[a:b]}"')
            at += len(rs)
        return out
