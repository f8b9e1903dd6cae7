"""``docs/writing-plugins.md`` shows the example plugin as it is: each file block is the file, the layout is the
folder's. (Its console examples are run against the installed plugin in ``test_install.py``.)"""

from __future__ import annotations

from doc_blocks import EXAMPLE, blocks, console_examples

SHOWN = {"pyproject.toml", "README.md", "promptstyles_example/__init__.py", "promptstyles_example/chat.py",
         "promptstyles_example/example-yaml.yaml", "config.yaml", "data.json", "tests/test_example_conformance.py",
         "tests/test_example_styles.py"}
SKIPPED_PARTS = {"__pycache__", "build", "dist"}


def example_files() -> set[str]:
    """The example's files, without what building, installing and testing leave behind."""
    return {path.relative_to(EXAMPLE).as_posix() for path in EXAMPLE.rglob("*")
            if path.is_file() and not any(part in SKIPPED_PARTS or part.startswith(".") or part.endswith(".egg-info")
                                          for part in path.relative_to(EXAMPLE).parts)}


def layout(text: str) -> set[str]:
    """The file paths of an indented tree (four spaces a level, folders end in '/'), below its root line."""
    folders: list[str] = []
    files = set()
    for line in text.splitlines()[1:]:
        depth = (len(line) - len(line.lstrip(" "))) // 4 - 1
        name = line.strip()
        folders[depth:] = []
        if name.endswith("/"):
            folders.append(name)
        else:
            files.add("".join(folders) + name)
    return files


def test_every_file_block_is_the_example_plugins_file_word_for_word():
    shown = {block.title: block.text for block in blocks() if block.title}
    assert set(shown) == SHOWN
    for title, text in shown.items():
        assert text == (EXAMPLE / title).read_text(encoding="utf-8"), f"the doc shows another {title}"


def test_the_layout_lists_exactly_the_example_plugins_files():
    (tree,) = [block.text for block in blocks() if block.language == "text"]
    assert tree.splitlines()[0] == "promptstyles-example-plugin/"
    assert layout(tree) == example_files()


def test_every_other_block_is_commands_or_console_output():
    assert sorted({block.language for block in blocks() if not block.title}) == ["bash", "console", "text"]
    assert [command for command, _ in console_examples()] == [
        "promptstyles render example-chat --data data.json --index 1", "promptstyles batch config.yaml"]


def test_the_example_plugin_builds_without_a_warning(tmp_path):
    """A plugin author copies this folder: its build must not warn (a deprecated license table, a missing
    README), so a wheel is built from a copy with setuptools' own backend, as pip and ``python -m build`` do."""
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "plugin"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"))
    script = "import setuptools.build_meta as b, sys; print(b.build_wheel(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-W", "default", "-c", script, str(tmp_path / "dist")], cwd=folder,
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "promptstyles_example-0.1.0-py3-none-any.whl"
    output = done.stdout + done.stderr
    assert [line for line in output.splitlines() if "Warning" in line or "deprecat" in line.lower()] == []
