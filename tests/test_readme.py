"""The README read whole and run as written: no paragraph starts mid-sentence, and each command is run.

The commands run in a folder beside a link named ``shared`` to the shared folder, so ``../shared`` in them
means what it means beside a checkout; ``config.yaml`` and ``my-format.yaml`` are the README's own blocks.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from shared_paths import DATASET, SHARED, require

from promptstyles import get_style, load_records
from promptstyles.experiments import default_experiment_path, sample_data_path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_MID_SENTENCE = re.compile(r"[a-z\s(),;:.]")
"""How a paragraph that continues a sentence starts: lowercase, a space, a bracket or punctuation."""

QUICKSTART = ("printf 'style: alpaca\\ndata: {path: ../shared/data/instruction-data.json}\\n' > quickstart.yaml")
"""The quickstart's one line that writes the config its next commands read."""

ELSEWHERE = {
    "pip install -r requirements-dev.txt && pip install --no-deps -r requirements-reference.txt":
        ".ci/run runs it in a new virtual environment",
    "python -m pytest": ".ci/run runs it after the install command",
    QUICKSTART: "the work folder below is made with it, and the quickstart's validate and stats run there",
    'python -m pytest -m "not install"': "the test command with the install test deselected",
    "promptstyles compare": "about 90 s of training; the built-in experiment cut to two steps runs below, offline",
    "promptstyles compare examples/compare-shared.yaml":
        "minutes of training; test_experiments_compare runs a YAML experiment through the command line",
    "promptstyles compare my-experiment.yaml --output out/ --overwrite":
        "a file of the user's; test_experiments_compare covers --output and --overwrite",
    "promptstyles compare examples/compare-llama.yaml --output docs/example-report-llama --overwrite":
        "minutes of training; test_hf_models builds every run of that experiment",
    "torchrun --nproc_per_node 2 -m promptstyles compare examples/compare-shared.yaml --output out/":
        "test_distributed runs compare under torchrun",
    "ray get-auth-token --generate": "Ray's own command; a cluster needs machines this test does not have",
    "ray start --head --port=6379": "test_cluster_build runs data.cluster on a simulated two-node Ray cluster",
    "ray start --address=HEAD_IP:6379": "test_cluster_build runs data.cluster on a simulated two-node Ray cluster",
    "promptstyles build cluster.yaml": "test_cluster_build checks the README's cluster config and builds through "
                                       "data.cluster on a simulated two-node Ray cluster",
}
"""Commands too slow or too environment-bound to run here, with what checks them instead."""


def items() -> list[tuple[str, str]]:
    """The README as ``(kind, text)``: ``heading``, ``code`` (a fenced block) or ``prose`` (a paragraph)."""
    found: list[tuple[str, str]] = []
    paragraph: list[str] = []
    fence: list[str] | None = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if fence is not None:
            fence.append(line)
            if line == "```":
                found.append(("code", "\n".join(fence)))
                fence = None
            continue
        if line.startswith("```") or line.startswith("#") or not line.strip():
            if paragraph:
                found.append(("prose", "\n".join(paragraph)))
                paragraph = []
            if line.startswith("```"):
                fence = [line]
            elif line.startswith("#"):
                found.append(("heading", line))
            continue
        paragraph.append(line)
    if paragraph:
        found.append(("prose", "\n".join(paragraph)))
    return found


def commands() -> list[str]:
    """Every command line of the README's bash blocks, without its comment."""
    lines = []
    for language, text in _FENCE.findall(README.read_text(encoding="utf-8")):
        if language == "bash":
            lines += [re.sub(r"\s+# .*$", "", line).strip() for line in text.splitlines() if line.strip()]
    return lines


def section_block(heading: str, language: str) -> str:
    """The first ``language`` block under ``heading``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n"):]
    return next(body for lang, body in _FENCE.findall(section) if lang == language)


def fragments(kinds: list[tuple[str, str]]) -> list[str]:
    """Paragraphs that start mid-sentence without a code block before them to finish the sentence."""
    return [text for (before, _), (kind, text) in itertools.pairwise(kinds)
            if kind == "prose" and _MID_SENTENCE.match(text) and before != "code"]


def test_no_paragraph_starts_mid_sentence_except_after_its_code_block():
    assert fragments(items()) == []


def test_the_sentence_check_finds_a_stray_fragment(monkeypatch, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("## A\n\nWhole sentence.\n\n (for example `x`), `model` ...\n\n```bash\nls\n```\n\nthen more.\n",
                      encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "README", readme)
    kinds = items()
    assert [kind for kind, _ in kinds] == ["heading", "prose", "prose", "code", "prose"]
    assert fragments(kinds) == [" (for example `x`), `model` ..."]


def test_every_command_is_run_here_or_says_what_checks_it():
    run_here = {command for command in commands() if command.startswith("promptstyles ")} - set(ELSEWHERE)
    assert set(commands()) == run_here | set(ELSEWHERE)
    assert run_here == set(RUN)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder beside ``shared`` with the README's ``config.yaml``, ``my-format.yaml`` and a model folder."""
    root = tmp_path_factory.mktemp("readme")
    (root / "shared").symlink_to(SHARED, target_is_directory=True)
    folder = root / "work"
    (folder / "model").mkdir(parents=True)
    (folder / "config.yaml").write_text(section_block("## Configuration", "yaml"), encoding="utf-8")
    declared = yaml.safe_load(section_block("## A format in YAML", "yaml"))["style"]  # the format, in its own file
    (folder / "my-format.yaml").write_text(yaml.safe_dump(declared), encoding="utf-8")
    (folder / "model" / "tokenizer_config.json").write_text('{"model_max_length": 2048}', encoding="utf-8")
    shell(QUICKSTART, folder)
    return folder


