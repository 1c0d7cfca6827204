"""``emocause scrape github|mbox|pipermail|hyperkitty`` and ``emocause preprocess``.

Every scrape command works the same way, through :class:`ScrapeSession`: the
records go into the SQLite state beside the output (``OUT.state.sqlite``) as
they arrive, and the output table (CSV, JSONL or Parquet, one row per record in
the shape of ``docs/records.md``) is rewritten from that state at the end, or
when the run stops early, so whatever was fetched is never lost and the same
command resumes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli import options as o
from emocause.errors import UsageError

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
Timeout = Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds per network operation.")]



class ScrapeSession:
    """Open the state for ``out``, and export the output from it whatever happens.

    ``with ScrapeSession(out, identity, window, command, params) as s:`` gives
    ``s.store`` (a :class:`~emocause.sources.store.RecordStore`); call
    ``s.finish(title, rows)`` at the end of a complete run.  If the block
    raises (a fault after the retries, Ctrl-C), what was committed is still
    exported, marked ``"complete": false`` in the manifest, and the error goes
    on to the CLI's one-line handler.
    """

    def __init__(self, out: Path, identity: dict[str, Any], window: Any, command: str,
                 params: dict[str, Any]) -> None:
        from emocause.tables import check_output

        check_output(out)  # refuse an unknown extension or unwritable folder before any request
        if out.exists() and out.is_dir():
            raise UsageError(f"--out {out} is a directory; give a file name like {out}/records.csv")
        self.out, self.identity, self.window = out, identity, window
        self.command, self.params = command, params
        self.store: Any = None
        self.rows = 0

    def __enter__(self) -> ScrapeSession:
        from emocause.sources.store import open_store

        self.store = open_store(self.out, self.identity)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        from emocause.progress import info
        from emocause.sources.store import discard_if_empty

        try:
            if exc_type is not None and self.store.count():
                self.export(complete=False, extra={})
                info(f"stopped early: {self.rows:,} records saved to {self.out}; rerun the same "
                     f"command to resume")
        finally:
            discard_if_empty(self.store)

    def export(self, complete: bool, extra: dict[str, Any]) -> Any:
        """Rewrite the output table and its manifest from the state; return the frame."""
        from emocause.manifest import write_manifest
        from emocause.sources.records import to_frame
        from emocause.tables import write_table

        df = to_frame(list(self.store.records()), self.window)
        write_table(df, self.out)
        self.rows = len(df)
        write_manifest(self.out, self.command, complete=complete, **self.identity,
                       window=self.window.describe(), parameters=self.params,
                       state=self.store.path.name, rows=len(df),
                       rows_by_kind={str(k): int(v) for k, v in df["kind"].value_counts().items()},
                       stored_by_kind=self.store.counts_by_kind(), **extra)
        return df

    def finish(self, title: str, rows: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        """Export, then print the one-screen summary (``rows`` first, then the output's counts)."""
        from emocause.progress import summary

        df = self.export(complete=True, extra=extra or {})
        by_kind = df["kind"].value_counts()
        summary(title, {**rows, **{f"rows: {k}": int(v) for k, v in by_kind.items()},
                        "rows written": len(df), "output": str(self.out),
                        "state (resume)": self.store.path.name})
        return df


# ----------------------------------------------------------------------------- github

class _GitHubDisplay:
    """Bars per endpoint with a countdown during rate-limit waits (a line per wait when no TTY)."""

    def __init__(self, board: Any) -> None:
        self.board, self.current, self.label, self._waiting = board, None, "", ""
        self.count = 0

    def start(self, label: str) -> None:
        self.label, self.count = label, 0
        self.current = self.board.add(label, None)

    def page(self, n_items: int, estimated_total: int | None) -> None:
        self.count += n_items
        if self.current is not None:
            self.current.advance(n_items)
            if estimated_total:
                self.current.update(total=max(estimated_total, self.count))

    def done(self) -> None:
        if self.current is not None:
            self.current.update(total=self.count)

    def on_wait(self, reason: str, left: float) -> None:
        from emocause.progress import info

        if left <= 0:
            self._waiting = ""
            if self.current is not None:
                self.current.update(description=self.label)
            return
        if self.board.enabled and self.current is not None:
            self.current.update(description=f"{self.label} [yellow]{reason}: {left:,.0f} s left")
        elif reason != self._waiting:
            info(f"{self.label or 'github'}: {reason}: waiting {left:,.0f} s")
        self._waiting = reason


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
    retries: Retries = 6,
    timeout: Timeout = 30.0,
) -> None:
    """Issues, pull requests, their comments and reviews of one repository, resumably.

    Uses the repository-wide list endpoints (100 items a request, sorted by update
    time, `since` on the server), so a year of a busy project costs about one
    request per 100 comments. Rerunning the same command fetches only what changed;
    an edited comment replaces its older version.
    """
    from emocause.progress import board, info
    from emocause.sources import github as G
    from emocause.sources.records import parse_repo, parse_window

    repo = repo.strip().strip("/")
    repo = parse_repo(repo, "OWNER/REPO")
    wanted = [x.strip() for x in include.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in G.INCLUDE_ALL]
    if unknown or not wanted:
        raise UsageError(f"--include {include!r}: unknown {', '.join(unknown) or '(empty)'}; "
                         f"choose from {', '.join(G.INCLUDE_ALL)}")
    if "reviews" in wanted and "issues" not in wanted:
        wanted.insert(0, "issues")  # reviews are fetched per pull request, found in the issue list
        info("--include reviews needs the issue list to find pull requests: adding issues")
    window = parse_window(since, until)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        raise UsageError(f"--token-env {token_env!r}: expected an environment variable name")
    token = os.environ.get(token_env, "").strip() or None
    if token is None and token_env != "GITHUB_TOKEN":
        raise UsageError(f"--token-env {token_env}: that environment variable is not set")
    api = (api_url or os.environ.get("GITHUB_API_URL") or G.API_URL).rstrip("/")
    if token is None:
        info(f"no token in ${token_env}: unauthenticated requests (GitHub allows 60 an hour)")
    params = {"include": wanted, "api_url": api, "per_page": G.PER_PAGE, "retries": retries,
              "timeout": timeout, "authenticated": token is not None}
    identity = {"source": "github", "project": repo, "api_url": api}
    with ScrapeSession(out, identity, window, "scrape github", params) as s:
        with board() as b, G.GitHubClient(api, token, token_name=token_env, max_retries=retries,
                                          timeout=timeout) as client:
            display = _GitHubDisplay(b)
            client.waiter.on_wait = display.on_wait
            scraper = G.RepoScraper(client, s.store, repo, window, wanted, progress=display)
            try:
                st = scraper.run()
            finally:
                s.params["requests"] = client.stats.requests
        http = client.stats
        s.finish(f"scrape github {repo}", {
            "requests": http.requests, "pages": st.pages, "items received": st.fetched,
            "new records": st.counts.new, "updated (edited since)": st.counts.updated,
            "unchanged (already stored)": st.counts.unchanged,
            "outside --since/--until": st.outside_window,
            "pull requests reviewed": st.pull_requests_reviewed,
            "reviews without text": st.empty_reviews, "retries": http.retries,
            "rate-limit waits": http.rate_limit_waits + http.secondary_waits,
            "seconds waited": round(http.wait_seconds, 1)},
            extra={"http": {"requests": http.requests, "retries": http.retries,
                            "rate_limit_waits": http.rate_limit_waits,
                            "secondary_waits": http.secondary_waits, "errors": http.errors}})


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
    encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLinesOpt = o.BadLines.error,
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
    check_output(out)
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
    from emocause.cli import scrape_mail

    scrape_mail.register(scrape_app)
    app.add_typer(scrape_app, name="scrape")
    app.command("preprocess")(preprocess_cmd)
