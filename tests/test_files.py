"""``data.path`` as several files or a glob: read in a fixed order, built as the files joined end to end."""

from __future__ import annotations

import glob
import json
import os

import pytest

from promptstyles import DataError, RecordError
from promptstyles.config import load_config
from promptstyles.data.sources.files import expand_paths
from promptstyles.data.store.entries import store_folder
from promptstyles.pipeline import prepare_data

ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")
SIZES = (13, 14, 13)


def lines(raw_records, start, count, change=None):
    change = change or {}
    return "".join(json.dumps(change.get(i, raw_records[i])) + "\n" for i in range(start, start + count))


@pytest.fixture
def parts(tmp_path, raw_records):
    """Three JSONL files written in reverse name order, so a listing in creation order is not the sorted one,
    and the same records in one file."""
    folder = tmp_path / "parts"
    folder.mkdir()
    starts = [sum(SIZES[:i]) for i in range(len(SIZES))]
    for number in reversed(range(len(SIZES))):
        (folder / f"part-{number}.jsonl").write_text(lines(raw_records, starts[number], SIZES[number]))
    (tmp_path / "joined.jsonl").write_text(lines(raw_records, 0, sum(SIZES)))
    return folder


def build(path, cache, **data):
    return prepare_data({"data": {"path": path, "cache_dir": str(cache), **data}})


@pytest.mark.parametrize("form", ["glob", "list"])
def test_several_files_build_the_store_of_the_files_joined_byte_for_byte(parts, tmp_path, form):
    path = str(parts / "part-*.jsonl") if form == "glob" else [str(parts / f"part-{n}.jsonl") for n in range(3)]
    several = build(path, tmp_path / "several")
    joined = build(str(tmp_path / "joined.jsonl"), tmp_path / "joined")
    assert several.store.key == joined.store.key
    assert len(several.records) == sum(SIZES)
    for name in ARRAYS:
        mine = (store_folder(tmp_path / "several") / several.store.key / f"{name}.bin").read_bytes()
        theirs = (store_folder(tmp_path / "joined") / joined.store.key / f"{name}.bin").read_bytes()
        assert mine == theirs, name
    assert several.sizes == joined.sizes


def test_a_glob_is_read_in_sorted_order_and_a_list_in_the_order_given(parts, monkeypatch):
    listing = glob.glob
    monkeypatch.setattr(glob, "glob", lambda pattern: sorted(listing(pattern), reverse=True))  # the folder's order
    names = [path.name for path in expand_paths(str(parts / "part-*.jsonl"))]
    assert names == ["part-0.jsonl", "part-1.jsonl", "part-2.jsonl"]
    given = [str(parts / "part-2.jsonl"), str(parts / "part-0.jsonl")]
    assert [path.name for path in expand_paths(given)] == ["part-2.jsonl", "part-0.jsonl"]


def test_a_bad_record_is_named_by_its_file_and_its_index_there(parts, tmp_path, raw_records):
    bad = parts / "part-1.jsonl"
    bad.write_text(lines(raw_records, 13, 14, change={13 + 5: {"instruction": 1}}))
    with pytest.raises(RecordError, match=f"^{bad}, record 5, key 'instruction': expected a string, got int 1$"):
        build(str(parts / "part-*.jsonl"), tmp_path / "cache")
    assert not store_folder(tmp_path / "cache").exists()
    skipped = build(str(parts / "part-*.jsonl"), tmp_path / "cache", on_invalid="skip")
    assert [index for index, _ in skipped.skipped] == [13 + 5]
    assert len(skipped.records) == sum(SIZES) - 1


def test_a_pattern_that_matches_nothing_and_a_file_named_twice_are_errors(parts):
    with pytest.raises(DataError, match=f"^data.path: {parts}/nothing-\\*.jsonl matches no file; check the"):
        expand_paths(str(parts / "nothing-*.jsonl"))
    with pytest.raises(DataError, match=f"^data.path: {parts}/part-0.jsonl named more than once; each file"):
        expand_paths([str(parts / "part-*.jsonl"), str(parts / "part-0.jsonl")])


def test_streaming_reads_several_files_as_the_whole_build_reads_them(parts, tmp_path, raw_records):
    one = build(str(parts / "part-1.*"), tmp_path / "cache", streaming=True)
    assert len(one.records) == SIZES[1]
    (parts / "part-1.jsonl").write_text(lines(raw_records, 13, 14, change={13 + 5: {"instruction": 1}}))
    path = str(parts / "part-*.jsonl")
    streamed = build(path, tmp_path / "streamed", streaming=True, on_invalid="skip")
    whole = build(path, tmp_path / "whole", on_invalid="skip")
    assert streamed.skipped == whole.skipped and [index for index, _ in whole.skipped] == [13 + 5]
    assert list(streamed.records) == whole.records and len(whole.records) == sum(SIZES) - 1
    for name in ARRAYS:
        assert getattr(streamed.dataset, name).tolist() == getattr(whole.dataset, name).tolist(), name


def test_relative_paths_of_a_list_are_read_from_the_yaml_file(parts, tmp_path):
    file = tmp_path / "config.yaml"
    file.write_text("data:\n  path: [parts/part-0.jsonl, parts/part-1.jsonl]\n")
    config = load_config(str(file))
    assert config.data.path == (os.path.join(tmp_path, "parts/part-0.jsonl"),
                                os.path.join(tmp_path, "parts/part-1.jsonl"))
