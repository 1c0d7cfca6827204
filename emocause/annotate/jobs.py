"""Annotation jobs, the library's front door: :func:`classify` and :func:`extract_causes` on a table.

A job resolves its options (option > environment > config file > default, all in
:mod:`emocause.config`), checks that the output can be written, reads the table
(or takes the DataFrame given), builds one request per row, answers them through
the response cache and the backend (:mod:`emocause.annotate.runner`), attaches the
result columns (:mod:`emocause.annotate.frames`) and returns a :class:`Result`.
Files are written only when ``out`` is given.  :func:`estimate` is the dry run.
The ``classify`` and ``causes`` commands are thin adapters over these functions.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from emocause import config
from emocause.annotate import frames, prompts
from emocause.annotate.cache import Cache, default_path
from emocause.annotate.runner import DEFAULT_MAX_CHARS, RunStats, plan, submit_ahead
from emocause.backends import Backend, BackendOptions, Request, check_available, create
from emocause.emotions.taxonomy import EmotionMapping, get_mapping
from emocause.errors import UsageError
from emocause.files import file_sha256
from emocause.manifest import manifest_fields, now, save_manifest
from emocause.progress import bar
from emocause.tables import (CHUNK_ROWS, ID_COLUMNS, TEXT_COLUMNS, TableStream, TableWriter, as_text, check_output,
                             is_stdio, load_table, pick_column, read_table, require_columns, scan_table,
                             write_table)

#: What ``data`` may be: a DataFrame, or the path of a CSV/JSONL/Parquet table.
Data = pd.DataFrame | str | os.PathLike
#: A backend: a registered name, options, or a ready :class:`Backend` (not closed by the job).
BackendSpec = str | BackendOptions | Backend | None

#: Where a job runs: this process, or a Ray cluster.
ENGINES = ("local", "ray")
_MAX_FAILED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class MaxFailed:
    """How many failed rows a run tolerates before it counts as failed (CLI exit code 3).

    ``"0"`` (the default): none.  ``"N"``: up to N rows.  ``"P%"``: up to P percent of
    the rows that needed an answer (skipped empty rows do not count).
    """

    limit: float = 0.0
    percent: bool = False

    @classmethod
    def parse(cls, value: MaxFailed | str | int | None) -> MaxFailed:
        if value is None:
            return cls()
        if isinstance(value, MaxFailed):
            return value
        m = _MAX_FAILED.match(str(value))
        limit = float(m.group(1)) if m else -1.0
        percent = bool(m and m.group(2))
        if not m or (percent and limit > 100) or (not percent and limit != int(limit)):
            raise UsageError(f"--max-failed {value!r}: give a number of rows (e.g. 5) or a "
                             f"percentage of the rows (e.g. 1%)")
        return cls(limit, percent)

    def allows(self, failed: int, total: int) -> bool:
        if self.percent:
            return failed <= math.floor(total * self.limit / 100 + 1e-9)
        return failed <= self.limit

    def __str__(self) -> str:
        return f"{self.limit:g}%" if self.percent else f"{int(self.limit)}"


@dataclass(frozen=True)
class JobOptions:
    """What every annotation job takes besides the backend (``None`` = the configured default)."""

    #: A bundled prompt name (``emocause prompts list``) or the path of a template file.
    prompt: str | None = None
    #: Where the text comes from: github, stackoverflow, jira or mail (named in the prompt).
    platform: str | None = None
    #: Text column (default: the first of text, Text, body, modified_comment, Comment, ...).
    text_col: str | None = None
    #: Id column (default: id, if present); recorded in the manifest.
    id_col: str | None = None
    #: Only the first N rows.
    limit: int | None = None
    #: Cut longer comments to this many characters (0 = never).
    max_chars: int = DEFAULT_MAX_CHARS
    #: The SQLite response cache (default: the user cache dir).
    cache: str | Path | None = None
    #: Neither read nor write the cache.
    no_cache: bool = False
    #: Failed rows tolerated: ``"N"`` or ``"P%"`` (see :class:`MaxFailed`).
    max_failed: str | int | None = None
    #: How emotion names map to the six basic emotions: ``default``, ``paper``, ``goemotions-ekman``
    #: (:data:`emocause.emotions.taxonomy.MAPPINGS`), or an ``EmotionMapping``.
    mapping: str | EmotionMapping | None = None
    #: Read the input and write ``out`` chunk by chunk, in memory that does not grow with the
    #: input; the result then holds no frame (``Result.table()`` reads ``out`` back).  ``None``
    #: (the default): stream whenever ``data`` is a file path and ``out`` is given.
    stream: bool | None = None
    #: Rows per chunk when streaming (and per shard with ``engine="ray"``).
    chunk_rows: int = CHUNK_ROWS
    #: ``local`` (this process) or ``ray``: the shards spread over a Ray cluster's actors
    #: (:mod:`emocause.annotate.engine_ray`; needs ``emocause[ray]``).
    engine: str = "local"
    #: The Ray cluster (``ray://host:10001``, ``auto``); ``None``: ``$RAY_ADDRESS``, else Ray starts here.
    address: str | None = None
    #: Ray actors (default: one per GPU for local models, else per CPU slot or endpoint).
    actors: int | None = None
    #: A cheap offline classifier in front of the model: a ``trained`` model folder (calibrated by
    #: ``emocause calibrate-gate``), ``BACKEND:MODEL`` or ``default``.  Rows it scores below the
    #: threshold are not sent; they get ``Neutral`` with status ``gated`` (:mod:`emocause.annotate.gate`).
    gate: str | None = None
    #: The gate's threshold (default: the calibrated one in the model folder).
    gate_threshold: float | None = None

    #: The job's name in manifests and summaries.
    task: ClassVar[str] = ""
    #: The prompt used when none is given.
    default_prompt: ClassVar[str] = ""

    def resolved(self) -> JobOptions:
        """Defaults filled in from the config; bad values raise one :class:`UsageError` line."""
        platform = str(config.resolve("platform", self.platform)).lower()
        if platform not in prompts.PLATFORMS:
            raise UsageError(f"--platform {platform!r}: use one of {', '.join(prompts.PLATFORMS)}")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit {self.limit}: give at least 1 row")
        if self.max_chars < 0:
            raise UsageError(f"--max-chars {self.max_chars}: give 0 (never cut) or more")
        if self.chunk_rows < 1:
            raise UsageError(f"--chunk-rows {self.chunk_rows}: give at least 1 row")
        if self.engine not in ENGINES:
            raise UsageError(f"--engine {self.engine!r}: use one of {', '.join(ENGINES)}")
        if self.engine != "ray" and (self.address or self.actors):
            raise UsageError("--address and --actors go with --engine ray")
        if self.gate_threshold is not None and not self.gate:
            raise UsageError("--gate-threshold goes with --gate MODEL")
        if self.actors is not None and self.actors < 1:
            raise UsageError(f"--actors {self.actors}: give at least 1")
        MaxFailed.parse(self.max_failed)
        return dataclasses.replace(self, platform=platform, prompt=self.prompt or self.default_prompt,
                                   cache=config.resolve("cache", self.cache), mapping=get_mapping(self.mapping))

    def check_task(self, template: prompts.Template) -> None:
        """One line when ``template`` does not fit this job (a span prompt extracts causes; the others classify)."""
        if self.task == "classify" and template.task == "span":
            raise UsageError(f"prompt {template.name!r} extracts spans; use `emocause causes`, or a label prompt")
        if self.task == "causes" and template.task != "span":
            raise UsageError(f"prompt {template.name!r} is a {template.task} prompt; causes needs a span "
                             f"prompt such as 'cause' or 'frustration-cause'")


@dataclass(frozen=True)
class ClassifyOptions(JobOptions):
    """Options of :func:`classify`."""

    task: ClassVar[str] = "classify"
    default_prompt: ClassVar[str] = "all-levels"


@dataclass(frozen=True)
class CauseOptions(JobOptions):
    """Options of :func:`extract_causes`: the emotion whose cause is asked, for every row or per row."""

    #: Ask every row for the cause of this emotion.
    emotion: str | None = None
    #: Column with each row's emotion (e.g. ``emotion`` from classify); no-emotion rows are skipped.
    emotion_col: str | None = None

    task: ClassVar[str] = "causes"
    default_prompt: ClassVar[str] = "cause"


@dataclass
class Result:
    """What a job returns: the annotated table, the run's counts and its manifest.

    A streamed run (``stream``, the default for a file path with ``out``) wrote its table
    to ``out`` chunk by chunk and holds no ``frame``; :meth:`table` reads it back.
    """

    frame: pd.DataFrame | None
    counts: dict[str, Any]
    manifest: dict[str, Any]
    max_failed: MaxFailed = field(default_factory=MaxFailed)
    #: The written table and manifest (``None`` when no ``out`` was given).
    out: Path | None = None
    manifest_path: Path | None = None
    #: Whether the table was streamed to ``out`` (then ``frame`` is ``None``).
    streamed: bool = False

    def table(self) -> pd.DataFrame:
        """The annotated table: ``frame``, or for a streamed run the table read back from ``out``."""
        if self.frame is not None:
            return self.frame
        if self.out is None or is_stdio(self.out):
            raise UsageError("this run streamed its table to stdout; it cannot be read back")
        if self.out.is_dir():  # --engine ray into a folder of Parquet parts
            return pd.concat([read_table(p) for p in sorted(self.out.glob("part-*.parquet"))], ignore_index=True)
        return read_table(self.out)

    @property
    def failed(self) -> int:
        """Rows whose request failed after every retry (status ``failed: ...``; a rerun retries them)."""
        return int(self.counts.get("failed", 0))

    @property
    def answered(self) -> int:
        """Rows that needed an answer (all rows but the skipped and the gated ones)."""
        return int(self.counts.get("rows", 0)) - int(self.counts.get("skipped", 0)) - int(self.counts.get("gated", 0))

    @property
    def ok(self) -> bool:
        """Whether the failed rows are within ``max_failed`` (the CLI exits 3 when not)."""
        return self.max_failed.allows(self.failed, self.answered)


@dataclass
class Estimate:
    """What a run would send and roughly cost (:func:`estimate`; nothing is sent)."""

    backend: str
    model: str
    #: Whether the backend sends prompts (false for the local embedding/trained backends).
    sends_prompts: bool
    counts: dict[str, Any]


@dataclass
class _Job:
    """A job ready to run: options resolved, table read (or scanned, to stream), columns and prompt checked."""

    options: JobOptions
    backend: BackendOptions | Backend
    template: prompts.Template
    df: pd.DataFrame | None
    stream: TableStream | None
    text_col: str
    id_col: str | None
    input: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.input["rows"])

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The input table: whole, or chunk by chunk when streaming."""
        if self.stream is None:
            yield self.df  # type: ignore[misc]
        else:
            yield from self.stream.chunks(self.options.chunk_rows, self.options.limit)


