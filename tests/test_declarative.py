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


def _phi3(**changes: object) -> dict:
    style = yaml.safe_load(PHI3)["style"]
    style.update(changes)
    return style


@pytest.mark.parametrize(("tokens", "unused"), [
    (["<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>", "<|ned|>"], "<|ned|>"),
    (["<|system|>", "<|usr|>", "<|assistant|>", "<|end|>"], "<|usr|>"),
    (["<s>"], "<s>"),
])
def test_a_declared_token_no_markup_writes_is_named(tokens, unused, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"style": _phi3(special_tokens=tokens)}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    line = config.read_text(encoding="utf-8").splitlines().index("  special_tokens:") + 1
    assert str(caught.value) == (f"{config}: style.special_tokens (line {line}): {unused!r} is declared, but no "
                                 "markup or stop string of style 'my-phi3' writes it; fix its spelling or remove it")


@pytest.mark.parametrize(("tokens", "key", "token"), [
    (["<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>"], "system.suffix", "<|end|>"),
    (["<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"], "system.prefix", "<|system|>"),
    (["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"], "closing", "<|endoftext|>"),
])
def test_extend_refuses_markup_the_declaration_leaves_out(tokens, key, token, tmp_path):
    """In ``extend`` mode only declared tokens get ids: markup left out would be plain text. Checked inline
    and in a style file, with the key and line; in ``text`` mode every token is text anyway."""
    style = _phi3(special_tokens=tokens)
    extend = {"name": "gpt2", "special_tokens": "extend"}
    message = (f"writes {token!r}, which special_tokens does not declare, so tokenizer.special_tokens: extend would "
               "encode it as plain text; add it to special_tokens (or set tokenizer.special_tokens: text)")
    with pytest.raises(ConfigError) as caught:
        load_config({"style": style, "tokenizer": extend})
    assert str(caught.value) == f"style.{key}: {message}"
    (tmp_path / "style.yaml").write_text(yaml.safe_dump(style), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"style": "style.yaml", "tokenizer": extend}), encoding="utf-8")
    lines = (tmp_path / "style.yaml").read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(lines, 1) if text.strip().startswith(key.rpartition(".")[2]))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value) == f"{tmp_path / 'style.yaml'}: {key} (line {line}): {message}"
    assert load_config({"style": style}).build_style().special_tokens == tuple(tokens)


def test_extend_allows_markup_only_a_stop_string_writes_undeclared():
    style = _phi3(stop=["<|end|>", "<|observation|>"])
    config = load_config({"style": style, "tokenizer": {"name": "gpt2", "special_tokens": "extend"}})
    assert config.build_style().stop_sequences == ("<|end|>", "<|observation|>")
