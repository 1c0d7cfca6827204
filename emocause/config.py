"""User defaults: the one place where a setting's value is chosen.

Precedence, highest first: the command-line option (or the keyword argument of a
library call), the environment variable (``EMOCAUSE_<KEY>``, and ``OPENAI_BASE_URL``
for ``base_url``), the config file (``$EMOCAUSE_CONFIG``, else
``<user config dir>/emocause/config.toml``), and the built-in default.  Whatever is
chosen, the manifest records what actually ran.  Secrets never belong in this file:
API keys and tokens are read from the environment only.

Every key the file accepts is read by the commands it names; an unknown key, a value
of the wrong type, or ``$EMOCAUSE_CONFIG`` naming a missing file is one error line.
``emocause config show`` prints the effective settings and where each came from.

Example ``config.toml``::

    backend = "openai"
    model = "gpt-4o-mini"
    base_url = "http://127.0.0.1:8000/v1"
    concurrency = 16
    platform = "jira"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from emocause.errors import UsageError

#: The backend that runs when nothing says otherwise: the fine-tuned model shipped in the
#: package (docs/models.md); offline, no key, no network.
DEFAULT_BACKEND = "finetuned"
ENV_CONFIG = "EMOCAUSE_CONFIG"


@dataclass(frozen=True)
class Setting:
    """One configurable value: its type, default, bounds and what it does."""

    key: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    #: Environment variables read after ``EMOCAUSE_<KEY>``, in order.
    fallback_env: tuple[str, ...] = ()
    #: Whether a list of values is accepted too (``base_url``: replicas of one model).
    many: bool = False

    @property
    def env(self) -> tuple[str, ...]:
        return (f"EMOCAUSE_{self.key.upper()}", *self.fallback_env)

    def convert(self, value: Any, where: str) -> Any:
        """``value`` (an option, a TOML value or an environment string) as this setting's type."""
        if self.many and isinstance(value, (list, tuple)) and value:
            return [self.convert(v, where) for v in value]
        if self.kind in (int, float):
            return self._number(value, where)
        if isinstance(value, Path) and self.kind is Path:
            return value.expanduser()
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{where}: {self.key} must be a non-empty string, got {value!r}")
        return Path(value.strip()).expanduser() if self.kind is Path else value.strip()

    def _number(self, value: Any, where: str) -> int | float:
        what = "an integer" if self.kind is int else "a number"
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError
            number = self.kind(value.strip() if isinstance(value, str) else value)
            if number != float(value if not isinstance(value, str) else value.strip()):
                raise ValueError  # 2.5 for an integer setting
        except ValueError:
            raise UsageError(f"{where}: {self.key} must be {what}, got {value!r}") from None
        low = -float("inf") if self.minimum is None else self.minimum
        high = float("inf") if self.maximum is None else self.maximum
        if not low <= number <= high:
            bounds = f"at least {low:g}" if self.maximum is None else f"between {low:g} and {high:g}"
            raise UsageError(f"{where}: {self.key} must be {bounds}, got {number}")
        return number


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("backend", str, DEFAULT_BACKEND, "backend that runs when --backend is not given"),
    Setting("model", str, None, "model of that backend (default: the backend's own)"),
    Setting("base_url", str, None, "OpenAI-compatible server (a list: replicas of one model)",
            fallback_env=("OPENAI_BASE_URL",), many=True),
    Setting("concurrency", int, 8, "openai: requests in flight", 1, 256),
    Setting("retries", int, 6, "openai: retries per request", 0, 20),
    Setting("temperature", float, 0.0, "sampling temperature", 0.0, 2.0),
    Setting("device", str, None, "hf/embedding/trained: cuda, mps or cpu (default: the best available)"),
    Setting("batch_size", int, None, "hf/embedding/trained: texts per batch (default: the backend's own)", 1),
    Setting("embedding_model", str, None, "sentence-transformers model (default: all-MiniLM-L6-v2)"),
    Setting("neutral_share", float, None, "finetuned: expected share of comments without emotion; "
            "picks the thresholds the model stored for it (default: the model's own)", 0.05, 0.75),
    Setting("platform", str, "github", "where the text comes from: github, stackoverflow, jira, mail"),
    Setting("cache", Path, None, "SQLite response cache (default: the user cache dir)"),
)}
#: Kept for callers that list the accepted keys.
KNOWN_KEYS = set(SETTINGS)


def config_path() -> Path:
    """The config file in use: ``$EMOCAUSE_CONFIG``, else the user config dir's ``config.toml``."""
    env = os.environ.get(ENV_CONFIG)
    return Path(env).expanduser() if env else Path(user_config_dir("emocause")) / "config.toml"


@lru_cache(maxsize=8)
def _parse(path: str, _stamp: tuple[int, int]) -> dict[str, Any]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {p}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"config file {p}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    unknown = set(data) - set(SETTINGS)
    if unknown:
        raise UsageError(f"config file {p}: unknown keys {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(SETTINGS))}")
    return {k: SETTINGS[k].convert(v, f"config file {p}") for k, v in data.items()}


def settings() -> dict[str, Any]:
    """The config file's settings (empty when the default file does not exist).

    ``$EMOCAUSE_CONFIG`` naming a missing file is an error: a typo there would
    otherwise silently run with other settings.
    """
    path = config_path()
    if not path.exists():
        if os.environ.get(ENV_CONFIG):
            raise UsageError(f"{ENV_CONFIG}={path}: no such file")
        return {}
    if not path.is_file():
        raise UsageError(f"config file {path}: not a regular file")
    st = path.stat()
    return dict(_parse(str(path), (st.st_mtime_ns, st.st_size)))


def lookup(key: str, explicit: Any = None) -> tuple[Any, str]:
    """``(value, source)`` of a setting: explicit > environment > config file > default.

    ``source`` is ``"option"``, ``"env NAME"``, ``"config PATH"`` or ``"default"``.
    """
    setting = SETTINGS[key]
    if explicit is not None and explicit != "" and explicit != []:
        return setting.convert(explicit, f"--{key.replace('_', '-')}"), "option"
    for name in setting.env:
        value = os.environ.get(name)
        if value:
            return setting.convert(value, name), f"env {name}"
    data = settings()
    if key in data:
        return data[key], f"config {config_path()}"
    return setting.default, "default"


def resolve(key: str, explicit: Any = None, default: Any = None) -> Any:
    """A setting's value (see :func:`lookup`); ``default`` replaces a built-in default of ``None``."""
    value, _ = lookup(key, explicit)
    return default if value is None else value


def default_backend(explicit: str | None = None) -> str:
    return str(resolve("backend", explicit))


def effective() -> list[tuple[str, Any, str]]:
    """Every setting as ``(key, value, source)``, for ``emocause config show``."""
    return [(key, *lookup(key)) for key in SETTINGS]
