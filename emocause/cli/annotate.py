"""``emocause classify`` and ``emocause causes``: thin adapters over :mod:`emocause.annotate.jobs`.

Each command turns its flags into a job options object and a
:class:`~emocause.backends.BackendOptions`, runs the job (or its estimate, with
``--dry-run``) and prints the one-screen summary.  A run whose failed rows exceed
``--max-failed`` still writes its table and manifest, then exits with code 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause.cli import options

INPUT_HELP = "Comments: CSV, JSONL or Parquet."
OUT_HELP = "Output table (format by extension)."

ChunkRows = Annotated[Optional[int], typer.Option(
    "--chunk-rows", min=1, help="Rows read, annotated and written at a time, so memory does not grow with "
    "the input (docs/scale.md). Default: 10000.", show_default=False)]
Engine = Annotated[str, typer.Option(
    "--engine", help="local (this process) or ray: the shards spread over a Ray cluster's actors "
    "(pip install 'emocause[ray]'; docs/scale.md).", metavar="<local|ray>")]
Address = Annotated[Optional[str], typer.Option(
    "--address", help="--engine ray: the cluster (ray://HOST:10001 or auto). Default: $RAY_ADDRESS, "
    "else Ray starts on this machine.", show_default=False)]
Actors = Annotated[Optional[int], typer.Option(
    "--actors", min=1, help="--engine ray: actors (default: one per GPU for local models, else per CPU "
    "or endpoint).", show_default=False)]
GateModel = Annotated[Optional[str], typer.Option(
    "--gate", help="A cheap offline classifier first: only rows it scores emotional go to the model "
    "(a folder from `emocause train` + `emocause calibrate-gate`, BACKEND:MODEL, or default). The others "
    "get Neutral, status gated.", show_default=False, metavar="MODEL")]
GateThreshold = Annotated[Optional[float], typer.Option(
    "--gate-threshold", help="--gate: the score a row needs (default: the calibrated one).",
    show_default=False)]
#: Flags of classify and causes beyond the model-run ones: streaming, where the job runs, the gate.
STREAMING: dict[str, tuple[Any, Any]] = {"chunk_rows": (ChunkRows, None), "engine": (Engine, "local"),
                                         "address": (Address, None), "actors": (Actors, None),
                                         "gate": (GateModel, None), "gate_threshold": (GateThreshold, None)}


def _run(task: str, input: Path, out: Path, dry_run: bool = False, **flags: Any) -> None:
    """Split ``flags`` into job and backend options, run the job, print its summary."""
    from emocause.annotate import jobs
    from emocause.backends import BackendOptions

    backend = BackendOptions(**{k: flags.pop(k) for k in list(flags) if k in BackendOptions.field_names()})
    if flags.get("chunk_rows") is None:
        flags.pop("chunk_rows", None)  # the job's default
    reading = options.reading_tables(**{k: flags.pop(k) for k in options.TABLE_READ})
    job = (jobs.CauseOptions if task == "causes" else jobs.ClassifyOptions)(**flags)
    if dry_run:
        from emocause.tables import table_format

        table_format(out)  # the same name check as a real run
        with reading:
            _print_estimate(jobs.estimate(input, task=task, options=job, backend=backend))
        return
    with reading:
        result = jobs.run(input, job, backend, out=out)
    _print_result(task, result)
    if not result.ok:
        raise typer.Exit(3)


def _print_result(task: str, result: Any) -> None:  # result: jobs.Result
    from emocause.progress import info, summary, warn

    counts, manifest = result.counts, result.manifest
    rows = {"rows": counts["rows"], "skipped (empty)": counts["skipped"], "truncated": counts["truncated"],
            "cached": counts["cached"], "sent": counts["sent"], "retried": counts["retried"],
            "failed": counts["failed"], "unparsed": counts["unparsed"],
            "prompt tokens": counts["prompt_tokens"], "completion tokens": counts["completion_tokens"],
            "seconds": counts["seconds"]}
    if task == "causes":
        rows["grounded"] = counts["grounded"]
    else:
        rows["off the prompt's list (mapped)"] = counts["off_list"]
    if counts.get("skipped_lines"):
        rows["malformed lines skipped"] = counts["skipped_lines"]
    if "calls_saved_share" in counts:
        rows["gated (not sent)"] = f"{counts['gated']:,} ({counts['calls_saved_share']:.1%} of the calls saved)"
    summary(f"{task}: {manifest['backend']}:{manifest['model']} -> {result.out}", rows)
    if counts["errors"]:
        info("errors: " + ", ".join(f"{k} x{v}" for k, v in counts["errors"].items()) +
             " (rerun the same command to retry failed rows)")
    if not result.ok:
        warn(f"{result.failed:,} of {result.answered:,} rows failed (--max-failed {result.max_failed}); "
             f"exit code 3; rerun the same command to retry them")
    info(f"manifest: {result.manifest_path}")


def _print_estimate(estimate: Any) -> None:  # estimate: jobs.Estimate
    from emocause.progress import summary

    counts = estimate.counts
    rows: dict[str, object] = {
        "rows": counts["rows"], "skipped (empty)": counts["skipped"], "truncated": counts["truncated"],
        "prompts": counts["prompts"], "unique prompts": counts["unique_prompts"], "cached": counts["cached"],
        "to send": counts["to_send"]}
    if "calls_saved_share" in counts:
        rows["gated (not sent)"] = f"{counts['gated']:,} ({counts['calls_saved_share']:.1%} of the calls saved)"
    if estimate.sends_prompts:
        how = "tiktoken" if counts["prompt_tokens_exact"] else "approx. chars/4, tiktoken offline"
        rows[f"prompt tokens ({how})"] = counts["prompt_tokens"]
        rows["completion tokens (at most)"] = counts["completion_tokens_max"]
        price = counts["cost_usd"]
        rows["estimated cost (USD)"] = "no price known for this model" if price is None else f"{price:.4f}"
        if price is not None:
            rows["estimated cost with --batch (USD)"] = f"{counts['cost_usd_batch']:.4f}"
    else:
        rows["note"] = f"the {estimate.backend} backend runs locally and sends no prompt"
    summary(f"dry run: {estimate.backend}:{estimate.model} (nothing sent)", rows)


def _calibrate_gate(labeled: Path, model: Path, recall: float, folds: int, text_col: str | None,
                    seed: int) -> None:
    from emocause import tables
    from emocause.annotate import gate
    from emocause.backends import baselines
    from emocause.files import file_sha256
    from emocause.progress import bar, summary

    linear = baselines.load(model)  # a model folder from `emocause train`
    df = tables.read_table(labeled)
    tcol = tables.pick_column(df, text_col, tables.TEXT_COLUMNS, "text", str(labeled))
    labels = baselines.parse_labels(df, str(labeled))
    texts = [tables.as_text(v).strip() for v in df[tcol].tolist()]
    keep = [i for i, t in enumerate(texts) if t]
    texts, labels = [texts[i] for i in keep], labels[keep]
    backend = gate.gate_backend(str(model)) if folds < 2 else None
    with bar(f"calibrate gate ({folds}-fold)" if folds > 1 else "calibrate gate", None):
        result = gate.calibrate(texts, labels, backend, linear.kind, recall, folds, seed)
    path = gate.save_calibration(model, result, {"path": str(labeled), "sha256": file_sha256(labeled)})
    summary(f"gate {model}: threshold {result.threshold:.4f}", {
        "training rows": result.rows, "emotional (gold)": result.emotional,
        f"kept at the threshold ({'out-of-fold' if folds > 1 else 'training'} scores)": f"{result.recall:.0%}",
        "rows let through": f"{result.passed_share:.1%}", "written": str(path)})


def register(app: typer.Typer) -> None:
    @app.command("calibrate-gate")
    def calibrate_gate(
        labeled: Annotated[Path, typer.Argument(help="Labelled TRAINING comments (never a test split): a text "
                                                    "column and 0/1 columns Anger, Love, Fear, Joy, Sadness, "
                                                    "Surprise.", show_default=False)],
        model: Annotated[Path, typer.Option("--model", "-m", help="The gate: a folder from `emocause train` "
                                                                  "(gate.json is written there).",
                                            show_default=False)],
        recall: Annotated[float, typer.Option("--recall", min=0.5, max=1.0, help="Share of the emotional "
                                              "comments the gate must let through.")] = 0.95,
        folds: Annotated[int, typer.Option("--folds", min=0, help="Cross-validation folds for the scores "
                                           "(0: the model's own scores on its training data).")] = 5,
        text_col: options.TextCol = None,
        seed: Annotated[int, typer.Option("--seed", help="Fold assignment.")] = 0,
    ) -> None:
        """Choose a gate's threshold on labelled training data, for `classify --gate`.

        Each training comment is scored by a model trained without it (k-fold); the threshold
        is the highest that lets through --recall of the emotional ones.
        """
        _calibrate_gate(labeled, model, recall, folds, text_col, seed)

    @app.command()
    @options.with_flags({**options.MODEL_RUN, **STREAMING, **options.TABLE_READ})
    def classify(
        input: Annotated[Path, typer.Argument(help=INPUT_HELP, show_default=False)],
        out: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP, show_default=False)],
        prompt: Annotated[str, typer.Option(
            "--prompt", "-p", help="Prompt name (see `emocause prompts list`) or a template file.")]
            = "all-levels",
        **flags: Any,
    ) -> None:
        """Label each comment's emotion zero-shot; adds emotion_raw, emotion_label, emotion, emotion_status.

        `emotion` is one of Anger, Fear, Joy, Love, Sadness, Surprise, Neutral or Unparsed
        (an answer that names no known emotion).  A known emotion the prompt did not list
        is mapped anyway and marked `off-list` in emotion_status.  Answers are cached:
        rerunning after an interruption sends only what is missing.  Exit code 3 when more
        rows failed than --max-failed allows (the table and manifest are written; a rerun
        retries them).
        """
        _run("classify", input, out, prompt=prompt, **flags)

    @app.command()
    @options.with_flags({**options.MODEL_RUN, **STREAMING, **options.TABLE_READ})
    def causes(
        input: Annotated[Path, typer.Argument(help=INPUT_HELP, show_default=False)],
        out: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP, show_default=False)],
        emotion: Annotated[Optional[str], typer.Option(
            "--emotion", "-e", help="Ask every row for the cause of this emotion.", show_default=False)] = None,
        emotion_col: Annotated[Optional[str], typer.Option(
            "--emotion-col", help="Column with each row's emotion (e.g. `emotion` from classify); "
            "Neutral/Unparsed/empty rows are skipped.", show_default=False)] = None,
        prompt: Annotated[str, typer.Option("--prompt", "-p", help="Span prompt name or file.")] = "cause",
        **flags: Any,
    ) -> None:
        """Extract the span that causes each comment's emotion, grounded in the comment.

        Adds cause_raw, cause (first double-quoted string of the answer, else the
        answer), cause_start/cause_end (character offsets), cause_grounded,
        cause_match (exact, normalized, fuzzy or none) and cause_status.
        """
        _run("causes", input, out, emotion=emotion, emotion_col=emotion_col, prompt=prompt, **flags)
