"""Options shared by every command that runs a model (one definition, many commands).

Options whose default may come from the environment or the config file default to
``None`` here; :class:`emocause.backends.BackendOptions` and the job options fill them
in (option > environment > config file > default, in :mod:`emocause.config`).
Closed sets of values (platforms, backends) are checked by the parser, so a typo
is one line and exit code 2 before any work.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from emocause.annotate.prompts import PLATFORMS
from emocause.annotate.runner import DEFAULT_MAX_CHARS
from emocause.backends import BACKENDS, BackendOptions, check_name
from emocause.emotions.taxonomy import MAPPINGS, get_mapping
from emocause.errors import UsageError

#: The prompt platforms, a closed choice.
PlatformName = Literal[tuple(PLATFORMS)]  # type: ignore[valid-type]


def _backend_name(value: str) -> str:
    try:
        return check_name(value)
    except UsageError as exc:
        raise typer.BadParameter(str(exc)) from None


Backend = Annotated[Optional[str], typer.Option(
    "--backend", "-b", parser=_backend_name, metavar=f"<{'|'.join(BACKENDS)}>",
    help="Default: $EMOCAUSE_BACKEND, the config file, else embedding (offline).", show_default=False)]
Model = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="Model name or path (openai: gpt-4; hf: declare-lab/flan-alpaca-xl; "
    "embedding: all-MiniLM-L6-v2; trained: the directory written by `emocause train`).",
    show_default=False)]
BaseUrl = Annotated[Optional[list[str]], typer.Option(
    "--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, Ollama, "
    "llama.cpp); repeat for replicas of one model (requests go to the least busy). "
    "Default: $OPENAI_BASE_URL, the config file, else the OpenAI API.", show_default=False, metavar="URL")]
Batch = Annotated[bool, typer.Option(
    "--batch", help="openai: send through the OpenAI Batch API (half price, results within 24 h); "
    "a rerun reattaches to the running batch.")]
EndpointGroup = Annotated[Optional[str], typer.Option(
    "--endpoint-group", help="openai: a name for the --base-url servers that share cached answers "
    "whatever their URLs (replicas of the same model and weights).", show_default=False,
    metavar="NAME")]
Concurrency = Annotated[Optional[int], typer.Option(
    "--concurrency", "-j", min=1, max=256, help="openai: requests in flight. Default: 8 (or the config).",
    show_default=False)]
Retries = Annotated[Optional[int], typer.Option(
    "--retries", min=0, max=20, help="openai: retries per request on 429/5xx/timeouts (exponential "
    "backoff with jitter, honouring Retry-After). Default: 6 (or the config).", show_default=False)]
Temperature = Annotated[Optional[float], typer.Option(
    "--temperature", min=0.0, max=2.0, help="Sampling temperature. Default: 0, deterministic (or the config).",
    show_default=False)]
Device = Annotated[Optional[str], typer.Option(
    "--device", help="hf/embedding: cuda, mps or cpu (default: the best available).",
    show_default=False)]
BatchSize = Annotated[Optional[int], typer.Option(
    "--batch-size", min=1, help="hf/embedding: prompts per batch (default: the backend's own, or the config).",
    show_default=False)]
EmbeddingModel = Annotated[Optional[str], typer.Option(
    "--embedding-model", help="Sentence-transformers model name or path (default: the bundled "
    "all-MiniLM-L6-v2).", show_default=False)]
NeutralShare = Annotated[Optional[float], typer.Option(
    "--neutral-share", metavar="<0.05-0.75>", help="finetuned: the share of comments without emotion you "
    "expect (e.g. 0.45 for unfiltered PR comments); picks the thresholds the model stored for it "
    "(default: the model's own, docs/models.md).", show_default=False)]
CachePath = Annotated[Optional[Path], typer.Option(
    "--cache", help="SQLite response cache (default: the user cache dir; $EMOCAUSE_CACHE).",
    show_default=False)]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
Platform = Annotated[Optional[PlatformName], typer.Option(
    "--platform", help="Where the text comes from (named in the prompt). Default: github (or the config).",
    show_default=False)]
TextCol = Annotated[Optional[str], typer.Option(
    "--text-col", help="Text column (default: the first of text, Text, body, modified_comment, "
    "Comment, ...).", show_default=False)]
IdCol = Annotated[Optional[str], typer.Option("--id-col", help="Id column (default: id, if present).",
                                              show_default=False)]
Limit = Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N rows.",
                                              show_default=False)]
MaxChars = Annotated[int, typer.Option(
    "--max-chars", min=0, help="Cut longer comments to this many characters (0 = never); counted "
    "in the summary.")]
#: The default of ``--max-chars`` (the runner's), for every command that has the option.
MAX_CHARS = DEFAULT_MAX_CHARS
MaxFailed = Annotated[Optional[str], typer.Option(
    "--max-failed", help="Failed rows tolerated before the run exits with code 3: N rows or P% "
    "of the rows. Default: 0.", show_default=False)]


def _mapping_name(value: str) -> str:
    try:
        get_mapping(value)
    except UsageError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


MappingName = Annotated[str, typer.Option(
    "--mapping", parser=_mapping_name, metavar=f"<{'|'.join(MAPPINGS)}>",
    help="How emotion names map to the six basic emotions: default (the gold data's annotation guide), "
    "paper (the paper's published verdicts), goemotions-ekman. See docs/prompts.md.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Count prompts, cache hits, tokens and cost; send nothing.")]


#: The flags of every command that runs a model over a table: name -> (annotation, default).
MODEL_RUN: dict[str, tuple[Any, Any]] = {
    "backend": (Backend, None), "model": (Model, None), "base_url": (BaseUrl, None),
    "concurrency": (Concurrency, None), "retries": (Retries, None), "batch": (Batch, False),
    "endpoint_group": (EndpointGroup, None), "temperature": (Temperature, None),
    "device": (Device, None), "batch_size": (BatchSize, None), "embedding_model": (EmbeddingModel, None),
    "neutral_share": (NeutralShare, None), "platform": (Platform, None), "cache": (CachePath, None), "no_cache": (NoCache, False),
    "text_col": (TextCol, None), "id_col": (IdCol, None), "limit": (Limit, None),
    "max_chars": (MaxChars, MAX_CHARS), "max_failed": (MaxFailed, None), "mapping": (MappingName, "default"),
    "dry_run": (DryRun, False),
}


def with_flags(flags: dict[str, tuple[Any, Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``flags`` to a command's parameters; the command receives them in its ``**kwargs``.

    One declaration for the flags many commands share, instead of a copy in every signature.
    """
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values()
               if p.kind is not inspect.Parameter.VAR_KEYWORD]
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
                 for name, (annotation, default) in flags.items()]

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            return func(**kwargs)

        command.__signature__ = inspect.Signature([*own, *added])  # type: ignore[attr-defined]
        return command

    return decorate


