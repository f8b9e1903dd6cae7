"""Comparisons end to end: outputs, static numbers against an independent count, scored tokens, resume."""

from __future__ import annotations

import csv
import itertools
import json
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from promptstyles import build_dataloaders, get_style, load_records
from promptstyles.cli import main
from promptstyles.data.tokenizers.gpt2_files import load_encoding
from promptstyles.errors import ConfigError
from promptstyles.experiments import CompareProgress, compare, sample_data_path
from promptstyles.experiments.checkpoints import save_state_dict_file
from promptstyles.experiments.config import ModelSpec
from promptstyles.experiments.model import GPT, GPTConfig
from promptstyles.experiments.ranking import rank_styles
from promptstyles.experiments.runner import model_factory

SMALL_MODEL = {"emb_dim": 32, "n_heads": 2, "n_layers": 1, "context_length": 128}
MAX_LENGTH = 56


def tiny(output: Path, styles: tuple[str, ...] = ("alpaca", "chatml"), **changes: Any) -> dict[str, Any]:
    """A comparison on the sample data that takes a few seconds: a one-layer model, a handful of steps."""
    experiment: dict[str, Any] = {
        "styles": list(styles),
        "base": {
            "data": {"path": str(sample_data_path()), "split": {"train": 0.75, "test": 0.1}},
            "collate": {"mask": "prompt", "allowed_max_length": MAX_LENGTH},
            "loader": {"batch_size": 4},
        },
        "model": {"config": SMALL_MODEL},
        "training": {"max_steps": 3, "eval_every": 2, "eval_batches": 1},
        "generation": {"records": 2, "max_new_tokens": 4},
        "output": str(output),
    }
    experiment.update(changes)
    return experiment


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("compare")
    return folder, compare(tiny(folder))


def test_outputs_are_written_with_the_verdict_first(run: tuple[Path, dict[str, Any]]) -> None:
    folder, results = run
    report = (folder / "report.md").read_text(encoding="utf-8").splitlines()
    assert report[0] == "# Prompt style comparison"
    assert report[2].startswith("No detectable difference on val loss, response text: **")  # 3 steps tell nothing
    best, second = (name for name, _ in rank_styles(results)[1][:2])
    assert f"paired bootstrap interval of {second} minus {best} over the same 9 validation examples" in report[2]
    assert report.index("## Fine-tuning") < report.index("## Static comparison") < report.index("## Plots")
    on_disk = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert set(on_disk["styles"]) == {"alpaca", "chatml"} == set(results["styles"])
    assert on_disk["styles"]["chatml"]["training"]["steps"] == 3
    assert len(on_disk["styles"]["alpaca"]["training"]["curve"]["step"]) == 2  # steps 2 and 3
    with (folder / "results.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["style"] for row in rows] == [line.split(" | ")[1] for line in report if line.startswith("| 1 ")
                                              or line.startswith("| 2 ")][:2]
    assert {float(row["training.val_response_loss"]) for row in rows} == {
        on_disk["styles"][s]["training"]["val_response_loss"] for s in ("alpaca", "chatml")}
    responses = json.loads((folder / "responses.json").read_text(encoding="utf-8"))
    assert [len(responses[s]) for s in ("alpaca", "chatml")] == [2, 2]
    assert responses["chatml"][0]["prompt"].endswith("<|im_start|>assistant\n")
    for style in ("alpaca", "chatml"):  # the generation results summarise the judged responses
        generation, entries = on_disk["styles"][style]["generation"], responses[style]
        assert generation["examples"]["records"] == [entry["record"] for entry in entries]
        assert generation["examples"]["ended"] == [int(entry["ended"]) for entry in entries]
        assert generation["stop_rate"] == sum(entry["ended"] for entry in entries) / 2
        assert generation["leak_rate"] == sum(entry["leak"] is not None for entry in entries) / 2
        assert generation["cut"] == sum(entry["stopped"] == "length" for entry in entries)
        assert not any(entry["ended"] and entry["stopped"] == "length" for entry in entries)
    assert report.index("## Warnings") < report.index("## Paired differences against " + results["paired"][0]["best"])
    assert len(results["paired"]) == 6  # the other style against the best: the loss and five generation metrics
    for name in ("loss_curves.png", "token_lengths.png", "padding_truncation.png", "generation_metrics.png"):
        path = folder / name
        assert png_size(path) == (1000, 420)
        assert 5_000 < path.stat().st_size < 300_000
        assert f"]({name})" in "\n".join(report)


