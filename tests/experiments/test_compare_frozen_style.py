"""Every compare run keeps its style frozen (``frozen_style`` in ``runs/<run>.json``), and a style file can be
compared like a registered style; the frozen style reloads and renders as the run's style did."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from promptstyles import InstructionRecord, get_style, load_config
from promptstyles.experiments import compare, sample_data_path

DECLARED = Path(__file__).resolve().parent.parent / "fixtures" / "declared"


def test_each_run_keeps_its_frozen_style(tmp_path: Path) -> None:
    style_file = tmp_path / "mine.yaml"
    style_file.write_text((DECLARED / "phi3.yaml").read_text(encoding="utf-8").replace("phi3-declared", "mine"),
                          encoding="utf-8")
    compare({
        "styles": ["qwen2.5", str(style_file)],
        "base": {"data": {"path": str(sample_data_path()), "split": {"train": 0.75, "test": 0.1}},
                 "collate": {"mask": "prompt", "allowed_max_length": 128}, "loader": {"batch_size": 4}},
        "model": {"config": {"emb_dim": 16, "n_heads": 2, "n_layers": 1, "context_length": 128}},
        "training": {"max_steps": 1, "eval_every": 1, "eval_batches": 1},
        "generation": {"records": 1, "max_new_tokens": 2},
        "output": str(tmp_path / "out"),
    })
    runs = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in (tmp_path / "out" / "runs").iterdir()}
    assert sorted(run["frozen_style"]["name"] for run in runs.values()) == ["mine", "qwen2.5"]
    record = InstructionRecord("Name a colour.", "", "Red.")
    for run in runs.values():
        frozen = run["frozen_style"]
        path = tmp_path / f"{frozen['name']}.frozen.yaml"
        path.write_text(yaml.safe_dump(frozen, allow_unicode=True), encoding="utf-8")
        reloaded = load_config({"style": {"file": str(path)}}).build_style()
        original = get_style("qwen2.5") if frozen["name"] == "qwen2.5" else load_config(
            {"style": {"file": str(style_file)}}).build_style()
        assert reloaded.render(record).parts == original.render(record).parts
    origins = {run["frozen_style"]["name"]: run["frozen_style"]["frozen_from"] for run in runs.values()}
    assert origins["qwen2.5"]["distribution"] == "promptstyles-chatml"
    assert origins["mine"] == {"style": "mine", "plugin": None, "distribution": None, "version": None, "options": {}}
