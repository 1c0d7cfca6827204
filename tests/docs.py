"""The ``python`` blocks of docs/python-api.md, for the tests that run one section's examples."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import ROOT

DOC = ROOT / "docs" / "python-api.md"
#: A fenced ``python`` block starting at the beginning of a line.
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def section_blocks(heading: str) -> list[str]:
    """The ``python`` blocks of the section whose ``## `` heading starts with ``heading``."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}"):]
    end = section.find("\n## ", 1)
    return BLOCK.findall(section if end < 0 else section[:end])


def run_blocks(blocks: list[str], namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``blocks`` in order in one namespace (one session), as a reader would."""
    namespace = {} if namespace is None else namespace
    for block in blocks:
        exec(compile(block, "docs/python-api.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace
