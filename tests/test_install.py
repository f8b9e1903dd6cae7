"""The project and the example plugin installed as a user installs them, used through the installed command.

A fresh virtual environment (with the system site-packages, so torch and the other dependencies come from
this machine and nothing is downloaded) gets ``pip install --no-deps --no-build-isolation --no-index`` of a
copy of the project and of ``examples/promptstyles-example-plugin``. A YAML config then selects the plugin's
style by name alone, found through its entry point, and ``<venv>/bin/promptstyles`` renders and batches.
Skip it locally with ``-m "not install"``; CI runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "promptstyles-example-plugin"
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", ".pytest_cache")
RECORDS = [
    {"instruction": "Name a primary colour.", "input": "", "output": "Red."},
    {"instruction": "Add the numbers.", "input": "1 2", "output": "3"},
    {"instruction": "Say hi.", "input": "", "output": "Hi!"},
    {"instruction": "Spell cat.", "input": "", "output": "C-A-T"},
]
CONFIG = """\
style: example-yaml
data: {path: data.json, cache: false, split: {train: 0.5, test: 0.25}}
tokenizer: {name: gpt2, special_tokens: extend}
collate: {mask: assistant}
loader: {batch_size: 2, shuffle: false}
"""


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
    shutil.copytree(ROOT / "src", destination / "src", ignore=COPY_IGNORE)
    return destination


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with promptstyles and promptstyles-example installed (not editable)."""
    work = tmp_path_factory.mktemp("install")
    venv = work / "venv"
    # --without-pip: the venv runs the system's pip (a site-packages module), which installs into the venv;
    # ensurepip would also put an old setuptools in front of the system's build backend.
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], work)
    project = copy_sources(work / "promptstyles")
    plugin = shutil.copytree(EXAMPLE, work / "promptstyles-example-plugin", ignore=COPY_IGNORE)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
           "--no-index", "--disable-pip-version-check"]
    run([*pip, str(project)], work)
    run([*pip, str(plugin)], work)
    (work / "data.json").write_text(json.dumps(RECORDS), encoding="utf-8")
    (work / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return venv


def test_the_venv_imports_its_own_installed_copies(venv: Path):
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    script = ("import importlib.metadata as m, promptstyles, promptstyles_example; "
              "print(promptstyles.__file__); print(promptstyles_example.__file__); "
              "print([(e.name, e.value) for e in m.distribution('promptstyles-example').entry_points])")
    lines = run([str(venv / "bin" / "python"), "-c", script], venv.parent).splitlines()
    assert lines == [str(site / "promptstyles" / "__init__.py"), str(site / "promptstyles_example" / "__init__.py"),
                     "[('example', 'promptstyles_example')]"]
    assert (site / "promptstyles_example" / "example-yaml.yaml").is_file()  # the package data was installed


def test_list_names_the_plugin_and_its_distribution(venv: Path):
    lines = run([str(venv / "bin" / "promptstyles"), "list"], venv.parent).splitlines()
    ours = [" ".join(line.split()) for line in lines if line.startswith("example-")]
    assert ours == [
        "example-chat - example (promptstyles-example 0.1.0) "
        "Example chat format: <|user|> ... <|end|> <|assistant|> ... <|end|>",
        "example-yaml - example (promptstyles-example 0.1.0) "
        "Example declarative format: <|human|> ... <|eot|> <|bot|> ... <|eot|>",
    ]


def test_batch_builds_the_plugin_styles_batch_selected_by_name(venv: Path):
    output = run([str(venv / "bin" / "promptstyles"), "batch", "config.yaml", "--color", "never"], venv.parent)
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


def test_render_uses_the_plugin_styles_by_name(venv: Path):
    promptstyles = str(venv / "bin" / "promptstyles")
    rendered = run([promptstyles, "render", "example-chat", "--data", "data.json", "--index", "1"], venv.parent)
    assert rendered == "<|user|>Add the numbers.\n1 2<|end|>\n<|assistant|>3<|end|>\n"
    prompt = run([promptstyles, "render", "example-yaml", "--json", json.dumps(RECORDS[0]), "--generation",
                  "--option", "system=null"], venv.parent)
    assert prompt == "<|human|>Name a primary colour.<|eot|><|bot|>"