def open_cache(path: str | Path | None = None, enabled: bool = True) -> Cache | None:
    """The response cache (``path``, ``$EMOCAUSE_CACHE``, the config, else the user cache dir), or ``None``."""
    if not enabled:
        return None
    return Cache(config.resolve("cache", path) or default_path())


def _split(cls: type[JobOptions], options: JobOptions | None, backend: BackendSpec,
           kwargs: dict[str, Any], caller: str) -> tuple[JobOptions, BackendOptions | Backend]:
    """Keyword arguments into job options and backend options (a Backend object is used as is)."""
    job_fields = {f.name for f in dataclasses.fields(cls)}
    backend_fields = BackendOptions.field_names() - {"backend"}
    unknown = set(kwargs) - job_fields - backend_fields
    if unknown:
        raise TypeError(f"{caller}() got unexpected options {', '.join(sorted(unknown))}; options are: "
                        f"{', '.join(sorted(job_fields | backend_fields))}")
    if options is not None and not isinstance(options, cls):
        raise TypeError(f"{caller}() takes options={cls.__name__}(...), not {type(options).__name__}")
    job = dataclasses.replace(options or cls(), **{k: v for k, v in kwargs.items()
                                                     if k in job_fields and v is not None})
    given = {k: v for k, v in kwargs.items() if k in backend_fields and v is not None}
    if isinstance(backend, Backend):
        if given:
            raise TypeError(f"{caller}(): {', '.join(sorted(given))} cannot change a ready Backend")
        return job, backend
    return job, BackendOptions.of(backend, **given)


