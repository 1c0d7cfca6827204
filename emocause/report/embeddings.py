"""Cause embeddings, cached by model and text, so re-clustering takes seconds.

Embedding is the slow step of a report (minutes for 100,000 causes on a CPU);
clustering and describing are fast.  Every vector is stored in SQLite under
(model identity, SHA-256 of the text), so a second report over the same causes
with other clustering settings, or over a superset of them, embeds only what
is new, and when nothing is new the model is not even loaded.

The model identity is its name for a hub or bundled model, and for a local
folder its absolute path plus a fingerprint of its files (names, sizes,
modification times), so a retrained model never serves stale vectors.  Only
vectors and hashes are stored: no text, nothing secret.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emocause.errors import UsageError

_TABLE = """CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, text_sha256 TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, text_sha256)) WITHOUT ROWID"""
#: Texts embedded (and committed) at a time, so an interrupted run keeps what it embedded.
CHUNK = 16384


def default_path(response_cache: str | Path | None = None) -> Path:
    """``embeddings.sqlite`` beside the response cache (``EMOCAUSE_CACHE`` moves both)."""
    from emocause import config
    from emocause.annotate.cache import default_path as responses_path

    base = Path(response_cache or config.resolve("cache") or responses_path())
    return base.with_name("embeddings.sqlite")


def model_identity(name: str | None) -> str:
    """What a cached vector is keyed by, besides its text (see the module docstring)."""
    from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL, resolve_model_path

    name = name or DEFAULT_EMBEDDING_MODEL
    if resolve_model_path(name) != name:  # the bundled copy of a hub model
        return f"sentence-transformers/{name.rsplit('/', 1)[-1]}"
    folder = Path(name).expanduser()
    if not folder.is_dir():
        return name
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return f"{folder.resolve()}@{h.hexdigest()[:16]}"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """SQLite store of float32 vectors keyed by (model identity, text hash)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_TABLE)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"cannot open embedding cache {self.path}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"cannot create embedding cache {self.path}: {exc.strerror}") from None

    def lookup(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors among ``keys`` (hashes) for ``model``."""
        found: dict[str, np.ndarray] = {}
        for s in range(0, len(keys), 500):
            part = list(keys[s:s + 500])
            marks = ",".join("?" * len(part))
            for key, dim, blob in self._db.execute(
                    f"SELECT text_sha256, dim, vector FROM vectors WHERE model = ? "
                    f"AND text_sha256 IN ({marks})", [model, *part]):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.size == dim:  # anything else is a damaged row: embed again
                    found[key] = vec
        return found

    def store(self, model: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Add vectors (one transaction)."""
        rows = [(model, k, int(v.size), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for k, v in zip(keys, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?,?)", rows)

    def count(self, model: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM vectors" + (" WHERE model = ?" if model else "")
        return int(self._db.execute(sql, [model] if model else []).fetchone()[0])

    def close(self) -> None:
        self._db.close()


@dataclass
class Embedder:
    """Embeds texts with one model, through the cache; loads the model only when a text is new."""

    model: str | None = None
    device: str | None = None
    cache: EmbeddingCache | None = None
    batch_size: int = 64
    counts: dict[str, int] = field(default_factory=lambda: {"cached": 0, "embedded": 0})
    _loaded: object = None

    @property
    def identity(self) -> str:
        return model_identity(self.model)

    def _encoder(self) -> object:
        if self._loaded is None:
            from emocause.backends.encoders import load_model, quiet_transformers

            quiet_transformers()
            self._loaded = load_model(self.model, self.device)
        return self._loaded

    def __call__(self, texts: Sequence[str], description: str | None = None) -> np.ndarray:
        """L2-normalised float32 vectors of ``texts`` (n x d), each distinct text embedded once."""
        from emocause.backends.encoders import embed

        texts = list(texts)
        distinct = list(dict.fromkeys(texts))
        keys = [text_key(t) for t in distinct]
        identity = self.identity
        have = self.cache.lookup(identity, keys) if self.cache is not None else {}
        todo = [i for i, k in enumerate(keys) if k not in have]
        self.counts["cached"] += len(distinct) - len(todo)
        self.counts["embedded"] += len(todo)
        for s in range(0, len(todo), CHUNK):
            part = todo[s:s + CHUNK]
            what = description or "embed"
            if len(todo) > CHUNK:
                what += f" {s + 1:,}-{s + len(part):,} of {len(todo):,}"
            vecs = embed([distinct[i] for i in part], self._encoder(), batch_size=self.batch_size,
                         description=what)
            if self.cache is not None:
                self.cache.store(identity, [keys[i] for i in part], vecs)
            for i, v in zip(part, vecs):
                have[keys[i]] = v
        if not distinct:
            return np.zeros((0, 0), dtype=np.float32)
        index = {t: i for i, t in enumerate(distinct)}
        U = np.stack([have[k] for k in keys]).astype(np.float32, copy=False)
        return U[np.fromiter((index[t] for t in texts), dtype=np.intp, count=len(texts))]
