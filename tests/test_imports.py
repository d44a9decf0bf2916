"""Data flows one way (STYLE.md §1): the package's modules import each other without a cycle.

Every ``import`` and ``from … import`` of a package module counts, at module level and
inside functions alike: a deferred import hides a cycle from Python, not from the design.
"""
import ast
from pathlib import Path

import pytest

import symbackprop

PACKAGE = "symbackprop"
ROOT = Path(symbackprop.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, modules: set, is_package: bool = False) -> set:
    """The package modules that ``source`` (the text of ``module``) imports, anywhere in it."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:        # ``from . import _names`` imports the module _names
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != module}


def import_graph() -> dict:
    """module → the package modules it imports."""
    paths = {_module_name(p): p for p in ROOT.rglob("*.py")}
    return {name: imports_of(path.read_text(encoding="utf-8"), name, set(paths), path.name == "__init__.py")
            for name, path in paths.items()}


def tangles(graph: dict) -> list:
    """The groups of modules that import each other, directly or not (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def cycles(graph: dict) -> list:
    """One cycle [m1, m2, …, m1] through each group of ``tangles``."""
    return [_path_within(graph, group) for group in tangles(graph)]


def _path_within(graph: dict, group: set) -> list:
    """A cycle that stays inside ``group``: breadth-first from its first module back to itself."""
    start = min(group)
    came_from, frontier = {}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{sorted(group)} is not strongly connected")


def test_the_walker_sees_every_kind_of_import():
    source = (
        "import numpy\nfrom . import _names as names\nfrom ._grammar import parse_expression\n"
        "import symbackprop._files\nfrom symbackprop import _losses\nfrom symbackprop import network\n"
        "def f():\n    from ._render import render_text\n    return render_text\n"
        "class C:\n    def m(self):\n        import symbackprop._spec as spec\n")
    modules = {f"{PACKAGE}.{m}" for m in ("_names", "_grammar", "_files", "_losses", "_render", "_spec", "_x")}
    modules.add(PACKAGE)
    got = imports_of(source, f"{PACKAGE}._x", modules)
    assert got == {f"{PACKAGE}.{m}" for m in ("_names", "_grammar", "_files", "_losses", "_render", "_spec")} | {
        PACKAGE}


def test_cycles_are_found_and_printed_as_paths():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert sorted(cycles(graph)) == [["a", "b", "c", "a"], ["e", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_covers_the_package():
    graph = import_graph()
    assert f"{PACKAGE}.cli" in graph and f"{PACKAGE}._errors" in graph
    assert f"{PACKAGE}._errors" in graph[f"{PACKAGE}._network"]


def test_no_import_cycles():
    graph = import_graph()
    found = tangles(graph)
    assert not found, "import cycles:\n" + "\n".join(
        f"  {' -> '.join(_path_within(graph, group))}   (all of {', '.join(sorted(group))})" for group in found)


def test_no_module_is_over_300_lines():
    """The ceiling of the design (issue 12): a module that grows past it is split by its jobs."""
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in ROOT.glob("*.py")}
    assert sizes and {name: n for name, n in sizes.items() if n > 300} == {}
