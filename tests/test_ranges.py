"""Several JSONL files streamed as one input, and the same files read by workers in line-aligned byte ranges.

The ranges are run here by a serial engine (:func:`serial_ranges`, what a cluster's actors each do for their
ranges), so every property of the ranged build is checked without a cluster: the store is byte-equal to the
local streamed build, errors and the skipped list are the local build's, and the plan depends on the files alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_streaming import assert_same_arrays, jsonl

from promptstyles import DataError, RecordError, get_style
from promptstyles.data.build.ranged import encode_range
from promptstyles.data.build.streaming import stream_dataset
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.sources.files import load_files
from promptstyles.data.sources.ranges import ByteRange, plan_ranges, read_range
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.errors import ConfigError
from promptstyles.pipeline import prepare_data
from promptstyles.styles.alpaca import AlpacaStyle


class RefusingStyle(AlpacaStyle):
    """Alpaca that cannot render one record, as a style with a real limit would refuse it."""

    name = "alpaca-refusing"

    def parts(self, record, *, generation=False):
        if getattr(record, "instruction", "") == "refuse me":
            raise ValueError("this style cannot render 'refuse me'")
        return super().parts(record, generation=generation)


def serial_ranges(plan, style, tokenizer, **options):
    """A range engine in this process: each range read, parsed and encoded as an actor does it."""
    for byte_range in plan:
        yield encode_range(byte_range, style, tokenizer, **options)


def _files(tmp_path, raw_records, sizes, changes=None):
    changes = changes or {}
    return [jsonl(tmp_path, raw_records[i * 7:], size, name=f"part-{i}.jsonl", change=changes.get(i))
            for i, size in enumerate(sizes)]


def _store(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "verified.json"}


def _both(paths, tmp_path, style=None, **options):
    """The local streamed build and the ranged one of the same files: their results and their stores."""
    style = style or get_style("alpaca")
    built = {}
    for name, extra in (("local", {"chunk_size": 16}), ("ranged", {"ranges": serial_ranges, "range_bytes": 700})):
        built[name] = stream_dataset(paths, style, get_tokenizer("gpt2"), directory=tmp_path / name, **options,
                                     **extra)
    return built["local"], built["ranged"]


def test_ranges_start_at_line_starts_after_each_multiple_and_cover_the_file(tmp_path):
    path = tmp_path / "lines.jsonl"
    lines = [b"a" * 5 + b"\n", b"b" * 30 + b"\n", b"\n", b"c" * 3 + b"\n", b"d" * 9]  # no newline at the end
    path.write_bytes(b"".join(lines))
    ends = [6, 37, 38, 42, 51]  # where each line ends
    plan = plan_ranges([path], 10)
    # multiples 10, 20, 30 fall in the long line: one boundary after it (37); 40 in "ccc\n" -> 42; 50 -> none
    assert [(r.start, r.end) for r in plan] == [(0, 37), (37, 42), (42, 51)]
    assert all(r.file == 0 and r.path == str(path) and r.location == str(path.resolve()) for r in plan)
    assert plan_ranges([path], 10) == plan and ends[-1] == path.stat().st_size
    # 6 -> 6; 12 to 36 -> 37; 42 -> 42 (no multiple of 6 lies in 37-38, so the blank line starts no range)
    assert [(r.start, r.end) for r in plan_ranges([path], 6)] == [(0, 6), (6, 37), (37, 42), (42, 51)]
    assert [(r.start, r.end) for r in plan_ranges([path], 1000)] == [(0, 51)]
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert [(r.file, r.start) for r in plan_ranges([empty, path], 1000)] == [(1, 0)]


def test_a_range_s_lines_are_numbered_from_the_bases_given_as_a_file_read_numbers_them(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n  \n{"b": "\xc3\xa9"} \r {"c": 3}\n{"d": 4}')
    whole, count = read_range(ByteRange(0, "x.jsonl", str(path), 0, path.stat().st_size), 1, 0)
    assert count == 5  # a lone \r does not end a line, as in a file read line by line
    assert whole.texts == ['{"a": 1}', '{"b": "é"} \r {"c": 3}', '{"d": 4}']
    assert (whole.numbers, whole.starts) == ([1, 4, 5], [3, 17, 40])  # the byte order mark is not the record's
    tail, count = read_range(ByteRange(0, "x.jsonl", str(path), 17, path.stat().st_size), 41, 7)
    assert (tail.numbers, tail.starts, tail.first_index, count) == ([41, 42], [17, 40], 7, 2)
    with pytest.raises(DataError, match=r"^x.jsonl: invalid JSON at line 41, column 14: Extra data"):
        tail.parse(None, "error")
    # Only the file's own first bytes are a byte order mark to step over, not a range's (numbered 1 by a worker).
    path.write_bytes(b'{"a": 1}\n\xef\xbb\xbf{"b": 2}\n')
    later, _ = read_range(ByteRange(0, "x.jsonl", str(path), 9, path.stat().st_size), 1, 0)
    assert (later.texts, later.starts) == (['{"b": 2}'], [9])


def test_several_files_stream_as_one_input_equal_to_reading_them_whole(tmp_path, raw_records):
    paths = _files(tmp_path, raw_records, [40, 25, 33])
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    built = stream_dataset(paths, style, tokenizer, directory=tmp_path, chunk_size=16)
    whole = load_files([str(path) for path in paths])
    assert_same_arrays(built.dataset, tokenize_records(whole.records, style, tokenizer))
    assert list(built.records) == whole.records and len(built.records) == 98
    assert built.records[45] == whole.records[45] and built.records[97] == whole.records[97]
    assert built.source == ", ".join(map(str, paths))
    again = stream_dataset(paths, style, tokenizer, directory=tmp_path, chunk_size=16)
    assert again.found and list(again.records) == whole.records
    assert stream_dataset(paths[::-1], style, tokenizer, directory=tmp_path).key != built.key  # order is content


@pytest.mark.parametrize("sizes", [[60], [40, 25, 33]])
def test_ranges_read_by_workers_give_the_local_store_byte_for_byte(tmp_path, raw_records, sizes):
    paths = _files(tmp_path, raw_records, sizes)
    local, ranged = _both(paths, tmp_path)
    assert len(plan_ranges(paths, 700)) > 2 * len(paths)
    assert_same_arrays(ranged.dataset, local.dataset)
    assert _store(tmp_path / "ranged") == _store(tmp_path / "local") != {}
    assert list(ranged.records) == list(local.records)


def test_records_skipped_in_ranges_are_the_local_build_s_numbered_in_the_whole_input(tmp_path, raw_records):
    changes = {0: {3: {"instruction": "x"}}, 1: {0: {"output": "y"}, 20: {}}, 2: {32: {"input": "z"}}}
    paths = _files(tmp_path, raw_records, [40, 25, 33], changes)
    local, ranged = _both(paths, tmp_path, on_invalid="skip")
    assert [index for index, _ in local.skipped] == [3, 40, 60, 97]
    assert local.skipped[1] == (40, f"{paths[1]}, record 0, key 'instruction': missing key")
    assert ranged.skipped == local.skipped
    assert _store(tmp_path / "ranged") == _store(tmp_path / "local")


@pytest.mark.parametrize(("file", "index", "record", "error", "message"), [
    (2, 20, '{"instruction": "cut', DataError, r"part-2.jsonl: invalid JSON at line 21, column 17: Unterminated"),
    (1, 24, '{"instruction": "x"}', RecordError, r"part-1.jsonl, record 24, key 'output': missing key$"),
    (2, 30, '{"instruction": "refuse me", "output": "no"}', RecordError,
     r"part-1.jsonl, \S+part-2.jsonl, record 95: style 'alpaca-refusing' from module"),  # as load_files names it
])
def test_a_bad_record_in_a_range_gives_the_local_build_s_error(tmp_path, raw_records, file, index, record, error,
                                                                message):
    paths = _files(tmp_path, raw_records, [40, 25, 33])
    lines = paths[file].read_text(encoding="utf-8").splitlines(keepends=True)
    lines[index] = record + "\n"
    paths[file].write_text("".join(lines), encoding="utf-8")
    errors = []
    for extra in ({"chunk_size": 16}, {"ranges": serial_ranges, "range_bytes": 700}):
        with pytest.raises(error, match=message) as raised:
            stream_dataset(paths, RefusingStyle(), get_tokenizer("gpt2"), directory=tmp_path, **extra)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]
    assert not list((tmp_path / "datasets").rglob("meta.json"))


def test_an_empty_file_among_several_is_named_by_both_builds(tmp_path, raw_records):
    paths = _files(tmp_path, raw_records, [10, 0, 10])
    for extra in ({}, {"ranges": serial_ranges, "range_bytes": 700}):
        with pytest.raises(DataError, match=f"^{paths[1]}: the dataset has no records$"):
            stream_dataset(paths, get_style("alpaca"), get_tokenizer("gpt2"), directory=tmp_path, **extra)


def test_a_config_streams_a_glob_and_refuses_a_json_array_among_its_files(tmp_path, raw_records):
    _files(tmp_path, raw_records, [30, 20])
    prepared = prepare_data({"data": {"path": str(tmp_path / "part-*.jsonl"), "streaming": True,
                                      "cache_dir": str(tmp_path / "cache"), "split": {"train": 1.0, "test": 0.0}}})
    assert len(prepared.dataset) == 50
    array = tmp_path / "part-9.jsonl"
    array.write_text(json.dumps(raw_records[:3]), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^data.streaming: {array} is a JSON array, which is read whole"):
        prepare_data({"data": {"path": str(tmp_path / "part-*.jsonl"), "streaming": True}})


def _parquet(path, records, row_group_size):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    pq.write_table(pa.Table.from_pylist(records), path, row_group_size=row_group_size)
    return path


def test_parquet_files_are_read_by_row_group_as_their_records_read_whole(tmp_path, raw_records):
    chat = [{"messages": [{"role": "user", "content": f"Say {i}."}, {"role": "assistant", "content": str(i)}]}
            for i in range(30)]
    paths = [_parquet(tmp_path / "a.parquet", raw_records[:50], 16), _parquet(tmp_path / "b.parquet", chat, 7),
             jsonl(tmp_path, raw_records[50:], 20, name="c.jsonl")]
    plan = plan_ranges(paths, 700)
    assert [(r.file, r.group, r.start, r.end) for r in plan[:5]] == [
        (0, 0, 0, 16), (0, 1, 16, 32), (0, 2, 32, 48), (0, 3, 48, 50), (1, 0, 0, 7)]
    style, tokenizer = get_style("chatml"), get_tokenizer("gpt2")
    local, ranged = _both(paths, tmp_path, style=style)
    whole = load_files([str(path) for path in paths])
    assert_same_arrays(local.dataset, tokenize_records(whole.records, style, tokenizer))
    assert _store(tmp_path / "ranged") == _store(tmp_path / "local")
    assert list(ranged.records) == whole.records and ranged.records[60] == whole.records[60] == whole.records[60]
    assert local.records.offsets[48:52].tolist() == [48, 49, 0, 1]  # a Parquet record is found by its row


def test_a_bad_parquet_row_is_named_by_its_row_and_skipped_as_the_whole_read_skips_it(tmp_path, raw_records):
    records = [dict(record) for record in raw_records[:40]]
    records[21]["output"] = None
    path = _parquet(tmp_path / "a.parquet", records, 8)
    for extra in ({}, {"ranges": serial_ranges, "range_bytes": 700}):
        with pytest.raises(RecordError, match=f"^{path}, record 21, key 'output': missing key$"):
            stream_dataset([path], get_style("alpaca"), get_tokenizer("gpt2"), directory=tmp_path, **extra)
    local, ranged = _both([path], tmp_path, on_invalid="skip")
    assert local.skipped == ranged.skipped == load_files(str(path), on_invalid="skip").skipped != []
    assert [index for index, _ in local.skipped] == [21] and len(local.dataset) == 39


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *args: (
        (_ for _ in ()).throw(ImportError(name)) if name.startswith("pyarrow") else real(name, *args)))
    with pytest.raises(DataError, match=r"^reading Parquet needs pyarrow; install it with pip install "
                                        r"'promptstyles\[parquet\]'$"):
        load_files(str(tmp_path / "a.parquet"))


def test_a_file_s_key_hashes_it_in_blocks_wherever_they_are_hashed(tmp_path, raw_records, monkeypatch):
    from promptstyles.data.store import cache

    monkeypatch.setattr(cache, "HASH_BLOCK", 1000)
    path = jsonl(tmp_path, raw_records, 30)
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    asked = []

    def elsewhere(blocks):
        asked.extend(blocks)
        return [cache.block_digest(*block) for block in blocks]

    key = cache.file_key([path], {}, style, tokenizer, "text")
    assert cache.file_key([path], {}, style, tokenizer, "text", elsewhere) == key
    size = path.stat().st_size
    assert asked == [(str(path.resolve()), start, min(start + 1000, size)) for start in range(0, size, 1000)]
    data = bytearray(path.read_bytes())
    data[size - 5] = ord("X")  # one byte of the last block
    path.write_bytes(bytes(data))
    assert cache.file_key([path], {}, style, tokenizer, "text") != key
