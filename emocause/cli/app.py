"""The ``emocause`` command line: one Typer app, command groups registered from modules.

``main`` turns :class:`emocause.errors.UsageError` into one line on stderr and
exit code 2 (never a traceback), and Ctrl-C into a hint that rerunning resumes.
"""

from __future__ import annotations

import importlib
import sys

import typer

try:  # typer >= 0.20 vendors its own click
    from typer import _click as click  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import click  # type: ignore[no-redef]

from emocause import __version__
from emocause.errors import UsageError
from emocause.progress import printable

#: Modules with a ``register(app)`` function, in help order.
COMMAND_MODULES = (
    "emocause.cli.scrape",
    "emocause.cli.annotate",
    "emocause.cli.admin",
    "emocause.cli.report",
    "emocause.cli.train",
    "emocause.cli.evaluate",
    "emocause.cli.datasets",
)

app = typer.Typer(
    name="emocause",
    help="Mine the causes of emotions in software developers' communication with zero-shot LLMs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emocause {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """Mine the causes of emotions in software developers' communication with zero-shot LLMs."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (also used by the tests)."""
    try:
        result = app(args=argv, prog_name="emocause", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except UsageError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted: answers received so far are cached; rerun the same command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
