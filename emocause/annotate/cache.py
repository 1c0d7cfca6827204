"""The response cache and log: every prompt and answer, in SQLite.

Like ``llm``'s logs database, the cache keeps what was asked and answered, so a
run can be audited and a rerun costs nothing.  The key is a SHA-256 of the
backend, model, generation parameters, the rendered prompt and, for remote
backends, the endpoint that answered (``scheme://host:port/path``, never
credentials: ``gpt-4`` on a local server and on api.openai.com never share an
entry); the value is the raw answer, token usage and the time it took.  Each answer is committed as it
arrives (WAL mode, one short transaction per answer), so a killed run loses
only the requests in flight and a restart sends no request twice.

Only successful answers are stored: an error is retried on the next run.
Nothing secret is part of a key or a row (API keys never reach here).

The same database keeps the state of jobs that outlive a process: the OpenAI
Batch API's batches (which requests each holds, its id, whether its results were
collected), so a killed ``--batch`` run reattaches instead of submitting again.
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
    created REAL NOT NULL,
    endpoint TEXT
);
CREATE INDEX IF NOT EXISTS responses_model ON responses(backend, model);
CREATE TABLE IF NOT EXISTS batches (
    chunk TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    batch_id TEXT,
    input_file_id TEXT,
    status TEXT NOT NULL,
    requests INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    collected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batch_requests (
    custom_id TEXT NOT NULL,
    chunk TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (custom_id, chunk)
);
"""


def default_path() -> Path:
    """``<user cache dir>/emocause/responses.sqlite`` (``EMOCAUSE_CACHE`` overrides)."""
    import os

    env = os.environ.get("EMOCAUSE_CACHE")
    if env:
        return Path(env)
    return Path(user_cache_dir("emocause")) / "responses.sqlite"


