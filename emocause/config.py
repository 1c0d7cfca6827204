"""User defaults: which backend and model run when the command line does not say.

Precedence, highest first: command-line option, environment variable
(``EMOCAUSE_BACKEND``, ``EMOCAUSE_MODEL``), the config file
(``$EMOCAUSE_CONFIG`` or ``<user config dir>/emocause/config.toml``), and the
built-in default, the offline ``finetuned`` backend (the fine-tuned model
shipped in the package).  Whatever is chosen, the
manifest records what actually ran.  Secrets never belong in this file: API keys
and tokens are read from the environment only.

Example ``config.toml``::

    backend = "openai"
    model = "gpt-4o-mini"
    base_url = "http://127.0.0.1:8000/v1"
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from emocause.errors import UsageError

DEFAULT_BACKEND = "finetuned"
KNOWN_KEYS = {"backend", "model", "base_url", "concurrency", "device", "batch_size",
              "embedding_model", "platform", "cache"}


def config_path() -> Path:
    env = os.environ.get("EMOCAUSE_CONFIG")
    return Path(env) if env else Path(user_config_dir("emocause")) / "config.toml"


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        return {}
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {p}: {exc}") from None
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise UsageError(f"config file {p}: unknown keys {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(KNOWN_KEYS))}")
    return data


def settings() -> dict[str, Any]:
    """The config file's settings (empty when there is none)."""
    return dict(_load(str(config_path())))


def resolve(key: str, explicit: Any = None, default: Any = None) -> Any:
    """An option's value: explicit > ``EMOCAUSE_<KEY>`` > config file > ``default``."""
    if explicit not in (None, ""):
        return explicit
    env = os.environ.get(f"EMOCAUSE_{key.upper()}")
    if env:
        return env
    return settings().get(key, default)


def default_backend(explicit: str | None = None) -> str:
    return str(resolve("backend", explicit, DEFAULT_BACKEND))
