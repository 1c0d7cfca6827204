"""Optional extras: what ``pip install emocause[NAME]`` adds, and the one-line error when it is missing.

The core install scrapes, preprocesses, classifies through any OpenAI-compatible
server and evaluates.  Local models (torch, transformers, sentence-transformers)
and the report's rendering libraries are extras, imported only inside the
functions that need them; those functions call :func:`require` first, so a missing
extra is one line naming what to install (exit code 2), not an ``ImportError``.
"""

from __future__ import annotations

import importlib.util

from emocause.errors import UsageError

#: extra -> the modules it provides (import names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("torch", "transformers", "sentence_transformers", "peft", "safetensors"),
    "report": ("jinja2", "markupsafe"),
    "ray": ("ray",),
}


class MissingExtra(UsageError):
    """A feature needs an optional extra that is not installed (exit code 2)."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked install counts as missing
        return False


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    return [m for m in EXTRAS[extra] if not _installed(m)]


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming ``pip install 'emocause[extra]'`` when ``extra`` is incomplete."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(f"{what} needs the '{extra}' extra ({', '.join(absent)} not installed): "
                           f"pip install 'emocause[{extra}]'")
