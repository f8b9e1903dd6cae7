"""YAML configuration: defaults, safe loading, and errors that name the key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptstyles import ConfigError, load_config
from promptstyles.config import REFERENCE_DATA_URL, Config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_follow_the_reference():
    config = load_config({})
    assert config.style == "alpaca"
    assert (config.data.split.train, config.data.split.test) == (0.85, 0.10)
    assert config.data.split.validation == pytest.approx(0.05)
    assert config.data.source == REFERENCE_DATA_URL
    assert config.tokenizer.name == "gpt2"
    assert (config.collate.ignore_index, config.collate.mask, config.collate.allowed_max_length) == (-100, "none", None)
    assert (config.loader.batch_size, config.loader.shuffle, config.loader.drop_last) == (8, True, True)


def test_yaml_file_and_mapping_give_the_same_config(tmp_path):
    text = """
style: alpaca
style_options: {system: Be brief.}
plugins: [my_styles]
data:
  path: /data/records.jsonl
  fields: {instruction: prompt, output: completion}
  split: {train: 0.8, test: 0.1, shuffle: true, seed: 7}
tokenizer: {name: gpt2, special_tokens: extend}
collate: {allowed_max_length: 1024, mask: instruction, pad_to_multiple_of: 8}
loader: {batch_size: 4, shuffle: false, drop_last: false, num_workers: 2}
"""
    import yaml

    from_file = load_config(write(tmp_path, text))
    from_mapping = load_config(yaml.safe_load(text))
    assert from_file == from_mapping
    assert from_file.plugins == ("my_styles",)
    assert from_file.data.fields == {"instruction": "prompt", "output": "completion"}
    assert from_file.collate.mask == "instruction"
    assert from_file.loader.num_workers == 2
    assert load_config(from_file) is from_file


def test_relative_data_path_is_read_relative_to_the_yaml_file(tmp_path):
    config = load_config(write(tmp_path, "data: {path: records.json}\n"))
    assert config.data.path == str(tmp_path / "records.json")


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "style: alpaca\nloader:\n  batch_size: [1\n")
    with pytest.raises(ConfigError, match=r"config.yaml \(line 4\): malformed YAML: expected ',' or ']'"):
        load_config(path)


def test_unknown_key_names_path_and_line(tmp_path):
    path = write(tmp_path, "style: alpaca\ncollate:\n  ignore_index: -100\n  maskk: prompt\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: collate.maskk (line 4): unknown key 'maskk'; expected one of: ")
    assert caught.value.path == "collate.maskk"


def test_wrong_type_names_path_and_line(tmp_path):
    path = write(tmp_path, "loader:\n  batch_size: eight\n")
    with pytest.raises(ConfigError, match=r"loader.batch_size \(line 2\): expected an integer, got str 'eight'"):
        load_config(path)


@pytest.mark.parametrize(("mapping", "message"), [
    ({"loader": {"shuffle": "yes"}}, "loader.shuffle: expected true or false, got 'yes'"),
    ({"collate": {"mask": "everything"}}, "collate.mask: expected one of 'none', 'instruction', 'prompt'"),
    ({"plugins": "mine"}, "plugins: expected a list, got str 'mine'"),
    ({"plugins": ["ok", 3]}, r"plugins\[1\]: expected a string, got int 3"),
    ({"data": {"split": {"train": 1.5}}}, "data.split.train: must be between 0 and 1, got 1.5"),
    ({"data": {"path": "a", "url": "https://x"}}, "data.url: give either data.path or data.url"),
    ({"data": {"fields": {"question": "q"}}}, "data.fields: unknown field 'question'"),
    ({"loader": {"batch_size": 0}}, "loader.batch_size: must be at least 1, got 0"),
    ({"collate": {"allowed_max_length": True}}, "collate.allowed_max_length: expected an integer, got bool True"),
    ({"collate": {"drop_overlong": True}}, "collate.drop_overlong: needs collate.allowed_max_length"),
    ({"data": []}, "data: expected a mapping, got list"),
])
def test_invalid_values_are_rejected_with_key_path(mapping, message):
    with pytest.raises(ConfigError, match=message):
        load_config(mapping)


def test_yaml_is_loaded_safely(tmp_path):
    path = write(tmp_path, "style: !!python/object/apply:os.system ['echo unsafe']\n")
    with pytest.raises(ConfigError, match="malformed YAML: could not determine a constructor"):
        load_config(path)


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping, got list"):
        load_config(write(tmp_path, "- alpaca\n"))


def test_empty_file_gives_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == Config()


def test_config_round_trips_through_plain_data():
    config = load_config({"collate": {"mask": "prompt"}, "plugins": ["a"]})
    assert load_config(config.to_dict()) == config
