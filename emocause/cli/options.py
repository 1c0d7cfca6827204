"""Options shared by every command that runs a model (one definition, many commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from emocause import config

Backend = Annotated[Optional[str], typer.Option(
    "--backend", "-b", help="openai | hf | embedding | trained. Default: $EMOCAUSE_BACKEND, the "
    "config file, else embedding (offline).", show_default=False)]
Model = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="Model name or path (openai: gpt-4; hf: declare-lab/flan-alpaca-xl; "
    "embedding: all-MiniLM-L6-v2; trained: the directory written by `emocause train`).",
    show_default=False)]
BaseUrl = Annotated[Optional[list[str]], typer.Option(
    "--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, Ollama, "
    "llama.cpp); repeat for replicas of one model (requests go to the least busy). "
    "Default: $OPENAI_BASE_URL.", show_default=False, metavar="URL")]
Batch = Annotated[bool, typer.Option(
    "--batch", help="openai: send through the OpenAI Batch API (half price, results within 24 h); "
    "a rerun reattaches to the running batch.")]
EndpointGroup = Annotated[Optional[str], typer.Option(
    "--endpoint-group", help="openai: a name for the --base-url servers that share cached answers "
    "whatever their URLs (replicas of the same model and weights).", show_default=False,
    metavar="NAME")]
Concurrency = Annotated[int, typer.Option("--concurrency", "-j", min=1, max=256,
                                          help="openai: requests in flight.")]
Retries = Annotated[int, typer.Option("--retries", min=0, max=20,
                                      help="openai: retries per request on 429/5xx/timeouts "
                                      "(exponential backoff with jitter, honouring Retry-After).")]
Temperature = Annotated[float, typer.Option("--temperature", min=0.0, max=2.0,
                                            help="Sampling temperature (0 = deterministic).")]
Device = Annotated[Optional[str], typer.Option(
    "--device", help="hf/embedding: cuda, mps or cpu (default: the best available).",
    show_default=False)]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="hf/embedding: prompts per batch.")]
EmbeddingModel = Annotated[Optional[str], typer.Option(
    "--embedding-model", help="Sentence-transformers model name or path (default: the bundled "
    "all-MiniLM-L6-v2).", show_default=False)]
CachePath = Annotated[Optional[Path], typer.Option(
    "--cache", help="SQLite response cache (default: the user cache dir; $EMOCAUSE_CACHE).",
    show_default=False)]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
Platform = Annotated[str, typer.Option(
    "--platform", help="Where the text comes from: github, stackoverflow, jira, mail.")]
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
MappingName = Annotated[str, typer.Option(
    "--mapping", help="How emotion names map to the six basic emotions: default (the gold data's "
    "annotation guide), paper (the paper's published verdicts), goemotions-ekman. See docs/prompts.md.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Count prompts, cache hits, tokens and cost; send nothing.")]


def backend_options(backend: str | None, model: str | None, base_url: str | list[str] | None,
                    concurrency: int, temperature: float, device: str | None, batch_size: int,
                    embedding_model: str | None, retries: int = 6, batch: bool = False,
                    endpoint_group: str | None = None) -> tuple[str, dict[str, Any]]:
    """Resolve the backend name and its constructor options from flags, env and config."""
    name = config.default_backend(backend)
    if (batch or endpoint_group) and name != "openai":
        from emocause.errors import UsageError

        raise UsageError(f"{'--batch' if batch else '--endpoint-group'} needs --backend openai "
                         f"(the backend is {name})")
    opts: dict[str, Any] = {
        "model": config.resolve("model", model) if (backend is None or model) else model,
        "base_url": config.resolve("base_url", base_url or None),
        "batch": batch or None,
        "endpoint_group": endpoint_group,
        "concurrency": concurrency,
        "max_retries": retries,
        "temperature": temperature,
        "device": config.resolve("device", device),
        "batch_size": batch_size,
        "embedding_model": config.resolve("embedding_model", embedding_model),
    }
    return name, opts


def open_cache(path: Path | None, no_cache: bool):  # -> Cache | None
    """The response cache the options ask for, or ``None`` with ``--no-cache``."""
    if no_cache:
        return None
    from emocause.annotate.cache import Cache, default_path

    return Cache(path or config.resolve("cache") or default_path())
