"""The contract every source follows, and the one run that turns a source into a table.

In Perceval's spirit, a *source* (GitHub, mbox, Pipermail, HyperKitty) only
knows how to fetch: :meth:`Source.fetch` yields :class:`Batch` es of records
with stable ids together with the cursors that say how far it got, reading its
earlier cursors from the store to resume.  :func:`run_source` does the rest
the same way for all of them: it checks the output can be written before any
request, opens the state beside the output (``OUT.state.sqlite``; in memory
when there is no output), commits each batch with its cursors in one
transaction *before the source fetches more*, and finally exports the table
and its manifest.  If the source stops on an error or Ctrl-C, what was
committed is still exported, marked ``"complete": false``, and the same run
resumes (:class:`ScrapeSession`).  The scrape commands and
:mod:`emocause.sources.api` are thin layers over this.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocause.sources.records import Window, to_frame
from emocause.sources.store import RecordStore, UpsertCounts, discard_if_empty, open_store, state_path


@dataclass
class Batch:
    """Records to upsert and the cursors that say they are done, committed together."""

    records: list[dict[str, Any]]
    cursors: dict[str, Any] = field(default_factory=dict)


class Progress:
    """What a source tells its display; this base class shows nothing (library use, tests)."""

    def start(self, label: str, total: int | None = None) -> None:
        """A new stage (an endpoint, an archive walk)."""

    def advance(self, n: int = 1, total: int | None = None) -> None:
        """``n`` more items; ``total`` when an estimate of the stage's size is known."""

    def done(self) -> None:
        """The stage reached its end."""

    def wait(self, reason: str, seconds_left: float) -> None:
        """Called once a second during a wait (rate limit, backoff); 0 when it ends."""

    def note(self, message: str) -> None:
        """Something the user should know before it happens (a long walk)."""


class RichProgress(Progress):
    """Bars per stage with count, rate and ETA, and a countdown during waits (lines without a TTY)."""

    def __init__(self, board: Any) -> None:
        self.board, self.current, self.label, self._waiting = board, None, "", ""
        self.count = 0

    def start(self, label: str, total: int | None = None) -> None:
        self.label, self.count = label, 0
        self.current = self.board.add(label, total)

    def advance(self, n: int = 1, total: int | None = None) -> None:
        self.count += n
        if self.current is not None:
            self.current.advance(n)
            if total:
                self.current.update(total=max(total, self.count))

    def done(self) -> None:
        if self.current is not None:
            self.current.update(total=self.count)

    def wait(self, reason: str, seconds_left: float) -> None:
        from emocause.progress import info

        if seconds_left <= 0:
            self._waiting = ""
            if self.current is not None:
                self.current.update(description=self.label)
            return
        if self.board.enabled and self.current is not None:
            self.current.update(description=f"{self.label} [yellow]{reason}: "
                                            f"{seconds_left:,.0f} s left")
        elif reason != self._waiting:
            info(f"{self.label or 'scrape'}: {reason}: waiting {seconds_left:,.0f} s")
        self._waiting = reason

    def note(self, message: str) -> None:
        from emocause.progress import info

        info(message)


class Source(ABC):
    """One backend: what it scrapes (``identity``), how (``parameters``), and a resumable fetch."""

    #: The command name written to the manifest ("scrape github").
    command: str = "scrape"

    def __init__(self, window: Window) -> None:
        self.window = window

    @property
    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What the state is a scrape *of* (source, project, URL without credentials)."""

    @property
    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """The options that shaped the run (no secrets), for the manifest."""

    @property
    def title(self) -> str:
        return f"{self.command} {self.identity.get('project', '')}".strip()

    @abstractmethod
    def fetch(self, store: RecordStore, progress: Progress) -> Iterator[Batch]:
        """Yield batches; read earlier cursors from ``store`` to resume (never write to it)."""

    @abstractmethod
    def complete(self) -> bool:
        """Whether the last fetch reached everything it was asked for."""

    @abstractmethod
    def counts(self) -> dict[str, Any]:
        """What the fetch did, for the result and the manifest (``skipped`` by reason included)."""

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """Lines for the end-of-run summary, before the output's own counts."""

    def manifest_extra(self) -> dict[str, Any]:
        """Source-specific manifest sections (``http``, ``mail``)."""
        return {}

    def close(self) -> None:
        """Release clients."""


@dataclass
class ScrapeResult:
    """What a scrape returns: the table, the counts, the manifest fields, and the summary lines."""

    frame: Any  # pandas.DataFrame in docs/records.md's shape
    counts: dict[str, Any]
    manifest: dict[str, Any]
    complete: bool
    title: str
    summary: dict[str, Any]
    out: Path | None = None


