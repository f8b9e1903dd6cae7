"""Declarative styles: a chat format written in the config, rendered and batched like a plugin's."""

from __future__ import annotations

import pytest
import yaml

from promptstyles import ConfigError, InstructionRecord, build_dataloaders, get_style, load_config, to_record
from promptstyles.cli import main
from promptstyles.data.store.cache import dataset_key
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.records import Conversation, Message

PHI3 = """
style:
  name: my-phi3
  special_tokens: ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"]
  system: {prefix: "<|system|>\\n", suffix: "<|end|>\\n"}
  user: {prefix: "<|user|>\\n", suffix: "<|end|>\\n"}
  assistant: {header: "<|assistant|>\\n", end: "<|end|>\\n"}
  closing: "<|endoftext|>"
  stop: ["<|end|>", "<|endoftext|>"]
"""


def test_a_declared_format_renders_like_the_plugin_it_copies(raw_records):
    declared = load_config(yaml.safe_load(PHI3)).build_style()
    plugin = get_style("phi3")
    assert declared.name == "my-phi3"
    conversation = Conversation((Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Yo"),
                                 Message("user", "Bye"), Message("assistant", "Later")))
    for record in [*(to_record(r) for r in raw_records[:50]), conversation]:
        assert declared.render(record).parts == plugin.render(record).parts
        assert declared.generation_prompt(record) == plugin.generation_prompt(record)
    assert declared.extract_response("Red.<|end|>\n<|user|>") == "Red."
    assert declared.special_tokens == plugin.special_tokens


def test_options_apply_to_declared_styles():
    config = load_config({**yaml.safe_load(PHI3), "style_options": {"system": "Be exact.", "joiner": " | "}})
    text = config.build_style().render(InstructionRecord("Add.", "1 2", "3")).text
    assert text == "<|system|>\nBe exact.<|end|>\n<|user|>\nAdd. | 1 2<|end|>\n<|assistant|>\n3<|end|>\n<|endoftext|>"


def test_a_declared_style_builds_batches_from_yaml(tmp_path, dataset_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(PHI3 + f"data: {{path: {dataset_path}}}\ncollate: {{mask: prompt}}\n", encoding="utf-8")
    loaders = build_dataloaders(path)
    reference = build_dataloaders({"style": "phi3", "data": {"path": str(dataset_path)}, "collate": {"mask": "prompt"},
                                   "loader": {"seed": 123}})
    for ours, theirs in zip(loaders.val, reference.val, strict=True):
        assert ours.inputs.tolist() == theirs.inputs.tolist() and ours.targets.tolist() == theirs.targets.tolist()
    assert main(["validate", str(path)]) == 0
    assert "valid (style 'my-phi3' declared in the config" in capsys.readouterr().out


def test_declaration_errors_name_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("style:\n  name: mine\n  usr: {prefix: '<u>'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"style.usr \(line 3\): unknown key 'usr'"):
        load_config(path)
    with pytest.raises(ConfigError, match="style.name: use lowercase letters"):
        load_config({"style": {"name": "Mine", "assistant": {"header": "A:"}}})
    with pytest.raises(ConfigError, match="style.assistant: give assistant.header"):
        load_config({"style": {"name": "mine"}})


def test_the_dataset_cache_tells_declarations_apart():
    first = load_config(yaml.safe_load(PHI3)).build_style()
    changed = yaml.safe_load(PHI3)
    changed["style"]["assistant"]["end"] = "<|end|>"
    second = load_config(changed).build_style()
    records = [InstructionRecord("Hi", "", "Yo")]
    tokenizer = get_tokenizer("gpt2")
    assert dataset_key(records, first, tokenizer, "text") != dataset_key(records, second, tokenizer, "text")
