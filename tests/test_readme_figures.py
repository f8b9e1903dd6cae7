"""What the README shows is what the code does: its style list is the registry, the paths it names exist, its
shown files are the files, its YAML format passes the conformance kit, and its padding figures come from a run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml
from shared_paths import DATASET, require

from promptstyles import build_dataloaders, load_config
from promptstyles.data.batches.packing import best_fit_rows, pack_rows
from promptstyles.pipeline import padding_share
from promptstyles.styles.registry import default_registry
from promptstyles.testing import assert_conforms

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DATA = DATASET


def section(heading: str) -> str:
    start = README.index(heading)
    following = README.find("\n## ", start + len(heading))
    return README[start: following if following != -1 else len(README)]


def test_the_style_list_is_the_registry_with_its_plugins_and_aliases():
    listed = {}
    for name, plugin, aliases in re.findall(r"^- `([^`]+)` \(([^;)]+)(?:; ([^)]*))?\)", section("## Styles"), re.M):
        listed[name] = (plugin, sorted(re.findall(r"`([^`]+)`", aliases or "")))
    registry = default_registry()
    expected = {info.name: ("built in" if info.plugin in ("alpaca", "chat-template") else info.plugin,
                            sorted(info.aliases)) for info in registry.infos()}
    assert listed == expected


def test_every_source_path_the_readme_names_exists():
    named = set(re.findall(r"`(src/[\w./-]+)`", README))
    assert "src/promptstyles/config.py" in named
    assert sorted(path for path in named if not (ROOT / path).exists()) == []
    assert re.findall(r"(?<![\w/])promptstyles/[\w/]+\.py", README.replace("src/promptstyles/", "")) == []


def test_the_shown_experiment_is_the_shipped_file():
    shown = re.search(r"```yaml\n(.*?)```", section("### On a real model"), re.S)
    assert shown and shown.group(1) == (ROOT / "examples" / "compare-llama.yaml").read_text(encoding="utf-8")


def test_the_yaml_format_passes_the_conformance_kit():
    block = re.search(r"```yaml\n(.*?)```", section("## A format in YAML"), re.S)
    assert block
    config = load_config(yaml.safe_load(block.group(1)))
    assert_conforms(config.build_style())


def _padding(**changes: object) -> float:
    loaders = build_dataloaders({"data": {"path": str(DATA)}, **changes})
    return padding_share(loaders.batch_shapes("train"))


def test_the_padding_figures_come_from_a_run():
    require(DATA)
    text = section("### Grouping or packing")
    table = dict(re.findall(r"^\| ([^|]+?) \| ([\d.]+%) \|$", text, re.M))
    assert table == {
        "random, batch size 8": f"{_padding(loader={'batch_size': 8}):.1%}",
        "grouped by length, batch size 8": f"{_padding(loader={'batch_size': 8, 'group_by_length': True}):.1%}",
        "packed rows of 1024 tokens, batch size 8": f"{_padding(collate={'allowed_max_length': 1024, 'packing': True}, loader={'batch_size': 8}):.1%}",  # noqa: E501
    }
    loaders = build_dataloaders({"data": {"path": str(DATA)}, "collate": {"allowed_max_length": 1024}})
    sizes = np.asarray(loaders.datasets["train"].lengths)
    rows = len(pack_rows(sizes, 1024)[1]) - 1
    fit = len(best_fit_rows(sizes, 1024)[1]) - 1
    val = np.asarray(loaders.datasets["val"].lengths)
    val_rows = len(pack_rows(val, 1024)[1]) - 1
    packed = build_dataloaders({"data": {"path": str(DATA)}, "collate": {"allowed_max_length": 1024, "packing": True},
                                "loader": {"batch_size": 8}})
    batches = len(packed.batch_indices("train"))
    tokens = int(sizes.sum())
    claims = [f"lays the {tokens:,} training tokens in {rows} rows", f"({1 - tokens / (rows * 1024):.1%} padding,"
              f" {tokens / (rows * 1024):.1%} real tokens)", f"alone needs {fit} ({1 - tokens / (fit * 1024):.1%}",
              f"serves {batches} full batches of 8", f"the last {rows - 8 * batches} rows",
              f"fill {val_rows} rows, {1 - int(val.sum()) / (val_rows * 1024):.1%} of them padding"]
    flat = " ".join(text.split())
    assert [claim for claim in claims if claim not in flat] == []


def test_the_durations_quoted_are_those_the_example_files_state():
    text = " ".join(section("## Compare styles").split())
    for name in ("compare-shared.yaml", "compare-llama.yaml"):
        header = " ".join((ROOT / "examples" / name).read_text(encoding="utf-8").split("\nstyles:")[0].split())
        stated = re.search(r"about (\d+ minutes) on two CPU cores", header, re.I)
        assert stated, name
        assert re.search(rf"`examples/{re.escape(name)}`[^.]*?about {stated.group(1)}", text), name


def _recorded_build_ratio(results: str, name: str) -> float:
    row = re.search(rf"^\| {name}: build throughput / raw batch encoding \| ([\d.]+) \|", results, re.M)
    assert row, name
    return float(row.group(1))


def test_the_benchmark_figures_quoted_are_the_recorded_ones():
    """Benchmarks are not rerun in tests; the README must quote what their recorded runs measured."""
    import json

    text = " ".join(README.split())
    ratios = json.loads((ROOT / "benchmarks" / "RESULTS-data.json").read_text(encoding="utf-8"))["ratios"]
    assert (f"built batches {ratios['path8_ref']:.0f}x faster than the reference collate and "
            f"{ratios['path8_litgpt']:.1f}x faster than LitGPT's collate at batch size 8, and "
            f"{ratios['path32_ref']:.0f}x and {ratios['path32_litgpt']:.1f}x faster on batches of 32") in text
    scale = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert f"({_recorded_build_ratio(scale, 'gpt2'):.1f}x the throughput of tiktoken's own" in text
    assert f"({_recorded_build_ratio(scale, 'qwen'):.2f}x of `tokenizers`' batch encoding)" in text
    models = (ROOT / "benchmarks" / "RESULTS-tokenizers.md").read_text(encoding="utf-8")
    llama3, mistral, phi3, qwen = (_recorded_build_ratio(models, name) for name in ("llama3", "mistral", "phi3",
                                                                                   "qwen"))
    build, raw = (float(re.search(rf"^\| llama3 \| {step}[^|]* \| ([\d.]+) s \|", models, re.M).group(1))
                  for step in ("promptstyles `prepare_data`", "raw: `tokenizers`"))
    assert (f"reached {llama3:.2f}x of `tokenizers`' batch encoding with Llama-3's ({build:.0f} s against "
            f"{raw:.0f} s), "
            f"{mistral:.2f}x with Mistral v0.3's, {phi3:.2f}x with Phi-3.5's and {qwen:.2f}x with Qwen2.5's") in text


def test_the_cluster_figures_quoted_are_the_recorded_ones():
    text = " ".join(README.split())
    results = (ROOT / "benchmarks" / "RESULTS-cluster.md").read_text(encoding="utf-8")
    local = re.search(r"^\| local, `num_proc: auto` \| ([\d.]+) s \|", results, re.M)
    stream = re.search(r"^\| cluster, tokens home by `stream` \| ([\d.]+) s \|.*\| (\d+) MiB \(met\) \| yes \|$",
                       results, re.M)
    driver = re.search(r"merging the results into the store\): [\d.]+ s for [\d,]+ records, ([\d,]+) records/s",
                       results)
    cores = re.search(r"it keeps about (\d+) cores of reading, parsing and encoding busy", results)
    assert local and stream and driver and cores
    assert (f"built in {float(stream.group(1)):.0f} s against {float(local.group(1)):.0f} s locally with "
            f"`num_proc: auto`, byte-equal, with {stream.group(2)} MiB resident") in text
    rate = int(driver.group(1).replace(",", ""))
    assert f"about {round(rate, -3):,} records a second, enough to keep about {cores.group(1)} cores" in text
