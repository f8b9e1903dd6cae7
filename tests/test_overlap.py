"""Rendering the next chunk on a thread while this one is encoded: the same datasets, errors in their place."""

from __future__ import annotations

import threading

import pytest
from engine_styles import MODELS, Picky

from promptstyles import InstructionRecord, RecordError, get_style, to_record
from promptstyles.data.build import parallel
from promptstyles.data.build.encoding import concat_datasets, tokenize_chunks
from promptstyles.data.build.overlap import tokenize_chunks_overlapped
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer

ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")


@pytest.fixture(scope="module")
def records(raw_records):
    return [to_record(raw, index=i) for i, raw in enumerate(raw_records)]


def pieces(records, size):
    return (records[first : first + size] for first in range(0, len(records), size))


def test_overlapped_chunks_equal_the_serial_ones_with_a_model_tokenizer(records):
    pytest.importorskip("tokenizers")
    style, tokenizer = get_style("qwen2.5"), get_tokenizer(path=MODELS / "qwen2.5-7b-instruct")
    overlapped = list(tokenize_chunks_overlapped(pieces(records, 100), style, tokenizer, source="data"))
    serial = list(tokenize_chunks(pieces(records, 100), style, tokenizer, source="data"))
    assert len(overlapped) == len(serial) == 11
    for got, want in zip(overlapped, serial, strict=True):
        for name in ARRAYS:
            assert getattr(got, name).tolist() == getattr(want, name).tolist(), name


def test_a_tokenizer_that_encodes_on_all_cores_is_built_through_the_overlap(records, monkeypatch):
    calls = []
    original = parallel.tokenize_chunks_overlapped

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(parallel, "tokenize_chunks_overlapped", spy)
    tokenizer = get_tokenizer("gpt2")
    plain = tokenize_records(records, get_style("alpaca"), tokenizer, chunk_size=300)
    assert not calls
    monkeypatch.setattr(type(tokenizer), "encodes_on_all_cores", True, raising=False)
    built = tokenize_records(records, get_style("alpaca"), tokenizer, chunk_size=300)
    assert calls == [1]
    for name in ARRAYS:
        assert getattr(built, name).tolist() == getattr(plain, name).tolist(), name


def test_a_record_error_comes_at_its_chunk_s_turn_with_its_index_in_the_whole_input():
    records = [InstructionRecord(f"task {i}", "", "done") for i in range(10)]
    records[7] = InstructionRecord("boom", "", "done")
    stream = tokenize_chunks_overlapped(pieces(records, 3), Picky(), get_tokenizer("gpt2"), source="data.jsonl")
    first, second = next(stream), next(stream)  # records 0-5 come out before the bad chunk is reached
    assert len(concat_datasets([first, second])) == 6
    with pytest.raises(RecordError) as error:
        next(stream)
    assert str(error.value) == ("data.jsonl, record 7: style 'picky' from module 'engine_styles' cannot render it: "
                                "ValueError: no booms")


def test_the_input_is_read_on_the_helper_thread_so_this_one_only_encodes(records):
    readers = []

    def reading():
        for chunk in pieces(records, 100):
            readers.append(threading.current_thread())
            yield chunk

    built = list(tokenize_chunks_overlapped(reading(), get_style("alpaca"), get_tokenizer("gpt2"), source="data"))
    assert len(built) == len(readers) == 11
    assert threading.main_thread() not in readers
    assert {thread.name.split("_")[0] for thread in readers} == {"render"}


def test_empty_chunks_are_passed_over_and_indices_stay_those_of_the_whole_input():
    records = [InstructionRecord(f"task {i}", "", "done") for i in range(6)]
    records[4] = InstructionRecord("boom", "", "done")
    chunks = [records[:3], [], [], records[3:]]
    stream = tokenize_chunks_overlapped(iter(chunks), Picky(), get_tokenizer("gpt2"), source="data.jsonl")
    assert len(next(stream)) == 3
    with pytest.raises(RecordError, match=r"^data\.jsonl, record 4: "):
        next(stream)
