"""From a config to DataLoaders, and the batch command that shows what is trained."""

from __future__ import annotations

import copy
import inspect
import json

import pytest
import torch

from promptstyles import DataError, build_dataloaders
from promptstyles.cli import main
from promptstyles.data.tokenizers.gpt2_files import load_encoding


def config(dataset_path, **sections):
    base = {"data": {"path": str(dataset_path)}, "loader": {"batch_size": 8}}
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return base


def test_reference_split_sizes_and_default_loader_settings(dataset_path, caplog):
    caplog.set_level("INFO")
    loaders = build_dataloaders(config(dataset_path))
    assert loaders.data.sizes == {"train": 935, "val": 55, "test": 110}
    assert "split sizes: {'train': 935, 'val': 55, 'test': 110}" in caplog.text
    assert len(loaders.train) == 116  # drop_last on the training loader
    assert (len(loaders.val), len(loaders.test)) == (7, 14)
    assert [loaders.val.dataset.positions[0], loaders.test.dataset.positions[0]] == [1045, 935]


def test_shuffle_is_reproducible_per_seed(dataset_path):
    first = [b.inputs for b in build_dataloaders(config(dataset_path, loader={"seed": 7})).train]
    again = [b.inputs for b in build_dataloaders(config(dataset_path, loader={"seed": 7})).train]
    other = [b.inputs for b in build_dataloaders(config(dataset_path, loader={"seed": 8})).train]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(a.shape == b.shape and torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_worker_processes_give_the_same_batches(dataset_path):
    settings = config(dataset_path, collate={"mask": "prompt"}, loader={"shuffle": False})
    single = list(build_dataloaders(settings).val)
    workers = list(build_dataloaders(config(dataset_path, collate={"mask": "prompt"},
                                            loader={"shuffle": False, "num_workers": 2})).val)
    assert len(single) == len(workers) == 7
    for a, b in zip(single, workers, strict=True):
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)


def test_without_workers_batches_are_built_in_process_as_torch_builds_them(dataset_path):
    loaders = build_dataloaders(config(dataset_path, collate={"mask": "prompt"}, loader={"shuffle": True, "seed": 3}))
    ours = loaders.train
    theirs = torch.utils.data.DataLoader(ours.dataset, batch_sampler=copy.deepcopy(ours.batch_sampler),
                                         collate_fn=ours.collate_fn)
    assert inspect.isgenerator(iter(ours)) and not inspect.isgenerator(iter(theirs))
    for _ in range(2):  # two epochs: the shuffle moves on alike
        torch.manual_seed(5)
        mine = list(ours)
        after_ours = torch.get_rng_state()
        torch.manual_seed(5)
        torchs = list(theirs)
        assert torch.equal(after_ours, torch.get_rng_state())  # the same draws from the global generator
        assert len(mine) == len(torchs) == 116
        for a, b in zip(mine, torchs, strict=True):
            assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)


def test_seeded_split_shuffle(dataset_path):
    loaders = build_dataloaders(config(dataset_path, data={"split": {"train": 0.5, "test": 0.25, "shuffle": True}}))
    positions = [set(loaders.datasets[name].positions.tolist()) for name in ("train", "val", "test")]
    assert [len(p) for p in positions] == [550, 275, 275]
    assert set().union(*positions) == set(range(1100))
    assert positions[0] != set(range(550))


def test_drop_overlong_counts_and_reports(dataset_path, caplog):
    loaders = build_dataloaders(config(dataset_path, collate={"allowed_max_length": 60, "drop_overlong": True}))
    lengths = loaders.data.dataset.lengths
    expected_train = int((lengths[:935] > 60).sum())
    assert loaders.data.dropped["train"] == expected_train > 0
    assert len(loaders.train.dataset) == 935 - expected_train
    assert f"train: dropped {expected_train} of 935 examples longer than allowed_max_length=60" in caplog.text
    assert max(batch.inputs.shape[1] for batch in loaders.train) <= 60


def test_every_example_overlong_is_an_error(dataset_path):
    with pytest.raises(DataError, match="every train example is longer than collate.allowed_max_length=5"):
        build_dataloaders(config(dataset_path, collate={"allowed_max_length": 5, "drop_overlong": True}))