def test_the_settings_record_the_gpt_and_tokenizer_that_ran(run: tuple[Path, dict[str, Any]]) -> None:
    _, results = run
    assert results["settings"]["base"]["tokenizer"] == {"name": "gpt2", "path": None, "special_tokens": "text"}
    assert results["settings"]["model"] == {"preset": "tiny", "checkpoint": None, "format": "auto",
                                            "config": SMALL_MODEL}


def test_static_numbers_equal_an_independent_count(run: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = run
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    report = (folder / "report.md").read_text(encoding="utf-8")
    encoding = load_encoding("gpt2")
    records = load_records(sample_data_path()).records
    order = np.random.default_rng((123, 0)).permutation(45)  # the training loader's first epoch
    for name in ("alpaca", "chatml"):
        style = get_style(name)
        rendered = [style.render(record) for record in records]
        lengths = np.array([len(encoding.encode_ordinary(r.text)) for r in rendered])
        prompts = np.array([len(encoding.encode_ordinary(style.generation_prompt(r))) for r in records])
        bare = np.array([sum(len(encoding.encode_ordinary(t)) for t in (r.instruction, r.input, r.output) if t)
                         for r in records])
        kept = np.minimum(lengths, MAX_LENGTH)
        # mask "prompt": targets after the response header, and the end-of-text, as far as they are kept
        supervised = np.clip(kept - prompts + 1, 0, kept)
        train = lengths[:45][order]
        widths = [min(int(train[i:i + 4].max()), MAX_LENGTH) for i in range(0, 44, 4)]
        real = sum(int(np.minimum(train[i:i + 4], w).sum()) for i, w in zip(range(0, 44, 4), widths, strict=True))
        static = results["styles"][name]["static"]
        assert static["tokens_mean"] == pytest.approx(lengths.mean(), abs=1e-12)
        assert static["tokens_median"] == np.median(lengths) and static["tokens_max"] == lengths.max()
        assert static["template_overhead_mean"] == pytest.approx((lengths - bare).mean(), abs=1e-12)
        assert static["supervised_fraction"] == pytest.approx(supervised.sum() / kept.sum(), abs=1e-12)
        assert static["truncated"] == int((lengths > MAX_LENGTH).sum()) > 0
        assert static["compute_tokens"] == 4 * sum(widths)
        assert static["padding_fraction"] == pytest.approx(1 - real / (4 * sum(widths)), abs=1e-12)
        assert f"| {name} | 60 | {lengths.mean():.1f} | {np.median(lengths):.1f} |" in report
    alpaca, chatml = (results["styles"][s]["static"]["tokens_mean"] for s in ("alpaca", "chatml"))
    assert results["styles"]["chatml"]["static"]["tokens_vs_first"] == pytest.approx(chatml / alpaca - 1)
    assert f"chatml {abs(chatml / alpaca - 1):.1%} {'more' if chatml > alpaca else 'fewer'}" in report


def test_response_loss_scores_the_same_tokens_for_every_style() -> None:
    encoding = load_encoding("gpt2")
    records = load_records(sample_data_path()).records
    counts = {}
    for name in ("alpaca", "chatml"):
        config = {"style": name, "data": {"path": str(sample_data_path())}, "collate": {"mask": "none"}}
        loaders = build_dataloaders(config, response_mask=True)
        scored: list[int] = []
        for batch in loaders.val:
            scored += (batch.response_mask & (batch.targets != -100)).sum(dim=1).tolist()
        positions = loaders.datasets["val"].positions
        assert scored == [len(encoding.encode_ordinary(records[p].output)) for p in positions]
        counts[name] = scored
    assert counts["alpaca"] == counts["chatml"] and len(counts["alpaca"]) == 3


def test_a_tiny_overfit_run_shows_falling_loss(tmp_path: Path) -> None:
    experiment = tiny(tmp_path, ("alpaca",), training={"max_steps": 24, "eval_every": 6, "learning_rate": 0.01},
                      generation={"records": 0})
    experiment["base"]["data"]["split"] = {"train": 0.1, "test": 0.0}  # 6 training records
    experiment["base"]["loader"] = {"batch_size": 3}
    curve = compare(experiment)["styles"]["alpaca"]["training"]["curve"]
    losses = curve["train_loss"]
    assert curve["step"] == [6, 12, 18, 24]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < 0.5 * losses[0]


def test_an_interrupted_run_keeps_finished_styles_and_resumes(tmp_path: Path) -> None:
    def fail_on_chatml(event: CompareProgress) -> None:
        if event.run == "chatml" and event.phase == "train":
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        compare(tiny(tmp_path), progress=fail_on_chatml)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["alpaca.json"]
    assert not (tmp_path / "report.md").exists()
    first = json.loads((tmp_path / "runs" / "alpaca.json").read_text(encoding="utf-8"))

    events: list[CompareProgress] = []
    resumed = compare(tiny(tmp_path), progress=events.append)
    assert resumed["resumed"] == ["alpaca"]
    assert {(e.run, e.phase) for e in events if e.phase in ("resumed", "train")} == {
        ("alpaca", "resumed"), ("chatml", "train")}
    kept = resumed["styles"]["alpaca"]
    assert kept["training"] == first["results"]["training"] and kept["generation"] == first["results"]["generation"]
    assert kept["static"] == {**first["results"]["static"], "tokens_vs_first": 0.0}

    fresh = compare(tiny(tmp_path), overwrite=True)  # same seed: the same numbers, recomputed
    assert fresh["resumed"] == []
    for name in ("alpaca", "chatml"):
        again, before = fresh["styles"][name], resumed["styles"][name]
        assert again["static"] == before["static"] and again["generation"] == before["generation"]
        assert again["training"]["curve"] == before["training"]["curve"]

    changed = compare(tiny(tmp_path, training={"max_steps": 2, "eval_every": 2, "eval_batches": 1}))
    assert changed["resumed"] == [] and changed["styles"]["alpaca"]["training"]["steps"] == 2


def test_every_run_starts_from_the_same_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(7)
    saved = GPT(GPTConfig.preset("tiny", **SMALL_MODEL))
    path = save_state_dict_file(saved, tmp_path / "model.pt")
    make = model_factory(ModelSpec(checkpoint=str(path), config=SMALL_MODEL), seed=123)
    first, grown = make(50257), make(50260)
    first.tok_emb.weight.data.add_(1.0)  # training one copy leaves the next copy untouched
    again = make(50257)
    for key, value in saved.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
    assert grown.tok_emb.weight.shape == (50260, 32)
    assert torch.equal(grown.tok_emb.weight[:50257], saved.tok_emb.weight)


def test_the_cli_runs_a_yaml_experiment_and_says_where_the_report_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from promptstyles import progress

    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)  # every bar drawn, however quick the run
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as on a terminal

    path = tmp_path / "experiment.yaml"
    experiment = tiny(tmp_path / "unused", ("alpaca", "phi3"), generation={"records": 1, "max_new_tokens": 2})
    path.write_text(yaml.safe_dump(experiment), encoding="utf-8")
    output = tmp_path / "report"
    assert main(["compare", str(path), "--output", str(output)]) == 0
    captured = capsys.readouterr()
    assert f"report: {output / 'report.md'}\n" in captured.out
    assert "[2/2] phi3 train: 100%|" in captured.err and "| 3/3 [" in captured.err  # tqdm's bar
    assert (output / "report.md").is_file() and not (tmp_path / "unused").exists()
    assert main(["compare", str(path), "--output", str(output)]) == 0
    assert "(2 finished runs reused)" in capsys.readouterr().out


