"""The layout shows the architecture: no import circles, small modules, and an architecture page that names only
modules that exist (and every room that does)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import promptstyles

PACKAGE = Path(promptstyles.__file__).parent
SOURCE = PACKAGE.parent
ARCHITECTURE = SOURCE.parent / "docs" / "architecture.md"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module ``name`` imports, wherever the import stands (in a function or under TYPE_CHECKING
    too): each is an edge a reader follows, and a lazy import only hides a circle."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in names:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    return circles


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_through_others():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert {"promptstyles.data.build.tokenize", "promptstyles.config"} <= set(graph)
    assert "promptstyles.data.build.parallel" in graph["promptstyles.data.build.tokenize"]
    assert _circles(graph) == []


def test_no_module_is_over_300_lines():
    lines = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in lines.items() if n > 300} == {}


def test_the_architecture_page_names_modules_that_exist_and_every_room():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`(src/promptstyles/[\w/]+(?:\.py|/))`", text))
    assert len(named) > 20
    missing = sorted(path for path in named if not (SOURCE.parent / path).exists())
    assert missing == []
    rooms = {f"src/promptstyles/{path.parent.relative_to(PACKAGE).as_posix()}/" for path in PACKAGE.rglob("__init__.py")
             if path.parent != PACKAGE and "__pycache__" not in path.parts}
    assert sorted(rooms - named) == []
    data_modules = {f"src/promptstyles/{path.relative_to(PACKAGE).as_posix()}"
                    for path in (PACKAGE / "data").rglob("*.py") if path.name != "__init__.py"}
    assert sorted(data_modules - named) == []
