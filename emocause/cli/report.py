"""``emocause report``: the paper's case study for any project, as a page to read and share.

Two entry points share everything after the causes are known:

* scraped records (``emocause scrape`` output, or any comment table): filter
  by author role and time window first (so no prompt is spent on comments that
  would be dropped), ask each comment whether it shows the emotion, extract the
  cause from those that do (through :mod:`emocause.annotate.frames`, so every backend
  and the shared response cache work), then cluster;
* ``--from-causes``: a table that already has causes (the paper's
  ``filtered_contributors.csv``, or ``emocause causes`` output).

Then: embed the causes, cluster them (blocked DBSCAN or HDBSCAN), describe the
themes, and write ``report.html``, ``report.md``, ``clusters.csv``,
``summary.json`` and ``manifest.json`` into ``--out``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli import options as o
from emocause.errors import UsageError

#: Record ``source`` values -> prompt platform.
_SOURCE_PLATFORM = {"github": "github", "mbox": "mail", "pipermail": "mail", "hyperkitty": "mail",
                    "mail": "mail", "mailing-list": "mail", "jira": "jira",
                    "stackoverflow": "stackoverflow"}


def _prompts_for(emotion: str) -> tuple[str, str]:
    """(detection prompt, cause prompt) for an emotion: the dedicated pair for Frustration."""
    if emotion.strip().lower() == "frustration":
        return "frustration-detect", "frustration-cause"
    return "all-levels", "cause"


def _matches(label: object, basic: object, emotion: str) -> bool:
    """Whether a classify answer (label and its basic emotion) is the emotion asked about."""
    from emocause.tables import as_text

    target = emotion.strip().lower()
    return as_text(label).strip().lower() == target or as_text(basic).strip().lower() == target


def _platforms(df, platform: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    """The prompt platform of every row: ``--platform``, else from the ``source`` column."""
    from emocause.tables import as_text

    if platform:
        return [platform] * len(df)
    if "source" in df.columns:
        return [_SOURCE_PLATFORM.get(as_text(s).strip().lower(), "github") for s in df["source"]]
    return ["github"] * len(df)


def _detect_and_extract(df, cols, emotion: str, platform: str | None, backend_name: str,
                        backend_opts: dict[str, Any], cache_path: Path | None, no_cache: bool,
                        max_chars: int):  # type: ignore[no-untyped-def]
    """Run detection then cause extraction; returns (annotated table, selected rows, run info)."""
    import pandas as pd

    from emocause import backends

    from emocause.annotate import frames as annotate

    from emocause.annotate import prompts
    from emocause.annotate.runner import RunStats

    detect_name, cause_name = _prompts_for(emotion)
    detect, extract = prompts.load(detect_name), prompts.load(cause_name)
    store = o.open_cache(cache_path, no_cache)
    model = backends.create(backend_name, **backend_opts)
    detect_stats, cause_stats = RunStats(), RunStats()
    plats = pd.Series(_platforms(df, platform), index=df.index)
    try:
        parts = [annotate.classify_frame(df[plats == p], cols.text, detect, model, store, p,
                                         max_chars, detect_stats) for p in plats.unique()]
        labelled = pd.concat(parts).loc[df.index] if parts else df.copy()
        shows = [_matches(lab, bas, emotion) for lab, bas in
                 zip(labelled["emotion_label"], labelled["emotion"])]
        labelled["shows_emotion"] = shows
        chosen = labelled[labelled["shows_emotion"]]
        cparts = [annotate.causes_frame(chosen[plats.loc[chosen.index] == p], cols.text,
                                        [emotion] * int((plats.loc[chosen.index] == p).sum()),
                                        extract, model, store, p, max_chars, cause_stats)
                  for p in plats.loc[chosen.index].unique()]
        with_causes = pd.concat(cparts).loc[chosen.index] if cparts else chosen.copy()
    finally:
        model.close()
        if store is not None:
            store.close()
    cause_cols = [c for c in with_causes.columns if c.startswith("cause")]
    annotated = labelled.join(with_causes[cause_cols]) if cause_cols else labelled
    info = {"backend": model.describe(),
            "prompts": {"detect": {"name": detect.name, "sha256": detect.sha256},
                        "cause": {"name": extract.name, "sha256": extract.sha256}},
            "detect": detect_stats, "causes": cause_stats,
            "cache": None if store is None else str(store.path)}
    return annotated, with_causes, info


def run(input: Path, out: Path, emotion: str, roles: str | None, since: str | None,
        until: str | None, from_causes: bool, text_col: str | None, cause_col: str | None,
        date_col: str | None, role_col: str | None, url_col: str | None,
        emotion_col: str | None, repo: str | None, title: str | None, eps: float,
        min_samples: int, min_cluster_size: int, algorithm: str, embedding_model: str | None,
        backend: str | None, model: str | None, base_url: str | None, concurrency: int,
        retries: int, temperature: float, device: str | None, batch_size: int,
        platform: str | None, cache: Path | None, no_cache: bool, limit: int | None,
        max_chars: int) -> None:
    """The whole command; every user-fixable problem raises UsageError before work starts."""
    import numpy as np

    from emocause import config

    from emocause.report import clustering

    from emocause.report import render as report

    from emocause import tables as tabular
    from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL, embed, load_model
    from emocause.files import file_sha256
    from emocause.manifest import now, write_manifest
    from emocause.progress import info, summary

    started = now()
    algorithm = algorithm.lower()
    if algorithm not in clustering.ALGORITHMS:
        raise UsageError(f"--algorithm must be one of {', '.join(clustering.ALGORITHMS)}, got {algorithm!r}")
    if not 0.0 < eps < 2.0:
        raise UsageError(f"--eps is a cosine distance between 0 and 2, got {eps}")
    if repo:
        from emocause.sources.records import parse_repo

        repo = parse_repo(repo, "--repo")
    if emotion_col and not from_causes:
        raise UsageError("--emotion-col filters a --from-causes table; scraped records are "
                         "classified with the detection prompt instead")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory")
    role_set = report.parse_roles(roles)
    t_since = report.parse_when(since, "--since")
    t_until = report.parse_when(until, "--until", end=True)
    if t_since is not None and t_until is not None and t_since > t_until:
        raise UsageError(f"--since {since} is after --until {until}")

    df = tabular.read_table(input)
    where = str(input)
    if df.empty:
        raise UsageError(f"{where}: the table has no rows")
    cols = report.resolve_columns(df, where, text_col, cause_col, date_col, role_col, url_col,
                                  need_cause=from_causes)
    if emotion_col:
        tabular.require_columns(df, [emotion_col], where)
    filtered, counts = report.filter_rows(df, cols, role_set, roles is not None, t_since, t_until,
                                          where)
    if limit:
        filtered = filtered.head(limit)
    what = _dropped(counts, role_set)
    if filtered.empty:
        raise UsageError(f"{where}: no rows left after filtering ({what})")

    run_info: dict[str, Any] = {}
    totals = None
    months = None
    if from_causes:
        if emotion_col:
            from emocause.emotions.taxonomy import to_basic

            keep = [_matches(v, to_basic(tabular.as_text(v)), emotion) for v in filtered[emotion_col]]
            counts["other_emotions"] = len(keep) - sum(keep)
            filtered = filtered[keep]
        counts["comments"] = len(filtered)
        cause_values = filtered[cols.cause].tolist()
        source = filtered
    else:
        if cols.text is None:  # pragma: no cover - resolve_columns requires it here
            raise UsageError(f"{where}: no text column")
        name, opts = o.backend_options(backend, model, base_url, concurrency, temperature, device,
                                       batch_size, embedding_model, retries)
        annotated, source, run_info = _detect_and_extract(
            filtered, cols, emotion, platform, name, opts, cache, no_cache, max_chars)
        out.mkdir(parents=True, exist_ok=True)
        tabular.write_table(annotated, out / "annotations.csv")
        counts["comments"] = len(filtered)
        counts["emotion_comments"] = len(source)
        cause_values = source["cause"].tolist() if "cause" in source.columns else []
        if cols.date:
            totals = report.month_counts(report.parse_dates(filtered[cols.date]))
            months = report.month_counts(report.parse_dates(source[cols.date]))
    frame = report.cause_frame(source, cols, cause_values, repo)
    empty = frame["cause"] == ""
    counts["empty_causes"] = int(empty.sum())
    frame = frame[~empty].reset_index(drop=True)
    if run_info:
        what += f", {counts['emotion_comments']} showing {emotion.lower()}"
        failed = run_info["detect"].failed + run_info["causes"].failed
        if failed:
            what += f", {failed} model requests failed (rerun to retry them)"
    if counts["empty_causes"]:
        what += f"; {counts['empty_causes']} without a cause"
    report.check_enough(len(frame), min_samples, min_cluster_size, what)

    # Embed each distinct cause once (same model resolution as the embedding backend).
    embedding_model = config.resolve("embedding_model", embedding_model)
    texts = frame["cause"].tolist()
    distinct = list(dict.fromkeys(texts))
    st_model = load_model(embedding_model, config.resolve("device", device))
    vectors = embed(distinct, st_model, batch_size=64, description="embed causes")
    index = {t: i for i, t in enumerate(distinct)}
    X = vectors[np.fromiter((index[t] for t in texts), dtype=np.intp, count=len(texts))]
    result = clustering.cluster(X, algorithm, eps, min_samples, min_cluster_size,
                                description="cluster")

    emb_name = embedding_model or DEFAULT_EMBEDDING_MODEL
    parameters: dict[str, Any] = {
        "input": str(input), "from_causes": from_causes, "emotion": emotion,
        "roles": list(role_set) if role_set and not counts.get("roles_note") else None,
        "since": None if t_since is None else t_since.isoformat(),
        "until": None if t_until is None else t_until.isoformat(),
        "algorithm": algorithm, **({"eps": eps} if algorithm == "dbscan" else {}),
        "min_samples": min_samples, "min_cluster_size": min_cluster_size,
        "embedding_model": emb_name, "limit": limit, "repo": repo,
        "columns": {k: v for k, v in cols.as_dict().items() if v},
    }
    if run_info:
        parameters.update({"backend": f"{run_info['backend']['backend']}:{run_info['backend']['model']}",
                           "detect_prompt": run_info["prompts"]["detect"]["name"],
                           "cause_prompt": run_info["prompts"]["cause"]["name"],
                           "platform": platform or "from the source column",
                           "max_chars": max_chars})
    doc_title = title or repo or _project(source, cols) or input.stem
    rep = report.build(frame, X, result, min_cluster_size, doc_title, emotion, counts, parameters,
                       totals=totals, months=months)
    paths = report.write_outputs(rep, out)

    manifest = write_manifest(
        out, "report", parameters=parameters,
        clustering={"algorithm": result.algorithm, **result.params, "seconds": result.seconds,
                    "unique_vectors": result.n_unique},
        embedding={"model": emb_name, "dimension": int(X.shape[1]), "distinct_causes": len(distinct)},
        **({"backend": run_info["backend"], "prompts": run_info["prompts"],
            "runs": {"detect": run_info["detect"].as_dict(), "causes": run_info["causes"].as_dict()},
            "cache": run_info["cache"]} if run_info else {}),
        input={"path": str(input), "sha256": file_sha256(input), "rows": len(df)},
        counts=rep.counts, outputs=sorted(paths) + (["annotations.csv"] if run_info else []),
        started=started, finished=now())

    rows: dict[str, Any] = {"input rows": len(df)}
    for key, label in (("bots", "bots dropped"), ("other_roles", "other roles dropped"),
                       ("outside_window", "outside the window"), ("undated", "undated dropped"),
                       ("other_emotions", "other emotions dropped")):
        if counts.get(key):
            rows[label] = counts[key]
    rows["comments"] = counts["comments"]
    if run_info:
        d, c = run_info["detect"], run_info["causes"]
        rows[f"showing {emotion.lower()}"] = counts["emotion_comments"]
        rows["prompts sent / cached"] = f"{d.sent + c.sent:,} / {d.cached + c.cached:,}"
        if d.failed or c.failed:
            rows["failed (rerun to retry)"] = d.failed + c.failed
    rows.update({"causes": rep.n_causes, "distinct causes": len(distinct),
                 "themes": len(rep.themes), "causes in a theme": rep.n_clustered,
                 "noise": rep.counts["noise"], "clustering seconds": result.seconds})
    summary(f"report: {doc_title} -> {out}", rows)
    if counts.get("roles_note"):
        info(counts["roles_note"])
    for t in rep.themes[:10]:
        info(f"  {t.id:>2}. {t.label} ({t.size})")
    info(f"open: {paths['report.html']}")
    info(f"manifest: {manifest}")


def _dropped(counts: dict[str, Any], roles: tuple[str, ...] | None) -> str:
    parts = [f"{counts['rows']} rows"]
    if counts.get("bots"):
        parts.append(f"{counts['bots']} by bots")
    if counts.get("other_roles"):
        parts.append(f"{counts['other_roles']} by roles other than {','.join(roles or ())}")
    if counts.get("outside_window"):
        parts.append(f"{counts['outside_window']} outside --since/--until")
    if counts.get("undated"):
        parts.append(f"{counts['undated']} undated")
    return ", ".join(parts)


def _project(df, cols) -> str | None:  # type: ignore[no-untyped-def]
    """The most common value of the project column, if any."""
    if cols.project is None or cols.project not in df.columns:
        return None
    values = df[cols.project].astype(str).str.strip()
    values = values[values != ""]
    return str(values.mode().iloc[0]) if not values.empty else None


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
        eps: Annotated[float, typer.Option(
            "--eps", help="DBSCAN: cosine distance within which causes are neighbours.")] = 0.3,
        min_samples: Annotated[int, typer.Option(
            "--min-samples", min=1, help="DBSCAN/HDBSCAN: neighbours (itself included) that "
            "make a core cause.")] = 4,
        min_cluster_size: Annotated[int, typer.Option(
            "--min-cluster-size", min=2, help="Causes a cluster needs to be reported as a theme "
            "(the paper: more than 7).")] = 8,
        algorithm: Annotated[str, typer.Option(
            "--algorithm", help="dbscan (blocked, scales to 100k+ causes) or hdbscan.")] = "dbscan",
        embedding_model: o.EmbeddingModel = None,
        backend: o.Backend = None, model: o.Model = None, base_url: o.BaseUrl = None,
        concurrency: o.Concurrency = None, retries: o.Retries = None, temperature: o.Temperature = None,
        device: o.Device = None, batch_size: o.BatchSize = None,
        platform: Annotated[Optional[str], typer.Option(
            "--platform", help="github, stackoverflow, jira or mail (default: from each record's "
            "source, else github).", show_default=False)] = None,
        cache: o.CachePath = None, no_cache: o.NoCache = False, limit: o.Limit = None,
        max_chars: o.MaxChars = o.MAX_CHARS,
    ) -> None:
        """Map what causes an emotion (default: Frustration) in a project, clustered into themes.

        From scraped records: keep the chosen roles and time window, detect the emotion,
        extract each cause (any backend; answers cached), embed the causes, cluster them
        (DBSCAN with cosine distance, eps 0.3, min_samples 4, themes of 8+ causes, as in the
        paper) and describe each theme.  With --from-causes, start from a table of causes.

        Writes report.html (self-contained), report.md, clusters.csv, summary.json and
        manifest.json into --out.
        """
        run(input, out, emotion, roles, since, until, from_causes, text_col, cause_col, date_col,
            role_col, url_col, emotion_col, repo, title, eps, min_samples, min_cluster_size,
            algorithm, embedding_model, backend, model, base_url, concurrency, retries,
            temperature, device, batch_size, platform, cache, no_cache, limit, max_chars)