def shell(command: str, cwd: Path, **env: str) -> str:
    """``command`` in bash with this interpreter's ``promptstyles`` first on the PATH, and no network."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", **env}
    environment.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def check_list(out: str, work: Path) -> None:
    assert re.search(r"^alpaca\s+stanford-alpaca\s+alpaca \(promptstyles 0\.1\.0\)", out, re.MULTILINE), out


def check_render(out: str, work: Path) -> None:
    assert out == get_style("alpaca").render(load_records(DATASET).records[50]).text


def check_validate(out: str, work: Path) -> None:
    assert "alpaca" in out and "error" not in out.lower(), out


def check_stats(out: str, work: Path) -> None:
    assert re.search(r"^\s*train\s+935\b", out, re.MULTILINE), out


def check_build(out: str, work: Path) -> None:
    assert re.search(r"^store: .+ \((built|found, verified whole)\)$", out, re.MULTILINE), out
    assert "records: 1100, tokens: " in out and "splits: train 935, val 55, test 110" in out, out


def check_batch(out: str, work: Path) -> None:
    assert re.match(r"train batch 0: inputs \(8, \d+\), style 'alpaca', mask 'instruction'\n", out), out


def check_export(out: str, work: Path) -> None:
    from promptstyles.styles.export import chat_template

    assert out.removesuffix("\n") == chat_template(get_style("llama3"))


def check_export_into(out: str, work: Path) -> None:
    config = json.loads((work / "model" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["model_max_length"] == 2048 and "{% generation %}" in config["chat_template"]


def check_freeze(out: str, work: Path) -> None:
    frozen = yaml.safe_load((work / "frozen.yaml").read_text(encoding="utf-8"))
    assert frozen["options"]["system"] == "Be brief."


RUN = {
    "promptstyles list": check_list,
    "promptstyles render alpaca --data ../shared/data/instruction-data.json --index 50": check_render,
    "promptstyles validate quickstart.yaml": check_validate,
    "promptstyles stats quickstart.yaml": check_stats,
    "promptstyles build quickstart.yaml": check_build,
    "promptstyles batch config.yaml --split train --index 0": check_batch,
    "promptstyles export llama3 --format jinja": check_export,
    "promptstyles export my-format.yaml --generation-tags --into model/tokenizer_config.json": check_export_into,
    'promptstyles freeze llama3.2 --option system="Be brief." > frozen.yaml': check_freeze,
}


@pytest.mark.parametrize("command", list(RUN))
def test_the_readme_command_runs_as_written(command: str, work: Path):
    require(DATASET)
    RUN[command](shell(command, work), work)


def test_the_built_in_comparison_runs_offline_in_an_empty_folder(tmp_path: Path):
    """``promptstyles compare`` on a fresh machine (no tiktoken cache, no network, an empty folder), its built-in
    experiment cut to two steps and one seed."""
    experiment = yaml.safe_load(default_experiment_path().read_text(encoding="utf-8"))
    experiment["base"]["data"]["path"] = str(sample_data_path())
    experiment.update(seeds=[1], training={**experiment["training"], "max_steps": 2, "eval_every": 2},
                      generation={"records": 2, "max_new_tokens": 2})
    temp, folder = tmp_path / "temp", tmp_path / "empty"  # tiktoken's own cache would be in temp/data-gym-cache
    temp.mkdir()
    folder.mkdir()
    (folder / "quick.yaml").write_text(yaml.safe_dump(experiment), encoding="utf-8")
    out = shell("promptstyles compare quick.yaml", folder, TMPDIR=str(temp), TIKTOKEN_CACHE_DIR="")
    results = json.loads((folder / "promptstyles-compare" / "results.json").read_text(encoding="utf-8"))
    assert f"report: {Path('promptstyles-compare') / 'report.md'}" in out, out
    assert list(results["styles"]) == ["alpaca", "phi3", "chatml"]
    assert sorted(p.name for p in folder.iterdir()) == ["promptstyles-compare", "quick.yaml"]