def _source(data: Data, stream: bool) -> tuple[pd.DataFrame | None, TableStream | None, dict[str, Any]]:
    """The input: read whole, or scanned to be read in chunks; and what the manifest says of it."""
    if isinstance(data, pd.DataFrame):
        if stream:
            return None, TableStream("<DataFrame>", "DataFrame", [str(c) for c in data.columns], len(data),
                                     _frame=data), {"path": None, "sha256": None}
        return data, None, {"path": None, "sha256": None}
    if isinstance(data, (str, os.PathLike)):
        info: dict[str, Any] = {"path": str(data), "sha256": file_sha256(data)}
        if stream:
            scanned = scan_table(data)
            return None, scanned, {**info, "table": scanned.describe()}
        table = load_table(data)
        return table.frame, None, {**info, "table": table.describe()}
    raise TypeError(f"data must be a pandas DataFrame or a table path, not {type(data).__name__}")


def _prepare(data: Data, options: JobOptions, backend: BackendOptions | Backend,
             out: str | Path | None, stream: bool | None = None) -> _Job:
    """Every check that can fail before the work starts, in the order a user fixes them."""
    ray = options.engine == "ray"
    if ray:
        from emocause.annotate.engine_ray import check_output as check_ray_output

        if out is None and stream is None:
            raise UsageError("--engine ray writes its result: give out (a table file, or a folder for parts)")
        if out is not None:
            check_ray_output(out)
    elif out is not None:
        check_output(out)  # format known, folder writable ('-' is stdout)
    options = options.resolved()
    if isinstance(backend, BackendOptions):
        backend = backend.resolved()
        check_available(backend.backend or "")
    template = prompts.load(options.prompt or options.default_prompt)
    options.check_task(template)
    if stream is None:
        stream = True if ray else options.stream
        if stream is None:
            stream = out is not None and not isinstance(data, pd.DataFrame)
        elif stream and out is None:
            raise UsageError("stream=True writes the table to out= as it goes; give out")
    df, scanned, source = _source(data, stream)
    columns = df if df is not None else scanned.empty()  # type: ignore[union-attr]
    where = source["path"] or "the table"
    text_col = pick_column(columns, options.text_col, TEXT_COLUMNS, "text", where)
    id_col = pick_column(columns, options.id_col, ID_COLUMNS, "id", where, required=False)
    if isinstance(options, CauseOptions):
        if bool(options.emotion) == bool(options.emotion_col):
            raise UsageError("give exactly one of --emotion NAME or --emotion-col COLUMN")
        if options.emotion_col:
            require_columns(columns, [options.emotion_col], where)
    if df is not None and options.limit:
        df = df.head(options.limit)
    rows = len(df) if df is not None else min(scanned.rows, options.limit or scanned.rows)  # type: ignore[union-attr]
    return _Job(options, backend, template, df, scanned, text_col or "", id_col, {**source, "rows": rows})


