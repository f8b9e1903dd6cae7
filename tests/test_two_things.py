"""Inputs that say two things are named errors, never a silent choice: a record of two kinds, two keys
reading one column, a YAML key given twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptstyles import ConfigError, RecordError, load_config, to_record
from promptstyles.cli import main
from promptstyles.data.sources.jsonl_chunks import read_record_chunks
from promptstyles.data.sources.loading import load_records
from promptstyles.experiments.config import load_experiment
from promptstyles.styles.declarative import read_style_file

CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
SHAREGPT = [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]


@pytest.mark.parametrize(("raw", "fields", "keys"), [
    ({"instruction": "a", "output": "b", "messages": CHAT}, {}, "'instruction', 'output' and 'messages'"),
    ({"output": "b", "messages": CHAT}, {}, "'output' and 'messages'"),
    ({"instruction": "a", "input": "x", "output": "b", "conversations": SHAREGPT}, {},
     "'instruction', 'input', 'output' and 'conversations'"),
    ({"messages": CHAT, "conversations": SHAREGPT}, {}, "'messages' and 'conversations'"),
    ({"prompt": "a", "completion": "b", "chat": CHAT}, {"instruction": "prompt", "output": "completion",
                                                         "messages": "chat"}, "'prompt', 'completion' and 'chat'"),
])
def test_a_record_of_two_kinds_names_both(raw: dict, fields: dict, keys: str) -> None:
    with pytest.raises(RecordError) as caught:
        to_record(raw, index=7, fields=fields, source="data.json")
    assert str(caught.value) == (f"data.json, record 7: holds {keys}, two kinds of record in one; keep one kind (or "
                                 "map the one to read with data.fields)")


@pytest.mark.parametrize("raw", [{"messages": CHAT, "input": ""}, {"messages": CHAT, "instruction": None},
                                 {"conversations": SHAREGPT, "output": ""}])
def test_empty_values_say_nothing(raw: dict) -> None:
    assert to_record(raw).messages[1].content == "Hello"  # type: ignore[union-attr]


def test_a_mapped_away_key_is_not_read(tmp_path: Path) -> None:
    """Mapping ``messages`` to a column the file lacks is how a user keeps the instruction kind."""
    record = to_record({"instruction": "a", "output": "b", "messages": CHAT}, fields={"messages": "unused"})
    assert (record.instruction, record.output) == ("a", "b")  # type: ignore[union-attr]


def test_files_and_streamed_chunks_name_the_record(tmp_path: Path) -> None:
    records = [{"instruction": "a", "output": "b"}] * 3 + [{"instruction": "a", "output": "b", "messages": CHAT}]
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    with pytest.raises(RecordError, match=r"data.jsonl, record 3: holds 'instruction', 'output' and 'messages'"):
        load_records(path)
    with pytest.raises(RecordError, match=r"data.jsonl, record 3: holds 'instruction', 'output' and 'messages'"):
        list(read_record_chunks(path, chunk_size=2))
    loaded = load_records(path, on_invalid="skip")
    assert (len(loaded.records), [index for index, _ in loaded.skipped]) == (3, [3])


@pytest.mark.parametrize(("fields", "key", "message"), [
    ("{instruction: text, output: text}", "output", "instruction and output would both read column 'text'"),
    ("{output: input}", "output", "input and output would both read column 'input'"),
    ("{instruction: output}", "instruction", "instruction and output would both read column 'output'"),
    ("{input: q, output: q}", "output", "input and output would both read column 'q'"),
    ("{messages: conversations}", "messages", "messages and conversations would both read column 'conversations'"),
    ("{messages: chat, conversations: chat}", "conversations", "messages and conversations would both read column "
                                                               "'chat'"),
])
def test_two_keys_reading_one_column_are_named(fields: str, key: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"style: alpaca\ndata:\n  path: data.json\n  fields: {fields}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}: data.fields.{key} (line 4): {message} (a key not in data.fields reads the "
                                 "column of its own name); give each its own column")


@pytest.mark.parametrize("fields", [{"instruction": "prompt", "output": "completion"},
                                    {"instruction": "output", "output": "answer"}, {"messages": "chat"}])
def test_distinct_columns_are_accepted(fields: dict) -> None:
    assert load_config({"data": {"fields": fields}}).data.fields == fields


@pytest.mark.parametrize(("text", "key", "first", "second"), [
    ("style: alpaca\ncollate: {mask: prompt}\nstyle: chatml\n", "style", 1, 3),
    ("data:\n  path: a.json\n  format: json\n  path: b.json\n", "data.path", 2, 4),
    ("collate:\n  mask: prompt\ncollate:\n  mask: none\n", "collate", 1, 3),
    ("style_options: {system: a, system: b}\n", "style_options.system", 1, 1),
    ("plugins: [a]\ndata: {split: {train: 0.5, train: 0.8}}\n", "data.split.train", 2, 2),
])
def test_a_yaml_key_given_twice_is_named(text: str, key: str, first: int, second: int, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    name = key.rpartition(".")[2]
    assert str(caught.value) == (f"{path}: {key} (line {second}): key {name!r} is given twice (lines {first} and "
                                 f"{second}), and YAML would keep the last silently; remove one")


def test_style_files_and_experiments_refuse_a_key_given_twice(tmp_path: Path) -> None:
    style = tmp_path / "style.yaml"
    style.write_text("name: x\nassistant: {header: 'A: '}\nuser: {prefix: 'U: '}\nuser: {prefix: 'V: '}\n",
                     encoding="utf-8")
    with pytest.raises(ConfigError, match=r"style.yaml: user \(line 4\): key 'user' is given twice \(lines 3 and 4\)"):
        read_style_file(style)
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text("styles: [alpaca]\nstyles: [chatml]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"experiment.yaml: styles \(line 2\): key 'styles' is given twice"):
        load_experiment(experiment)


def test_yaml_merge_keys_are_no_repetition(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("loader:\n  <<: {batch_size: 2}\n  <<: {seed: 5}\n", encoding="utf-8")
    loader = load_config(path).loader
    assert (loader.batch_size, loader.seed) == (2, 5)


@pytest.mark.parametrize("command", [["render", "alpaca", "--json", '{"instruction": "a", "output": "b"}'],
                                     ["export", "alpaca"], ["freeze", "alpaca"]])
def test_a_style_option_given_twice_on_the_command_line_is_named(command: list[str],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--option", "system=A", "--option", "joiner=-", "--option", "system=B"]) == 1
    assert capsys.readouterr() == ("", "promptstyles: error: --option system is given twice; give each option once\n")
