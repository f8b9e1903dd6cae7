"""The dataset store: raw arrays memory-mapped on load, written atomically, and never used when damaged."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import torch

from promptstyles import get_style
from promptstyles.data.batches.collate import Collator
from promptstyles.data.batches.loaders import make_loader
from promptstyles.data.build.encoding import CHUNK_SIZE, tokenize_chunks
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.sources.loading import load_records
from promptstyles.data.store import entries
from promptstyles.data.store.checksums import BLOCK_BYTES, SAMPLE_BLOCKS
from promptstyles.data.store.entries import (
    StoreWriter,
    load_dataset,
    open_store,
    save_dataset,
    verify_store,
    write_store,
)
from promptstyles.data.tokenized import TokenizedDataset
from promptstyles.data.tokenizers import get_tokenizer

ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")
KEY = "k" * 40


@pytest.fixture(scope="module")
def whole(dataset_path):
    return tokenize_records(load_records(dataset_path).records, get_style("chatml"), get_tokenizer("gpt2"))


def test_an_entry_is_raw_files_and_loads_memory_mapped(tmp_path, whole):
    path = save_dataset(whole, KEY, tmp_path, {"style": "chatml"})
    assert sorted(p.name for p in path.iterdir()) == sorted([f"{name}.bin" for name in ARRAYS] + ["meta.json",
                                                                                                   "verified.json"])
    assert np.fromfile(path / "tokens.bin", dtype=np.uint16).tolist() == whole.tokens.tolist()
    assert np.fromfile(path / "run_ends.bin", dtype=np.int32).tolist() == whole.run_ends.tolist()
    meta = json.loads((path / "meta.json").read_text())["meta"]
    assert {name: (entry["dtype"], entry["length"]) for name, entry in meta["arrays"].items()} == {
        "tokens": ("<u2", len(whole.tokens)), "starts": ("<i8", len(whole)), "lengths": ("<i4", len(whole)),
        "run_ends": ("<i4", len(whole.run_ends)), "run_kinds": ("|u1", len(whole.run_kinds)),
        "run_offsets": ("<i8", len(whole) + 1),
    }
    assert (meta["key"], meta["eos_id"], meta["vocab_size"], meta["examples"], meta["info"]) == (
        KEY, 50256, 50257, 1100, {"style": "chatml"})
    loaded = load_dataset(KEY, tmp_path)
    for name in ARRAYS:
        array = getattr(loaded, name)
        assert isinstance(array, np.memmap) and not array.flags.writeable, name
        assert array.tolist() == getattr(whole, name).tolist(), name


def test_a_mapped_dataset_serves_items_subsets_spans_and_batches_unchanged(tmp_path, whole):
    save_dataset(whole, KEY, tmp_path)
    mapped = load_dataset(KEY, tmp_path)
    assert mapped[7].tolist() == whole[7].tolist() and mapped[7].dtype == np.int64
    indices = [3, 1099, 0, 512]
    subset, expected = mapped.select(indices), whole.select(indices)
    for name in ARRAYS:
        assert getattr(subset, name).tolist() == getattr(expected, name).tolist(), name
    for mode in ("prompt", "assistant", "last_assistant"):
        got, want = mapped.spans(mode), whole.spans(mode)
        for field in ("starts", "ends", "offsets"):
            assert getattr(got, field).tolist() == getattr(want, field).tolist(), (mode, field)
    collator = Collator(mask="assistant", allowed_max_length=64)
    got, want = collator(mapped.batch(indices)), collator(whole.batch(indices))
    assert torch.equal(got.inputs, want.inputs) and torch.equal(got.targets, want.targets)


def test_batches_read_a_mapped_dataset_through_plain_views_of_its_maps(tmp_path, whole):
    save_dataset(whole, KEY, tmp_path)
    mapped = load_dataset(KEY, tmp_path)
    indices = np.array([3, 1099, 0])
    tokens, starts, lengths = mapped.locate(indices)
    assert type(tokens) is np.ndarray and np.shares_memory(tokens, mapped.tokens)  # a view, not a copy
    assert (tokens.tolist(), starts.tolist(), lengths.tolist()) == (
        whole.tokens.tolist(), whole.starts[indices].tolist(), whole.lengths[indices].tolist())
    assert type(starts) is np.ndarray and type(lengths) is np.ndarray and mapped.plain("tokens") is tokens
    assert len(pickle.dumps(mapped)) < whole.tokens.nbytes // 4  # the views stay behind; the maps travel as paths
    other = load_dataset(KEY, tmp_path)
    mapped.tokens = other.tokens  # a replaced map is followed, not served from the old view
    assert np.shares_memory(mapped.plain("tokens"), other.tokens)
    assert not np.shares_memory(mapped.plain("tokens"), tokens)


def test_dataloader_workers_read_the_mapped_arrays(tmp_path, whole):
    save_dataset(whole, KEY, tmp_path)
    mapped = load_dataset(KEY, tmp_path)
    collator = Collator(mask="assistant")
    mapped.spans("assistant")
    loader = make_loader(mapped, collator, batch_size=8, shuffle=False, drop_last=False, num_workers=2)
    reference = make_loader(whole, collator, batch_size=8, shuffle=False, drop_last=False)
    for got, want in zip(loader, reference, strict=True):
        assert torch.equal(got.inputs, want.inputs) and torch.equal(got.targets, want.targets)


def test_a_pickled_dataset_maps_the_store_files_again_instead_of_copying_tokens(tmp_path, whole):
    save_dataset(whole, KEY, tmp_path)
    mapped = load_dataset(KEY, tmp_path).select([5, 2, 9])
    payload = pickle.dumps(mapped)
    assert len(payload) < whole.tokens.nbytes // 4  # the token buffer travels as its path
    copy = pickle.loads(payload)
    assert isinstance(copy.tokens, np.memmap) and str(copy.tokens.filename) == str(mapped.tokens.filename)
    assert [copy[i].tolist() for i in range(3)] == [whole[i].tolist() for i in (5, 2, 9)]
    loader = torch.utils.data.DataLoader(mapped, batch_sampler=[[0, 1]], collate_fn=Collator(), num_workers=1,
                                         multiprocessing_context="spawn")
    [batch] = list(loader)  # iterated to the end: the worker has exited
    assert torch.equal(batch.inputs, Collator()(whole.batch([5, 2])).inputs)
    in_memory = pickle.loads(pickle.dumps(whole))  # arrays not from a store are pickled as data
    assert in_memory[3].tolist() == whole[3].tolist() and not isinstance(in_memory.tokens, np.memmap)


def test_chunks_are_appended_with_their_offsets_into_one_entry(tmp_path, dataset_path, whole):
    records = load_records(dataset_path).records
    pieces = (records[first : first + 100] for first in range(0, len(records), 100))
    chunks = tokenize_chunks(pieces, get_style("chatml"), get_tokenizer("gpt2"))
    write_store(chunks, KEY, tmp_path)
    stored = load_dataset(KEY, tmp_path)
    for name in ARRAYS:
        assert getattr(stored, name).tolist() == getattr(whole, name).tolist(), name
    assert CHUNK_SIZE > 100  # the whole build above used one chunk, this one eleven


def test_a_reader_never_sees_an_entry_before_it_is_whole(tmp_path, whole):
    with StoreWriter(KEY, tmp_path) as writer:
        writer.append(whole.select(range(10)))
        assert open_store(KEY, tmp_path) is None and not (tmp_path / "datasets" / KEY).exists()
        writer.commit()
    assert len(load_dataset(KEY, tmp_path)) == 10
    with pytest.raises(RuntimeError), StoreWriter("other", tmp_path) as writer:
        writer.append(whole)
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == [KEY]  # no temporary left


def test_two_writers_racing_leave_one_whole_entry(tmp_path, whole):
    first, second = StoreWriter(KEY, tmp_path), StoreWriter(KEY, tmp_path)
    for writer in (first, second):
        writer.append(whole)
    path = first.commit()
    second.commit()
    assert sorted(p.name for p in path.parent.iterdir()) == [KEY]
    assert load_dataset(KEY, tmp_path).tokens.tolist() == whole.tokens.tolist()


def _damaged(tmp_path, whole, caplog, damage, message):
    path = save_dataset(whole, KEY, tmp_path)
    damage(path)
    assert load_dataset(KEY, tmp_path) is None
    assert f"ignoring dataset cache {path}: {message}" in caplog.text
    save_dataset(whole, KEY, tmp_path)  # what a rebuild does: the damaged entry is replaced
    assert load_dataset(KEY, tmp_path).tokens.tolist() == whole.tokens.tolist()
    assert sorted(p.name for p in path.parent.iterdir()) == [KEY]


def _flip(file, position):
    data = bytearray(file.read_bytes())
    data[position] ^= 0x01
    file.write_bytes(bytes(data))


def test_a_truncated_token_file_is_rebuilt(tmp_path, whole, caplog):
    size = 2 * len(whole.tokens)

    def truncate(path):
        with (path / "tokens.bin").open("r+b") as handle:
            handle.truncate(size - 2)

    _damaged(tmp_path, whole, caplog, truncate,
             f"tokens.bin has {size - 2} bytes, not {len(whole.tokens)} <u2 values")


@pytest.mark.parametrize("name", ["starts", "lengths", "run_ends", "run_kinds", "run_offsets", "tokens"])
def test_a_flipped_byte_in_any_array_is_rebuilt(tmp_path, whole, caplog, name):
    _damaged(tmp_path, whole, caplog, lambda path: _flip(path / f"{name}.bin", 5),
             f"{name}.bin does not match its checksum")


def test_damaged_metadata_is_rebuilt(tmp_path, whole, caplog):
    def edit(path):
        stored = json.loads((path / "meta.json").read_text())
        stored["meta"]["eos_id"] = 0
        (path / "meta.json").write_text(json.dumps(stored))

    _damaged(tmp_path, whole, caplog, edit, "its metadata does not match its checksum")


def test_unreadable_metadata_is_rebuilt(tmp_path, whole, caplog):
    _damaged(tmp_path, whole, caplog, lambda path: (path / "meta.json").write_text("{\"meta\": "),
             "Expecting value: line 1 column 10 (char 9)")


def _large(count=SAMPLE_BLOCKS * BLOCK_BYTES):
    """A dataset whose token file is larger than the sampled blocks together."""
    lengths = np.full(count // 64, 63, dtype=np.int32)
    starts = np.arange(len(lengths), dtype=np.int64) * 64
    tokens = (np.arange(len(lengths) * 64) % 50000).astype(np.uint16)
    tokens[starts + 63] = 50256
    return TokenizedDataset(tokens, starts, lengths, np.full(len(lengths), 63, dtype=np.int32),
                            np.full(len(lengths), 3, dtype=np.uint8), np.arange(len(lengths) + 1),
                            eos_id=50256, vocab_size=50257)


@pytest.fixture
def hashed(monkeypatch):
    """``(file name, sampled)`` of every checksum a load computes."""
    calls = []
    checksum = entries.checksum

    def spy(path, size, *, sample=False):
        calls.append((path.name, sample))
        return checksum(path, size, sample=sample)

    monkeypatch.setattr(entries, "checksum", spy)
    return calls


def _tokens_hashed(calls):
    found = [sample for name, sample in calls if name == "tokens.bin"]
    calls.clear()
    return "sampled" if found == [True] else "whole" if found == [False] else found


def test_a_changed_token_file_is_hashed_whole_on_the_next_load(tmp_path, caplog, hashed):
    """One token changed in place, between sampled blocks and with the size kept, is never served: the file's
    stamp no longer matches the last verification, so the load hashes it whole."""
    path = save_dataset(_large(), KEY, tmp_path)
    size = (path / "tokens.bin").stat().st_size
    assert size > SAMPLE_BLOCKS * BLOCK_BYTES
    hashed.clear()
    assert load_dataset(KEY, tmp_path) is not None
    assert _tokens_hashed(hashed) == "sampled"  # hashed whole as it was written
    _flip(path / "tokens.bin", BLOCK_BYTES + 10)  # between the first two sampled blocks
    assert (path / "tokens.bin").stat().st_size == size
    assert load_dataset(KEY, tmp_path) is None
    assert _tokens_hashed(hashed) == "whole"
    assert "tokens.bin does not match its checksum" in caplog.text
    assert load_dataset(KEY, tmp_path) is None  # still unverified: hashed whole again, not served
    assert _tokens_hashed(hashed) == "whole"
    assert verify_store(KEY, tmp_path) == "tokens.bin does not match its checksum"
    hashed.clear()
    _flip(path / "tokens.bin", BLOCK_BYTES + 10)
    assert load_dataset(KEY, tmp_path) is not None
    assert _tokens_hashed(hashed) == "whole"
    assert load_dataset(KEY, tmp_path) is not None
    assert _tokens_hashed(hashed) == "sampled"
    _flip(path / "tokens.bin", size - 1)  # in the last block
    assert load_dataset(KEY, tmp_path) is None


@pytest.mark.parametrize("record", ["", "{", "[]", '{"tokens.bin": {"checksum": "0", "stamp": "0"}}'])
def test_a_missing_or_foreign_verification_record_means_a_whole_hash(tmp_path, hashed, record):
    path = save_dataset(_large(), KEY, tmp_path)
    if record:
        (path / "verified.json").write_text(record)
    else:
        (path / "verified.json").unlink()
    hashed.clear()
    assert load_dataset(KEY, tmp_path) is not None
    assert _tokens_hashed(hashed) == "whole"
    assert load_dataset(KEY, tmp_path) is not None  # recorded again
    assert _tokens_hashed(hashed) == "sampled"


def test_a_replaced_token_file_of_equal_bytes_is_hashed_whole(tmp_path, hashed):
    """A new inode (a copy put in place) is another file, even with the same bytes and times."""
    path = save_dataset(_large(), KEY, tmp_path)
    file = path / "tokens.bin"
    status = file.stat()
    copy = path / "copy.tmp"
    copy.write_bytes(file.read_bytes())
    copy.replace(file)
    os.utime(file, ns=(status.st_atime_ns, status.st_mtime_ns))
    hashed.clear()
    assert load_dataset(KEY, tmp_path) is not None
    assert _tokens_hashed(hashed) == "whole"
