"""The README's real-model YAML and tokenizer plugin, run as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from shared_paths import require

from promptstyles import build_dataloaders, prepare_data, to_record

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def block(heading: str, language: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"```{language}\n(.*?)```", text[text.index(heading):], re.DOTALL)
    assert match, f"no {language} block under {heading!r}"
    return match.group(1)


def test_the_readme_yaml_trains_qwen_on_its_own_template_ids(monkeypatch: pytest.MonkeyPatch):
    transformers = pytest.importorskip("transformers")
    config = yaml.safe_load(block("## A real model's own tokenizer", "yaml"))
    monkeypatch.chdir(ROOT)
    require(Path(config["tokenizer"]))
    require(Path(config["data"]["path"]))
    loaders = build_dataloaders(config)
    reference = transformers.PreTrainedTokenizerFast.from_pretrained(config["tokenizer"])
    record = loaders.data.records[0]
    messages = [{"role": "user", "content": record.instruction + ("\n" + record.input if record.input else "")},
                {"role": "assistant", "content": record.output}]
    expected = reference.apply_chat_template(messages, tokenize=True)
    expected = expected if isinstance(expected, list) else expected["input_ids"]
    assert loaders.data.dataset[0].tolist() == list(expected)
    inputs, _targets = next(iter(loaders.train))
    assert inputs.shape[0] == 8 and int(inputs.max()) > 65535


def test_the_readme_tokenizer_plugin_is_found_through_plugins(tmp_path: Path):
    (tmp_path / "my_tokenizers.py").write_text(block("## Writing a tokenizer plugin", "python"), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        "style: chatml\ntokenizer: {name: chat-gpt2, special_tokens: extend}\nplugins: [my_tokenizers]\n",
        encoding="utf-8")
    try:
        data = prepare_data(str(tmp_path / "config.yaml"),
                            records=[to_record({"instruction": "Say hi", "input": "", "output": "Hi"})] * 3)
    finally:
        sys.modules.pop("my_tokenizers", None)
    assert (data.tokenizer.name, data.tokenizer.vocab_size, data.tokenizer.eos_id) == ("gpt2", 50259, 50256)
    assert data.dataset[0].tolist()[:3] == [50257, *data.tokenizer.encode("user\n")]  # <|im_start|> added
