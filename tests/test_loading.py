"""Reading records: files, field maps, and errors that name the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptstyles import Conversation, DataError, InstructionRecord, Message, RecordError, TokenizerError, to_record
from promptstyles.data.sources.jsonl_chunks import read_record_chunks
from promptstyles.data.sources.loading import load_records, read_raw
from promptstyles.data.tokenizers import get_tokenizer

GOOD = [{"instruction": "Add.", "input": "1 2", "output": "3"}, {"instruction": "Hi?", "output": "Hello."}]


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_json_and_jsonl_give_the_same_records(tmp_path):
    array = write(tmp_path, "a.json", json.dumps(GOOD))
    lines = write(tmp_path, "a.jsonl", "\n".join(json.dumps(r) for r in GOOD) + "\n\n")
    expected = [InstructionRecord("Add.", "1 2", "3"), InstructionRecord("Hi?", "", "Hello.")]
    assert load_records(array).records == expected
    assert load_records(lines).records == expected


def test_field_map_and_chat_shapes(tmp_path):
    path = write(tmp_path, "qa.jsonl", json.dumps({"question": "Why?", "answer": "Because."}) + "\n"
                 + json.dumps({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]}))
    loaded = load_records(path, fields={"instruction": "question", "output": "answer"})
    assert loaded.records == [
        InstructionRecord("Why?", "", "Because."),
        Conversation((Message("user", "Hi"), Message("assistant", "Yo"))),
    ]


@pytest.mark.parametrize(("record", "message"), [
    ({"input": "x", "output": "y"}, "record 1, key 'instruction': missing key"),
    ({"instruction": "x", "input": "y"}, "record 1, key 'output': missing key"),
    ({"instruction": 7, "output": "y"}, "record 1, key 'instruction': expected a string, got int 7"),
    ({"instruction": "x", "input": 3.5, "output": "y"}, "record 1, key 'input': expected a string, got float"),
    ({"instruction": "x", "output": "  "}, "record 1, key 'output': output is empty"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "record 1, key 'messages\\[0\\].role': unknown role"),
    (["not", "an", "object"], "record 1: expected a JSON object, got list"),
])
def test_invalid_records_name_index_and_key(tmp_path, record, message):
    path = write(tmp_path, "bad.json", json.dumps([GOOD[0], record]))
    with pytest.raises(RecordError, match=message):
        load_records(path)


def test_skip_mode_counts_invalid_records(tmp_path, caplog):
    path = write(tmp_path, "mixed.json", json.dumps([GOOD[0], {"instruction": 1}, GOOD[1], {}]))
    loaded = load_records(path, on_invalid="skip")
    assert len(loaded) == 2
    assert [index for index, _ in loaded.skipped] == [1, 3]
    assert "skipped 2 invalid record(s) of 4" in caplog.text


@pytest.mark.parametrize(("content", "message"), [
    (b"[]", "the dataset has no records"),
    (b'[{"instruction": "a", "output": "b"}, {"instr', "invalid JSON at line 1, column 40: Unterminated string"),
    (b'\xff\xfe[{"instruction": "a"}]', "not UTF-8 text \\(invalid byte at offset 0\\)"),
    (b'{"instruction": "a", "output": "b"}\n{"instruction": ', "invalid JSON at line 2"),
    (b'{"records": []}', "expected a JSON array of records, got a JSON dict"),
])
def test_unreadable_files_are_clear_errors(tmp_path, content, message):
    path = write(tmp_path, "broken.json", content)
    with pytest.raises(DataError, match=message):
        load_records(path)


def test_every_record_invalid_is_an_error_even_when_skipping(tmp_path):
    path = write(tmp_path, "all-bad.json", json.dumps([{"x": 1}, {"y": 2}]))
    with pytest.raises(DataError) as caught:
        load_records(path, on_invalid="skip")
    assert str(caught.value) == (f"{path}: every record is invalid (2 skipped by on_invalid: skip); the first: "
                                 f"{path}, record 0, key 'instruction': missing key")
    lines = write(tmp_path, "all-bad.jsonl", '{"x": 1}\n{"instruction": "a", "output": "b", "messages": []}\n')
    with pytest.raises(DataError) as caught:
        list(read_record_chunks(lines, on_invalid="skip"))
    assert str(caught.value) == (f"{lines}: every record is invalid (2 skipped by on_invalid: skip); the first: "
                                 f"{lines}, record 0, key 'instruction': missing key")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nothing.json: file not found"):
        read_raw(tmp_path / "nothing.json")


def test_unknown_tokenizer_lists_the_known_ones():
    with pytest.raises(TokenizerError, match=r"unknown tokenizer 'gpt5'; did you mean gpt2\?"):
        get_tokenizer("gpt5")
    with pytest.raises(TokenizerError, match=r"unknown tokenizer 'nonsense'; registered: cl100k_base, gpt2, hf, "):
        get_tokenizer("nonsense")


def test_missing_bpe_files_say_how_to_fix_it(monkeypatch, tmp_path):
    import tiktoken.load
    import tiktoken.registry

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setattr(tiktoken.load, "read_file", offline)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with pytest.raises(TokenizerError, match="cannot load the 'r50k_base' BPE files: they are not in TIKTOKEN_CACHE_"
                                             f"DIR={tmp_path} .*set TIKTOKEN_CACHE_DIR to a folder that holds them"):
        get_tokenizer("r50k_base")  # gpt2's files are packaged; other encodings are downloaded
    assert tiktoken  # the real module stays importable


def test_lazy_chunks_travel_as_text_and_parse_to_the_records_of_an_eager_read(tmp_path, raw_records):
    import pickle

    from promptstyles.data.sources.jsonl_chunks import LineRecords

    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(record) + "\n\n" for record in raw_records[:50]), encoding="utf-8")
    eager = list(read_record_chunks(path, chunk_size=16))
    lazy = list(read_record_chunks(path, chunk_size=16, lazy=True))
    assert [type(chunk.records) for chunk in lazy] == [LineRecords] * 4
    assert [chunk.offsets.tolist() for chunk in lazy] == [chunk.offsets.tolist() for chunk in eager]
    shipped = pickle.loads(pickle.dumps(lazy[1].records))
    assert shipped._records is None and len(shipped) == 16  # counted without parsing
    assert list(shipped) == eager[1].records and eager[1].records[0] == to_record(raw_records[16], index=16)
