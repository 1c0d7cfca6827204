"""The response cache and log: every prompt and answer, in SQLite.

Like ``llm``'s logs database, the cache keeps what was asked and answered, so a
run can be audited and a rerun costs nothing.  The key is a SHA-256 of the
backend, model, generation parameters and the rendered prompt; the value is the
raw answer, token usage and the time it took.  Each answer is committed as it
arrives (WAL mode, one short transaction per answer), so a killed run loses
only the requests in flight and a restart sends no request twice.

Only successful answers are stored: an error is retried on the next run.
Nothing secret is part of a key or a row (API keys never reach here).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from emocause.errors import UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    prompt TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    seconds REAL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_model ON responses(backend, model);
"""


def default_path() -> Path:
    """``<user cache dir>/emocause/responses.sqlite`` (``EMOCAUSE_CACHE`` overrides)."""
    import os

    env = os.environ.get("EMOCAUSE_CACHE")
    if env:
        return Path(env)
    return Path(user_cache_dir("emocause")) / "responses.sqlite"


def make_key(backend: str, model: str, params: dict[str, Any], prompt: str) -> str:
    """Stable key: SHA-256 over canonical JSON of what determines the answer."""
    blob = json.dumps([backend, model, params, prompt], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class CachedResponse:
    response: str
    prompt_tokens: int | None
    completion_tokens: int | None


class Cache:
    """SQLite response cache (thread-safe: one connection guarded by a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"cannot open cache {self.path}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"cannot create cache {self.path}: {exc.strerror}") from None
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedResponse]:
        """The cached answers among ``keys`` (queried in chunks)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, CachedResponse] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = self._conn.execute(
                    f"SELECT key, response, prompt_tokens, completion_tokens FROM responses "
                    f"WHERE key IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                for key, resp, pt, ct in rows:
                    out[key] = CachedResponse(resp, pt, ct)
        return out

    def put(self, key: str, backend: str, model: str, params: dict[str, Any], prompt: str,
            response: str, usage: dict[str, int] | None = None, seconds: float = 0.0) -> None:
        """Store one answer and commit immediately."""
        usage = usage or {}
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?,?)",
                (key, backend, model, json.dumps(params, sort_keys=True), prompt, response,
                 usage.get("prompt_tokens"), usage.get("completion_tokens"), seconds, time.time()))
            self._conn.commit()

    def stats(self) -> dict[str, Any]:
        """Entries per backend and model, tokens, size on disk."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT backend, model, COUNT(*), COALESCE(SUM(prompt_tokens),0), "
                "COALESCE(SUM(completion_tokens),0), MIN(created), MAX(created) "
                "FROM responses GROUP BY backend, model ORDER BY backend, model").fetchall()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "path": str(self.path),
            "bytes": size,
            "entries": sum(r[2] for r in rows),
            "by_model": [
                {"backend": b, "model": m, "entries": n, "prompt_tokens": pt,
                 "completion_tokens": ct, "first": first, "last": last}
                for b, m, n, pt, ct, first, last in rows
            ],
        }

    def clear(self, backend: str | None = None, model: str | None = None) -> int:
        """Delete entries (all, or one backend / model); returns how many."""
        sql, args = "DELETE FROM responses", []
        conds = []
        if backend:
            conds.append("backend = ?")
            args.append(backend)
        if model:
            conds.append("model = ?")
            args.append(model)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        with self._lock:
            n = self._conn.execute(sql, args).rowcount
            self._conn.commit()
            self._conn.execute("VACUUM")
        return n

    def close(self) -> None:
        with self._lock:
            self._conn.close()