def test_the_cli_reports_a_bad_experiment_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "experiment.yaml"
    path.write_text("styles: [alpaca]\ntraining:\n  max_steps: 0\n", encoding="utf-8")
    assert main(["compare", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"promptstyles: error: {path}: training.max_steps (line 3): must be at least 1, got 0\n")


def test_notes_compare_lengths_and_warn_about_truncation(run: tuple[Path, dict[str, Any]]) -> None:
    _, results = run
    static = {label: values["static"] for label, values in results["styles"].items()}
    change = static["chatml"]["tokens_mean"] / static["alpaca"]["tokens_mean"] - 1
    assert results["notes"][0] == (
        f"Tokens per example against alpaca ({static['alpaca']['tokens_mean']:.1f}): chatml {abs(change):.1%} "
        f"{'fewer' if change < 0 else 'more'} ({static['chatml']['tokens_mean']:.1f})."
    )
    warned = [line for line in results["warnings"] if "were cut at the maximum length" in line]
    assert warned == [
        f"{label}: truncated examples: {values['truncated']} of 60 were cut at the maximum length, so its headline"
        " loss leaves out their cut response tokens; raise collate.allowed_max_length for a like-for-like"
        " comparison." for label, values in static.items() if values["truncated"]]
    assert warned  # the fixture's maximum length cuts some examples
    assert not any("were cut at the maximum length" in note for note in results["notes"])


def test_seeds_repeat_each_run_and_report_mean_and_spread(tmp_path: Path) -> None:
    import statistics

    seeded = compare(tiny(tmp_path / "seeds", styles=("alpaca",), seeds=[5, 6]))
    training = seeded["styles"]["alpaca"]["training"]
    per_seed = [entry["val_response_loss"] for entry in training["seeds"]]
    assert [entry["seed"] for entry in training["seeds"]] == [5, 6]
    assert training["val_response_loss"] == pytest.approx(statistics.fmean(per_seed))
    assert training["val_response_loss_std"] == pytest.approx(statistics.stdev(per_seed))
    assert per_seed[0] != per_seed[1]
    single = tiny(tmp_path / "single", styles=("alpaca",), training={"max_steps": 3, "eval_every": 2,
                                                                      "eval_batches": 1, "seed": 5})
    single["base"]["loader"]["seed"] = 5
    alone = compare(single)["styles"]["alpaca"]["training"]["val_response_loss"]
    assert alone == pytest.approx(per_seed[0])  # a seed fixes both the initialisation and the data order
    report = (tmp_path / "seeds" / "report.md").read_text(encoding="utf-8")
    assert "± over seeds" in report


def quick(output: Path, **changes: Any) -> dict[str, Any]:
    """One style, two steps, one short response: the cheapest comparison that runs every phase."""
    return tiny(output, ("alpaca",), **{"training": {"max_steps": 2, "eval_every": 2, "eval_batches": 1},
                                        "generation": {"records": 1, "max_new_tokens": 2}, **changes})


def no_training(event: CompareProgress) -> None:
    assert event.phase not in ("static", "train"), "the comparison started before its checks"


def test_too_little_data_for_one_step_is_an_error_that_says_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    (tmp_path / "three.json").write_text(json.dumps(
        [{"instruction": f"Say {n}.", "input": "", "output": f"{n}."} for n in ("one", "two", "three")]))
    experiment = quick(tmp_path / "out")
    experiment["base"]["data"]["path"] = str(tmp_path / "three.json")
    experiment["base"]["loader"] = {"batch_size": 8}
    with pytest.raises(ConfigError) as caught:
        compare(experiment, progress=no_training)
    assert str(caught.value) == (
        "base.loader.batch_size: 3 records split 2/1/0 (train/val/test): 2 training examples make no batch of"
        " loader.batch_size=8 (loader.drop_last drops a short batch), so no training step would run; lower"
        " loader.batch_size to 2 or less, add records, or raise data.split.train")
    assert not (tmp_path / "out").exists()
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment), encoding="utf-8")
    assert main(["compare", str(path)]) == 1
    assert capsys.readouterr().err.startswith("promptstyles: error: base.loader.batch_size: 3 records split")

    experiment["base"]["loader"] = {"batch_size": 2}  # one step now, but no test record to answer
    with pytest.raises(ConfigError, match=r"^generation.records: 3 records split 2/1/0 \(train/val/test\): "
                                          r"generation.records=1 asks for responses but the test split is empty; "
                                          r"raise data.split.test \(0.1\), add records, or set generation.records: 0$"):
        compare(experiment, progress=no_training)
    experiment["base"]["data"]["split"] = {"train": 1.0, "test": 0.0}
    with pytest.raises(ConfigError, match=r"^base.data.split: 3 records split 3/0/0 \(train/val/test\): the "
                                          r"validation split is empty; add records or lower data.split.train"):
        compare(experiment, progress=no_training)


