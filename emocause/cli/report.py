"""``emocause report``: the paper's case study for any project, as a page to read and share.

A thin adapter: the flags become a :class:`emocause.report.pipeline.ReportOptions`,
:func:`emocause.report.pipeline.build_report` does the work (see docs/report.md),
and this module prints the one-screen summary.  Exit code 3 when model requests
failed (the report is written without those comments; a rerun retries them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli import options as o


def run(input: Path, out: Path, options: Any) -> None:
    """Build the report into ``out`` and print what it did."""
    from emocause.progress import info, summary
    from emocause.report.pipeline import build_report

    result = build_report(input, out, options)
    rep, counts, runs = result.report, result.counts, result.runs
    rows: dict[str, Any] = {"input rows": counts["rows"]}
    for key, label in (("bots", "bots dropped"), ("other_roles", "other roles dropped"),
                       ("outside_window", "outside the window"), ("undated", "undated dropped"),
                       ("other_emotions", "other emotions dropped")):
        if counts.get(key):
            rows[label] = counts[key]
    rows["comments"] = counts["comments"]
    if "detect" in runs:
        d, c = runs["detect"], runs["causes"]
        rows[f"showing {options.emotion.lower()}"] = counts["emotion_comments"]
        rows["prompts sent / cached"] = f"{d.sent + c.sent:,} / {d.cached + c.cached:,}"
        if d.failed or c.failed:
            rows["failed (rerun to retry)"] = d.failed + c.failed
    if "labels" in runs:
        rows["theme names asked / cached"] = f"{runs['labels']['sent']:,} / {runs['labels']['cached']:,}"
    emb = result.manifest["embedding"]
    rows.update({"causes": rep.n_causes, "distinct causes": emb["distinct_causes"],
                 "embedded / from cache": f"{emb['embedded']:,} / {emb['cached']:,}",
                 "themes": len(rep.themes),
                 "causes in a theme": f"{rep.n_clustered:,} ({100 * rep.coverage:.0f}%)",
                 "other": rep.n_other, "clustering seconds": counts["cluster_seconds"]})
    summary(f"report: {rep.title} -> {out}", rows)
    if counts.get("roles_note"):
        info(counts["roles_note"])
    for t in rep.themes[:10]:
        info(f"  {t.id:>2}. {t.label} ({t.size})")
    info(f"open: {result.paths['report.html']}")
    info(f"manifest: {result.paths['manifest.json']}")
    failed = sum(runs[k].failed for k in ("detect", "causes") if k in runs)
    if failed:  # the report is written, but some comments are missing from it
        info(f"{failed:,} model requests failed: those comments are not in the report; rerun to "
             "retry them (the answers that came are cached)")
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        input: Annotated[Path, typer.Argument(
            help="Scraped records or comments (CSV, JSONL, Parquet); with --from-causes, a table "
            "that already has causes.", show_default=False)],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.",
                                          show_default=False)],
        emotion: Annotated[str, typer.Option(
            "--emotion", "-e", help="The emotion whose causes are mapped. Frustration uses the "
            "frustration-detect/-cause prompts; others use all-levels + cause.")] = "Frustration",
        roles: Annotated[Optional[str], typer.Option(
            "--roles", help="Author roles to keep, comma-separated (author_association / "
            "UserType values), or 'all'. Default: CONTRIBUTOR,COLLABORATOR,MEMBER, as in the "
            "paper (not applied when there is no role column).", show_default=False)] = None,
        since: Annotated[Optional[str], typer.Option(
            "--since", help="Keep comments from this date (YYYY-MM-DD or ISO time, UTC).",
            show_default=False)] = None,
        until: Annotated[Optional[str], typer.Option(
            "--until", help="Keep comments up to this date (a bare date includes the whole day).",
            show_default=False)] = None,
        from_causes: Annotated[bool, typer.Option(
            "--from-causes", help="INPUT already has causes (no model is asked).")] = False,
        text_col: o.TextCol = None,
        cause_col: Annotated[Optional[str], typer.Option(
            "--cause-col", help="With --from-causes: the cause column (default: cause, Cause, "
            "Emotion Causes, ...).", show_default=False)] = None,
        date_col: Annotated[Optional[str], typer.Option(
            "--date-col", help="Date column (default: created_at, Date, date, ...).",
            show_default=False)] = None,
        role_col: Annotated[Optional[str], typer.Option(
            "--role-col", help="Author role column (default: author_association, UserType, role).",
            show_default=False)] = None,
        url_col: Annotated[Optional[str], typer.Option(
            "--url-col", help="Link to each comment (default: url, html_url).",
            show_default=False)] = None,
        emotion_col: Annotated[Optional[str], typer.Option(
            "--emotion-col", help="With --from-causes: keep only rows whose emotion here is "
            "--emotion (label or its basic emotion).", show_default=False)] = None,
        repo: Annotated[Optional[str], typer.Option(
            "--repo", help="OWNER/NAME on GitHub: builds comment links from Issue_ID and "
            "Comment_ID when there is no url column.", show_default=False)] = None,
        title: Annotated[Optional[str], typer.Option(
            "--title", help="Project name in the report (default: --repo, the project column, "
            "or the file name).", show_default=False)] = None,
        method: Annotated[str, typer.Option(
            "--method", help="themes: most causes in a named theme (agglomerative clustering, "
            "then every other cause joins the nearest theme above --min-similarity); paper: the "
            "paper's DBSCAN exactly.")] = "themes",
        algorithm: Annotated[Optional[str], typer.Option(
            "--algorithm", help="With --method themes: agglomerative (default), dbscan or "
            "hdbscan before the reassignment.", show_default=False)] = None,
        threshold: Annotated[float, typer.Option(
            "--threshold", help="agglomerative: cosine distance at which groups stop merging "
            "(larger: fewer, broader themes).")] = 0.65,
        min_similarity: Annotated[float, typer.Option(
            "--min-similarity", help="--method themes: a cause outside every theme joins the "
            "nearest one when its cosine similarity to that theme's centre is at least this "
            "(1: never).")] = 0.5,
        eps: Annotated[float, typer.Option(
            "--eps", help="DBSCAN: cosine distance within which causes are neighbours.")] = 0.3,
        min_samples: Annotated[int, typer.Option(
            "--min-samples", min=1, help="DBSCAN/HDBSCAN: neighbours (itself included) that "
            "make a core cause.")] = 4,
        min_cluster_size: Annotated[Optional[int], typer.Option(
            "--min-cluster-size", min=2, help="Causes a group needs to be a theme. Default: 8 "
            "(the paper: more than 7), and with --method themes at least one in 500 causes.",
            show_default=False)] = None,
        labels: Annotated[str, typer.Option(
            "--labels", help="auto: theme names written by the backend when it writes text "
            "(openai, hf), else the most representative phrase; model; offline.")] = "auto",
        embedding_cache: Annotated[Optional[Path], typer.Option(
            "--embedding-cache", help="SQLite cache of cause embeddings (default: "
            "embeddings.sqlite beside the response cache; off with --no-cache).",
            show_default=False)] = None,
        csv_raw: Annotated[bool, typer.Option(
            "--csv-raw", help="Write CSV cells exactly as in the data (default: a cell starting "
            "with = + - @ gets a leading ' so spreadsheets do not run it).")] = False,
        embedding_model: o.EmbeddingModel = None,
        backend: o.Backend = None, model: o.Model = None, base_url: o.BaseUrl = None,
        concurrency: o.Concurrency = None, retries: o.Retries = None, temperature: o.Temperature = None,
        device: o.Device = None, batch_size: o.BatchSize = None,
        platform: Annotated[Optional[str], typer.Option(
            "--platform", help="github, stackoverflow, jira or mail (default: from each record's "
            "source, else github).", show_default=False)] = None,
        cache: o.CachePath = None, no_cache: o.NoCache = False, limit: o.Limit = None,
        max_chars: o.MaxChars = o.MAX_CHARS,
        encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLines = "error",
    ) -> None:
        """Map what causes an emotion (default: Frustration) in a project, grouped into themes.

        From scraped records: keep the chosen roles and time window, detect the emotion,
        extract each cause (any backend; answers cached), embed the causes (cached), group
        them into named themes and describe each one.  With --from-causes, start from a
        table of causes.  --method paper reproduces the paper's DBSCAN clusters.

        Writes report.html (self-contained), report.md, clusters.csv, summary.json and
        manifest.json into --out, whole or not at all.
        """
        from emocause.report.pipeline import ReportOptions

        name, opts = o.backend_options(backend, model, base_url, concurrency, temperature, device,
                                       batch_size, embedding_model, retries)
        with o.reading_tables(encoding, sep, bad_lines):
            run(input, out, ReportOptions(
                emotion=emotion, roles=roles, since=since, until=until, from_causes=from_causes,
                text_col=text_col, cause_col=cause_col, date_col=date_col, role_col=role_col,
                url_col=url_col, emotion_col=emotion_col, repo=repo, title=title,
                method=method.lower(), algorithm=algorithm, eps=eps, min_samples=min_samples,
                min_cluster_size=min_cluster_size, threshold=threshold,
                min_similarity=min_similarity, embedding_model=embedding_model, device=device,
                embedding_cache=embedding_cache, labels=labels.lower(), backend=name,
                backend_options=opts, platform=platform, cache=cache, no_cache=no_cache,
                limit=limit, max_chars=max_chars, csv_raw=csv_raw))
