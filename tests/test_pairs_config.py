"""Preference data through the config and the pipeline: detected or declared, pair batches for every style."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_pairs import PAIRS, STYLES

from promptstyles import ConfigError, DataError, RecordError, get_style, get_tokenizer
from promptstyles.cli import main
from promptstyles.config import load_config
from promptstyles.data.batches.pairs import PairCollator
from promptstyles.data.build.pairs import tokenize_pairs
from promptstyles.pipeline import build_dataloaders, prepare_data

SPLIT = {"train": 0.5, "test": 0.25, "shuffle": False}


def write(path: Path, records: list[dict]) -> str:
    path.write_text("\n".join(json.dumps(record) for record in records), encoding="utf-8")
    return str(path)


def pair_records(count: int) -> list[dict]:
    """``count`` pairs of every shape in turn, each with its own prompt."""
    out = []
    for index in range(count):
        raw = json.loads(json.dumps(PAIRS[index % len(PAIRS)]))
        if "instruction" in raw:
            raw["instruction"] += f" #{index}"
        else:
            raw["chosen"][0]["content"] += f" #{index}"
            if "prompt" in raw:
                raw["prompt"][0]["content"] += f" #{index}"
            else:
                raw["rejected"][0]["content"] += f" #{index}"
        out.append(raw)
    return out


@pytest.mark.parametrize("name", STYLES)
def test_a_config_with_preference_records_gives_pair_batches_for_every_style(name, tmp_path):
    records = pair_records(8)
    path = write(tmp_path / "pairs.jsonl", records)
    loaders = build_dataloaders({"style": name, "data": {"path": path, "cache": False, "split": SPLIT},
                                 "loader": {"batch_size": 2, "shuffle": False}})
    assert loaders.data.preference and loaders.data.sizes == {"train": 4, "val": 2, "test": 2}
    gpt2 = get_tokenizer("gpt2")
    direct = tokenize_pairs(records, get_style(name), gpt2)
    collate = PairCollator(pad_token_id=gpt2.eos_id, mask="prompt")
    batches = list(loaders.train) + list(loaders.test) + list(loaders.val)  # the split's order of records
    assert len(batches) == 4
    for first, batch in zip(range(0, 8, 2), batches, strict=True):
        expected = collate(direct.batch([first, first + 1]))
        assert sorted(batch) == sorted(expected)
        for key, tensor in expected.items():
            assert torch.equal(batch[key], tensor), key
        prompt = batch["prompt_length"]
        for side in ("chosen", "rejected"):
            before = torch.arange(batch[f"{side}_labels"].shape[1]) < prompt[:, None]
            assert (batch[f"{side}_labels"][before] == -100).all()  # a pair's prompt is never trained
            assert ((batch[f"{side}_labels"] != -100).sum(dim=1) > 0).all()


def test_alpaca_preference_file_detected_and_batched_exactly(tmp_path):
    path = write(tmp_path / "pairs.json", [{"instruction": "Say hi", "input": "", "chosen": "Hi there",
                                            "rejected": "No"}] * 2)
    loaders = build_dataloaders({"data": {"path": path, "cache": False, "split": {"train": 1.0, "test": 0.0}},
                                 "loader": {"batch_size": 2, "shuffle": False}})
    batch = next(iter(loaders.train))
    assert batch["prompt_length"].tolist() == [32, 32]
    assert batch["chosen_input_ids"][0, 32:].tolist() == [17250, 612, 50256]  # "Hi there", end-of-text
    assert batch["rejected_input_ids"][0, 32:].tolist() == [2949, 50256, 50256]  # "No", end-of-text, pad
    assert batch["chosen_labels"][0].tolist() == [-100] * 32 + [17250, 612, 50256]
    assert batch["rejected_labels"][0].tolist() == [-100] * 32 + [2949, 50256, -100]
    assert batch["rejected_attention_mask"][0].tolist() == [1] * 34 + [0]


def test_truncation_mode_and_drop_overlong_come_from_the_config(tmp_path):
    records = [{"instruction": "Add", "input": "1+1", "chosen": "2", "rejected": "It is three."},
               {"instruction": "Say hi", "input": "", "chosen": "Hi there", "rejected": "No"}]
    path = write(tmp_path / "pairs.jsonl", records)
    base = {"data": {"path": path, "cache": False, "split": {"train": 1.0, "test": 0.0}},
            "loader": {"batch_size": 1, "shuffle": False, "drop_last": False}}
    keep_end = build_dataloaders({**base, "collate": {"allowed_max_length": 40, "truncation_mode": "keep_end"}})
    batch = next(iter(keep_end.train))
    # rejected: 40 prompt + 4 answer + end-of-text = 45 tokens, so 5 prompt tokens go from both rows
    assert batch["prompt_length"].tolist() == [35]
    assert batch["rejected_labels"][0, 35:].tolist() == [1026, 318, 1115, 13, 50256]
    with pytest.raises(DataError, match=r"pair 0: its prompt of 40 tokens .*drop_overlong"):
        build_dataloaders({**base, "collate": {"allowed_max_length": 40}})
    dropped = build_dataloaders({**base, "collate": {"allowed_max_length": 40, "drop_overlong": True}})
    assert dropped.data.dropped == {"train": 1}
    assert [b["prompt_length"].tolist() for b in dropped.train] == [[32]]


def test_declared_kind_overrides_detection(tmp_path):
    path = write(tmp_path / "pairs.jsonl", pair_records(3))
    with pytest.raises(RecordError, match="record 0.*'output'"):
        build_dataloaders({"data": {"path": path, "cache": False, "kind": "instruction"}})
    alpaca = write(tmp_path / "sft.jsonl", [{"instruction": "a", "input": "", "output": "b"}] * 4)
    with pytest.raises(RecordError, match="record 0.*'chosen'"):
        build_dataloaders({"data": {"path": alpaca, "cache": False, "kind": "preference"}})
    loaders = build_dataloaders({"data": {"path": alpaca, "cache": False, "split": {"train": 1.0, "test": 0.0}},
                                 "loader": {"batch_size": 2}})
    assert not loaders.data.preference and loaders.example_collator is loaders.collator


def test_a_later_record_without_a_pair_is_named(tmp_path):
    path = write(tmp_path / "mixed.jsonl", [*pair_records(2), {"instruction": "a", "input": "", "output": "b"}])
    with pytest.raises(RecordError, match="record 2.*'chosen'"):
        build_dataloaders({"data": {"path": path, "cache": False}})


@pytest.mark.parametrize(("settings", "path", "words"), [
    ({"collate": {"truncation_mode": "keep_middle"}}, "collate.truncation_mode", "keep_start"),
    ({"data": {"kind": "pairs"}}, "data.kind", "preference"),
    ({"data": {"kind": "preference"}, "collate": {"packing": True, "allowed_max_length": 64}}, "collate.packing",
     "not packed"),
    ({"data": {"kind": "preference"}, "collate": {"mask": "assistant"}}, "collate.mask", "earlier assistant"),
    ({"data": {"kind": "preference", "path": "x.jsonl", "streaming": True}}, "data.streaming", "read whole"),
    ({"data": {"kind": "preference", "fields": {"output": "chosen"}}}, "data.fields", "own keys"),
])
def test_preference_settings_that_cannot_work_name_their_key(tmp_path, settings, path, words):
    file = tmp_path / "config.yaml"
    import yaml

    file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    with pytest.raises(ConfigError, match=words) as caught:
        load_config(file)
    assert caught.value.path == path and caught.value.line is not None


def test_detected_pairs_check_the_collate_settings_too(tmp_path):
    path = write(tmp_path / "pairs.jsonl", pair_records(3))
    with pytest.raises(ConfigError, match="not packed.*preference pairs") as caught:
        build_dataloaders({"data": {"path": path, "cache": False},
                           "collate": {"packing": True, "allowed_max_length": 64}})
    assert caught.value.path == "collate.packing"


def test_pairs_through_the_store_equal_a_fresh_build(tmp_path):
    path = write(tmp_path / "pairs.jsonl", pair_records(6))
    config = {"style": "chatml", "data": {"path": path, "cache_dir": str(tmp_path / "cache"), "split": SPLIT},
              "loader": {"batch_size": 3, "shuffle": False}}
    built, stored = build_dataloaders(config), build_dataloaders(config)
    assert isinstance(stored.data.dataset.tokens, np.memmap)
    fresh = build_dataloaders({**config, "data": {**config["data"], "cache": False}})
    for one, two in zip(list(built.train) + list(stored.train), list(fresh.train) * 2, strict=True):
        assert all(torch.equal(one[key], two[key]) for key in two)


def test_pairs_from_several_files_build_the_store_of_the_files_joined(tmp_path):
    records = pair_records(8)
    folder = tmp_path / "parts"
    folder.mkdir()
    write(folder / "part-1.jsonl", records[5:])  # written first, read second: a glob reads in sorted order
    write(folder / "part-0.jsonl", records[:5])
    joined = write(tmp_path / "joined.jsonl", records)
    config = {"style": "chatml", "data": {"split": SPLIT}, "loader": {"batch_size": 2, "shuffle": False}}
    several = build_dataloaders({**config, "data": {**config["data"], "path": str(folder / "part-*.jsonl"),
                                                    "cache_dir": str(tmp_path / "several")}})
    one = build_dataloaders({**config, "data": {**config["data"], "path": joined,
                                                "cache_dir": str(tmp_path / "one")}})
    assert several.data.preference and several.data.store.key == one.data.store.key
    assert several.data.sizes == one.data.sizes == {"train": 4, "val": 2, "test": 2}
    for mine, theirs in zip(several.train, one.train, strict=True):
        assert all(torch.equal(mine[key], theirs[key]) for key in theirs)
    write(folder / "part-1.jsonl", [*records[5:7], {"prompt": "no answers"}])
    with pytest.raises(RecordError, match=r"part-1\.jsonl.*record 2"):
        build_dataloaders({**config, "data": {**config["data"], "path": str(folder / "part-*.jsonl"),
                                              "cache": False}})


def test_a_pair_build_reports_its_store_entry_and_timings(tmp_path):
    path = write(tmp_path / "pairs.jsonl", pair_records(6))
    config = {"data": {"path": path, "cache_dir": str(tmp_path / "cache"), "split": SPLIT}}
    built, found = prepare_data(config), prepare_data(config)
    assert built.store is not None and not built.store.found
    assert found.store is not None and found.store.found and found.store.key == built.store.key
    assert list(found.timings) == ["tokenizer", "tokens", "split"] and found.size == 6
    assert prepare_data({"data": {**config["data"], "cache": False}}).store is None


def test_streaming_detected_pairs_is_an_error_naming_data_streaming(tmp_path):
    path = write(tmp_path / "pairs.jsonl", pair_records(3))
    with pytest.raises(ConfigError, match="preference pairs.*data.streaming: false") as caught:
        prepare_data({"data": {"path": path, "streaming": True}})
    assert caught.value.path == "data.streaming"


def test_one_example_per_assistant_turn_is_no_setting_for_pairs(tmp_path):
    with pytest.raises(ConfigError, match="data.turns: whole") as declared:
        load_config({"data": {"kind": "preference", "turns": "per_assistant"}})
    assert declared.value.path == "data.turns"
    path = write(tmp_path / "pairs.jsonl", pair_records(3))
    with pytest.raises(ConfigError, match="data.turns: whole") as detected:
        prepare_data({"data": {"path": path, "cache": False, "turns": "per_assistant"}})
    assert detected.value.path == "data.turns"


def test_the_data_commands_read_preference_configs(tmp_path, capsys):
    path = write(tmp_path / "pairs.jsonl", pair_records(8))
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"data": {"path": path, "cache_dir": str(tmp_path / "cache"), "split": SPLIT},
                                  "loader": {"batch_size": 2}}), encoding="utf-8")
    assert main(["validate", str(config)]) == 0
    assert "8 preference pairs from" in capsys.readouterr().out
    assert main(["build", str(config)]) == 0
    out = capsys.readouterr().out
    assert "(built)" in out and "preference pairs: 8 (16 rows)" in out and "splits: train 4, val 2, test 2" in out
    assert main(["stats", str(config)]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["batch", str(config)]) != 0
    assert "data.kind" in capsys.readouterr().err
