"""The library's front door to the sources: ``scrape_github``, ``scrape_mbox``, ``scrape_pipermail``,
``scrape_hyperkitty``.

Each takes keyword arguments, builds its :class:`~emocause.sources.session.Source`
and runs it with :func:`~emocause.sources.session.run_source`, and returns a
:class:`~emocause.sources.session.ScrapeResult`: ``frame`` (the records, in the
shape of ``docs/records.md``), ``counts``, ``manifest`` (the fields a manifest
gets), ``complete`` and the ``summary`` lines.  Files are written only when
``out`` is given: then the table, ``OUT.manifest.json`` and the resumable state
``OUT.state.sqlite``, so calling again with the same ``out`` resumes or
updates.  Without ``out`` the state lives in memory for the one call.

The ``emocause scrape`` commands are thin adapters over these functions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from emocause.errors import UsageError
from emocause.sources import limits as L
from emocause.sources.http import HttpOptions
from emocause.sources.session import Progress, RichProgress, ScrapeResult, run_source

DateLike = str | date | datetime | None
PathLike = str | Path


@contextmanager
def _display(progress: bool | Progress) -> Iterator[Progress]:
    """``True``: rich bars on stderr (hidden without a terminal); a Progress: itself; else silence."""
    if isinstance(progress, Progress):
        yield progress
    elif progress:
        from emocause.progress import board

        with board() as b:
            yield RichProgress(b)
    else:
        yield Progress()


def _include(include: str | Sequence[str]) -> list[str]:
    from emocause.sources.github import INCLUDE_ALL

    wanted = ([x.strip() for x in include.split(",")] if isinstance(include, str)
              else [str(x).strip() for x in include])
    wanted = [x for x in wanted if x]
    unknown = [x for x in wanted if x not in INCLUDE_ALL]
    if unknown or not wanted:
        shown = include if isinstance(include, str) else ",".join(map(str, include))
        raise UsageError(f"--include {shown!r}: unknown {', '.join(unknown) or '(empty)'}; "
                         f"choose from {', '.join(INCLUDE_ALL)}")
    return wanted


def scrape_github(repo: str, *, out: PathLike | None = None, since: DateLike = None,
                  until: DateLike = None,
                  include: str | Sequence[str] = ("issues", "issue-comments", "review-comments"),
                  api_url: str | None = None, token: str | None = None,
                  token_env: str = "GITHUB_TOKEN", per_page: int = 100, retries: int = L.RETRIES,
                  timeout: float = L.GITHUB_TIMEOUT, deadline: float = L.GITHUB_DEADLINE,
                  bot_heuristic: bool = True,
                  progress: bool | Progress = False) -> ScrapeResult:
    """Issues, pull requests, their comments and (with ``include=...reviews``) reviews of ``repo``.

    ``since``/``until`` select on creation time (a date-only ``until`` includes
    that day).  The token is ``token`` or the variable ``token_env`` names;
    ``api_url`` defaults to ``$GITHUB_API_URL``, else https://api.github.com.
    ``bot_heuristic=False`` keeps ``is_bot`` to GitHub's documented rule (Apps).
    """
    from emocause.sources import github as G
    from emocause.sources.records import parse_repo, parse_window

    repo = parse_repo(str(repo).strip().strip("/"), "OWNER/REPO")
    wanted = _include(include)
    if not 1 <= int(per_page) <= G.PER_PAGE:
        raise UsageError(f"--per-page {per_page}: give 1 to {G.PER_PAGE}")
    window = parse_window(since, until)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        raise UsageError(f"--token-env {token_env!r}: expected an environment variable name")
    if token is None:
        token = os.environ.get(token_env, "").strip() or None
        if token is None and token_env != "GITHUB_TOKEN":
            raise UsageError(f"--token-env {token_env}: that environment variable is not set")
    api = (api_url or os.environ.get("GITHUB_API_URL") or G.API_URL).strip()
    options = HttpOptions(timeout=timeout, deadline=deadline, retries=retries).check()
    with _display(progress) as shown:
        if "reviews" in wanted and "issues" not in wanted:
            wanted.insert(0, "issues")  # reviews are fetched per pull request, found in the issue list
            shown.note("--include reviews needs the issue list to find pull requests: adding issues")
        client = G.GitHubClient(api, token, token_name=token_env, options=options,
                                on_wait=shown.wait)
        if not client.authenticated:
            shown.note(f"no token in ${token_env}: unauthenticated requests (GitHub allows 60 an "
                       f"hour)")
        source = G.GitHubSource(client, repo, window, wanted, per_page=int(per_page),
                                bot_heuristic=bot_heuristic)
        return run_source(source, out, shown)


def scrape_mbox(paths: PathLike | Sequence[PathLike], *, out: PathLike | None = None,
                project: str | None = None, since: DateLike = None, until: DateLike = None,
                limits: Any = None, progress: bool | Progress = False) -> ScrapeResult:
    """Messages from local mbox archives (files or folders; plain, .gz, .bz2 or .zip), each once.

    ``limits`` is a :class:`~emocause.sources.mail.MailLimits` (size caps).  With
    ``out``, a rerun skips files whose size and modification time are unchanged.
    """
    from emocause.sources.mail import MboxSource, default_project
    from emocause.sources.records import parse_window

    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise UsageError("give at least one mbox file or folder")
    window = parse_window(since, until)
    files = [Path(p) for p in items]
    source = MboxSource(files, project or default_project(files), window, limits)
    with _display(progress) as shown:
        return run_source(source, out, shown)


def _web(target: Any, retries: int, timeout: float, deadline: float, progress: Progress) -> Any:
    from emocause.sources.http import Waiter
    from emocause.sources.mail.remote import Web

    options = HttpOptions(timeout=timeout, deadline=deadline, retries=retries).check()
    return Web.for_target(target, options, Waiter(on_wait=progress.wait))


def scrape_pipermail(url: str, *, out: PathLike | None = None, project: str | None = None,
                     since: DateLike = None, until: DateLike = None, retries: int = L.RETRIES,
                     timeout: float = L.MAIL_TIMEOUT, deadline: float = L.MAIL_DEADLINE,
                     limits: Any = None,
                     max_months: int | None = None,
                     progress: bool | Progress = False) -> ScrapeResult:
    """A Pipermail (Mailman 2) or Apache mod_mbox archive: its index, then each monthly archive.

    Only archive links under ``url`` are followed.  Months outside the window are
    not downloaded; with ``out``, a rerun fetches only new months and the latest one.
    """
    from emocause.sources.mail.remote import pipermail_project, target_for
    from emocause.sources.mail.scraper import PipermailSource
    from emocause.sources.records import parse_window

    window = parse_window(since, until)
    target = target_for(url)
    with _display(progress) as shown:
        name = project or pipermail_project(target.url)
        source = PipermailSource(_web(target, retries, timeout, deadline, shown), target, name,
                                 window, limits, max_months or L.MAX_MONTHS)
        return run_source(source, out, shown)


def scrape_hyperkitty(url: str, *, out: PathLike | None = None, project: str | None = None,
                      since: DateLike = None, until: DateLike = None, retries: int = L.RETRIES,
                      timeout: float = L.MAIL_TIMEOUT, deadline: float = L.MAIL_DEADLINE,
                      limits: Any = None,
                      max_months: int | None = None, now: datetime | None = None,
                      progress: bool | Progress = False) -> ScrapeResult:
    """A HyperKitty (Mailman 3) list: one mbox export per month, ``since`` (default: the last
    12 months) to ``until`` (or now)."""
    from emocause.sources.mail.remote import parse_hyperkitty_url, target_for
    from emocause.sources.mail.scraper import HyperKittySource
    from emocause.sources.records import parse_window

    window = parse_window(since, until)
    target = target_for(url)
    _, list_name = parse_hyperkitty_url(target.url)
    with _display(progress) as shown:
        source = HyperKittySource(_web(target, retries, timeout, deadline, shown), target,
                                  project or list_name, window, now or datetime.now(timezone.utc),
                                  limits, max_months or L.MAX_MONTHS)
        return run_source(source, out, shown)
