"""``emocause prompts ...`` and ``emocause cache ...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from emocause.cli import options as o

prompts_app = typer.Typer(help="List and show the prompt templates.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear the response cache.", no_args_is_help=True)


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
    platform: o.Platform = "github",
    source: Annotated[bool, typer.Option("--source", help="Print the template file itself.")] = False,
) -> None:
    """Print the prompt as the model receives it (label list filled in, {text} for the comment).

    --text renders it for one utterance; --source prints the template file.
    """
    from emocause.annotate.prompts import load

    t = load(name)
    if source:
        typer.echo(t.source.rstrip("\n"))
    elif text is None:
        typer.echo(t.preview(platform, emotion).rstrip("\n"))
    else:
        typer.echo(t.render(text, platform, emotion))
        return
    typer.echo(f"\n# sha256: {t.sha256}")


@cache_app.command("stats")
def cache_stats(cache: o.CachePath = None,
                as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Entries, tokens and size of the response cache, per backend and model."""
    store = o.open_cache(cache, False)
    st = store.stats()
    store.close()
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
    cache: o.CachePath = None,
    backend: Annotated[Optional[str], typer.Option(help="Only this backend.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Only this model.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete cached responses (all, or one backend/model)."""
    store = o.open_cache(cache, False)
    if not yes and not typer.confirm(f"delete cached responses in {store.path}?"):
        raise typer.Exit(1)
    n = store.clear(backend, model)
    store.close()
    typer.echo(f"deleted {n:,} cached responses from {Path(store.path)}")


def register(app: typer.Typer) -> None:
    app.add_typer(prompts_app, name="prompts")
    app.add_typer(cache_app, name="cache")