def test_attention_mask_and_device_options(dataset_path):
    loaders = build_dataloaders(config(dataset_path, collate={"attention_mask": True, "device": "cpu"},
                                       loader={"shuffle": False}))
    batch = next(iter(loaders.val))
    lengths = loaders.val.dataset.lengths[:8]
    assert batch.attention_mask.sum(dim=1).tolist() == [min(n + 1, batch.inputs.shape[1]) for n in lengths.tolist()]


def test_batch_command_marks_masked_targets(tmp_path, capsys):
    data = tmp_path / "two.json"
    data.write_text(json.dumps([{"instruction": "Say hi.", "input": "", "output": "Hi."},
                                {"instruction": "Add.", "input": "1 2", "output": "3"}]), encoding="utf-8")
    settings = tmp_path / "config.yaml"
    settings.write_text("data: {path: two.json, split: {train: 1.0, test: 0.0}}\n"
                        "collate: {mask: prompt}\nloader: {batch_size: 2, shuffle: false}\n", encoding="utf-8")
    assert main(["batch", str(settings), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("train batch 0: inputs (2, 41), style 'alpaca', mask 'prompt'\nlegend: [[masked]] trained\n")
    assert ("[[Below is an instruction that describes a task. Write a response that appropriately completes the "
            "request.\n\n### Instruction:\nSay hi.\n\n### Response:\n]]Hi.<|endoftext|>") in out
    assert "--- row 0 (record 0): 35 tokens, 3 trained targets, 6 padding" in out
    assert "--- row 1 (record 1): 41 tokens, 2 trained targets, 0 padding" in out
    assert main(["batch", str(settings), "--color", "always"]) == 0
    assert "\x1b[32mHi.<|endoftext|>\x1b[0m" in capsys.readouterr().out
    assert main(["batch", str(settings), "--index", "3"]) == 1
    assert "--index 3 is out of range: the train loader has 1 batches" in capsys.readouterr().err


def test_stats_command_counts_tokens_and_trained_share(tmp_path, capsys, monkeypatch):
    from promptstyles import get_style, progress, to_record

    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)  # the bar of so short a build drawn all the same

    records = [{"instruction": "Say hi.", "input": "", "output": "Hi there."},
               {"instruction": "Add.", "input": "1 2", "output": "3"}]
    (tmp_path / "two.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "c.yaml").write_text("data: {path: two.json, split: {train: 1.0, test: 0.0}, cache: false}\n"
                                     "collate: {mask: prompt, allowed_max_length: 40}\n", encoding="utf-8")
    assert main(["stats", str(tmp_path / "c.yaml")]) == 0
    captured = capsys.readouterr()
    assert "tokenizing records: 100%|" in captured.err and "| 2/2 [" in captured.err  # tqdm's bar
    lines = captured.out.splitlines()
    gpt2, style = load_encoding("gpt2"), get_style("alpaca")
    rendered = [style.render(to_record(r)) for r in records]
    totals = [len(gpt2.encode_ordinary(r.text)) for r in rendered]
    responses = [len(gpt2.encode_ordinary(r.response_text)) for r in rendered]
    trained = (sum(responses) + 2) / sum(totals)  # response tokens and one end-of-text each
    assert lines[0] == "style 'alpaca', tokenizer 'gpt2', mask 'prompt', 2 records"
    train = lines[2].split()
    assert train[:2] == ["train", "2"]
    assert float(train[2]) == round(sum(totals) / 2, 1)
    assert train[5] == str(max(totals))
    assert train[8] == f"{trained:.1%}"
    assert train[9] == str(sum(t > 40 for t in totals))


def test_with_workers_batches_move_to_the_device_in_the_main_process(dataset_path):
    settings = config(dataset_path, collate={"device": "meta"}, loader={"num_workers": 2, "shuffle": False})
    loaders = build_dataloaders(settings)
    assert loaders.collator.device is None  # worker processes build CPU batches
    batch = next(iter(loaders.val))
    assert batch.inputs.device.type == batch.targets.device.type == "meta"
    single = build_dataloaders(config(dataset_path, collate={"device": "meta"}, loader={"shuffle": False}))
    assert single.collator.device == "meta" and next(iter(single.val)).inputs.device.type == "meta"
