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

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from emocause import config
from emocause.annotate import frames, prompts
from emocause.annotate.cache import Cache, default_path
from emocause.annotate.runner import DEFAULT_MAX_CHARS, RunStats, plan
from emocause.backends import Backend, BackendOptions, check_available, create
from emocause.emotions.taxonomy import EmotionMapping, get_mapping
from emocause.errors import UsageError
from emocause.files import file_sha256
from emocause.manifest import manifest_fields, now, save_manifest
from emocause.tables import (ID_COLUMNS, TEXT_COLUMNS, as_text, check_output, load_table, pick_column,
                             require_columns, write_table)

#: What ``data`` may be: a DataFrame, or the path of a CSV/JSONL/Parquet table.
Data = pd.DataFrame | str | os.PathLike
#: A backend: a registered name, options, or a ready :class:`Backend` (not closed by the job).
BackendSpec = str | BackendOptions | Backend | None

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
    """What a job returns: the annotated table, the run's counts and its manifest."""

    frame: pd.DataFrame
    counts: dict[str, Any]
    manifest: dict[str, Any]
    max_failed: MaxFailed = field(default_factory=MaxFailed)
    #: The written table and manifest (``None`` when no ``out`` was given).
    out: Path | None = None
    manifest_path: Path | None = None

    @property
    def failed(self) -> int:
        """Rows whose request failed after every retry (status ``failed: ...``; a rerun retries them)."""
        return int(self.counts.get("failed", 0))

    @property
    def answered(self) -> int:
        """Rows that needed an answer (all rows but the skipped ones)."""
        return int(self.counts.get("rows", 0)) - int(self.counts.get("skipped", 0))

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
    """A job ready to run: options resolved, table read, columns and prompt checked."""

    options: JobOptions
    backend: BackendOptions | Backend
    template: prompts.Template
    df: pd.DataFrame
    text_col: str
    id_col: str | None
    emotions: list[str | None] | None
    input: dict[str, Any]


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


def _read(data: Data) -> tuple[pd.DataFrame, dict[str, Any]]:
    if isinstance(data, pd.DataFrame):
        return data, {"path": None, "sha256": None}
    if isinstance(data, (str, os.PathLike)):
        table = load_table(data)
        return table.frame, {"path": str(data), "sha256": file_sha256(data), "table": table.describe()}
    raise TypeError(f"data must be a pandas DataFrame or a table path, not {type(data).__name__}")


def _prepare(data: Data, options: JobOptions, backend: BackendOptions | Backend,
             out: str | Path | None) -> _Job:
    """Every check that can fail before the work starts, in the order a user fixes them."""
    if out is not None:
        check_output(out)  # format known, folder writable ('-' is stdout)
    options = options.resolved()
    if isinstance(backend, BackendOptions):
        backend = backend.resolved()
        check_available(backend.backend or "")
    template = prompts.load(options.prompt or options.default_prompt)
    options.check_task(template)
    df, source = _read(data)
    where = source["path"] or "the table"
    text_col = pick_column(df, options.text_col, TEXT_COLUMNS, "text", where)
    id_col = pick_column(df, options.id_col, ID_COLUMNS, "id", where, required=False)
    emotions = None
    if isinstance(options, CauseOptions):
        if bool(options.emotion) == bool(options.emotion_col):
            raise UsageError("give exactly one of --emotion NAME or --emotion-col COLUMN")
        if options.emotion_col:
            require_columns(df, [options.emotion_col], where)
    if options.limit:
        df = df.head(options.limit)
    if isinstance(options, CauseOptions):
        emotions = frames.row_emotions(df, options.emotion, options.emotion_col, options.mapping)
    return _Job(options, backend, template, df, text_col or "", id_col, emotions,
                {**source, "rows": len(df)})


def _backend(spec: BackendOptions | Backend) -> tuple[Backend, bool]:
    """(backend, whether this job created it and must close it)."""
    if isinstance(spec, Backend):
        return spec, False
    return create(spec.backend or "", **spec.kwargs()), True


