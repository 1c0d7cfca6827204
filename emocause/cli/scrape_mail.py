"""``emocause scrape mbox|pipermail|hyperkitty``: mailing-list archives into the record table.

The parsing, deduplication and month bookkeeping live in
:mod:`emocause.sources.mail`; these commands only check the arguments, open
the resumable state through :class:`~emocause.cli.scrape.ScrapeSession`
and print the summary (see ``docs/mail.md``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli.scrape import Out, Retries, ScrapeSession, Since, Timeout, Until

Project = Annotated[Optional[str], typer.Option(
    "--project", help="Value of the project column (default: the list name, or the first "
    "path's name for mbox).", show_default=False)]


def _web(retries: int, timeout: float) -> Any:
    import httpx

    from emocause.progress import info
    from emocause.sources.http import USER_AGENT, Waiter
    from emocause.sources.mail import Web

    shown: set[str] = set()

    def on_wait(reason: str, left: float) -> None:  # one line per wait (no countdown needed here)
        if left > 0 and reason not in shown:
            shown.add(reason)
            info(f"{reason}: waiting {left:,.0f} s")

    client = httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=timeout,
                          follow_redirects=True)
    return Web(client, max_retries=retries, waiter=Waiter(on_wait=on_wait))


def _finish(s: ScrapeSession, title: str, scraper: Any, extra_rows: dict[str, Any],
            web: Any = None) -> None:
    st = scraper.stats
    extra: dict[str, Any] = {"mail": {k: v for k, v in vars(st).items() if k != "counts"}}
    rows = {**st.rows(), **extra_rows}
    if web is not None:
        rows["requests"] = web.stats.requests
        rows["retries"] = web.stats.retries
        extra["http"] = {"requests": web.stats.requests, "retries": web.stats.retries,
                         "errors": web.stats.errors}
    s.finish(title, rows, extra=extra)


def mbox_cmd(
    paths: Annotated[list[Path], typer.Argument(
        help="mbox files or folders (searched recursively); plain, .gz, .bz2 or .zip.",
        show_default=False)],
    out: Out,
    project: Project = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Messages from local mbox archives, each Message-ID once.

    A rerun skips files whose size and modification time are unchanged; messages
    already stored are never duplicated.
    """
    from emocause.progress import bar
    from emocause.sources.mail import MailScraper, default_project, find_archives
    from emocause.sources.records import parse_window

    window = parse_window(since, until)
    find_archives(paths)  # a missing path is one line before anything is opened
    name = project or default_project(paths)
    params = {"paths": [str(p) for p in paths]}
    with ScrapeSession(out, {"source": "mbox", "project": name}, window, "scrape mbox", params) as s:
        with bar(f"mbox {name}", None) as b:
            scraper = MailScraper(s.store, name, window, on_message=b.advance)
            scraper.scrape_files(paths)
        st = scraper.stats
        _finish(s, f"scrape mbox {name}", scraper, {
            "files read": st.files, "files unchanged since last run": st.files_unchanged,
            "files skipped (not mbox)": st.not_mbox})


def pipermail_cmd(
    url: Annotated[str, typer.Argument(help="The list's archive index, e.g. "
                                       "https://mail.python.org/pipermail/python-dev/ (Apache "
                                       "mod_mbox indexes work too).", show_default=False)],
    out: Out,
    project: Project = None,
    since: Since = None,
    until: Until = None,
    retries: Retries = 6,
    timeout: Timeout = 60.0,
) -> None:
    """A Pipermail (Mailman 2) archive: the index, then each monthly archive (plain or gzipped).

    A rerun downloads only months not fetched yet, plus the latest month fetched
    (it may have grown); months outside --since/--until are not downloaded.
    """
    from emocause.progress import bar
    from emocause.sources.mail import MailScraper, check_http_url, pipermail_project
    from emocause.sources.records import parse_window

    window = parse_window(since, until)
    url = check_http_url(url)
    name = project or pipermail_project(url)
    identity = {"source": "pipermail", "project": name, "url": url.rstrip("/")}
    with ScrapeSession(out, identity, window, "scrape pipermail", {"url": url}) as s:
        web = _web(retries, timeout)
        with web.client, bar(f"pipermail {name}", None) as b:
            scraper = MailScraper(s.store, name, window, on_message=b.advance)
            scraper.scrape_pipermail(web, url)
        _finish(s, f"scrape pipermail {name}", scraper, _month_rows(scraper), web)


def hyperkitty_cmd(
    url: Annotated[str, typer.Argument(help="The list's page, e.g. https://lists.example.org/"
                                       "hyperkitty/list/dev@lists.example.org/",
                                       show_default=False)],
    out: Out,
    project: Project = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="First month to fetch, and keep messages created on or after this date "
        "(default: 12 months before now).", show_default=False)] = None,
    until: Until = None,
    retries: Retries = 6,
    timeout: Timeout = 60.0,
) -> None:
    """A HyperKitty (Mailman 3) list: one mbox export per month, --since to --until (or now).

    A rerun downloads only months not fetched yet, plus the latest month fetched.
    """
    from emocause.progress import bar
    from emocause.sources.mail import MailScraper, parse_hyperkitty_url
    from emocause.sources.records import parse_window

    window = parse_window(since, until)
    list_url, list_name = parse_hyperkitty_url(url)
    name = project or list_name
    identity = {"source": "hyperkitty", "project": name, "url": list_url.rstrip("/")}
    with ScrapeSession(out, identity, window, "scrape hyperkitty", {"url": list_url}) as s:
        web = _web(retries, timeout)
        with web.client, bar(f"hyperkitty {name}", None) as b:
            scraper = MailScraper(s.store, name, window, on_message=b.advance)
            scraper.scrape_hyperkitty(web, list_url, datetime.now(timezone.utc))
        _finish(s, f"scrape hyperkitty {name}", scraper, _month_rows(scraper), web)


def _month_rows(scraper: Any) -> dict[str, int]:
    st = scraper.stats
    return {"months fetched": st.months_fetched, "months skipped (fetched before)": st.months_skipped,
            "months outside --since/--until": st.months_outside,
            "months missing (HTTP 404)": st.months_missing}


def register(scrape_app: typer.Typer) -> None:
    """Add ``mbox``, ``pipermail`` and ``hyperkitty`` to ``emocause scrape``."""
    scrape_app.command("mbox")(mbox_cmd)
    scrape_app.command("pipermail")(pipermail_cmd)
    scrape_app.command("hyperkitty")(hyperkitty_cmd)
