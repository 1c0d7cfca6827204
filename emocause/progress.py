"""Progress bars and end-of-run summaries, the same for every long command.

Bars go to stderr (stdout stays clean for ``--format json``) and show count,
rate and ETA.  They are hidden when stderr is not a terminal unless
``EMOCAUSE_PROGRESS=1``, so logs and CI output stay readable.  The rate and ETA
stay blank until a second has passed: a first frame after a few milliseconds
would otherwise show absurd figures.

:func:`set_verbosity` is the CLI's ``-q``/``-v``: quiet hides bars, summaries and
info lines (errors still print); normal silences the progress bars and logs of the
libraries underneath (transformers, sentence-transformers, huggingface_hub, tqdm,
httpx), which only ``-v`` shows.
"""

from __future__ import annotations

import logging
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


#: -1 quiet, 0 normal, 1 verbose (the CLI's -q/-v); the library default is normal.
_verbosity = 0
#: Environment switches read by the libraries underneath when they are first imported.
_QUIET_ENV = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
              "HF_HUB_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
              "TOKENIZERS_PARALLELISM": "false"}
_QUIET_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "httpx", "httpcore",
                  "openai", "urllib3", "filelock", "torch")


def set_verbosity(level: int) -> None:
    """-1: errors only; 0: emocause's own bars and summaries; 1: also third-party logs and bars."""
    global _verbosity
    _verbosity = level
    if level > 0:
        for name in _QUIET_ENV:
            if os.environ.get(name) == _QUIET_ENV[name]:
                del os.environ[name]
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        return
    for name, value in _QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "transformers" in sys.modules:  # imported before the switch: tell it directly
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()


def _enabled() -> bool:
    if _verbosity < 0:
        return False
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


#: Seconds of work before a rate or an ETA is shown.
SETTLE_SECONDS = 1.0


def _settled(task: Any) -> bool:
    return task.finished or (task.elapsed or 0.0) >= SETTLE_SECONDS


class RateColumn(ProgressColumn):
    """Items per second over the whole run so far (blank during the first second).

    rich's own estimate divides the first few items by the milliseconds since the
    start, which shows figures like 40,000/s on the first frame.
    """

    def render(self, task: Any) -> Text:
        if task.finished and task.finished_speed:
            return Text(f"{task.finished_speed:,.1f}/s", style="cyan")
        if not _settled(task) or not task.completed:
            return Text("-/s", style="cyan")
        return Text(f"{task.completed / task.elapsed:,.1f}/s", style="cyan")


class RemainingColumn(TimeRemainingColumn):
    """Time remaining, blank until the rate has settled."""

    def render(self, task: Any) -> Text:
        if not _settled(task):
            return Text("-:--:--", style="progress.remaining")
        return super().render(task)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        RemainingColumn(), console=stderr)


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
    """A one-screen table of what a run did (hidden by ``-q``)."""
    if _verbosity < 0:
        return
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


def warn(message: str) -> None:
    """Like :func:`info`, but printed even with ``-q``: something the user must act on."""
    stderr.print(printable(message), markup=False)


def info(message: str) -> None:
    """One line to stderr, printed literally (no rich markup) and stripped of control characters (hidden by ``-q``)."""
    if _verbosity < 0:
        return
    stderr.print(printable(message), markup=False)
