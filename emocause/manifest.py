"""Manifests: a JSON file beside every result saying how it was made.

``OUT.manifest.json`` records the emocause version, the command, the backend and
model, the prompt name and template hash, parameters, the input file's hash,
times and counts: enough to rerun and compare.  Secrets are never passed in,
and :func:`write_manifest` refuses values that look like credentials as a last
line of defence.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emocause import __version__
from emocause.files import write_text

_SECRET_KEYS = re.compile(r"(api[_-]?key|token(?!s$)|secret|password|authorization)", re.I)


def manifest_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".manifest.json")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if _SECRET_KEYS.search(str(k)) and v else _scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def manifest_fields(command: str, out: str | Path | None = None, **fields: Any) -> dict[str, Any]:
    """The manifest of a run as a dict (what :func:`write_manifest` writes; also the library's ``Result.manifest``)."""
    return {
        "emocause_version": __version__,
        "command": command,
        "created": now(),
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "output": None if out is None else str(out),
        **_scrub(fields),
    }


def save_manifest(out: str | Path, data: dict[str, Any]) -> Path:
    """Write a manifest built by :func:`manifest_fields` beside ``out`` (atomically); return its path."""
    if str(out) == "-":  # the table went to stdout: the manifest goes to stderr, one JSON line
        print("manifest: " + json.dumps(data, default=str, ensure_ascii=True), file=sys.stderr)
        return Path("<stderr>")
    path = manifest_path(out) if not Path(out).is_dir() else Path(out) / "manifest.json"
    write_text(path, json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    return path


def write_manifest(out: str | Path, command: str, **fields: Any) -> Path:
    """Write ``OUT.manifest.json`` (atomically) and return its path."""
    return save_manifest(out, manifest_fields(command, out, **fields))
