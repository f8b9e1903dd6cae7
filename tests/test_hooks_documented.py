"""Every hook in ``hookspecs.py`` has a test and a documented, runnable example.

The convention, checked here:

- **Test.** A fixture distribution under ``tests/fixtures/sites/<site>/`` has a module with a ``@hookimpl``
  function named after the hook, and a test module loads that site with ``plugin_site("<site>")``, so the
  hook is exercised through a real entry point, as a third-party plugin would use it.
- **Docs.** ``docs/hooks.md`` has a section ``## <hook>`` with a plugin file (a ``python`` block whose first
  line is ``# file: NAME.py``) implementing the hook, and at least one other ``python`` block that uses it.
  Each example is run here: the files are written to a fresh folder and the other blocks run in it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pluggy
import pytest

from promptstyles import hookspecs

TESTS = Path(__file__).resolve().parent
SITES = TESTS / "fixtures" / "sites"
HOOKS_DOC = TESTS.parent / "docs" / "hooks.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_FILE = re.compile(r"# file: (\S+\.py)\n")


def hook_names() -> list[str]:
    """The hooks declared in ``hookspecs`` (functions carrying the project's hookspec marker)."""
    marker = f"{hookspecs.PROJECT}_spec"
    return sorted(name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, marker))


def implemented_hooks(path: Path) -> set[str]:
    """Names of the functions in ``path`` decorated with ``hookimpl`` (bare or called)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (getattr(target, "id", None) or getattr(target, "attr", None)) == "hookimpl":
                    found.add(node.name)
    return found


def hook_test_gaps(hooks: list[str]) -> list[str]:
    """One line per hook that no test exercises through a fixture plugin distribution."""
    sites: dict[str, set[str]] = {}
    for module in sorted(SITES.glob("*/*.py")):
        for hook in implemented_hooks(module):
            sites.setdefault(hook, set()).add(module.parent.name)
    loaded = {site for path in TESTS.glob("test_*.py")
              for site in re.findall(r"plugin_site\(\"(\w+)\"\)", path.read_text(encoding="utf-8"))}
    gaps = []
    for hook in hooks:
        implementing = sorted(sites.get(hook, ()))
        if not implementing:
            gaps.append(f"hook {hook!r} has no test: no fixture plugin under tests/fixtures/sites implements it")
        elif not set(implementing) & loaded:
            gaps.append(f"hook {hook!r} has no test: no test loads {', '.join(implementing)} with plugin_site(...)")
    return gaps


def doc_sections(text: str) -> dict[str, str]:
    """``## heading`` -> the text under it, up to the next ``## `` heading."""
    pieces = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {heading.strip().strip("`"): body for heading, body in zip(pieces[1::2], pieces[2::2], strict=True)}


def doc_gaps(hooks: list[str], text: str) -> list[str]:
    """One line per hook without a documented example (section, plugin file implementing it, usage)."""
    sections = doc_sections(text)
    gaps = []
    for hook in hooks:
        if hook not in sections:
            gaps.append(f"hook {hook!r} has no section '## {hook}' in docs/hooks.md")
            continue
        blocks = _BLOCK.findall(sections[hook])
        files = [block for block in blocks if _FILE.match(block)]
        if not any(re.search(rf"@hookimpl\s*\ndef {hook}\(", block) for block in files):
            gaps.append(f"hook {hook!r}: docs/hooks.md has no '# file:' example implementing it with @hookimpl")
        if len(files) == len(blocks):
            gaps.append(f"hook {hook!r}: docs/hooks.md has no example using the plugin")
    return gaps


def test_every_hook_has_a_test_and_a_documented_example():
    hooks = hook_names()
    assert hooks == ["register_styles", "register_tokenizers"]
    assert hook_test_gaps(hooks) + doc_gaps(hooks, HOOKS_DOC.read_text(encoding="utf-8")) == []


def test_a_new_hook_without_test_or_docs_is_reported(monkeypatch: pytest.MonkeyPatch):
    @pluggy.HookspecMarker(hookspecs.PROJECT)
    def register_metrics(register):
        """A hook added without a test or docs."""

    monkeypatch.setattr(hookspecs, "register_metrics", register_metrics, raising=False)
    hooks = hook_names()
    assert hooks == ["register_metrics", "register_styles", "register_tokenizers"]
    assert hook_test_gaps(hooks) == [
        "hook 'register_metrics' has no test: no fixture plugin under tests/fixtures/sites implements it"]
    assert doc_gaps(hooks, HOOKS_DOC.read_text(encoding="utf-8")) == [
        "hook 'register_metrics' has no section '## register_metrics' in docs/hooks.md"]


def test_a_section_without_a_runnable_plugin_is_reported():
    text = "## register_styles\n```python\nprint('no plugin here')\n```\n## register_tokenizers\n"
    assert doc_gaps(["register_styles", "register_tokenizers"], text) == [
        "hook 'register_styles': docs/hooks.md has no '# file:' example implementing it with @hookimpl",
        "hook 'register_tokenizers': docs/hooks.md has no '# file:' example implementing it with @hookimpl",
        "hook 'register_tokenizers': docs/hooks.md has no example using the plugin",
    ]


def test_a_fixture_plugin_no_test_loads_is_reported(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys.modules[__name__], "TESTS", TESTS / "fixtures")  # no test modules there
    assert hook_test_gaps(["register_styles"]) == [
        "hook 'register_styles' has no test: no test loads aliasclash, broken, conflict, good with "
        "plugin_site(...)"]


@pytest.mark.parametrize("hook", hook_names())
def test_documented_example_runs(hook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocks = _BLOCK.findall(doc_sections(HOOKS_DOC.read_text(encoding="utf-8"))[hook])
    monkeypatch.chdir(tmp_path)
    written = []
    for block in blocks:
        named = _FILE.match(block)
        if named:
            (tmp_path / named.group(1)).write_text(block, encoding="utf-8")
            written.append(Path(named.group(1)).stem)
    try:
        for block in blocks:
            if not _FILE.match(block):
                exec(compile(block, f"docs/hooks.md ({hook})", "exec"), {"__name__": f"docs_{hook}"})
    finally:
        for module in written:
            sys.modules.pop(module, None)