def drain(source: Source, store: RecordStore, progress: Progress | None = None) -> UpsertCounts:
    """Commit every batch of ``source`` into ``store``, each before the next is fetched."""
    counts = UpsertCounts()
    for batch in source.fetch(store, progress or Progress()):
        counts.add(store.commit(batch.records, batch.cursors))
    return counts


def check_output(out: Path) -> None:
    """Refuse, before any request, an output that cannot be written (format, folder, permissions)."""
    from emocause.files import check_writable
    from emocause.tables import table_format

    table_format(out)
    check_writable(out)
    check_writable(state_path(out), "--out")


class ScrapeSession:
    """The state of one scrape and its export, whatever happens.

    ``with ScrapeSession(source, out) as s:`` checks the output can be written
    (before any request) and opens the state (``OUT.state.sqlite``, or memory
    without ``out``) bound to the source's identity; ``s.commit(batch)`` writes a
    batch and its cursors in one transaction; ``s.finish()`` exports the table and
    manifest and returns the :class:`ScrapeResult`.  If the block raises (a fault
    after the retries, Ctrl-C), what was committed is still exported, marked
    ``"complete": false``, and the error goes on to the caller.
    """

    def __init__(self, source: Source, out: str | Path | None = None) -> None:
        self.source = source
        self.out = Path(out) if out is not None else None
        self.upserts = UpsertCounts()
        self.store: RecordStore | None = None

    def __enter__(self) -> ScrapeSession:
        try:
            if self.out is not None:
                check_output(self.out)
                self.store = open_store(self.out, self.source.identity)
            else:
                self.store = RecordStore(None)
        except BaseException:
            self.source.close()
            raise
        return self

    def commit(self, batch: Batch) -> None:
        assert self.store is not None, "use ScrapeSession in a with block"
        self.upserts.add(self.store.commit(batch.records, batch.cursors))

    def finish(self) -> ScrapeResult:
        assert self.store is not None, "use ScrapeSession in a with block"
        return _export(self.source, self.store, self.out, self.upserts, self.source.complete())

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        from emocause.progress import info

        store = self.store
        try:
            if exc_type is not None and self.out is not None and store is not None and store.count():
                result = _export(self.source, store, self.out, self.upserts, complete=False)
                info(f"stopped early: {len(result.frame):,} records saved to {self.out}; rerun "
                     f"the same command to resume")
        finally:
            self.source.close()
            if store is not None:
                discard_if_empty(store)


def run_source(source: Source, out: str | Path | None = None,
               progress: Progress | None = None) -> ScrapeResult:
    """Fetch ``source`` into its state and export the table (and manifest when ``out`` is given)."""
    with ScrapeSession(source, out) as session:
        for batch in source.fetch(session.store, progress or Progress()):  # type: ignore[arg-type]
            session.commit(batch)
        return session.finish()


def _export(source: Source, store: RecordStore, out: Path | None, upserts: UpsertCounts,
            complete: bool) -> ScrapeResult:
    from emocause.manifest import write_manifest
    from emocause.tables import write_table

    df = to_frame(list(store.records()), source.window)
    by_kind = {str(k): int(v) for k, v in df["kind"].value_counts().items()}
    counts = {"new": upserts.new, "updated": upserts.updated, "unchanged": upserts.unchanged,
              **source.counts(), "rows": len(df), "rows_by_kind": by_kind,
              "stored_by_kind": store.counts_by_kind()}
    fields = {"complete": complete, **source.identity, "window": source.window.describe(),
              "parameters": source.parameters,
              "state": store.path.name if store.path is not None else None,
              "rows": len(df), "rows_by_kind": by_kind, "stored_by_kind": store.counts_by_kind(),
              "skipped": counts.get("skipped", {}), **source.manifest_extra()}
    if out is not None:
        write_table(df, out)
        write_manifest(out, source.command, **fields)
    summary = {"new records": upserts.new, "updated (edited since)": upserts.updated,
               "unchanged (already stored)": upserts.unchanged, **source.summary(),
               **{f"rows: {k}": v for k, v in by_kind.items()}, "rows written": len(df)}
    if out is not None:
        summary.update({"output": str(out), "state (resume)": state_path(out).name})
    if not complete:
        summary["complete"] = "no: rerun the same command to finish"
    return ScrapeResult(df, counts, {"command": source.command, **fields}, complete, source.title,
                        summary, out)
