"""``emocause scrape github|mbox|pipermail|hyperkitty`` and ``emocause preprocess``.

Thin adapters: each command turns its flags into a call of
:mod:`emocause.sources.api` (which runs the source through
:func:`emocause.sources.session.run_source`: state beside the output, resumable,
the table rewritten even when a run stops early) and prints the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli import options as o
from emocause.errors import UsageError
from emocause.sources import limits as L

scrape_app = typer.Typer(
    help="Fetch developer communication into one record table (resumable; see docs/scraping.md).",
    no_args_is_help=True)

Out = Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .jsonl, .parquet). Its "
                                   "state, OUT.state.sqlite, lets the same command resume.",
                                   show_default=False)]
Since = Annotated[Optional[str], typer.Option(
    "--since", help="Keep items created on or after this date (2023-01-01 or an ISO date-time).",
    show_default=False)]
Until = Annotated[Optional[str], typer.Option(
    "--until", help="Keep items created up to this date, inclusive (2023-12-31 = the whole day).",
    show_default=False)]
Retries = Annotated[int, typer.Option("--retries", min=0, max=20,
                                      help="Retries per request on 5xx and timeouts (backoff with "
                                      "jitter).")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.1,
                                        help="Seconds per network operation (connect, one read).")]
Deadline = Annotated[float, typer.Option(
    "--deadline", min=1.0, help="Seconds for one whole request, connect to last byte (a server that "
    "trickles its answer is cut off and retried).")]
MaxMessage = Annotated[int, typer.Option(
    "--max-message-mb", min=1, help="Skip (and count) messages larger than this.")]
MaxArchive = Annotated[int, typer.Option(
    "--max-archive-mb", min=1, help="Stop reading a compressed archive that expands past this "
    "(decompression bombs).")]
MaxDownload = Annotated[int, typer.Option(
    "--max-download-mb", min=1, help="Refuse a remote archive larger than this as sent.")]
MaxMonths = Annotated[int, typer.Option(
    "--max-months", min=1, help="Refuse a run that would request more monthly archives than this.")]
Project = Annotated[Optional[str], typer.Option(
    "--project", help="Value of the project column (default: the list name, or the first "
    "path's name for mbox).", show_default=False)]


def _limits(message_mb: int, archive_mb: int, download_mb: int = L.MAX_DOWNLOAD_MB) -> Any:
    from emocause.sources.mail import MailLimits

    return MailLimits(message_mb * L.MB, archive_mb * L.MB, download_mb * L.MB)


def _done(result: Any) -> None:
    from emocause.progress import summary

    summary(result.title, result.summary)


# ----------------------------------------------------------------------------- github

@scrape_app.command("github")
def github_cmd(
    repo: Annotated[str, typer.Argument(help="OWNER/REPO, e.g. tensorflow/tensorflow.",
                                        show_default=False)],
    out: Out,
    since: Since = None,
    until: Until = None,
    include: Annotated[str, typer.Option(
        "--include", help="Comma-separated: issues, issue-comments, review-comments, reviews "
        "(reviews cost one request per pull request).")] = "issues,issue-comments,review-comments",
    api_url: Annotated[Optional[str], typer.Option(
        "--api-url", help="API root for GitHub Enterprise (https://HOST/api/v3) or a local "
        "server. Default: $GITHUB_API_URL, else https://api.github.com.", show_default=False)] = None,
    token_env: Annotated[str, typer.Option(
        "--token-env", help="Environment variable holding the token (the token itself is never "
        "a flag, so it stays out of shell history and process lists).")] = "GITHUB_TOKEN",
    per_page: Annotated[int, typer.Option("--per-page", min=1, max=100,
                                          help="Items per request (GitHub's maximum is 100).")] = 100,
    bot_heuristic: Annotated[bool, typer.Option(
        "--bot-heuristic/--no-bot-heuristic", help="Also mark logins with -bot, bot or robot as a "
        "word as bots (GitHub's own rule, Apps and [bot], always applies).")] = True,
    retries: Retries = L.RETRIES,
    timeout: Timeout = L.GITHUB_TIMEOUT,
    deadline: Deadline = L.GITHUB_DEADLINE,
) -> None:
    """Issues, pull requests, their comments and reviews of one repository, resumably.

    Uses the repository-wide list endpoints (100 items a request, `since` on the
    server), so a year of a busy project costs about one request per 100 comments.
    Rerunning the same command fetches only what changed; an edited comment
    replaces its older version. A past window (--until before today) walks in
    creation order, so comments edited after the window are not missed.
    """
    from emocause.sources.api import scrape_github

    _done(scrape_github(repo, out=out, since=since, until=until, include=include, api_url=api_url,
                        token_env=token_env, per_page=per_page, retries=retries, timeout=timeout,
                        deadline=deadline, bot_heuristic=bot_heuristic, progress=True))


# ----------------------------------------------------------------------------- mail

@scrape_app.command("mbox")
def mbox_cmd(
    paths: Annotated[list[Path], typer.Argument(
        help="mbox files or folders (searched recursively); plain, .gz, .bz2 or .zip.",
        show_default=False)],
    out: Out,
    project: Project = None,
    since: Since = None,
    until: Until = None,
    max_message_mb: MaxMessage = L.MAX_MESSAGE_MB,
    max_archive_mb: MaxArchive = L.MAX_ARCHIVE_MB,
) -> None:
    """Messages from local mbox archives, each Message-ID once.

    A rerun skips files whose size and modification time are unchanged; messages
    already stored are never duplicated.
    """
    from emocause.sources.api import scrape_mbox

    _done(scrape_mbox(paths, out=out, project=project, since=since, until=until,
                      limits=_limits(max_message_mb, max_archive_mb), progress=True))


@scrape_app.command("pipermail")
def pipermail_cmd(
    url: Annotated[str, typer.Argument(help="The list's archive index, e.g. "
                                       "https://mail.python.org/pipermail/python-dev/ (Apache "
                                       "mod_mbox indexes work too).", show_default=False)],
    out: Out,
    project: Project = None,
    since: Since = None,
    until: Until = None,
    retries: Retries = L.RETRIES,
    timeout: Timeout = L.MAIL_TIMEOUT,
    deadline: Deadline = L.MAIL_DEADLINE,
    max_message_mb: MaxMessage = L.MAX_MESSAGE_MB,
    max_archive_mb: MaxArchive = L.MAX_ARCHIVE_MB,
    max_download_mb: MaxDownload = L.MAX_DOWNLOAD_MB,
    max_months: MaxMonths = L.MAX_MONTHS,
) -> None:
    """A Pipermail (Mailman 2) archive: the index, then each monthly archive (plain or gzipped).

    A rerun downloads only months not fetched yet, plus the latest month fetched
    (it may have grown); months outside --since/--until are not downloaded. Only
    links under the list's own URL are followed.
    """
    from emocause.sources.api import scrape_pipermail

    _done(scrape_pipermail(url, out=out, project=project, since=since, until=until,
                           retries=retries, timeout=timeout, deadline=deadline,
                           limits=_limits(max_message_mb, max_archive_mb, max_download_mb),
                           max_months=max_months, progress=True))


@scrape_app.command("hyperkitty")
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
    retries: Retries = L.RETRIES,
    timeout: Timeout = L.MAIL_TIMEOUT,
    deadline: Deadline = L.MAIL_DEADLINE,
    max_message_mb: MaxMessage = L.MAX_MESSAGE_MB,
    max_archive_mb: MaxArchive = L.MAX_ARCHIVE_MB,
    max_download_mb: MaxDownload = L.MAX_DOWNLOAD_MB,
    max_months: MaxMonths = L.MAX_MONTHS,
) -> None:
    """A HyperKitty (Mailman 3) list: one mbox export per month, --since to --until (or now).

    A rerun downloads only months not fetched yet, plus the latest month fetched.
    """
    from emocause.sources.api import scrape_hyperkitty

    _done(scrape_hyperkitty(url, out=out, project=project, since=since, until=until,
                            retries=retries, timeout=timeout, deadline=deadline,
                            limits=_limits(max_message_mb, max_archive_mb, max_download_mb),
                            max_months=max_months, progress=True))


# ----------------------------------------------------------------------------- preprocess

def preprocess_cmd(
    input: Annotated[Path, typer.Argument(help="Table with a text column (.csv, .jsonl, .parquet).",
                                          show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table.", show_default=False)],
    text_col: Annotated[Optional[str], typer.Option(
        "--text-col", help="Raw text column (default: body, else the first of text, Text, "
        "modified_comment, Comment, ...).", show_default=False)] = None,
    into: Annotated[str, typer.Option("--into", help="Column for the preprocessed text.")] = "text",
    platform: Annotated[str, typer.Option(
        "--platform", help="github, mail, or auto (mail where a `kind` column says mail).")] = "auto",
    encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLines = "error",
) -> None:
    """Rewrite text the way the labeled GitHub dataset was written.

    Mentions become [USER], links [URL], quoted blocks [BLOCK QUOTE]., fenced code
    [TRIPLE QUOTE].; mail also loses signatures, footers and attribution lines.
    All other columns are kept; when the text is rewritten in place the raw text
    is kept in COLUMN_raw.
    """
    from emocause.manifest import write_manifest
    from emocause.sources.preprocess import KINDS, placeholder_counts, preprocess
    from emocause.progress import bar, summary
    from emocause.tables import (TEXT_COLUMNS, as_text, check_output, load_table, pick_column,
                                  write_table)

    if platform not in (*KINDS, "auto"):
        raise UsageError(f"--platform {platform!r}: choose github, mail or auto")
    check_output(out)  # format known, folder writable: before any work
    with o.reading_tables(encoding, sep, bad_lines):
        loaded = load_table(input)
    df = loaded.frame
    if text_col is None and "body" in df.columns:
        text_col = "body"
    col = pick_column(df, text_col, TEXT_COLUMNS, "text", str(input))
    if platform == "auto":
        kinds = (["mail" if str(k) == "mail" else "github" for k in df["kind"]]
                 if "kind" in df.columns else ["github"] * len(df))
    else:
        kinds = [platform] * len(df)
    raw = [as_text(v) for v in df[col]]
    result = []
    with bar("preprocess", len(raw)) as b:
        for text, kind in zip(raw, kinds):
            result.append(preprocess(text, kind))
            b.advance()
    if into == col:
        df[f"{col}_raw"] = raw
    df[into] = result
    write_table(df, out)
    tokens = placeholder_counts(result)
    changed = sum(a != b for a, b in zip(raw, result))
    write_manifest(out, "preprocess", input=str(input), text_col=col, into=into, platform=platform,
                   rows=len(df), changed=changed, placeholders=tokens, table=loaded.describe())
    summary(f"preprocess -> {out}", {"rows": len(df), "text column": col, "written to": into,
                                      "changed": changed, **{f"{k} placed": v for k, v in tokens.items()},
                                      "mail rows": kinds.count("mail")})


def register(app: typer.Typer) -> None:
    app.add_typer(scrape_app, name="scrape")
    app.command("preprocess")(preprocess_cmd)
