"""Shared test helpers: paths to ../shared, and running the real CLI in-process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMOCAUSE_SHARED", ROOT.parent / "shared"))
PAPER = SHARED / "data" / "paper"
PERCEVAL = SHARED / "data" / "perceval"

# Never touch the user's real cache/config from tests; never show progress bars.
os.environ.setdefault("EMOCAUSE_PROGRESS", "0")
os.environ.pop("EMOCAUSE_BACKEND", None)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("EMOCAUSE_CACHE", str(home / "cache.sqlite"))
    (home / "config.toml").write_text("")  # an empty config: EMOCAUSE_CONFIG must name a file
    monkeypatch.setenv("EMOCAUSE_CONFIG", str(home / "config.toml"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)


@pytest.fixture
def cli(capsys):
    """Run ``emocause ARGS...`` in-process through the real entry point; returns code/out/err."""
    from emocause.cli.app import main

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def _shared(path: Path) -> Path:
    """A ../shared data folder; missing is a skip locally but a failure under CI (CI=true)."""
    if not path.is_dir():
        message = f"{path} is not present (set EMOCAUSE_SHARED to the shared/ folder)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def paper_dir() -> Path:
    return _shared(PAPER)


@pytest.fixture
def perceval_dir() -> Path:
    return _shared(PERCEVAL)
