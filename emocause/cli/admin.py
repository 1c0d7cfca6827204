"""``emocause prompts ...``, ``emocause cache ...`` and ``emocause config ...``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from emocause.cli import options
from emocause.errors import UsageError

prompts_app = typer.Typer(help="List and show the prompt templates.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear the response cache.", no_args_is_help=True)
config_app = typer.Typer(help="Show the settings in effect and where each comes from.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@prompts_app.command("list")
def prompts_list() -> None:
    """Bundled prompts: name, task, number of labels, description."""
    from rich.console import Console
    from rich.table import Table

    from emocause.annotate.prompts import list_templates

    table = Table("name", "task", "labels", "description")
    for t in list_templates():
        table.add_row(t.name, t.task, str(len(t.labels)) if t.labels else "-", t.description)
    Console(width=160).print(table)


@prompts_app.command("show")
def prompts_show(
    name: Annotated[str, typer.Argument(help="Prompt name or template file.")],
    text: Annotated[Optional[str], typer.Option(help="Render with this utterance.")] = None,
    emotion: Annotated[Optional[str], typer.Option(help="Emotion for cause prompts.")] = None,
    platform: options.Platform = None,
    source: Annotated[bool, typer.Option("--source", help="Print the template file itself.")] = False,
) -> None:
    """Print the prompt as the model receives it (label list filled in, {text} for the comment).

    --text renders it for one utterance; --source prints the template file.
    """
    from emocause import config
    from emocause.annotate.prompts import load

    template = load(name)
    platform = config.resolve("platform", platform)
    if source:
        typer.echo(template.source.rstrip("\n"))
    elif text is None:
        typer.echo(template.preview(platform, emotion).rstrip("\n"))
    else:
        typer.echo(template.render(text, platform, emotion))
        return
    typer.echo(f"\n# sha256: {template.sha256}")


@cache_app.command("stats")
def cache_stats(cache: options.CachePath = None, as_json: AsJson = False) -> None:
    """Entries, tokens and size of the response cache, per backend and model."""
    response_cache = options.open_cache(cache, False)
    st = response_cache.stats()
    response_cache.close()
    if as_json:
        typer.echo(json.dumps(st, indent=2))
        return
    typer.echo(f"cache: {st['path']}  entries: {st['entries']:,}  size: {st['bytes'] / 1e6:.2f} MB")
    for row in st["by_model"]:
        at = f" @ {row['endpoint']}" if row.get("endpoint") else ""
        typer.echo(f"  {row['backend']}:{row['model']}{at}  {row['entries']:,} entries, "
                   f"{row['prompt_tokens']:,} prompt + {row['completion_tokens']:,} completion tokens")


@cache_app.command("clear")
def cache_clear(
    cache: options.CachePath = None,
    backend: Annotated[Optional[str], typer.Option(help="Only this backend.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Only this model.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete cached responses (all, or one backend/model)."""
    response_cache = options.open_cache(cache, False)
    path = response_cache.path
    try:
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"cache clear: no terminal to ask for confirmation; pass --yes to "
                                 f"delete cached responses in {path}")
            if not typer.confirm(f"delete cached responses in {path}?"):
                raise typer.Exit(1)
        deleted = response_cache.clear(backend, model)
    finally:
        response_cache.close()
    typer.echo(f"deleted {deleted:,} cached responses from {path}")


@config_app.command("show")
def config_show(as_json: AsJson = False) -> None:
    """The effective settings: value and source (option > environment > config file > default)."""
    from emocause import config
    from emocause.progress import printable
    from emocause.urls import redact_url

    def shown(value: object) -> object:
        if isinstance(value, list):
            return ", ".join(redact_url(str(v)) for v in value)
        return value if value is None or isinstance(value, (int, float)) else redact_url(str(value))

    from emocause.annotate.cache import default_path

    unset = {"cache": str(default_path()), "base_url": "(the OpenAI API)"}
    rows = [(key, shown(value), source) for key, value, source in config.effective()]
    path = config.config_path()
    if as_json:
        typer.echo(json.dumps({"config_file": str(path) if path.is_file() else None,
                               "settings": {k: {"value": v, "source": src} for k, v, src in rows}},
                              indent=2))
        return
    typer.echo(f"config file: {printable(path)}{'' if path.is_file() else ' (none)'}")
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        text = unset.get(key, "(the backend's own)") if value is None else printable(value)
        typer.echo(f"  {key:<{width}}  {text:<28} {printable(source)}")


def register(app: typer.Typer) -> None:
    app.add_typer(prompts_app, name="prompts")
    app.add_typer(cache_app, name="cache")
    app.add_typer(config_app, name="config")
