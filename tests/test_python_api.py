"""The public API: every name in ``emocause.__all__`` resolves lazily, and every python block of
docs/python-api.md runs (against a real local OpenAI-compatible server, offline backends otherwise)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import textwrap

import pytest

import emocause
from tests.conftest import ROOT
from tests.fakes.openai import FakeOpenAI, utterance

DOC = ROOT / "docs" / "python-api.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_every_public_name_resolves_from_its_module():
    missing = []
    for name in emocause.__all__:
        module = emocause._API.get(name)
        if module and importlib.util.find_spec(module) is None:
            missing.append(f"{name} ({module})")
            continue
        value = getattr(emocause, name)
        assert value is not None and name in dir(emocause)
        if module:
            assert value is getattr(sys.modules[module], name)
    # Written on other branches (evaluate, report, sources helpers); strict once they are merged.
    allowed = {"score_emotions", "score_causes", "build_report", "scrape_github", "scrape_mbox",
               "scrape_pipermail", "scrape_hyperkitty"}
    unexpected = [m for m in missing if m.split()[0] not in allowed]
    assert not unexpected, f"public names without a module: {unexpected}"
    if missing:
        pytest.skip(f"not on this branch yet: {', '.join(missing)}")


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'clasify'"):
        emocause.clasify  # noqa: B018


def respond(prompt: str, body: dict) -> str:
    """A label for label prompts, the first clause for span prompts (what a small model does)."""
    text = utterance(prompt)
    if '"""' not in prompt:
        return "Frustration"
    if "span" in prompt.lower() or "causes the emotion" in prompt:
        return '"' + re.split(r"[.!?,]", text)[0] + '"'
    lowered = text.lower()
    return next((label for word, label in (("broken", "Annoyance"), ("red", "Annoyance"), ("thank", "Joy"),
                                           ("love", "Love"), ("great", "Joy")) if word in lowered), "Neutral")


def test_the_python_api_doc_runs(tmp_path, monkeypatch):
    blocks = [(DOC.read_text()[:m.start()].count("\n") + 2, textwrap.dedent(m.group(1)))
              for m in _BLOCK.finditer(DOC.read_text())]
    assert len(blocks) >= 8
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs"}
    with FakeOpenAI(respond) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        for line, code in blocks:
            exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # noqa: S102 - our own documentation
        assert server.count > 0
    assert (tmp_path / "labeled.parquet").is_file() and os.path.isfile("labeled.parquet.manifest.json")
