"""Streaming builds: a JSONL file read and tokenized in chunks into the store, with memory that stays flat."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from shared_paths import MODELS

from promptstyles import ConfigError, DataError, RecordError, get_style
from promptstyles.cli import main
from promptstyles.data.build.overlap import tokenize_chunks_overlapped
from promptstyles.data.build.streaming import stream_dataset
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.sources.file_records import FileRecords
from promptstyles.data.sources.loading import load_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import prepare_data

ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")


def jsonl(tmp_path, raw_records, count, name="data.jsonl", change=None):
    """``count`` records cycled from the shared dataset, one per line; ``change`` maps an index to a record."""
    change = change or {}
    path = tmp_path / name
    with path.open("w", encoding="utf-8") as handle:
        for index in range(count):
            handle.write(json.dumps(change.get(index, raw_records[index % len(raw_records)])) + "\n")
    return path


def assert_same_arrays(streamed, whole):
    for name in ARRAYS:
        assert getattr(streamed, name).tolist() == getattr(whole, name).tolist(), name
    assert (streamed.eos_id, streamed.vocab_size) == (whole.eos_id, whole.vocab_size)


@pytest.mark.parametrize("style", ["alpaca", "chatml"])
def test_a_streamed_store_equals_the_whole_build_array_for_array(tmp_path, raw_records, style):
    path = jsonl(tmp_path, raw_records, 300)
    built = stream_dataset(path, get_style(style), get_tokenizer("gpt2"), directory=tmp_path, chunk_size=64)
    records = load_records(path).records
    whole = tokenize_records(records, get_style(style), get_tokenizer("gpt2"))
    assert_same_arrays(built.dataset, whole)
    assert isinstance(built.dataset.tokens, np.memmap) and isinstance(built.dataset.starts, np.memmap)
    assert isinstance(built.records, FileRecords)
    assert len(built.records) == 300 and list(built.records) == records
    assert built.records[299] == built.records[-1] == records[299] and built.records[5:8] == records[5:8]
    with pytest.raises(IndexError):
        built.records[300]


def test_chunks_read_ahead_on_a_helper_thread_keep_each_record_s_line_offset_and_the_progress(tmp_path, raw_records):
    pytest.importorskip("tokenizers")
    style, tokenizer = get_style("qwen2.5"), get_tokenizer(path=MODELS / "qwen2.5-7b-instruct")
    invalid = {50: {}, 51: {}}  # skipped records leave a chunk short: offsets must still match
    path = jsonl(tmp_path, raw_records, 300, change=invalid)
    calls = []
    built = stream_dataset(path, style, tokenizer, directory=tmp_path, chunk_size=64, on_invalid="skip",
                           tokenize=tokenize_chunks_overlapped, progress=lambda done, total: calls.append(done))
    records = load_records(path, on_invalid="skip").records
    assert_same_arrays(built.dataset, tokenize_records(records, style, tokenizer))
    assert [index for index, _ in built.skipped] == [50, 51]
    lines = path.read_bytes().splitlines(keepends=True)
    starts = np.cumsum([0] + [len(line) for line in lines])
    valid = [i for i in range(300) if i not in invalid]
    assert built.records.offsets.tolist() == [int(starts[i]) for i in valid]
    assert list(built.records) == records
    assert calls == [int(starts[end]) for end in (64, 128, 192, 256, 300)]  # each chunk of 64 lines ends


def test_the_pipeline_streams_with_data_streaming_and_maps_the_store_the_second_time(
        tmp_path, raw_records, monkeypatch):
    path = jsonl(tmp_path, raw_records, 200)
    config = {"data": {"path": str(path), "streaming": True, "cache_dir": str(tmp_path / "cache")}}
    streamed = prepare_data(config)
    whole = prepare_data({"data": {"path": str(path), "cache": False}})
    assert_same_arrays(streamed.dataset, whole.dataset)
    for split in ("train", "val", "test"):
        assert streamed.splits[split].positions.tolist() == whole.splits[split].positions.tolist()
    assert list(streamed.records) == whole.records
    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr("promptstyles.data.build.streaming.read_record_chunks", no_reading)
    again = prepare_data(config)
    assert_same_arrays(again.dataset, whole.dataset)
    (entry,) = (tmp_path / "cache" / "datasets").iterdir()
    assert json.loads((entry / "meta.json").read_text())["meta"]["info"]["source"] == str(path)


def test_a_streamed_build_reports_progress_in_bytes_of_the_file(tmp_path, raw_records, capsys, monkeypatch):
    from promptstyles import progress

    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)  # the bar of so short a build drawn all the same
    path = jsonl(tmp_path, raw_records, 300)
    calls = []
    stream_dataset(path, get_style("alpaca"), get_tokenizer("gpt2"), directory=tmp_path, chunk_size=64,
                   progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    lines = path.read_bytes().splitlines(keepends=True)
    assert calls == [(sum(map(len, lines[:end])), size) for end in (64, 128, 192, 256, 300)]
    (tmp_path / "c.yaml").write_text(f"data: {{path: {path}, streaming: true, cache_dir: {tmp_path / 'c'}}}\n",
                                     encoding="utf-8")
    assert main(["stats", str(tmp_path / "c.yaml")]) == 0
    assert "tokenizing: 100%|" in capsys.readouterr().err  # tqdm's bar over the file's bytes


def test_without_the_cache_the_store_is_built_in_a_scratch_folder_and_nothing_stays(tmp_path, raw_records):
    path = jsonl(tmp_path, raw_records, 50)
    data = prepare_data({"data": {"path": str(path), "streaming": True, "cache": False,
                                  "cache_dir": str(tmp_path / "cache")}})
    assert len(data.dataset) == 50 and isinstance(data.dataset.tokens, np.memmap)
    assert not (tmp_path / "cache").exists()
    assert data.dataset[49].tolist() == tokenize_records(load_records(path).records, get_style("alpaca"),
                                                         get_tokenizer("gpt2"))[49].tolist()


def test_a_changed_file_gets_a_new_key(tmp_path, raw_records):
    path = jsonl(tmp_path, raw_records, 20)
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    first = stream_dataset(path, style, tokenizer, directory=tmp_path)
    jsonl(tmp_path, raw_records, 20, change={19: {"instruction": "Other.", "output": "Changed."}})
    second = stream_dataset(path, style, tokenizer, directory=tmp_path)
    assert len(list((tmp_path / "datasets").iterdir())) == 2
    assert second.records[19].output == "Changed." and first.dataset.tokens.tolist() != second.dataset.tokens.tolist()
    assert len(list((tmp_path / "datasets").iterdir())) == 2
    stream_dataset(path, style, tokenizer, directory=tmp_path, fields={"output": "output"})  # other options
    assert len(list((tmp_path / "datasets").iterdir())) == 3


def test_an_invalid_record_in_a_late_chunk_is_named_and_leaves_no_entry(tmp_path, raw_records):
    path = jsonl(tmp_path, raw_records, 300, change={250: {"instruction": "No answer."}})
    with pytest.raises(RecordError, match=f"^{path}, record 250, key 'output': missing key$"):
        stream_dataset(path, get_style("alpaca"), get_tokenizer("gpt2"), directory=tmp_path, chunk_size=64)
    assert list((tmp_path / "datasets").iterdir()) == []  # the temporary went with the error


def test_invalid_json_in_a_late_chunk_names_its_line(tmp_path, raw_records):
    path = jsonl(tmp_path, raw_records, 300)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(200, "\n")
    lines[271] = '{"instruction": "cut\n'
    path.write_text("".join(lines), encoding="utf-8")
    message = f"{path}: invalid JSON at line 272, column 17: Unterminated string starting at"
    with pytest.raises(DataError) as whole:
        load_records(path)
    with pytest.raises(DataError) as streamed:
        stream_dataset(path, get_style("alpaca"), get_tokenizer("gpt2"), directory=tmp_path, chunk_size=64)
    assert str(streamed.value) == str(whole.value) == message


def test_a_record_a_style_cannot_render_in_a_late_chunk_is_named(tmp_path, raw_records):
    chat = {"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Again"}]}
    path = jsonl(tmp_path, raw_records, 300, change={270: chat})
    with pytest.raises(RecordError, match=f"^{path}, record 270: style 'chatml'"):
        stream_dataset(path, get_style("chatml"), get_tokenizer("gpt2"), directory=tmp_path, chunk_size=64)


def test_skipped_records_are_counted_and_kept_with_the_store(tmp_path, raw_records):
    path = jsonl(tmp_path, raw_records, 100, change={10: {"instruction": "x"}, 90: {"output": "y"}})
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    built = stream_dataset(path, style, tokenizer, directory=tmp_path, on_invalid="skip", chunk_size=16)
    reloaded = stream_dataset(path, style, tokenizer, directory=tmp_path, on_invalid="skip", chunk_size=16)
    expected = [(10, f"{path}, record 10, key 'output': missing key"),
                (90, f"{path}, record 90, key 'instruction': missing key")]
    assert built.skipped == reloaded.skipped == expected
    whole = load_records(path, on_invalid="skip")
    assert len(built.dataset) == 98 and list(reloaded.records) == whole.records
    assert_same_arrays(reloaded.dataset, tokenize_records(whole.records, style, tokenizer))


def test_streaming_needs_a_local_jsonl_file(tmp_path, raw_records):
    array = tmp_path / "data.json"
    array.write_text(json.dumps(raw_records[:5]), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^data.streaming: {array} is a JSON array, which is read whole; convert "
                                          "it to JSON Lines"):
        prepare_data({"data": {"path": str(array), "streaming": True}})
    with pytest.raises(ConfigError, match="^data.streaming: reads a local JSONL file in chunks: give data.path"):
        prepare_data({"data": {"url": "https://example.com/data.jsonl", "streaming": True}})
    with pytest.raises(ConfigError, match=r"^data.streaming: reads JSON Lines in chunks, not a JSON array \(data"):
        prepare_data({"data": {"path": str(array), "format": "json", "streaming": True}})


def test_a_file_changed_after_its_build_is_reported_when_a_record_is_read_back(tmp_path, raw_records):
    path = jsonl(tmp_path, raw_records, 10)
    built = stream_dataset(path, get_style("alpaca"), get_tokenizer("gpt2"), cache=False)
    path.write_text("x" * 4000, encoding="utf-8")
    with pytest.raises(DataError, match=f"^{path}: record 3 cannot be read back at byte {built.records.offsets[3]} "):
        built.records[3]


def _peak(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_streaming_build_does_not_grow_with_the_file(tmp_path, raw_records):
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    small = jsonl(tmp_path, raw_records, 600, "small.jsonl")
    large = jsonl(tmp_path, raw_records, 2400, "large.jsonl")

    def build(path, **options):
        return lambda: stream_dataset(path, style, tokenizer, cache=False, chunk_size=50, **options)

    build(large)()  # imports, tokenizer set-up and caches bounded by the distinct texts are not part of the peak
    growth = _peak(build(large)) - _peak(build(small))
    extra_text = large.stat().st_size - small.stat().st_size
    assert growth < extra_text / 20, (growth, extra_text)
    # The bound catches holding every record: the same build reading the file whole grows by more.
    whole = _peak(lambda: load_records(large)) - _peak(lambda: load_records(small))
    assert whole > extra_text / 2


def test_records_of_a_file_with_a_byte_order_mark_are_read_back(tmp_path, raw_records):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in raw_records[:3]).encode())
    built = stream_dataset(path, get_style("alpaca"), get_tokenizer("gpt2"), cache=False)
    assert built.records.offsets.tolist()[0] == 3
    assert built.records[0] == load_records(path).records[0] and list(built.records) == load_records(path).records
