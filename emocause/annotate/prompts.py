"""Prompt templates: plain-text files with a small header, rendered in one pass.

A template file (``emocause/annotate/templates/NAME.txt``, shipped inside the wheel) looks like::

    # task: label            label | span | yesno
    # labels: basic          a label set from emocause.emotions.taxonomy.LABEL_SETS
    # max_tokens: 8          how many tokens an answer needs
    # description: ...
    ---
    You are a {platform} user ... {text} ... {emotions} ...

Variables: ``{platform}`` (GitHub, Stack Overflow, JIRA, a mailing list),
``{item}`` / ``{item_title}`` (comment, post, issue comment, message),
``{text}`` (the utterance), ``{emotion}`` (for cause prompts) and
``{emotions}`` (the label list).  Rendering substitutes each variable once, so a
comment that contains ``{emotion}`` is never re-expanded.

A user's own template (``--prompt path/to/file.txt``) may omit the header: the
task is then ``span`` if it mentions ``{emotion}`` and ``label`` otherwise, with
the ``all-levels`` label list.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from emocause.errors import UsageError
from emocause.emotions.taxonomy import LABEL_SETS

#: Platform key -> (display name, item noun).
PLATFORMS: dict[str, tuple[str, str]] = {
    "github": ("GitHub", "comment"),
    "stackoverflow": ("Stack Overflow", "post"),
    "jira": ("JIRA", "issue comment"),
    "mail": ("mailing list", "message"),
}
TASKS = ("label", "span", "yesno")
_VAR = re.compile(r"\{(platform|item_title|item|text|emotions|emotion)\}")


@dataclass(frozen=True)
class Template:
    """A parsed prompt template."""

    name: str
    body: str
    task: str = "label"
    labels: tuple[str, ...] = ()
    label_set: str = ""
    max_tokens: int = 8
    description: str = ""
    source: str = ""
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def sha256(self) -> str:
        """Hash of the whole template file text: recorded in manifests."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    def render(self, text: str, platform: str = "github", emotion: str | None = None) -> str:
        """The prompt for one utterance (single pass: values are never re-expanded)."""
        display, item = platform_names(platform)
        values = {
            "platform": display,
            "item": item,
            "item_title": item[:1].upper() + item[1:],
            "text": text,
            "emotion": emotion or "",
            "emotions": ", ".join(self.labels),
        }
        return _VAR.sub(lambda m: values[m.group(1)], self.body)

    def preview(self, platform: str = "github", emotion: str | None = None) -> str:
        """The prompt as a model receives it, with ``{text}`` (and ``{emotion}``) left as placeholders."""
        return self.render("{text}", platform, emotion or ("{emotion}" if self.task == "span" else None))


def platform_names(platform: str) -> tuple[str, str]:
    """(display name, item noun) for a platform key; unknown keys are used verbatim."""
    key = platform.lower().replace(" ", "").replace("-", "").replace("_", "")
    if key in PLATFORMS:
        return PLATFORMS[key]
    if key in ("so", "stack", "stackexchange"):
        return PLATFORMS["stackoverflow"]
    if key in ("mailinglist", "mbox", "email", "pipermail", "hyperkitty"):
        return PLATFORMS["mail"]
    return platform, "comment"


def _prompt_dir() -> Path:
    """The bundled templates, ``emocause/annotate/templates/`` (a package data folder)."""
    return Path(str(resources.files("emocause.annotate") / "templates"))


def list_templates() -> list[Template]:
    """Every bundled template, sorted by name."""
    return [parse(p.read_text(encoding="utf-8"), p.stem) for p in sorted(_prompt_dir().glob("*.txt"))]


def parse(source: str, name: str) -> Template:
    """Parse a template file's text (header optional)."""
    meta: dict[str, str] = {}
    body = source
    lines = source.splitlines()
    if "---" in (ln.strip() for ln in lines):
        cut = [ln.strip() for ln in lines].index("---")
        head = lines[:cut]
        if all(not ln.strip() or ln.lstrip().startswith("#") for ln in head):
            for ln in head:
                m = re.match(r"\s*#\s*([A-Za-z_]+)\s*:\s*(.*)$", ln)
                if m:
                    meta[m.group(1).lower()] = m.group(2).strip()
            body = "\n".join(lines[cut + 1:]).strip("\n") + "\n"
    task = meta.get("task") or ("span" if "{emotion}" in body else "label")
    if task not in TASKS:
        raise UsageError(f"prompt {name}: unknown task {task!r}; use one of {', '.join(TASKS)}")
    label_set = meta.get("labels", "" if task == "span" else "all-levels")
    labels: tuple[str, ...] = ()
    if label_set:
        if label_set in LABEL_SETS:
            labels = LABEL_SETS[label_set]
        else:
            labels = tuple(x.strip() for x in label_set.split(",") if x.strip())
    if task == "span" and "{text}" not in body:
        raise UsageError(f"prompt {name}: a template must contain {{text}}")
    if "{text}" not in body:
        raise UsageError(f"prompt {name}: a template must contain {{text}}")
    try:
        max_tokens = int(meta.get("max_tokens", 96 if task == "span" else 8))
    except ValueError:
        raise UsageError(f"prompt {name}: max_tokens must be an integer") from None
    return Template(name=name, body=body, task=task, labels=labels, label_set=label_set,
                    max_tokens=max_tokens, description=meta.get("description", ""),
                    source=source, meta=meta)


def load(name_or_path: str) -> Template:
    """A bundled template by name, or a user's template file by path."""
    path = Path(name_or_path)
    if path.suffix == ".txt" or path.exists() or "/" in name_or_path:
        if not path.is_file():
            raise UsageError(f"prompt file not found: {name_or_path}")
        return parse(path.read_text(encoding="utf-8"), path.stem)
    candidate = _prompt_dir() / f"{name_or_path}.txt"
    if not candidate.is_file():
        names = ", ".join(t.name for t in list_templates())
        raise UsageError(f"unknown prompt {name_or_path!r}; bundled prompts: {names} (or pass a file path)")
    return parse(candidate.read_text(encoding="utf-8"), name_or_path)