def run(data: Data, options: JobOptions, backend: BackendSpec = None,
        out: str | Path | None = None) -> Result:
    """Run the job ``options`` describes (``ClassifyOptions`` or ``CauseOptions``) on ``data``."""
    started = now()
    spec = backend if isinstance(backend, Backend) else BackendOptions.of(backend)
    job = _prepare(data, options, spec, out)
    opts, template = job.options, job.template
    model, owned = _backend(job.backend)
    cache = None
    stats = RunStats()
    try:
        cache = open_cache(opts.cache, not opts.no_cache)
        if isinstance(opts, CauseOptions):
            frame = frames.causes_frame(job.df, job.text_col, job.emotions or [], template, model, cache,
                                        opts.platform or "github", opts.max_chars, stats)
        else:
            frame = frames.classify_frame(job.df, job.text_col, template, model, cache,
                                          opts.platform or "github", opts.max_chars, stats, opts.mapping)
    finally:
        if owned:
            model.close()
        if cache is not None:
            cache.close()
    counts: dict[str, Any] = stats.as_dict()
    counts["skipped_lines"] = job.input.get("table", {}).get("skipped_lines", 0)
    if isinstance(opts, CauseOptions):
        counts["grounded"] = int(frame["cause_grounded"].fillna(False).astype(bool).sum())
    else:
        counts["emotions"] = {str(k): int(v) for k, v in frame["emotion"].value_counts().items()}
        counts["off_list"] = int((frame["emotion_status"] == "off-list").sum())
    limit = MaxFailed.parse(opts.max_failed)
    answered = stats.rows - stats.skipped
    manifest = manifest_fields(
        opts.task, out, **model.describe(),
        prompt={"name": template.name, "sha256": template.sha256, "task": template.task,
                "labels": template.label_set, "max_tokens": template.max_tokens},
        mapping=get_mapping(opts.mapping).describe(),
        parameters={"platform": opts.platform, "text_col": job.text_col, "id_col": job.id_col,
                    "limit": opts.limit, "max_chars": opts.max_chars,
                    "emotion": getattr(opts, "emotion", None), "emotion_col": getattr(opts, "emotion_col", None),
                    "cache": None if cache is None else str(cache.path), "max_failed": str(limit)},
        input=job.input, started=started, finished=now(), counts=counts,
        outcome={"failed": stats.failed, "of": answered, "max_failed": str(limit),
                 "ok": limit.allows(stats.failed, answered)})
    result = Result(frame, counts, manifest, limit)
    if out is not None:
        result.out = write_table(frame, out)
        result.manifest_path = save_manifest(out, result.manifest)
    return result


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
    job = _prepare(data, job_opts, spec, None)
    opts = job.options
    stats = RunStats()
    texts = [as_text(v) for v in job.df[job.text_col].tolist()]
    prep = frames.build_requests(texts, job.template, opts.platform or "github", opts.max_chars, stats,
                                 job.emotions)
    requests = [r for r in prep.requests if r is not None]
    probe, owned = _backend(job.backend)
    try:
        cache = open_cache(opts.cache, not opts.no_cache) if probe.cacheable else None
        planned = plan(probe, requests, cache)
        if cache is not None:
            cache.close()
        counts: dict[str, Any] = {
            "rows": len(job.df), "skipped": stats.skipped, "truncated": stats.truncated,
            "prompts": len(requests), "unique_prompts": len(planned.todo) + planned.cached_keys,
            "cached": planned.cached_keys, "to_send": len(planned.todo)}
        if probe.uses_prompt:
            tokens, exact = count_tokens((r.prompt for r in planned.todo), probe.model)
            completion = sum(r.max_tokens for r in planned.todo)
            counts.update(prompt_tokens=tokens, prompt_tokens_exact=exact, completion_tokens_max=completion,
                          cost_usd=cost(probe.model, tokens, completion),
                          cost_usd_batch=cost(probe.model, tokens, completion, batch=True))
        return Estimate(probe.name, probe.model, probe.uses_prompt, counts)
    finally:
        if owned:
            probe.close()