def make_key(backend: str, model: str, params: dict[str, Any], prompt: str,
             endpoint: str | None = None) -> str:
    """Stable key: SHA-256 over canonical JSON of what determines the answer.

    ``endpoint`` (remote backends) is the server's identity; local backends pass none,
    and their keys are the same as before endpoints were part of keys.
    """
    parts: list[Any] = [backend, model, params, prompt]
    if endpoint:
        parts.append(endpoint)
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False)
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
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(responses)")}
            if "endpoint" not in columns:  # a cache written before endpoints were recorded
                self._conn.execute("ALTER TABLE responses ADD COLUMN endpoint TEXT")
                self._conn.commit()
            if "done" not in {row[1] for row in self._conn.execute("PRAGMA table_info(batch_requests)")}:
                self._conn.execute("ALTER TABLE batch_requests ADD COLUMN done INTEGER NOT NULL DEFAULT 0")
                self._conn.commit()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"cannot open cache {self.path}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"cannot create cache {self.path}: {exc.strerror}") from None
        self._lock = threading.Lock()

    def _rows_in(self, sql: str, values: Iterable[str], args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of ``sql``, whose ``{marks}`` is filled with one ``?`` per value, 500 values a query."""
        values = list(dict.fromkeys(values))
        rows: list[Any] = []
        with self._lock:
            for i in range(0, len(values), 500):
                chunk = values[i:i + 500]
                rows += self._conn.execute(sql.format(marks=",".join("?" * len(chunk))),
                                           [*args, *chunk]).fetchall()
        return rows

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedResponse]:
        """The cached answers among ``keys``."""
        rows = self._rows_in("SELECT key, response, prompt_tokens, completion_tokens FROM responses "
                             "WHERE key IN ({marks})", keys)
        return {key: CachedResponse(resp, pt, ct) for key, resp, pt, ct in rows}

    def put(self, key: str, backend: str, model: str, params: dict[str, Any], prompt: str,
            response: str, usage: dict[str, int] | None = None, seconds: float = 0.0,
            endpoint: str | None = None) -> None:
        """Store one answer and commit immediately."""
        usage = usage or {}
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, backend, model, params, prompt, response, "
                "prompt_tokens, completion_tokens, seconds, created, endpoint) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (key, backend, model, json.dumps(params, sort_keys=True), prompt, response,
                 usage.get("prompt_tokens"), usage.get("completion_tokens"), seconds, time.time(),
                 endpoint))
            self._conn.commit()

    def stats(self) -> dict[str, Any]:
        """Entries per backend, model and endpoint, tokens, size on disk."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT backend, model, endpoint, COUNT(*), COALESCE(SUM(prompt_tokens),0), "
                "COALESCE(SUM(completion_tokens),0), MIN(created), MAX(created) "
                "FROM responses GROUP BY backend, model, endpoint "
                "ORDER BY backend, model, endpoint").fetchall()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "path": str(self.path),
            "bytes": size,
            "entries": sum(r[3] for r in rows),
            "by_model": [
                {"backend": b, "model": m, "endpoint": e, "entries": n, "prompt_tokens": pt,
                 "completion_tokens": ct, "first": first, "last": last}
                for b, m, e, n, pt, ct, first, last in rows
            ],
        }

    def clear(self, backend: str | None = None, model: str | None = None,
              endpoint: str | None = None) -> int:
        """Delete entries (all, or one backend / model / endpoint); returns how many."""
        sql, args = "DELETE FROM responses", []
        conds = []
        for column, value in (("backend", backend), ("model", model), ("endpoint", endpoint)):
            if value:
                conds.append(f"{column} = ?")
                args.append(value)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        with self._lock:
            n = self._conn.execute(sql, args).rowcount
            self._conn.commit()
            self._conn.execute("VACUUM")
        return n

    # -- batch jobs (the OpenAI Batch API): what was submitted, so a rerun reattaches ----------------

    def batch_active(self, endpoint: str, model: str, custom_ids: Iterable[str]) -> dict[str, str]:
        """``custom_id -> chunk`` for the ids held by a batch whose results were not collected."""
        rows = self._rows_in("SELECT r.custom_id, r.chunk FROM batch_requests r JOIN batches b "
                             "ON b.chunk = r.chunk WHERE b.collected = 0 AND r.done = 0 AND b.endpoint = ? "
                             "AND b.model = ? AND r.custom_id IN ({marks}) ORDER BY b.created",
                             custom_ids, (endpoint, model))
        out: dict[str, str] = {}
        for cid, key in rows:
            out.setdefault(cid, key)
        return out

    def batch_get(self, chunk: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT chunk, endpoint, model, batch_id, input_file_id, status, requests, created, "
                "collected FROM batches WHERE chunk = ?", (chunk,)).fetchone()
        if row is None:
            return None
        keys = ("chunk", "endpoint", "model", "batch_id", "input_file_id", "status", "requests",
                "created", "collected")
        return dict(zip(keys, row))

    def batch_ids(self, chunk: str, pending: bool = False) -> list[str]:
        """The requests of batch ``chunk`` (``pending``: those whose answer was not handed over yet)."""
        with self._lock:
            return [r[0] for r in self._conn.execute(
                "SELECT custom_id FROM batch_requests WHERE chunk = ?" + (" AND done = 0" if pending else ""),
                (chunk,))]

    def batch_done(self, chunk: str, custom_ids: list[str]) -> None:
        """Record the answers handed over; the batch is collected once all of them were.

        A streamed run collects one batch in several calls, one per chunk of its input."""
        now = time.time()
        with self._lock:
            self._conn.executemany("UPDATE batch_requests SET done = 1 WHERE chunk = ? AND custom_id = ?",
                                   [(chunk, cid) for cid in custom_ids])
            left = self._conn.execute("SELECT COUNT(*) FROM batch_requests WHERE chunk = ? AND done = 0",
                                      (chunk,)).fetchone()[0]
            if not left:
                self._conn.execute("UPDATE batches SET collected = 1, updated = ? WHERE chunk = ?", (now, chunk))
            self._conn.commit()

    def batch_intent(self, chunk: str, endpoint: str, model: str, custom_ids: list[str]) -> None:
        """Record a batch about to be submitted (before it is, so a crash cannot lose it)."""
        now = time.time()
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO batches (chunk, endpoint, model, status, requests, created, "
                "updated) VALUES (?,?,?,?,?,?,?)", (chunk, endpoint, model, "submitting",
                                                    len(custom_ids), now, now))
            self._conn.executemany("INSERT OR IGNORE INTO batch_requests (custom_id, chunk) VALUES (?,?)",
                                   [(cid, chunk) for cid in custom_ids])
            self._conn.commit()

    def batch_update(self, chunk: str, *, status: str | None = None, batch_id: str | None = None,
                     input_file_id: str | None = None, collected: bool = False) -> None:
        sets, args = ["updated = ?"], [time.time()]
        for column, value in (("status", status), ("batch_id", batch_id),
                              ("input_file_id", input_file_id)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if collected:
            sets.append("collected = 1")
        with self._lock:
            self._conn.execute(f"UPDATE batches SET {', '.join(sets)} WHERE chunk = ?", [*args, chunk])
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
