"""``promptstyles build CONFIG``: the token store the other commands use, built or found and verified."""

from __future__ import annotations

import json
import re

import pytest

from promptstyles import get_style
from promptstyles.cli import main
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.sources.loading import load_records
from promptstyles.data.store import checksums, entries
from promptstyles.data.store.entries import store_folder, verify_store
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import prepare_data

COUNT = 40
TIME = r"\d+\.\d\d s"


@pytest.fixture
def config(tmp_path, raw_records):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(raw_records[index]) + "\n" for index in range(COUNT)), encoding="utf-8")

    def write(**data):
        file = tmp_path / "config.yaml"
        options = {"path": str(path), "cache_dir": str(tmp_path / "cache"), **data}
        file.write_text(json.dumps({"data": options}), encoding="utf-8")
        return file

    return write


def expected_tokens(path):
    records = load_records(str(path)).records
    return int(tokenize_records(records, get_style("alpaca"), get_tokenizer("gpt2")).lengths.sum())


def build(capsys, file):
    assert main(["build", str(file)]) == 0
    out, _ = capsys.readouterr()
    return out.splitlines()


@pytest.mark.parametrize("streaming", [False, True])
def test_build_reports_the_store_the_other_commands_then_find(config, tmp_path, capsys, streaming):
    file = config(streaming=streaming)
    first = build(capsys, file)
    data = prepare_data(str(file))  # what stats, batch and the loaders read
    assert data.store is not None and data.store.found
    path = store_folder(tmp_path / "cache") / data.store.key
    assert first[0] == f"store: {path} (built)"
    tokens = expected_tokens(tmp_path / "data.jsonl")
    assert first[1] == f"records: {COUNT}, tokens: {tokens} (style 'alpaca', tokenizer 'gpt2')"
    assert first[2] == "splits: " + ", ".join(f"{name} {size}" for name, size in data.sizes.items())
    assert re.fullmatch(f"time: tokenizer {TIME}, tokens {TIME}, split {TIME}", first[3])
    again = build(capsys, file)
    assert again[0] == f"store: {path} (found, verified whole)"
    assert again[1:3] == first[1:3]
    assert re.fullmatch(f"time: tokenizer {TIME}, tokens {TIME}, split {TIME}, verify {TIME}", again[3])


def test_a_found_store_damaged_past_the_quick_check_is_rebuilt(config, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(checksums, "SAMPLE_BLOCKS", 2)  # the quick check on opening reads the first and last bytes
    monkeypatch.setattr(checksums, "BLOCK_BYTES", 16)
    # a change the file system's stamp cannot see (within its timestamp resolution): only a whole hash finds it
    monkeypatch.setattr(checksums, "file_stamp", lambda path: "unchanged")
    monkeypatch.setattr(entries, "file_stamp", lambda path: "unchanged")
    file = config()
    first = build(capsys, file)
    key = prepare_data(str(file)).store.key
    tokens = store_folder(tmp_path / "cache") / key / "tokens.bin"
    damaged = bytearray(tokens.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    tokens.write_bytes(bytes(damaged))
    assert prepare_data(str(file)).store.found  # the quick check passes it
    again = build(capsys, file)
    assert again[0] == (f"store: {tokens.parent} (found damaged: tokens.bin does not match its checksum; rebuilt)")
    assert again[1:3] == first[1:3]
    assert re.fullmatch(f"time: tokenizer {TIME}, tokens {TIME}, split {TIME}, verify {TIME}, rebuild {TIME}",
                        again[3])
    assert verify_store(key, tmp_path / "cache") is None


def test_without_the_cache_nothing_is_kept(config, tmp_path, capsys):
    lines = build(capsys, config(cache=False))
    assert lines[0] == "store: not kept (data.cache is false): built in memory for this run"
    assert lines[1].startswith(f"records: {COUNT}, tokens: {expected_tokens(tmp_path / 'data.jsonl')} ")
    assert not (tmp_path / "cache").exists()
