"""The scale benchmark's parts at a few hundred records: generator, memory readers, measurements, report."""

from __future__ import annotations

import itertools
import json
import mmap
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from shared_paths import DATASET

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SOURCE = DATASET
sys.path.insert(0, str(BENCHMARKS))

import results_file  # noqa: E402
import scale_data  # noqa: E402
import scale_memory  # noqa: E402
import scale_report  # noqa: E402
import scale_tasks  # noqa: E402

from promptstyles.data.sources.loading import load_records  # noqa: E402

pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"shared path not found: {SOURCE}")
COUNT = 300


@pytest.fixture(scope="module")
def model() -> scale_data.SourceModel:
    return scale_data.source_model(SOURCE)


def generated(model: scale_data.SourceModel, seed: int = 0) -> list[dict]:
    return [record for chunk in scale_data.generate_records(model, COUNT, seed, chunk=128) for record in chunk]


def test_generator_is_seeded_and_deterministic(model):
    first = generated(model)
    assert first == generated(model)
    assert first != generated(model, seed=1)
    assert len(first) == COUNT and all(list(record) == list(scale_data.FIELDS) for record in first)


def test_field_lengths_are_source_records_lengths(model):
    """Each record's word counts are one source record's (joint), and their spread follows the source."""
    source = {tuple(row) for row in model.lengths.tolist()}
    counts = np.array([[len(record[name].split()) for name in scale_data.FIELDS] for record in generated(model)])
    assert {tuple(row) for row in counts.tolist()} <= source
    np.testing.assert_allclose(counts.mean(axis=0), model.lengths.mean(axis=0), rtol=0.2)
    assert abs((counts[:, 1] == 0).mean() - (model.lengths[:, 1] == 0).mean()) < 0.1  # records without input


def test_text_is_new_text_from_the_fields_own_bigrams(model):
    """Every pair of adjacent words is a bigram of that field in the source or a restart at a field's first
    word, and the records are not copies of source records."""
    raw = json.loads(SOURCE.read_text(encoding="utf-8"))
    records = generated(model)
    for name in scale_data.FIELDS:
        texts = [record[name].split() for record in raw]
        bigrams = {pair for words in texts for pair in itertools.pairwise(words)}
        starts = {words[0] for words in texts if words}
        pairs = [pair for record in records for pair in itertools.pairwise(record[name].split())]
        assert all(record[name].split()[0] in starts for record in records if record[name])
        assert all(pair in bigrams or pair[1] in starts for pair in pairs)
        assert sum(pair in bigrams for pair in pairs) > 0.8 * len(pairs)  # chains, not restarts
    copies = {json.dumps(record, sort_keys=True) for record in raw}
    assert sum(json.dumps(record, sort_keys=True) in copies for record in records) < COUNT // 10
    assert len({record["output"] for record in records}) > COUNT * 0.8


