"""The layering of AGENTS.md, checked on the source: no import loop between features (or between any two
modules), and no feature reaching into another feature's routes, pages or tasks."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "training_data_studio"
ROOT = "training_data_studio"
# The entry-point layer may import anything; nothing may import it.
ENTRY_POINTS = frozenset({"app", "cli", "jobs", "local_generation", "bench", "testing", "__main__"})
# Layers below the features: they import nothing above them.
FOUNDATION = frozenset({"core", "models"})
# Modules of a feature that only the entry points may import.
PRIVATE_ROLES = frozenset({"api", "pages", "tasks"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module this one imports at run time, absolute, function-level imports included (a loop hidden in
    a function is still a loop); imports only for the type checker are left out."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith(ROOT))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith(ROOT):
                yield target
                # `from .pkg import mod` imports the module pkg.mod when there is one.
                for alias in node.names:
                    yield f"{target}.{alias.name}"
        stack.extend(ast.iter_child_nodes(node))


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set(_imports(tree, name, path.name == "__init__.py"))
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = _top(module)
        for target in targets:
            if _top(target) != source and _top(target) and source:
                edges.setdefault(source, set()).add(_top(target))
    return edges


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return _graph()


def test_the_source_is_found(graph: dict[str, set[str]]) -> None:
    assert f"{ROOT}.conversations.store" in graph
    assert graph[f"{ROOT}.generation.flows"], "the import scan finds the runner's imports"


def test_no_loop_between_features(graph: dict[str, set[str]]) -> None:
    assert _cycles(_package_edges(graph)) == []


def test_no_loop_between_modules(graph: dict[str, set[str]]) -> None:
    # A package's __init__ importing its own modules is not a loop of the code that uses them.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    assert _cycles(edges) == []


def test_foundation_imports_nothing_above_it(graph: dict[str, set[str]]) -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _top(module) in FOUNDATION
        for target in targets
        if _top(target) not in FOUNDATION
    )
    assert wrong == []


def test_nothing_imports_the_entry_points(graph: dict[str, set[str]]) -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _top(module) not in ENTRY_POINTS
        for target in targets
        if _top(target) in ENTRY_POINTS
    )
    assert wrong == []


def test_no_feature_imports_another_features_routes_pages_or_tasks(graph: dict[str, set[str]]) -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _top(module) not in ENTRY_POINTS
        for target in targets
        if _top(target) != _top(module) and target.rsplit(".", 1)[-1] in PRIVATE_ROLES
    )
    assert wrong == []


def test_the_checks_find_a_planted_loop() -> None:
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]]
