"""The package keeps the shape DESIGN.md section 2 gives it (checked by reading the source, not importing it)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "vidkit"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the vidkit modules it imports (anywhere in it, function bodies included)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith("vidkit"):
                    found.add(target)
        graph[name] = found
    return graph


def test_no_import_cycles():
    graph, cycles = _imports(), []

    def visit(node, path, on_path, done):
        on_path.add(node)
        for nxt in sorted(graph[node]):
            if nxt in on_path:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt], on_path, done)
        on_path.discard(node)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], set(), done)
    # A package's __init__ importing its own submodules is a face, not a cycle.
    real = [c for c in cycles if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(c, c[1:]))]
    assert not real, real[:3]


def test_the_engine_knows_no_method_and_io_no_torch():
    graph = _imports()
    for name, targets in graph.items():
        if name.startswith("vidkit.engine"):
            assert not any(t.startswith("vidkit.methods") for t in targets), (name, targets)
    for path in (PACKAGE / "io").rglob("*.py"):  # file formats: readable without torch
        assert "torch" not in {n.split(".")[0] for n in _top_level_imports(path)}, path


def test_registries_are_torch_free():
    for module in (
        "vidkit/methods/__init__.py",
        "vidkit/methods/options.py",
        "vidkit/models/__init__.py",
        "vidkit/checkpoint/recipe.py",
        "vidkit/errors.py",
    ):
        assert "torch" not in {n.split(".")[0] for n in _top_level_imports(REPO / module)}, module


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_method_name_is_branched_on_outside_methods():
    """A method is one module plus one registry line: nothing else compares against its name."""
    from vidkit.methods import method_names

    names = set(method_names())
    for path in PACKAGE.rglob("*.py"):
        if "methods" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                assert not names & set(constants), f"{path}:{node.lineno} compares with a method name"
