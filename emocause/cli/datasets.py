"""``emocause datasets list`` and ``emocause datasets fetch NAME...``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

datasets_app = typer.Typer(help="List and download the public data sets (SHA-256 verified).",
                           no_args_is_help=True)


@datasets_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The registered data sets: name, files, size, description and source."""
    from emocause.evaluate.datasets import DATASETS

    if as_json:
        typer.echo(json.dumps([{"name": d.name, "description": d.description, "source": d.source,
                                "files": [{"name": f.name, "url": f.url, "size": f.size, "sha256": f.sha256}
                                          for f in d.files]} for d in DATASETS.values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "files", "size", "description", "source")
    for d in DATASETS.values():
        table.add_row(d.name, str(len(d.files)), f"{d.size / 1e3:,.0f} kB", d.description, d.source)
    Console(width=160).print(table)


@datasets_app.command("fetch")
def fetch_cmd(
    names: Annotated[list[str], typer.Argument(help="Data set names (see `emocause datasets list`), or all.",
                                               show_default=False)],
    dir: Annotated[Optional[Path], typer.Option(
        "--dir", "-d", help="Data directory (default: $EMOCAUSE_DATA_DIR, else the user data dir).",
        show_default=False)] = None,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", help="Mirror serving the files flat as BASE/FILENAME (default: "
        "$EMOCAUSE_DATASETS_URL, else the public URLs).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Download even files already present and verified.")]
        = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds per network operation.")] = 60.0,
) -> None:
    """Download data sets into a directory; every file is checked against its SHA-256.

    Prints the path of each file on stdout; a file already present with the right
    checksum is not downloaded again.
    """
    from emocause.evaluate import datasets
    from emocause.files import check_writable
    from emocause.manifest import write_manifest
    from emocause.progress import bar, summary
    from emocause.urls import redact_url

    chosen = datasets.resolve(names)
    dest = dir or datasets.default_dir()
    check_writable(dest, "--dir", directory=True)          # before any download
    base = datasets.check_base_url(base_url or os.environ.get(datasets.ENV_BASE_URL) or None)
    shown = redact_url(base) if base else None
    total = sum(d.size for d in chosen)
    with bar(f"fetch {', '.join(d.name for d in chosen)}", total) as b:
        done = datasets.fetch(chosen, dest, base, force, timeout, on_bytes=b.advance)
    for d in chosen:
        files = [f for f in done if f.dataset == d.name]
        write_manifest(dest / d.name, "datasets fetch", dataset=d.name, source=d.source,
                       base_url=shown, files=[{"name": f.path.name, "url": f.url, "sha256": f.sha256,
                                              "size": f.size, "status": f.status} for f in files])
    for f in done:
        typer.echo(str(f.path))
    summary(f"datasets -> {dest}", {
        "files": len(done), "downloaded": sum(f.status == "downloaded" for f in done),
        "already present (verified)": sum(f.status == "present" for f in done),
        "bytes": sum(f.size for f in done), "source": shown or "public URLs"})


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
