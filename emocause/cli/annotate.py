"""``emocause classify`` and ``emocause causes``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from emocause.cli import options as o
from emocause.errors import UsageError


def _run(kind: str, input: Path, out: Path, prompt: str, backend: str | None, model: str | None,
         base_url: list[str] | None, concurrency: int, temperature: float, device: str | None,
         batch_size: int, embedding_model: str | None, platform: str, cache: Path | None,
         no_cache: bool, text_col: str | None, id_col: str | None, limit: int | None,
         max_chars: int, dry_run: bool, emotion: str | None = None,
         emotion_col: str | None = None, retries: int = 6, mapping: str = "default",
         batch: bool = False, endpoint_group: str | None = None) -> None:
    from emocause import backends
    from emocause.annotate import frames as annotate
    from emocause.annotate import prompts
    from emocause import tables as tabular
    from emocause.files import file_sha256
    from emocause.manifest import now, write_manifest
    from emocause.annotate.runner import RunStats
    from emocause.progress import info, summary
    from emocause.emotions.taxonomy import get_mapping

    started = now()
    emotion_map = get_mapping(mapping)
    tabular.table_format(out)  # fail early on an unusable output name
    template = prompts.load(prompt)
    if kind == "classify" and template.task == "span":
        raise UsageError(f"prompt {template.name!r} extracts spans; use `emocause causes`, or a label prompt")
    if kind == "causes" and template.task != "span":
        raise UsageError(f"prompt {template.name!r} is a {template.task} prompt; causes needs a span "
                         f"prompt such as 'cause' or 'frustration-cause'")
    df = tabular.read_table(input)
    where = str(input)
    tcol = tabular.pick_column(df, text_col, tabular.TEXT_COLUMNS, "text", where)
    icol = tabular.pick_column(df, id_col, tabular.ID_COLUMNS, "id", where, required=False)
    if kind == "causes":
        if bool(emotion) == bool(emotion_col):
            raise UsageError("give exactly one of --emotion NAME or --emotion-col COLUMN")
        if emotion_col:
            tabular.require_columns(df, [emotion_col], where)
    if limit:
        df = df.head(limit)
    name, opts = o.backend_options(backend, model, base_url, concurrency, temperature, device,
                                   batch_size, embedding_model, retries, batch, endpoint_group)
    stats = RunStats()
    emotions = annotate.row_emotions(df, emotion, emotion_col, emotion_map) if kind == "causes" else None
    if dry_run:
        _dry_run(df, tcol, template, name, opts, platform, max_chars, emotions, cache, no_cache)
        return
    store = o.open_cache(cache, no_cache)
    model_backend = backends.create(name, **opts)
    try:
        if kind == "classify":
            result = annotate.classify_frame(df, tcol, template, model_backend, store, platform,
                                             max_chars, stats, emotion_map)
        else:
            result = annotate.causes_frame(df, tcol, emotions or [], template, model_backend, store,
                                           platform, max_chars, stats)
    finally:
        model_backend.close()
    tabular.write_table(result, out)
    counts = stats.as_dict()
    if kind == "classify":
        counts["emotions"] = {str(k): int(v) for k, v in result["emotion"].value_counts().items()}
        counts["off_list"] = int((result["emotion_status"] == "off-list").sum())
    else:
        counts["grounded"] = int(result["cause_grounded"].fillna(False).astype(bool).sum())
    manifest = write_manifest(
        out, kind, **model_backend.describe(),
        prompt={"name": template.name, "sha256": template.sha256, "task": template.task,
                "labels": template.label_set, "max_tokens": template.max_tokens},
        mapping=emotion_map.describe(),
        parameters={"platform": platform, "text_col": tcol, "id_col": icol, "limit": limit,
                    "max_chars": max_chars, "emotion": emotion, "emotion_col": emotion_col,
                    "cache": None if store is None else str(store.path)},
        input={"path": str(input), "sha256": file_sha256(input), "rows": len(df)},
        started=started, finished=now(), counts=counts)
    rows = {"rows": stats.rows, "skipped (empty)": stats.skipped, "truncated": stats.truncated,
            "cached": stats.cached, "sent": stats.sent, "retried": stats.retried,
            "failed": stats.failed, "unparsed": stats.unparsed,
            "prompt tokens": stats.prompt_tokens, "completion tokens": stats.completion_tokens,
            "seconds": stats.seconds}
    if kind == "causes":
        rows["grounded"] = counts["grounded"]
    else:
        rows["off the prompt's list (mapped)"] = counts["off_list"]
    summary(f"{kind}: {model_backend.name}:{model_backend.model} -> {out}", rows)
    if stats.errors:
        info("errors: " + ", ".join(f"{k} x{v}" for k, v in stats.errors.items()) +
             " (rerun the same command to retry failed rows)")
    info(f"manifest: {manifest}")
    if store is not None:
        store.close()


def _dry_run(df, tcol, template, name, opts, platform, max_chars, emotions, cache, no_cache) -> None:
    """What a run would send, and roughly what it would cost; sends nothing.

    Backends load their models lazily, so creating one here is cheap.
    """
    from emocause import backends
    from emocause.annotate import frames as annotate
    from emocause.annotate.estimate import cost, count_tokens
    from emocause.annotate.runner import RunStats, plan
    from emocause.progress import summary
    from emocause.tables import as_text

    stats = RunStats()
    texts = [as_text(v) for v in df[tcol].tolist()]
    prep = annotate.build_requests(texts, template, platform, max_chars, stats, emotions)
    reqs = [r for r in prep.requests if r is not None]
    probe = backends.create(name, **opts)
    store = o.open_cache(cache, no_cache)
    p = plan(probe, reqs, store)
    if store is not None:
        store.close()
    to_send = p.todo
    rows: dict[str, object] = {
        "rows": len(df), "skipped (empty)": stats.skipped, "truncated": stats.truncated,
        "prompts": len(reqs), "unique prompts": len(to_send) + p.cached_keys, "cached": p.cached_keys,
        "to send": len(to_send)}
    if probe.uses_prompt:
        tokens, exact = count_tokens((r.prompt for r in to_send), probe.model)
        completion = sum(r.max_tokens for r in to_send)
        rows[f"prompt tokens ({'tiktoken' if exact else 'approx. chars/4, tiktoken offline'})"] = tokens
        rows["completion tokens (at most)"] = completion
        c = cost(probe.model, tokens, completion)
        rows["estimated cost (USD)"] = "no price known for this model" if c is None else f"{c:.4f}"
        if c is not None:
            rows["estimated cost with --batch (USD)"] = f"{cost(probe.model, tokens, completion, batch=True):.4f}"
    else:
        rows["note"] = f"the {name} backend runs locally and sends no prompt"
    summary(f"dry run: {name}:{probe.model} (nothing sent)", rows)


def register(app: typer.Typer) -> None:
    @app.command()
    def classify(
        input: Annotated[Path, typer.Argument(help="Comments: CSV, JSONL or Parquet.", show_default=False)],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output table (format by extension).",
                                          show_default=False)],
        prompt: Annotated[str, typer.Option(
            "--prompt", "-p", help="Prompt name (see `emocause prompts list`) or a template file.")]
            = "all-levels",
        backend: o.Backend = None, model: o.Model = None, base_url: o.BaseUrl = None,
        concurrency: o.Concurrency = 8, retries: o.Retries = 6, batch: o.Batch = False,
        endpoint_group: o.EndpointGroup = None, temperature: o.Temperature = 0.0, device: o.Device = None,
        batch_size: o.BatchSize = 16, embedding_model: o.EmbeddingModel = None,
        platform: o.Platform = "github", cache: o.CachePath = None, no_cache: o.NoCache = False,
        text_col: o.TextCol = None, id_col: o.IdCol = None, limit: o.Limit = None,
        max_chars: o.MaxChars = 4000, dry_run: o.DryRun = False, mapping: o.MappingName = "default",
    ) -> None:
        """Label each comment's emotion zero-shot; adds emotion_raw, emotion_label, emotion, emotion_status.

        `emotion` is one of Anger, Fear, Joy, Love, Sadness, Surprise, Neutral or Unparsed
        (an answer that names no known emotion).  A known emotion the prompt did not list
        is mapped anyway and marked `off-list` in emotion_status.  Answers are cached:
        rerunning after an interruption sends only what is missing.
        """
        _run("classify", input, out, prompt, backend, model, base_url, concurrency, temperature,
             device, batch_size, embedding_model, platform, cache, no_cache, text_col, id_col,
             limit, max_chars, dry_run, retries=retries, mapping=mapping, batch=batch,
             endpoint_group=endpoint_group)

    @app.command()
    def causes(
        input: Annotated[Path, typer.Argument(help="Comments: CSV, JSONL or Parquet.", show_default=False)],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output table (format by extension).",
                                          show_default=False)],
        emotion: Annotated[Optional[str], typer.Option(
            "--emotion", "-e", help="Ask every row for the cause of this emotion.", show_default=False)] = None,
        emotion_col: Annotated[Optional[str], typer.Option(
            "--emotion-col", help="Column with each row's emotion (e.g. `emotion` from classify); "
            "Neutral/Unparsed/empty rows are skipped.", show_default=False)] = None,
        prompt: Annotated[str, typer.Option("--prompt", "-p", help="Span prompt name or file.")] = "cause",
        backend: o.Backend = None, model: o.Model = None, base_url: o.BaseUrl = None,
        concurrency: o.Concurrency = 8, retries: o.Retries = 6, batch: o.Batch = False,
        endpoint_group: o.EndpointGroup = None, temperature: o.Temperature = 0.0, device: o.Device = None,
        batch_size: o.BatchSize = 16, embedding_model: o.EmbeddingModel = None,
        platform: o.Platform = "github", cache: o.CachePath = None, no_cache: o.NoCache = False,
        text_col: o.TextCol = None, id_col: o.IdCol = None, limit: o.Limit = None,
        max_chars: o.MaxChars = 4000, dry_run: o.DryRun = False, mapping: o.MappingName = "default",
    ) -> None:
        """Extract the span that causes each comment's emotion, grounded in the comment.

        Adds cause_raw, cause (first double-quoted string of the answer, else the
        answer), cause_start/cause_end (character offsets), cause_grounded,
        cause_match (exact, normalized, fuzzy or none) and cause_status.
        """
        _run("causes", input, out, prompt, backend, model, base_url, concurrency, temperature,
             device, batch_size, embedding_model, platform, cache, no_cache, text_col, id_col,
             limit, max_chars, dry_run, emotion=emotion, emotion_col=emotion_col, retries=retries,
             mapping=mapping, batch=batch, endpoint_group=endpoint_group)
