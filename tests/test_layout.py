"""The package layout's rules: no import cycle inside either package, imports flow one way, the README's API exists.

Every ``import`` counts, at module level or inside a function: a lazy import that closes a cycle still ties
two modules together. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("classit_data", "classit_train")


def _module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the two packages it imports."""
    files = _module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(name, node, path.name == "__init__.py")
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in files else source for a in node.names]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("layer, may_not_import", [
    ("classit_data.core", ("classit_data.switchboard", "classit_data.wiki", "classit_data.generate",
                           "classit_data.validate", "classit_data.dataset", "classit_data.publish",
                           "classit_data.cli", "classit_data.demo", "classit_train")),
    ("classit_data", ("classit_train",)),
    ("classit_data.switchboard", ("classit_data.cli", "classit_data.demo")),
    ("classit_data.wiki", ("classit_data.cli", "classit_data.demo")),
    ("classit_data.generate", ("classit_data.cli", "classit_data.demo")),
    ("classit_data.validate", ("classit_data.cli", "classit_data.demo", "classit_data.dataset")),
    ("classit_data.dataset", ("classit_data.cli", "classit_data.demo", "classit_data.publish")),
    ("classit_data.publish", ("classit_data.cli", "classit_data.demo")),
    ("classit_train", ("classit_train.cli",)),
])
def test_imports_flow_one_way(layer, may_not_import):
    """core <- stages <- cli: a lower layer never imports a higher one."""
    def inside(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    wrong = sorted(f"{m} imports {t}" for m, targets in import_graph().items() if inside(m, layer)
                   and m not in (f"{layer}.cli", f"{layer}.__main__") for t in targets if any(inside(t, f) for f in may_not_import))
    assert not wrong, "\n".join(wrong)


def test_the_python_api_named_in_the_readme_imports():
    """Every ``from classit_... import ...`` line of the README's examples names something that exists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^\s*from (classit_(?:data|train)[\w.]*) import ([\w, ]+)$", readme, flags=re.M)
    assert len(lines) >= 6
    for module, names in lines:
        imported = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(imported, name), f"README: {module} has no {name}"