def _backend(spec: BackendOptions | Backend) -> tuple[Backend, bool]:
    """(backend, whether this job created it and must close it)."""
    if isinstance(spec, Backend):
        return spec, False
    return create(spec.backend or "", **spec.kwargs()), True


def _annotate(job: _Job, df: pd.DataFrame, model: Backend, cache: Cache | None, stats: RunStats,
              progress: Any = None, gate: Any = None) -> pd.DataFrame:
    """One table (or chunk) with the job's result columns attached."""
    opts = job.options
    platform = opts.platform or "github"
    if isinstance(opts, CauseOptions):
        emotions = frames.row_emotions(df, opts.emotion, opts.emotion_col, opts.mapping)
        return frames.causes_frame(df, job.text_col, emotions, job.template, model, cache, platform,
                                   opts.max_chars, stats, progress, gate)
    return frames.classify_frame(df, job.text_col, job.template, model, cache, platform, opts.max_chars,
                                 stats, opts.mapping, progress, gate)


def _requests(job: _Job, df: pd.DataFrame, stats: RunStats, gate: Any = None) -> list[Request | None]:
    """The requests for one table or chunk (``None``: a skipped or gated row)."""
    opts = job.options
    texts = [as_text(v) for v in df[job.text_col].tolist()]
    emotions = None
    if isinstance(opts, CauseOptions):
        emotions = frames.row_emotions(df, opts.emotion, opts.emotion_col, opts.mapping)
    return frames.build_requests(texts, job.template, opts.platform or "github", opts.max_chars, stats,
                                 emotions, gate).requests


