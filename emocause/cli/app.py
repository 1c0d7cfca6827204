"""The ``emocause`` command line: one Typer app, command groups registered from modules.

``main`` turns :class:`emocause.errors.UsageError` and the parser's own errors into
one line on stderr and exit code 2 (never a traceback), and Ctrl-C into exit code
130 with a hint to rerun where a rerun resumes.  ``-q``/``-v`` set how much is
printed; third-party progress bars and logs stay silent unless ``-v``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
from typer.core import TyperOption

try:  # typer >= 0.20 vendors its own click
    from typer._click import Context  # type: ignore[attr-defined]
    from typer._click import exceptions as click_errors  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    from click import Context  # type: ignore[no-redef]
    from click import exceptions as click_errors  # type: ignore[no-redef]

from emocause import __version__
from emocause.errors import UsageError
from emocause.extras import require
from emocause.progress import printable, set_verbosity

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

#: Commands that need optional extras, whatever their options (checked before they parse).
COMMAND_EXTRAS = {"report": ("local", "report")}

#: Commands whose rerun resumes after Ctrl-C, and what makes it resume.
RESUMES = {
    "classify": "answers received so far are cached",
    "causes": "answers received so far are cached",
    "report": "model answers received so far are cached",
    "scrape": "records fetched so far are saved",
}
#: Flags under which those commands have nothing to resume.
NOTHING_TO_RESUME = {"--no-cache", "--dry-run", "--from-causes"}

_flag_type = TyperOption.display_type_rich


def _no_bool_metavar(self: TyperOption, ctx: Context) -> str | None:
    """Flags take no value: show nothing where typer would print ``<bool>``."""
    return None if self.is_flag else _flag_type(self, ctx)


TyperOption.display_type_rich = _no_bool_metavar  # type: ignore[method-assign]

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
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only: no progress bars, "
                                        "no summary.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also show the logs and progress "
                                          "bars of the libraries underneath (transformers, httpx, ...).")]
        = False,
) -> None:
    """Mine the causes of emotions in software developers' communication with zero-shot LLMs."""
    if quiet and verbose:
        raise UsageError("give --quiet or --verbose, not both")
    set_verbosity(-1 if quiet else 1 if verbose else 0)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _command(argv: list[str]) -> str | None:
    """The command word of ``argv`` (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def interrupted_message(argv: list[str]) -> str:
    """What to print after Ctrl-C: a resume hint only where rerunning the command resumes."""
    command = _command(argv)
    if command in RESUMES and not NOTHING_TO_RESUME & set(argv):
        return f"interrupted: {RESUMES[command]}; rerun the same command to resume"
    return "interrupted"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (also used by the tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        command = _command(args)
        if command in COMMAND_EXTRAS and not {"-h", "--help"} & set(args):
            for extra in COMMAND_EXTRAS[command]:
                require(extra, f"emocause {command}")
        result = app(args=args, prog_name="emocause", standalone_mode=False)
        if result == 130:  # typer turns Ctrl-C into exit code 130 and returns it
            print(interrupted_message(args), file=sys.stderr)
        return result if isinstance(result, int) else 0
    except UsageError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except click_errors.UsageError as exc:  # bad flag or value: one line, exit code 2
        where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        print(f"error: {printable(' '.join(exc.format_message().split()))}{where}", file=sys.stderr)
        return exc.exit_code
    except click_errors.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        print(interrupted_message(args), file=sys.stderr)
        return 130
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
