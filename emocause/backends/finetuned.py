"""Backend ``finetuned``: the fine-tuned encoder, offline; the shipped adapter is the default backend.

``--model`` names a directory written by ``emocause train --kind finetune``
(see :mod:`emocause.backends.finetune`); without it, the adapter shipped inside
the package (``emotions-minilm``, trained on the paper's GitHub training split,
docs/models.md) on the bundled all-MiniLM-L6-v2.  No key, no network, no
training step.

Each comment is read once (one forward pass, batched by length, in bfloat16
where the CPU or GPU computes it natively: twice as fast, logits within
~0.005 of float32); each basic
emotion gets a probability and fires when it clears the threshold chosen by
cross-validation.  Answers follow :class:`emocause.backends.structured.ScoringBackend`:
the label answer is the most confident firing emotion the prompt's list
allows (largest margin over its threshold, in log-odds), else ``Neutral``;
``emotions`` lists every firing emotion and ``emotion_scores`` the six
probabilities; yes/no asks the asked emotion's basic emotion; a cause is the
candidate clause of the comment the emotion's head scores highest.
It knows the six basic emotions only: for a prompt's own label list beyond
them, use the ``embedding`` backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocause.backends.structured import ScoringBackend
from emocause.errors import UsageError

#: ``--model`` names that mean a model shipped inside the package.
SHIPPED_NAMES = ("emotions-minilm",)


def model_directory(model: str | None) -> tuple[str, Path]:
    """(name recorded in manifests, directory) for ``--model``; the shipped adapter by default."""
    from emocause.backends.finetune import SHIPPED

    if not model or model in SHIPPED_NAMES:
        return SHIPPED.name, SHIPPED
    return str(model), Path(model).expanduser()


class FinetunedBackend(ScoringBackend):
    """Answers from a fine-tuned encoder's six sigmoids (see the module docstring)."""

    name = "finetuned"

    def __init__(self, model: str | None = None, device: str | None = None,
                 embedding_model: str | None = None, neutral_share: float | None = None,
                 **_: Any) -> None:
        name, directory = model_directory(model)
        super().__init__(name)
        self.directory = directory
        self.device = device
        self.neutral_share = neutral_share
        self._thresholds: np.ndarray | None = None
        self.requested_embedding_model = embedding_model
        self._artifact: Any = None
        self._model: Any = None
        self._base: Any = None
        self._device: str | None = None
        self.precision: str | None = None

    # -- the model ------------------------------------------------------------------------
    @property
    def artifact(self) -> Any:
        """The validated model directory (read on first use; the base is not loaded yet)."""
        if self._artifact is None:
            from emocause.backends.finetune import read_artifact

            artifact = read_artifact(self.directory)
            wanted = self.requested_embedding_model
            if wanted and wanted != artifact.base["name"]:
                raise UsageError(f"model {self.model} was fine-tuned from {artifact.base['name']}; "
                                 f"drop --embedding-model {wanted}")
            self._artifact = artifact
        return self._artifact

    def _load(self) -> None:
        if self._model is None:
            from emocause.backends.finetune import load

            from emocause.backends.finetune import inference_precision

            self._model, self._base, self._device = load(self.artifact, self.device)
            self.precision = inference_precision(self._device)

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(self.artifact.emotions)

    @property
    def probability_thresholds(self) -> np.ndarray:
        """The model's thresholds, or those it stored for ``--neutral-share`` (chosen by the same
        cross-validation on its training data)."""
        if self._thresholds is None:
            from emocause.backends.finetune import stored_thresholds

            artifact = self.artifact
            self._thresholds = (artifact.thresholds if self.neutral_share is None
                                else stored_thresholds(artifact, self.neutral_share))
        return self._thresholds

    @property
    def thresholds(self) -> np.ndarray:
        from emocause.backends.finetune import logit

        return logit(self.probability_thresholds)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n x k) logits, one forward pass per text."""
        from emocause.backends.finetune import logits, tokenize

        if not texts:
            return np.zeros((0, len(self.emotions)))
        self._load()
        ids = tokenize(self._base.tokenizer, texts, self.artifact.recipe.max_length)
        return logits(self._model, ids, int(self._base.tokenizer.pad_token_id), str(self._device),
                      precision=str(self.precision)).astype(np.float64)

    # -- manifest ---------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        artifact = self.artifact
        share = self.neutral_share if self.neutral_share is not None else artifact.recipe.neutral_share
        return {"thresholds": {e: float(t) for e, t in zip(artifact.emotions, self.probability_thresholds)},
                "neutral_share": share, "rule": "most-confident-firing"}

    def describe(self) -> dict[str, Any]:
        from emocause.files import file_sha256

        artifact = self.artifact
        d = super().describe()
        d.update(kind="finetune", emotions=list(artifact.emotions),
                 base_model=artifact.base["name"], base_sha256=artifact.base["sha256"],
                 adapter_sha256=file_sha256(artifact.directory / "adapter.safetensors"),
                 max_length=artifact.recipe.max_length,
                 trained={k: artifact.doc.get("training", {}).get(k) for k in ("files", "rows")})
        if self._device is not None:
            d.update(device=self._device, precision=self.precision)
        return d

    def close(self) -> None:
        self._model = None
