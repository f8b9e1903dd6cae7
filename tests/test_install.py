"""The project and the example plugin installed as a user installs them, used through the installed command.

A fresh virtual environment (that sees the site-packages of the Python running the tests, so torch and the
other dependencies come from there and nothing is downloaded) gets ``pip install --no-deps --no-build-isolation
--no-index`` of a copy of the project and of ``examples/promptstyles-example-plugin``. The plugin's
``config.yaml`` selects its style by name alone, found through the entry point, and ``<venv>/bin/promptstyles``
renders and batches; the console examples of ``docs/writing-plugins.md`` are run the same way. Skip it locally
with ``-m "not install"``; CI runs it, from the venv it creates.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from doc_blocks import console_examples

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "promptstyles-example-plugin"
_CACHES = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")


def copy_ignore(root: Path):
    """What a source distribution leaves out: caches anywhere, and build output at the top of ``root`` only
    (``promptstyles/data/build/`` inside the package is code, not build output)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        ignored = set(_CACHES(folder, names))
        return ignored | ({"build", "dist"} & set(names) if Path(folder) == root else set())

    return ignore


def run(command: list[str], cwd: Path) -> str:
    """Run ``command`` as a user's shell would: without this checkout's source folders on PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout


def copy_sources(destination: Path) -> Path:
    """What a source distribution of the project holds, copied so that building writes nothing into the checkout."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "src", destination / "src", ignore=copy_ignore(ROOT / "src"))
    return destination


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example plugin's folder, installed (not editable) with promptstyles into ``../venv``."""
    work = tmp_path_factory.mktemp("install")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    see_these_site_packages(venv)
    project = copy_sources(work / "promptstyles")
    plugin = shutil.copytree(EXAMPLE, work / "promptstyles-example-plugin", ignore=copy_ignore(EXAMPLE))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
           "--no-index", "--disable-pip-version-check"]
    run([*pip, str(project)], work)
    run([*pip, str(plugin)], work)
    return plugin


def see_these_site_packages(venv: Path) -> Path:
    """Let ``venv`` import what this interpreter has installed (torch, pip, setuptools, ...), after its own.

    A ``.pth`` file lists the site-packages folders of the interpreter running the tests, whether that is a venv,
    a conda env or the system's Python (``venv --system-site-packages`` would reach the base interpreter's
    instead of a venv's). The folders are plain path entries: their own ``.pth`` files, such as the editable
    installs of this checkout, are not run, so the venv's own installed copies are the ones imported.
    """
    folders = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    target = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    pth = target / "outer-site-packages.pth"
    pth.write_text("".join(f"{folder}\n" for folder in dict.fromkeys(folders) if Path(folder).is_dir()),
                   encoding="utf-8")
    return pth


def installed(plugin: Path, command: str) -> list[str]:
    """``command`` with its program taken from the venv's ``bin``, as an activated venv would find it."""
    program, *arguments = shlex.split(command)
    return [str(plugin.parent / "venv" / "bin" / program), *arguments]


def test_the_venv_imports_its_own_installed_copies(plugin: Path):
    venv = plugin.parent / "venv"
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    script = ("import importlib.metadata as m, promptstyles, promptstyles_example; "
              "print(promptstyles.__file__); print(promptstyles_example.__file__); "
              "print([(e.group, e.name, e.value) for e in m.distribution('promptstyles-example').entry_points])")
    lines = run(installed(plugin, f"python -c {shlex.quote(script)}"), plugin.parent).splitlines()
    assert lines == [str(site / "promptstyles" / "__init__.py"), str(site / "promptstyles_example" / "__init__.py"),
                     "[('promptstyles', 'example', 'promptstyles_example')]"]
    assert (site / "promptstyles_example" / "example-yaml.yaml").is_file()  # the package data was installed


def test_list_names_the_plugin_and_its_distribution(plugin: Path):
    lines = run(installed(plugin, "promptstyles list"), plugin).splitlines()
    ours = [" ".join(line.split()) for line in lines if line.startswith("example-")]
    assert ours == [
        "example-chat - example (promptstyles-example 0.1.0) "
        "Example chat format: <|user|> ... <|end|> <|assistant|> ... <|end|>",
        "example-yaml - example (promptstyles-example 0.1.0) "
        "Example declarative format: <|human|> ... <|eot|> <|bot|> ... <|eot|>",
    ]


def test_batch_builds_the_plugin_styles_batch_selected_by_name(plugin: Path):
    output = run(installed(plugin, "promptstyles batch config.yaml --color never"), plugin)
    assert output.splitlines() == [
        "train batch 0: inputs (2, 18), style 'example-yaml', mask 'assistant'",
        "legend: [[masked]] trained",
        "",
        "--- row 0 (record 0): 17 tokens, 4 trained targets, 1 padding",
        "[[<|sys|>You answer briefly.<|eot|><|human|>Name a primary colour.<|eot|><|bot|>]]Red.<|eot|><|endoftext|>",
        "",
        "--- row 1 (record 1): 18 tokens, 3 trained targets, 0 padding",
        "[[<|sys|>You answer briefly.<|eot|><|human|>Add the numbers.",
        "1 2<|eot|><|bot|>]]3<|eot|><|endoftext|>",
    ]


def test_render_uses_the_plugin_styles_by_name(plugin: Path):
    rendered = run(installed(plugin, "promptstyles render example-chat --data data.json --index 1"), plugin)
    assert rendered == "<|user|>Add the numbers.\n1 2<|end|>\n<|assistant|>3<|end|>\n"
    prompt = run(installed(plugin, "promptstyles render example-yaml --data data.json --generation "
                                   "--option system=null"), plugin)
    assert prompt == "<|human|>Name a primary colour.<|eot|><|bot|>"


@pytest.mark.parametrize(("command", "output"), console_examples(), ids=[c for c, _ in console_examples()])
def test_the_docs_console_examples_print_what_the_installed_command_prints(plugin: Path, command: str, output: str):
    assert run(installed(plugin, command), plugin).removesuffix("\n") == output


def test_the_plugins_own_tests_pass_against_the_installed_packages(plugin: Path):
    summary = run(installed(plugin, "python -m pytest -q -p no:cacheprovider"), plugin).splitlines()[-1]
    assert re.fullmatch(r"7 passed in [0-9.]+s", summary), summary
