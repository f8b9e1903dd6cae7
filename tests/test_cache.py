"""The tokenized-dataset cache: reused when nothing changed, rebuilt when anything did or it is damaged."""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import torch

from promptstyles import InstructionRecord, get_style, to_record
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.store.cache import dataset_key, load_dataset, save_dataset
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import build_dataloaders, prepare_data

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
    tokens = path / "tokens.bin"
    data = bytearray(tokens.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tokens.write_bytes(bytes(data))
    assert load_dataset("k" * 40, tmp_path) is None
    assert f"ignoring dataset cache {path}: tokens.bin does not match its checksum" in caplog.text
    assert load_dataset("missing", tmp_path) is None


def _size(entry):
    return sum(file.stat().st_size for file in entry.iterdir())


def _used(entry, when):
    os.utime(entry / "meta.json", (when, when))


def test_cache_can_be_turned_off(dataset_path, tmp_path):
    prepare_data({"data": {"path": str(dataset_path), "cache": False, "cache_dir": str(tmp_path)}})
    assert not (tmp_path / "datasets").exists()


def test_the_cache_keeps_to_its_size_limit_dropping_the_least_recently_used(tmp_path, monkeypatch):
    dataset = tokenize_records(RECORDS, get_style("alpaca"), get_tokenizer("gpt2"))
    first = save_dataset(dataset, "a" * 40, tmp_path)
    monkeypatch.setenv("PROMPTSTYLES_DATASET_CACHE_BYTES", str(2 * _size(first)))
    second = save_dataset(dataset, "b" * 40, tmp_path)
    _used(first, 1)
    _used(second, 2)
    assert load_dataset("a" * 40, tmp_path) is not None  # now the most recently used
    third = save_dataset(dataset, "c" * 40, tmp_path)
    assert sorted(p.name for p in third.parent.iterdir()) == [first.name, third.name]


def test_an_entry_whose_arrays_do_not_match_its_checksum_is_rebuilt(dataset_path, tmp_path, caplog):
    config = {"data": {"path": str(dataset_path), "cache_dir": str(tmp_path)}}
    first = prepare_data(config).dataset
    (path,) = (tmp_path / "datasets").iterdir()
    tokens = np.array(first.tokens)
    tokens[:5] = [1, 2, 3, 4, 5]
    (path / "tokens.bin").write_bytes(tokens.tobytes())  # same size, old checksum in the metadata
    key = path.name
    assert load_dataset(key, tmp_path) is None
    assert f"ignoring dataset cache {path}: tokens.bin does not match its checksum" in caplog.text
    rebuilt = prepare_data(config).dataset
    assert rebuilt.tokens.tolist() == first.tokens.tolist()
    assert load_dataset(key, tmp_path).tokens.tolist() == first.tokens.tolist()  # written again, whole


def test_a_relative_cache_dir_is_found_beside_the_yaml_file(dataset_path, tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "config.yaml").write_text(f"data: {{path: {dataset_path}, cache_dir: my-cache}}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    prepare_data(str(folder / "config.yaml"))
    assert len(list((folder / "my-cache" / "datasets").iterdir())) == 1
    assert list(elsewhere.iterdir()) == []


def _warnings(caplog):
    return [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]


def test_an_unwritable_cache_folder_is_reported_once_and_the_run_goes_on(dataset_path, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("a regular file where the cache folder should be")
    folder = blocker / "cache"
    config = {"data": {"path": str(dataset_path), "cache_dir": str(folder)}, "loader": {"shuffle": False}}
    batches = [next(iter(build_dataloaders(config).train)) for _ in range(2)]
    (warning,) = _warnings(caplog)
    assert warning.startswith(f"cannot write to the cache folder {folder} (") and "going on without" in warning
    uncached = {**config, "data": {"path": str(dataset_path), "cache": False}}
    expected = next(iter(build_dataloaders(uncached).train))
    for batch in batches:
        assert torch.equal(batch.inputs, expected.inputs) and torch.equal(batch.targets, expected.targets)


def test_a_cache_refusing_writes_is_reported_once(dataset_path, tmp_path, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    config = {"data": {"path": str(dataset_path), "cache_dir": str(tmp_path / "ro")}}
    for _ in range(2):
        assert len(build_dataloaders(config).train) > 0
    (warning,) = _warnings(caplog)
    assert f"cannot write to the cache folder {tmp_path / 'ro'} ([Errno 13] Permission denied" in warning


def test_a_read_only_cache_still_serves_its_entries(tmp_path, monkeypatch):
    dataset = tokenize_records(RECORDS, get_style("alpaca"), get_tokenizer("gpt2"))
    save_dataset(dataset, "k" * 40, tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "utime", refuse)
    assert load_dataset("k" * 40, tmp_path).tokens.tolist() == dataset.tokens.tolist()


def test_temporaries_of_interrupted_writes_are_removed_and_counted(tmp_path, monkeypatch):
    dataset = tokenize_records(RECORDS, get_style("alpaca"), get_tokenizer("gpt2"))
    first = save_dataset(dataset, "a" * 40, tmp_path)
    size = _size(first)
    folder = first.parent
    abandoned = folder / f".{'x' * 40}.abc123.tmp"
    abandoned.mkdir()
    (abandoned / "tokens.bin").write_bytes(b"\0" * 10 * size)
    for path in (abandoned / "tokens.bin", abandoned):
        os.utime(path, (time.time() - 3600,) * 2)
    running = folder / f".{'y' * 40}.def456.tmp"
    running.mkdir()
    os.utime(running, (time.time() - 3600,) * 2)  # created long ago, its file still growing
    (running / "tokens.bin").write_bytes(b"\0" * size)
    monkeypatch.setenv("PROMPTSTYLES_DATASET_CACHE_BYTES", str(int(2.5 * size)))
    _used(first, 1)
    second = save_dataset(dataset, "b" * 40, tmp_path)
    assert not abandoned.exists()  # left by a dead writer: gone
    assert sorted(p.name for p in folder.iterdir()) == [running.name, second.name]  # the live one counts


def test_one_token_changed_in_place_is_never_served(tmp_path, caplog):
    """A token changed inside a large store (same size, between sampled blocks) is caught on the next run,
    which rebuilds the entry: the data a run trains on is the data that was built."""
    from promptstyles.data.store.checksums import BLOCK_BYTES, SAMPLE_BLOCKS

    records = [{"instruction": f"Count {n}.", "input": "", "output": " ".join(["word"] * 1200)} for n in range(2000)]
    config = {"data": {"cache_dir": str(tmp_path), "split": {"train": 1.0, "test": 0.0}}}
    built = prepare_data(config, records=[to_record(r) for r in records]).dataset
    (entry,) = (tmp_path / "datasets").iterdir()
    tokens = np.memmap(entry / "tokens.bin", dtype=built.tokens.dtype, mode="r+")
    assert tokens.nbytes > SAMPLE_BLOCKS * BLOCK_BYTES
    position = (BLOCK_BYTES + 10) // tokens.itemsize
    original = int(tokens[position])
    tokens[position] = 1 if original != 1 else 2
    tokens.flush()
    del tokens
    again = prepare_data(config, records=[to_record(r) for r in records]).dataset
    assert f"ignoring dataset cache {entry}: tokens.bin does not match its checksum" in caplog.text
    assert int(again.tokens[position]) == original
    assert np.array_equal(np.asarray(again.tokens), np.asarray(built.tokens))