def test_jsonl_validates_and_is_reused_when_parameters_match(tmp_path, model):
    path = tmp_path / "scale.jsonl"
    assert scale_data.ensure_jsonl(path, SOURCE, COUNT, 0)
    loaded = load_records(path)
    assert len(loaded) == COUNT and not loaded.skipped
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        record for chunk in scale_data.generate_records(model, COUNT, 0) for record in chunk]
    stamp = path.stat().st_mtime_ns
    assert not scale_data.ensure_jsonl(path, SOURCE, COUNT, 0)
    assert path.stat().st_mtime_ns == stamp
    assert scale_data.ensure_jsonl(path, SOURCE, COUNT, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scale.jsonl", "scale.jsonl.meta.json"]


def test_memory_readers_give_plausible_figures():
    before = scale_memory.memory_of(os.getpid())
    block = mmap.mmap(-1, 64 << 20)  # 64 MiB of fresh pages (an allocator could hand back pages already held)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1  # touched: now resident and this process's own
    after = scale_memory.memory_of(os.getpid())
    assert 0 < after["uss"] <= after["pss"] <= after["rss"]
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    assert abs(after["rss"] - int(status["VmRSS"].split()[0]) * 1024) < 0.1 * after["rss"]
    assert after["uss"] - before["uss"] > 60 << 20
    # the kernel's per-thread RSS counters lag by a few pages
    assert scale_memory.own_peaks()["peak_rss_self"] >= after["rss"] - (4 << 20)
    block.close()


def test_tree_memory_and_sampler_see_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        with scale_memory.TreeSampler(os.getpid(), interval=0.01) as sampler:
            members = dict(scale_memory.tree_memory(os.getpid()))
            while sampler.peak.samples < 3:
                pass
        assert child.pid in members and members[child.pid]["rss"] > 1 << 20
        assert sampler.peak.processes >= 2
        assert sampler.peak.rss >= sum(memory["rss"] for memory in members.values()) * 0.9
    finally:
        child.kill()
        child.wait()


def test_run_child_returns_the_last_json_line_and_the_tree_peak(tmp_path):
    script = tmp_path / "child.py"
    script.write_text("import json, sys\ntask = json.loads(sys.argv[2])\nblock = bytearray(32 << 20)\n"
                      "print('noise')\nprint(json.dumps({'echo': task['value']}))\n"
                      "sys.exit(task.get('status', 0))\n", encoding="utf-8")
    result = scale_memory.run_child(str(script), {"task": "t", "value": 7})
    assert result["echo"] == 7 and result["wall_process"] > 0
    assert result["tree_samples"] >= 1 and result["tree_peak_rss"] >= result["tree_peak_pss"] > 0
    with pytest.raises(RuntimeError, match="measurement t failed with exit status 3"):
        scale_memory.run_child(str(script), {"task": "t", "value": 7, "status": 3})


def test_feature_detection_tells_unknown_keys(monkeypatch):
    monkeypatch.setattr(scale_tasks, "FEATURES", {"known": ("loader", "num_workers", 2),
                                                  "unknown": ("data", "no_such_key", True)})
    assert scale_tasks.supported_features() == {"known": True, "unknown": False}


def test_every_feature_of_the_benchmark_is_detected_in_this_build():
    assert scale_tasks.supported_features() == {"streaming": True, "num_proc": True, "packing": True}


@pytest.fixture(scope="module")
def measured(tmp_path_factory, model) -> dict:
    folder = tmp_path_factory.mktemp("scale")
    scale_data.write_jsonl(folder / "data.jsonl", model, COUNT, 0)
    task = {"tokenizer": "gpt2", "data": str(folder / "data.jsonl"), "features": [],
            "cache_dir": str(folder / "store")}
    return {name: scale_tasks.TASKS[name](task) for name in ("build", "raw", "reload", "shapes")} | {
        "loader": scale_tasks.loader({**task, "workers": 0, "batches": 5})}


def test_measurements_agree(measured):
    build, raw, reload, shapes = (measured[name] for name in ("build", "raw", "reload", "shapes"))
    assert build["examples"] == raw["texts"] == COUNT
    assert build["tokens"] == raw["tokens"] == shapes["tokens"]  # the same rendered texts, the same tokenizer
    assert build["store_bytes"] > build["tokens"] * 2  # uint16 ids at least
    assert reload["hit"] and reload["load_dataset_s"] < 1.0
    for name in ("grouped", "random"):
        assert shapes[name]["real"] == build["tokens"]
        assert shapes[name]["batches"] == -(-COUNT // scale_tasks.BATCH_SIZE)
    assert shapes["grouped"]["padding_share"] < shapes["random"]["padding_share"]
    assert measured["loader"]["batches"] == 5 and measured["loader"]["workers"] == []


def test_report_section_replaces_its_own_count(tmp_path, measured):
    results = {f"{name}-gpt2": {**value, "tree_peak_rss": 1 << 28, "tree_peak_pss": 1 << 27}
               for name, value in measured.items() if name != "loader"}
    section, table = scale_report.render_section(
        results, generated={"records": COUNT, "seed": 0, "bytes": 1 << 20}, features=[],
        available={"packing": False}, machine=dict.fromkeys(("machine", "cores", "python", "torch", "tiktoken",
                                                              "tokenizers", "numpy"), "x")
        | {"cores": "2", "load": "3.5, 1.0, 1.0"},
        full=False, argv=["--records", str(COUNT)])
    assert section.startswith(f"## {COUNT} records (smoke run), ")
    assert "- The machine was busy (load average 3.5 on 2 cores at the start)" in section
    verdicts = Counter(line.split()[-1] for line in table.splitlines())
    assert set(verdicts) <= {"PASS", "**MISS**", "n/a"} and verdicts["n/a"] == 1  # packing absent
    path = tmp_path / "RESULTS.md"
    path.write_text("<!-- data:begin -->\nData figures.\n<!-- data:end -->\n", encoding="utf-8")
    scale_report.update_results(path, section, COUNT)
    scale_report.update_results(path, "## 20,000 records (smoke run), later\n\nB\n", 20_000)
    scale_report.update_results(path, section.replace("smoke run", "smoke run again"), COUNT)
    assert path.read_text(encoding="utf-8").startswith("<!-- data:begin -->\nData figures.\n<!-- data:end -->\n")
    text = results_file.read_region(path, "scale")
    assert text.startswith(scale_report.HEADER)
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        section.splitlines()[0].replace("smoke run", "smoke run again"), "## 20,000 records (smoke run), later"]


def test_every_shared_model_tokenizer_is_built_with_its_style_and_reported(measured):
    configs = {name: scale_tasks.config_for(name, "records.jsonl", "cache", []) for name in scale_tasks.TOKENIZERS}
    assert {name: (config["style"], config["tokenizer"]) for name, config in configs.items()} == {
        "gpt2": ("alpaca", "gpt2"),
        "qwen": ("qwen2.5", {"path": str(SOURCE.parent.parent / "models" / "qwen2.5-7b-instruct")}),
        "llama3": ("llama3", {"path": str(SOURCE.parent.parent / "models" / "llama-3-8b-instruct")}),
        "mistral": ("mistral-v0.3", {"path": str(SOURCE.parent.parent / "models" / "mistral-7b-instruct-v0.3")}),
        "phi3": ("phi3", {"path": str(SOURCE.parent.parent / "models" / "phi-3.5-mini-instruct")}),
    }
    results = {f"{name}-llama3": {**measured[name], "tree_peak_rss": 1 << 28, "tree_peak_pss": 1 << 27}
               for name in ("build", "raw")}
    section, table = scale_report.render_section(
        results, generated={"records": COUNT, "seed": 0, "bytes": 1 << 20}, features=[], available={},
        machine=dict.fromkeys(("machine", "python", "torch", "tiktoken", "tokenizers", "numpy"), "x")
        | {"cores": "2", "load": "1.0, 1.0, 1.0"}, full=False, argv=[])
    assert [line.split("  ")[0] for line in table.splitlines()] == [
        "llama3: build peak memory", "llama3: build throughput / raw batch encoding"]
    assert "| llama3 | raw: `tokenizers` `Tokenizer.encode_batch` (Rust threads: all cores) |" in section
