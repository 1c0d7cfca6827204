"""The public API: every name in ``emocause.__all__`` resolves lazily, and every python block of
docs/python-api.md runs (against a real local OpenAI-compatible server, offline backends otherwise)."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap

import pytest

import emocause
from tests.conftest import ROOT
from tests.fakes.openai import FakeOpenAI, utterance

from tests.docs import BLOCK as _BLOCK, DOC


def test_every_public_name_resolves_from_its_module():
    for name in emocause.__all__:
        module = emocause._API.get(name)
        assert module is None or importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        value = getattr(emocause, name)
        assert value is not None and name in dir(emocause)
        if module:
            assert value is getattr(sys.modules[module], name)


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


def sections(text: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """(heading, [(line, code), ...]) for each `## ` section and the part before the first one."""
    starts = [0] + [m.start() + 1 for m in re.finditer(r"\n## ", text)]
    found = []
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        part = text[begin:end]
        blocks = [(text[:begin + m.start()].count("\n") + 2, textwrap.dedent(m.group(1)))
                  for m in _BLOCK.finditer(part)]
        found.append((part.splitlines()[0], blocks))
    return found


def test_the_python_api_doc_runs(tmp_path, monkeypatch):
    found = sections(DOC.read_text())
    assert sum(len(blocks) for _, blocks in found) >= 8
    with FakeOpenAI(respond) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        for n, (heading, blocks) in enumerate(found):
            if not blocks:
                continue
            folder = tmp_path / f"section{n}"
            folder.mkdir()
            if any("data/" in code for _, code in blocks):
                (folder / "data").symlink_to(ROOT / "data")
            monkeypatch.chdir(folder)
            namespace: dict = {"__name__": "docs"}  # a fresh session per section
            for line, code in blocks:
                exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # noqa: S102 - our own documentation
        assert server.count > 0
    written = tmp_path / "section2"  # "classify and extract_causes" wrote its table only when given out=
    assert (written / "labeled.parquet").is_file() and (written / "labeled.parquet.manifest.json").is_file()