def open_gate(options: JobOptions, device: str | None = None) -> Any:
    """The job's gate (:class:`emocause.annotate.gate.Gate`), or ``None``."""
    if not options.gate:
        return None
    from emocause.annotate.gate import Gate

    return Gate(options.gate, options.gate_threshold, device)


def _gate_counts(stats: RunStats) -> dict[str, Any]:
    """The share of model calls the gate saved (of the rows that would have been sent)."""
    eligible = stats.rows - stats.skipped
    return {"gated": stats.gated, "calls_saved_share": round(stats.gated / eligible, 4) if eligible else 0.0}


class _Tally:
    """The counts a summary gives of the result columns, added up chunk by chunk."""

    def __init__(self, causes: bool) -> None:
        self.causes = causes
        self.emotions: collections.Counter[str] = collections.Counter()
        self.off_list = 0
        self.grounded = 0

    def add(self, frame: pd.DataFrame) -> None:
        if self.causes:
            self.grounded += int(frame["cause_grounded"].fillna(False).astype(bool).sum())
        else:
            self.emotions.update(str(v) for v in frame["emotion"].dropna())
            self.off_list += int((frame["emotion_status"] == "off-list").sum())

    def merge(self, counts: dict[str, Any]) -> None:
        """Add the :meth:`counts` of another part of the table."""
        self.emotions.update(counts.get("emotions", {}))
        self.off_list += counts.get("off_list", 0)
        self.grounded += counts.get("grounded", 0)

    def counts(self) -> dict[str, Any]:
        if self.causes:
            return {"grounded": self.grounded}
        return {"emotions": dict(self.emotions.most_common()), "off_list": self.off_list}


