"""Backend ``trained``: the supervised baselines written by ``emocause train``.

``--model DIR`` names the model directory (see :mod:`emocause.backends.baselines`).  The
model holds one binary classifier per basic emotion, which fires when its score
(SVM margin, or logistic log-odds) is above 0.  Turning scores into answers is
shared with the fine-tuned backend (:class:`emocause.backends.structured.ScoringBackend`):
the label answer is the most confident firing emotion the prompt allows, else
``Neutral``, with every firing emotion in ``emotions`` and the squashed scores
(sigmoid: a probability for ``embedding-logreg``, a margin mapped to 0-1 for
``tfidf-svm``) in ``emotion_scores``; yes/no asks the asked emotion's
classifier; a cause is the candidate clause the emotion's classifier scores highest.

Loading reads plain JSON and ``.npy`` files (never pickle).  Answers are cheap
and the model directory may be retrained in place, so they are not cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocause.backends.structured import ScoringBackend
from emocause.errors import UsageError


class TrainedBackend(ScoringBackend):
    """Answers from per-emotion linear classifiers (see the module docstring)."""

    name = "trained"

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 64,
                 embedding_model: str | None = None, **_: Any) -> None:
        if not model:
            raise UsageError("the trained backend needs --model DIR, a directory written by "
                             "`emocause train LABELED --model-out DIR`")
        if not (Path(model).expanduser() / "model.json").exists():
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

            linear = baselines.load(self.model)
            wanted = self.requested_embedding_model
            if wanted and linear.embedding_model and wanted != linear.embedding_model:
                raise UsageError(f"model {self.model} was trained on {linear.embedding_model} "
                                 f"embeddings; drop --embedding-model {wanted}")
            if linear.embedding_model or self.device:
                from emocause.backends.encoders import check_device

                check_device(self.device)  # before any work: one line when --device is not here
            self._linear = linear
        return self._linear

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(self.linear.emotions)

    @property
    def thresholds(self) -> np.ndarray:
        return np.zeros(len(self.linear.emotions))

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
            from emocause.backends.encoders import load_model, quiet_transformers

            quiet_transformers()
            self._st = load_model(self.linear.embedding_model, self.device)
        return np.asarray(self._st.encode(list(texts), batch_size=self.batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False), dtype=np.float32)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n x k) classifier scores, columns in ``linear.emotions`` order."""
        from emocause.backends import baselines

        if not texts:
            return np.zeros((0, len(self.linear.emotions)))
        return baselines.decision(self.linear, texts, encode=self.encode)