def test_the_output_folder_is_checked_before_training(tmp_path: Path) -> None:
    file = tmp_path / "report.txt"
    file.write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^output: .*report.txt is a file, not a folder; give another output"):
        compare(quick(file), progress=no_training)
    with pytest.raises(ConfigError, match=r"^output: cannot write to the output folder .*report.txt/out \(Not a"
                                          r" directory\); give a folder you can write to$"):
        compare(quick(file / "out"), progress=no_training)
    with pytest.raises(ConfigError) as caught:
        compare(quick(tmp_path), progress=no_training)  # holds report.txt, which compare did not write
    assert str(caught.value) == (
        f"output: {tmp_path} holds files a comparison did not write (report.txt); give a new or empty output"
        " folder, or pass --overwrite (overwrite=True) to write there anyway")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]

    compare(quick(tmp_path), overwrite=True)
    assert file.read_text(encoding="utf-8") == "mine" and (tmp_path / "report.md").is_file()
    (tmp_path / "runs" / ".alpaca.json.x1.tmp").write_text("left by a killed write", encoding="utf-8")
    assert compare(quick(tmp_path / "again"))["resumed"] == []
    assert compare(quick(tmp_path / "again"))["resumed"] == ["alpaca"]  # its own outputs are no obstacle


def test_resume_recomputes_a_run_when_its_data_or_generation_settings_change(tmp_path: Path) -> None:
    records = json.loads(sample_data_path().read_text(encoding="utf-8"))
    data = tmp_path / "data.json"
    data.write_text(json.dumps(records), encoding="utf-8")
    experiment = quick(tmp_path / "out")
    experiment["base"]["data"]["path"] = str(data)
    first = compare(experiment)
    assert compare(experiment)["resumed"] == ["alpaca"]

    longer = compare({**experiment, "generation": {"records": 1, "max_new_tokens": 3}})
    assert longer["resumed"] == []
    answer = json.loads((tmp_path / "out" / "responses.json").read_text(encoding="utf-8"))["alpaca"][0]
    assert answer["record"] == 45

    records[55]["output"] = "Yes."
    data.write_text(json.dumps(records), encoding="utf-8")
    changed = compare({**experiment, "generation": {"records": 1, "max_new_tokens": 3}})
    assert changed["resumed"] == []
    before, after = (run["styles"]["alpaca"]["training"]["val_examples"] for run in (first, changed))
    assert before["records"] == after["records"] == list(range(51, 60))
    assert before["tokens"][4] != after["tokens"][4] and before["tokens"][:4] == after["tokens"][:4]


def test_the_loss_uses_the_collators_ignore_index(tmp_path: Path) -> None:
    usual = compare(quick(tmp_path / "usual"))["styles"]["alpaca"]
    experiment = quick(tmp_path / "minus-one")
    experiment["base"]["collate"]["ignore_index"] = -1
    other = compare(experiment)["styles"]["alpaca"]
    assert other["training"]["tokens_seen"] == usual["training"]["tokens_seen"] > 0
    for key in ("val_response_loss", "val_loss", "val_response_tokens", "val_tokens", "curve", "val_examples"):
        assert other["training"][key] == usual["training"][key], key
    assert other["static"]["supervised_fraction"] == usual["static"]["supervised_fraction"]
