"""Progress bars and end-of-run summaries, the same for every long command.

Bars go to stderr (stdout stays clean for ``--format json``) and show count,
rate and ETA.  They are hidden when stderr is not a terminal unless
``EMOCAUSE_PROGRESS=1``, so logs and CI output stay readable.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn,
                           TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text
from rich.table import Table

stderr = Console(stderr=True, highlight=False, soft_wrap=True)

# ANSI escape sequences (CSI, OSC, single-character), C0/C1 controls but newline and tab, and
# the Unicode bidirectional overrides that reorder what a terminal shows.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` safe for a terminal: escape sequences and control characters removed.

    Everything printed that may hold text from data or from a server (column names,
    project names, error messages) goes through here.
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def _enabled() -> bool:
    flag = os.environ.get("EMOCAUSE_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


class _Bar:
    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._p, self._t = progress, task

    def advance(self, n: int = 1) -> None:
        if self._p is not None:
            self._p.advance(self._t, n)

    def update(self, **kw: Any) -> None:
        if self._p is not None:
            self._p.update(self._t, **kw)


class RateColumn(ProgressColumn):
    """Items per second (rich's own speed column only shows for unsized tasks)."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f}/s" if speed else "-/s", style="cyan")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=stderr)


@contextmanager
def bar(description: str, total: int | None) -> Iterator[_Bar]:
    """A progress bar with count, rate and ETA (no-op when disabled)."""
    if not _enabled():
        yield _Bar(None, None)
        return
    progress = _progress()
    with progress:
        yield _Bar(progress, progress.add_task(description, total=total))


class Board:
    """Several bars in one live display, added as a long run reaches each stage."""

    def __init__(self, progress: Progress | None) -> None:
        self._p = progress
        self.enabled = progress is not None

    def add(self, description: str, total: int | None = None) -> _Bar:
        if self._p is None:
            return _Bar(None, None)
        return _Bar(self._p, self._p.add_task(description, total=total))


@contextmanager
def board() -> Iterator[Board]:
    """A :class:`Board` (its bars are no-ops when progress is disabled)."""
    if not _enabled():
        yield Board(None)
        return
    progress = _progress()
    with progress:
        yield Board(progress)


def summary(title: str, rows: Mapping[str, Any]) -> None:
    """A one-screen table of what a run did."""
    table = Table(title=Text(printable(title)), show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows.items():
        if isinstance(value, float):
            value = f"{value:,.2f}"
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(Text(printable(key)), Text(printable(value)))
    stderr.print(table)


def info(message: str) -> None:
    """One line to stderr, printed literally (no rich markup) and stripped of control characters."""
    stderr.print(printable(message), markup=False)
