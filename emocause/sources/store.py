"""The scrape state beside the output: records upserted by id, and a cursor per endpoint.

``OUT.state.sqlite`` holds everything a scrape has committed.  Each page of
results is written together with the cursor that says what to ask for next,
in one SQLite transaction, *before* the next request goes out: killing the
process (even with SIGKILL) loses at most the page in flight, and rerunning
the same command reads the cursors and carries on.

Records are upserted by ``id``: a record whose ``updated_at`` is newer than
the stored one replaces it (an edited comment), an equal or older one is
left alone (the same message in two archives, an overlapping page), so nothing
is ever duplicated.  The output table is a projection of this store, rewritten
at the end of every run (and when a run stops early).

The store also remembers what it is a scrape *of* (``identity``): reusing
one output name for a different repository or list is refused with one line
rather than silently mixing two projects.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocause.errors import UsageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def state_path(out: str | Path) -> Path:
    """``comments.csv`` -> ``comments.csv.state.sqlite`` (beside the output)."""
    out = Path(out)
    return out.with_name(out.name + ".state.sqlite")


@dataclass
class UpsertCounts:
    """What one commit did to the records: new ids, replaced (newer) versions, and no-ops."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # new records per kind

    def add(self, other: UpsertCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        for k, v in other.by_kind.items():
            self.by_kind[k] = self.by_kind.get(k, 0) + v


class RecordStore:
    """SQLite store of records and cursors (one writer: the scrape process).

    ``path=None`` keeps the store in memory (a library scrape without an output file).
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(str(self.path) if self.path else ":memory:", timeout=30,
                                         isolation_level=None)
            # WAL + synchronous=FULL: a committed page survives a killed process and a power cut.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path}: not a usable scrape state ({exc}); delete it to start "
                             f"over") from None

    # -- identity ------------------------------------------------------------------------------

    def bind(self, identity: Mapping[str, Any], out: str | Path) -> None:
        """Tie this state to one scrape (e.g. a repository); refuse a different one."""
        want = json.dumps(dict(identity), sort_keys=True)
        row = self._conn.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta(key, value) VALUES('identity', ?)", (want,))
            return
        if row[0] != want:
            have = ", ".join(f"{k}={v}" for k, v in json.loads(row[0]).items())
            raise UsageError(f"{out} already holds a different scrape ({have}); choose another "
                             f"--out, or delete {self.path.name} to start over")

    # -- records -------------------------------------------------------------------------------

    def commit(self, records: Iterable[Mapping[str, Any]] = (),
               cursors: Mapping[str, Any | None] | None = None) -> UpsertCounts:
        """Upsert ``records`` and set ``cursors`` (``None`` deletes one) in one transaction."""
        try:
            return self._commit(list(records), cursors)
        except sqlite3.OperationalError as exc:  # disk full, read-only, locked for 30 s
            raise UsageError(f"{self.path or 'the scrape state'}: cannot write ({exc}); what was "
                             f"committed before is kept, rerun the same command to resume") from None

    def _commit(self, recs: list[Mapping[str, Any]],
                cursors: Mapping[str, Any | None] | None) -> UpsertCounts:
        counts = UpsertCounts()
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            stored: dict[str, str] = {}
            ids = [r["id"] for r in recs]
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                q = f"SELECT id, updated_at FROM records WHERE id IN ({','.join('?' * len(chunk))})"
                stored.update(cur.execute(q, chunk).fetchall())
            rows = []
            for r in recs:
                have = stored.get(r["id"])
                if have is None:
                    counts.new += 1
                    counts.by_kind[r["kind"]] = counts.by_kind.get(r["kind"], 0) + 1
                elif r["updated_at"] > have:
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                    continue
                stored[r["id"]] = r["updated_at"]  # a page listing one id twice counts once
                rows.append((r["id"], r["kind"], r["created_at"], r["updated_at"],
                             json.dumps(r, ensure_ascii=False, sort_keys=True)))
            cur.executemany(
                "INSERT INTO records(id, kind, created_at, updated_at, data) VALUES (?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, created_at=excluded.created_at, "
                "updated_at=excluded.updated_at, data=excluded.data "
                "WHERE excluded.updated_at > records.updated_at", rows)
            for name, value in (cursors or {}).items():
                if value is None:
                    cur.execute("DELETE FROM cursors WHERE name=?", (name,))
                else:
                    cur.execute("INSERT INTO cursors(name, value) VALUES(?, ?) ON CONFLICT(name) "
                                "DO UPDATE SET value=excluded.value", (name, json.dumps(value)))
            cur.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # SQLite has already rolled back after some errors
                cur.execute("ROLLBACK")
            raise
        return counts

    def records(self, kind: str | None = None) -> Iterator[dict[str, Any]]:
        q = "SELECT data FROM records" + (" WHERE kind=?" if kind else "") + " ORDER BY created_at, id"
        for (data,) in self._conn.execute(q, (kind,) if kind else ()):
            yield json.loads(data)

    def count(self, kind: str | None = None) -> int:
        q = "SELECT COUNT(*) FROM records" + (" WHERE kind=?" if kind else "")
        return int(self._conn.execute(q, (kind,) if kind else ()).fetchone()[0])

    def counts_by_kind(self) -> dict[str, int]:
        return dict(self._conn.execute("SELECT kind, COUNT(*) FROM records GROUP BY kind ORDER BY kind"))

    # -- cursors -------------------------------------------------------------------------------

    def cursor(self, name: str) -> Any | None:
        row = self._conn.execute("SELECT value FROM cursors WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def cursors(self, prefix: str) -> dict[str, Any]:
        rows = self._conn.execute("SELECT name, value FROM cursors WHERE name LIKE ? ESCAPE '\\'",
                                  (prefix.replace("%", "\\%").replace("_", "\\_") + "%",))
        return {name: json.loads(value) for name, value in rows}

    def is_empty(self) -> bool:
        return (self.count() == 0 and
                self._conn.execute("SELECT COUNT(*) FROM cursors").fetchone()[0] == 0)

    def close(self) -> None:
        self._conn.close()


def open_store(out: str | Path, identity: Mapping[str, Any]) -> RecordStore:
    """Open (or create) the state for ``out`` and check it belongs to this scrape."""
    store = RecordStore(state_path(out))
    try:
        store.bind(identity, out)
    except UsageError:
        store.close()
        raise
    return store


def discard_if_empty(store: RecordStore) -> None:
    """Remove a state file that never received anything (a run refused at its first request)."""
    if store.path is not None and store.is_empty():
        store.close()
        for suffix in ("", "-wal", "-shm"):
            p = store.path.with_name(store.path.name + suffix)
            if p.exists():
                p.unlink()
    else:
        store.close()
