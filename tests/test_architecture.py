"""The import rule of docs/architecture.md: floor < emotions < sources < backends < annotate < evaluate
< report < cli.  A module may import its own stage and the stages below it, never above; imports at
module level form no cycle.  Every import counts, including those inside functions (a lazy import is
still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "emocause"
STAGES = ("floor", "emotions", "sources", "backends", "annotate", "evaluate", "report", "cli")
#: Heavy optional libraries: never imported at module level by anything a core command loads.
HEAVY = ("torch", "transformers", "sentence_transformers", "matplotlib", "ray")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> str:
    """The stage a module belongs to: its folder under emocause/, else the shared floor."""
    parts = module.split(".")
    if module == "emocause.__main__":
        return "cli"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else "floor"


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported emocause module, line, at module level?) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from emocause.annotate import frames` imports the module emocause.annotate.frames
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        for name in names:
            if name == "emocause" or name.startswith("emocause."):
                found.append((name, node.lineno, id(node) in top))
            elif name.split(".")[0] in HEAVY and id(node) in top:
                found.append((name, node.lineno, True))
    return found


def test_no_module_imports_a_later_stage():
    known = modules()
    upward = []
    for module, path in known.items():
        if module == "emocause":
            continue  # the public API names everything lazily, by string
        for target, line, _ in imports(path, known):
            if not target.startswith("emocause"):
                continue
            if STAGES.index(stage(target)) > STAGES.index(stage(module)):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({stage(module)}) imports {target} "
                              f"({stage(target)})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_module_level_imports_form_no_cycle():
    known = modules()
    graph = {m: sorted({t for t, _, top in imports(p, known) if top and t in known and t != m})
             for m, p in known.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_heavy_libraries_are_imported_inside_functions_only():
    known = modules()
    eager = [f"{p.relative_to(ROOT)}:{line} imports {t}" for m, p in known.items()
             for t, line, top in imports(p, known) if top and t.split(".")[0] in HEAVY]
    assert not eager, "\n".join(eager)


def test_the_rule_catches_an_upward_import(tmp_path):
    """The checker itself: a floor module importing the CLI is reported."""
    bad = tmp_path / "emocause" / "files.py"
    bad.parent.mkdir()
    bad.write_text("def f():\n    from emocause.cli.app import main\n")
    found = imports(bad, {"emocause.cli.app": bad})
    assert found == [("emocause.cli.app", 2, False)]
    assert STAGES.index(stage("emocause.cli.app")) > STAGES.index(stage("emocause.files"))
    assert stage("emocause.annotate") == "annotate" and stage("emocause.config") == "floor"