def run(data: Data, options: JobOptions, backend: BackendSpec = None,
        out: str | Path | None = None) -> Result:
    """Run the job ``options`` describes (``ClassifyOptions`` or ``CauseOptions``) on ``data``."""
    started = now()
    spec = backend if isinstance(backend, Backend) else BackendOptions.of(backend)
    job = _prepare(data, options, spec, out)
    opts, template = job.options, job.template
    model, owned = _backend(job.backend)
    cache = None
    gate = None
    stats = RunStats()
    tally = _Tally(isinstance(opts, CauseOptions))
    frame: pd.DataFrame | None = None
    written: Path | None = None
    engine: dict[str, Any] = {"engine": "local"}
    try:
        cache = open_cache(opts.cache, not opts.no_cache)
        if opts.engine != "ray":
            gate = open_gate(opts, getattr(job.backend, "device", None))
        if opts.engine == "ray":
            from emocause.annotate.engine_ray import run_on_ray

            written, engine = run_on_ray(job, out, stats, tally)  # type: ignore[arg-type]
        elif job.stream is None:
            frame = _annotate(job, job.df, model, cache, stats, gate=gate)  # type: ignore[arg-type]
            tally.add(frame)
        else:
            written = _stream(job, model, cache, stats, tally, out, gate)  # type: ignore[arg-type]
    finally:
        if gate is not None:
            gate.close()
        if owned:
            model.close()
        if cache is not None:
            cache.close()
    counts: dict[str, Any] = stats.as_dict()
    counts["skipped_lines"] = job.input.get("table", {}).get("skipped_lines", 0)
    counts.update(tally.counts())
    extra: dict[str, Any] = {}
    if opts.gate:
        counts.update(_gate_counts(stats))
        extra["gate"] = gate.describe() if gate is not None else {"model": opts.gate,
                                                                   "threshold": opts.gate_threshold}
    limit = MaxFailed.parse(opts.max_failed)
    answered = stats.rows - stats.skipped - stats.gated
    manifest = manifest_fields(
        opts.task, out, **model.describe(),
        prompt={"name": template.name, "sha256": template.sha256, "task": template.task,
                "labels": template.label_set, "max_tokens": template.max_tokens},
        mapping=get_mapping(opts.mapping).describe(),
        parameters={"platform": opts.platform, "text_col": job.text_col, "id_col": job.id_col,
                    "limit": opts.limit, "max_chars": opts.max_chars,
                    "emotion": getattr(opts, "emotion", None), "emotion_col": getattr(opts, "emotion_col", None),
                    "cache": None if cache is None else str(cache.path), "max_failed": str(limit),
                    "stream": job.stream is not None,
                    "chunk_rows": opts.chunk_rows if job.stream is not None else None, **engine},
        input=job.input, started=started, finished=now(), counts=counts, **extra,
        outcome={"failed": stats.failed, "of": answered, "max_failed": str(limit),
                 "ok": limit.allows(stats.failed, answered)})
    result = Result(frame, counts, manifest, limit, streamed=job.stream is not None)
    if out is not None:
        result.out = written or write_table(frame, out)  # type: ignore[arg-type]
        result.manifest_path = save_manifest(out, result.manifest)
    return result


def _stream(job: _Job, model: Backend, cache: Cache | None, stats: RunStats, tally: _Tally,
            out: str | Path, gate: Any = None) -> Path:
    """Annotate the input chunk by chunk, writing each to ``out`` (committed when all are done).

    Memory holds one chunk: its rows, requests and answers.  The cache holds every answer
    as it arrives, so a killed run loses at most the requests in flight; the rerun finds
    the rest in the cache and writes the whole table, in order.
    """
    opts = job.options
    if model.submits_ahead:  # e.g. --batch: every chunk's batch is submitted before any is awaited
        ahead = RunStats()
        for chunk in job.chunks():
            submit_ahead(model, _requests(job, chunk, ahead, gate), cache)
    with TableWriter(out) as writer, bar(f"{opts.task} ({model.name}:{model.model})", job.rows) as progress:
        for chunk in job.chunks():
            annotated = _annotate(job, chunk, model, cache, stats, progress, gate)
            tally.add(annotated)
            writer.write(annotated)
    return writer.close()


def classify(data: Data, *, prompt: str | None = None, backend: BackendSpec = None,
             model: str | None = None, out: str | Path | None = None,
             options: ClassifyOptions | None = None, **kwargs: Any) -> Result:
    """Label each row's emotion zero-shot; adds ``emotion_raw``, ``emotion_label``, ``emotion``, ``emotion_status``.

    ``backend`` is a name (``"openai"``, ``"embedding"``, ...), :class:`BackendOptions`
    or a ready :class:`Backend`; ``kwargs`` are :class:`ClassifyOptions` and
    :class:`BackendOptions` fields (``platform=``, ``limit=``, ``base_url=``, ...).
    Answers are cached, so a rerun sends only what is missing.  Nothing is written
    unless ``out`` is given (then the table and ``OUT.manifest.json``).
    """
    job, spec = _split(ClassifyOptions, options, backend, {"prompt": prompt, "model": model, **kwargs},
                       "classify")
    return run(data, job, spec, out)


