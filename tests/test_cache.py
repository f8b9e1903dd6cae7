"""The tokenized-dataset cache: reused when nothing changed, rebuilt when anything did or it is damaged."""

from __future__ import annotations

import numpy as np

from promptstyles import InstructionRecord, get_style
from promptstyles.data.cache import dataset_key, load_dataset, save_dataset
from promptstyles.data.encoding import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import prepare_data

RECORDS = [InstructionRecord("Add.", "1 2", "3"), InstructionRecord("Hi?", "", "Hello.")]


def test_a_second_build_loads_the_cached_arrays(dataset_path, tmp_path, caplog):
    caplog.set_level("INFO")
    config = {"data": {"path": str(dataset_path), "cache_dir": str(tmp_path)}}
    first = prepare_data(config).dataset
    assert len(list((tmp_path / "datasets").iterdir())) == 1
    assert "loaded tokenized dataset" not in caplog.text
    second = prepare_data(config).dataset
    assert "loaded tokenized dataset" in caplog.text
    for name in ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert second.spans("prompt").starts.tolist() == first.spans("prompt").starts.tolist()


def test_the_key_changes_with_records_style_options_and_tokenizer():
    tokenizer = get_tokenizer("gpt2")
    base = dataset_key(RECORDS, get_style("alpaca"), tokenizer, "text")
    assert dataset_key(list(RECORDS), get_style("alpaca"), get_tokenizer("gpt2"), "text") == base
    changed = [InstructionRecord("Add.", "1 2", "4"), RECORDS[1]]
    assert dataset_key(changed, get_style("alpaca"), tokenizer, "text") != base
    assert dataset_key(RECORDS, get_style("alpaca", system="Be brief."), tokenizer, "text") != base
    assert dataset_key(RECORDS, get_style("chatml"), tokenizer, "text") != base
    assert dataset_key(RECORDS, get_style("alpaca"), tokenizer, "extend") != base
    extended = get_tokenizer("gpt2", special_tokens=("<|im_start|>",))
    assert dataset_key(RECORDS, get_style("alpaca"), extended, "text") != base


def test_a_damaged_entry_is_ignored(tmp_path, caplog):
    dataset = tokenize_records(RECORDS, get_style("alpaca"), get_tokenizer("gpt2"))
    path = save_dataset(dataset, "k" * 40, tmp_path)
    assert load_dataset("k" * 40, tmp_path).tokens.tolist() == dataset.tokens.tolist()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert load_dataset("k" * 40, tmp_path) is None
    assert "ignoring" in caplog.text
    assert load_dataset("missing", tmp_path) is None


def test_cache_can_be_turned_off(dataset_path, tmp_path):
    prepare_data({"data": {"path": str(dataset_path), "cache": False, "cache_dir": str(tmp_path)}})
    assert not (tmp_path / "datasets").exists()


def test_the_cache_keeps_to_its_size_limit_dropping_the_least_recently_used(tmp_path, monkeypatch):
    import os

    dataset = tokenize_records(RECORDS, get_style("alpaca"), get_tokenizer("gpt2"))
    first = save_dataset(dataset, "a" * 40, tmp_path)
    size = first.stat().st_size
    monkeypatch.setenv("PROMPTSTYLES_DATASET_CACHE_BYTES", str(2 * size))
    second = save_dataset(dataset, "b" * 40, tmp_path)
    os.utime(first, (1, 1))
    os.utime(second, (2, 2))
    assert load_dataset("a" * 40, tmp_path) is not None  # now the most recently used
    third = save_dataset(dataset, "c" * 40, tmp_path)
    assert sorted(p.name for p in third.parent.iterdir()) == [first.name, third.name]
