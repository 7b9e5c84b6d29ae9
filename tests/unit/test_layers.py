"""The layers import in one direction: no module of ``site_hooks`` or ``gradclip`` imports,
directly or through others, a module that imports it back, and the package never imports the
build tooling.

Read from the source (every ``import`` statement, including those inside functions), so a
cycle hidden in a function body, which Python tolerates until the day the order changes, is
caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]   # the repository


def import_graph(package: str) -> dict[str, set[str]]:
    """``module -> modules of the same package it imports`` (dotted names)."""
    modules = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from pkg import mod" imports pkg.mod (and runs pkg/__init__, which is not
                # a dependency on the importer's side); "from pkg import name" imports pkg
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in subs if t in modules] or [node.module]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once, from its first module)."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_cycle_finder_finds_a_cycle_and_accepts_a_chain():
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize("package", ["site_hooks", "gradclip"])
def test_no_import_cycles(package):
    assert cycles(import_graph(package)) == []


def test_the_package_does_not_import_the_build_tooling():
    for path in (ROOT / "gradclip").rglob("*.py"):
        text = path.read_text()
        assert "import site_hooks" not in text and "from site_hooks" not in text, path