def extract_causes(data: Data, *, emotion: str | None = None, emotion_col: str | None = None,
                   prompt: str | None = None, backend: BackendSpec = None, model: str | None = None,
                   out: str | Path | None = None, options: CauseOptions | None = None,
                   **kwargs: Any) -> Result:
    """The span that causes each row's emotion, grounded in the text.

    Give ``emotion`` (asked of every row) or ``emotion_col`` (each row's own; Neutral,
    Unparsed and empty rows are skipped).  Adds ``cause_raw``, ``cause``,
    ``cause_start``/``cause_end`` (character offsets), ``cause_grounded``,
    ``cause_match`` (exact, normalized, fuzzy or none) and ``cause_status``.
    """
    job, spec = _split(CauseOptions, options, backend,
                       {"prompt": prompt, "model": model, "emotion": emotion, "emotion_col": emotion_col,
                        **kwargs}, "extract_causes")
    return run(data, job, spec, out)


def estimate(data: Data, *, task: str = "classify", prompt: str | None = None,
             backend: BackendSpec = None, model: str | None = None,
             options: JobOptions | None = None, **kwargs: Any) -> Estimate:
    """What ``classify`` (or ``task="causes"``) would send, the cache hits, tokens and cost; sends nothing.

    Backends load their models lazily, so creating one here is cheap.
    """
    from emocause.annotate.estimate import cost, count_tokens

    cls = {"classify": ClassifyOptions, "causes": CauseOptions}.get(task)
    if cls is None:
        raise UsageError(f"task {task!r}: use classify or causes")
    job_opts, spec = _split(cls, options, backend, {"prompt": prompt, "model": model, **kwargs}, "estimate")
    job = _prepare(data, job_opts, spec, None, stream=not isinstance(data, pd.DataFrame))
    opts = job.options
    stats = RunStats()
    probe, owned = _backend(job.backend)
    cache = None
    gate = None
    try:
        gate = open_gate(opts, getattr(job.backend, "device", None))
        cache = open_cache(opts.cache, not opts.no_cache) if probe.cacheable else None
        prompts_n = to_send = completion = tokens = 0
        exact = True
        sent: set[bytes] = set()  # what an earlier chunk already counted (16 bytes of each key)
        hits: set[bytes] = set()
        for chunk in job.chunks():
            requests = [r for r in _requests(job, chunk, stats, gate) if r is not None]
            prompts_n += len(requests)
            planned = plan(probe, requests, cache)
            hits.update(bytes.fromhex(k)[:16] for k in planned.hit_keys)
            todo = []
            for req, rows in zip(planned.todo, planned.todo_rows):
                key = planned.keys[rows[0]]
                if key is not None:
                    digest = bytes.fromhex(key)[:16]
                    if digest in sent:
                        continue
                    sent.add(digest)
                todo.append(req)
            to_send += len(todo)
            if probe.uses_prompt:
                n, chunk_exact = count_tokens((r.prompt for r in todo), probe.model)
                tokens, exact = tokens + n, exact and chunk_exact
                completion += sum(r.max_tokens for r in todo)
        counts: dict[str, Any] = {
            "rows": job.rows, "skipped": stats.skipped, "truncated": stats.truncated,
            "prompts": prompts_n, "unique_prompts": to_send + len(hits), "cached": len(hits), "to_send": to_send}
        if opts.gate:
            counts.update(_gate_counts(stats))
        if probe.uses_prompt:
            counts.update(prompt_tokens=tokens, prompt_tokens_exact=exact, completion_tokens_max=completion,
                          cost_usd=cost(probe.model, tokens, completion),
                          cost_usd_batch=cost(probe.model, tokens, completion, batch=True))
        return Estimate(probe.name, probe.model, probe.uses_prompt, counts)
    finally:
        if gate is not None:
            gate.close()
        if cache is not None:
            cache.close()
        if owned:
            probe.close()