def backend_options(backend: str | None = None, model: str | None = None,
                    base_url: str | list[str] | None = None, concurrency: int | None = None,
                    temperature: float | None = None, device: str | None = None,
                    batch_size: int | None = None, embedding_model: str | None = None,
                    retries: int | None = None, batch: bool = False, endpoint_group: str | None = None
                    ) -> tuple[str, dict[str, Any]]:
    """The backend name and its constructor options from flags, env and config (for ``report``)."""
    resolved = BackendOptions(backend, model, base_url or None, concurrency, retries, temperature, device,
                              batch_size, embedding_model, batch or None, endpoint_group).resolved()
    return resolved.backend or "", resolved.kwargs()


def open_cache(path: Path | None, no_cache: bool):  # -> Cache | None
    """The response cache the options ask for, or ``None`` with ``--no-cache``."""
    from emocause.annotate.jobs import open_cache as open_response_cache

    return open_response_cache(path, enabled=not no_cache)


# ---------------------------------------------------------------- reading tables (emocause.tables)

Encoding = Annotated[Optional[str], typer.Option(
    "--encoding", help="Text encoding of input tables (default: UTF-8, else detected with "
    "charset-normalizer; a note says which).", show_default=False)]
Sep = Annotated[Optional[str], typer.Option(
    "--sep", help="CSV separator (default: detected from the header line among , tab ; |; "
    "write tab as \\t).", show_default=False)]
BadLines = Annotated[Literal["error", "skip"], typer.Option(
    "--bad-lines", help="A CSV line with more or fewer fields than the header, or a JSONL line "
    "that is not an object: error (stop, naming the line) or skip (skip and count it).")]

#: The flags of every command that reads tables: name -> (annotation, default).
TABLE_READ: dict[str, tuple[Any, Any]] = {
    "encoding": (Encoding, None), "sep": (Sep, None), "bad_lines": (BadLines, "error"),
}


def reading_tables(encoding: str | None = None, sep: str | None = None,
                   bad_lines: str = "error") -> AbstractContextManager[Any]:
    """Apply ``--encoding/--sep/--bad-lines`` to every table the command reads; notes (lines
    skipped, an encoding detected) are printed as each table is read."""
    from emocause import tables
    from emocause.progress import info

    def notes(table: tables.Table) -> None:
        for line in table.notes():
            info(f"note: {line}")

    return tables.using(tables.TableOptions(encoding=encoding, sep=sep, bad_lines=bad_lines, on_read=notes))
