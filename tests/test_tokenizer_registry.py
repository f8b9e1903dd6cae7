"""Tokenizers come from plugins (``register_tokenizers``): tiktoken and the model-folder loader are built in."""

from __future__ import annotations

import logging

import pytest
from engine_styles import MODELS

from promptstyles import TokenizerError
from promptstyles.data.tokenizers import TiktokenTokenizer
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer
from promptstyles.data.tokenizers.registry import TokenizerRegistry, load_tokenizer
from promptstyles.plugins import load_plugins

QWEN = MODELS / "qwen2.5-7b-instruct"


def registry() -> TokenizerRegistry:
    loaded = load_plugins()
    return TokenizerRegistry(loaded.tokenizers, loaded.failures)


def test_builtin_tokenizers_come_from_entry_points_of_the_core_distribution():
    found = registry()
    assert {"gpt2", "cl100k_base", "r50k_base", "hf"} <= set(found.names())
    assert [(found.info(n).plugin, found.info(n).distribution.split()[0]) for n in ("gpt2", "hf")] == [
        ("tiktoken", "promptstyles"), ("hf", "promptstyles")]
    gpt2 = found.load("gpt2", special_tokens=("<|user|>",))
    assert (gpt2.name, gpt2.eos_id, gpt2.special_id("<|user|>")) == ("gpt2", 50256, 50257)
    assert found.load().name == "gpt2"


def test_paths_and_path_like_names_load_the_models_own_tokenizer(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("tokenizers")
    if not QWEN.is_dir():
        pytest.skip(f"tokenizer folder {QWEN} not found")
    by_path = load_tokenizer(path=QWEN, special_tokens=("<|user|>",))
    by_name = load_tokenizer(str(QWEN / "tokenizer.json"))
    assert isinstance(by_path, HFTokenizer) and isinstance(by_name, HFTokenizer)
    assert (by_path.name, by_path.eos_id, by_path.special_id("<|user|>")) == ("qwen2.5-7b-instruct", 151645, None)
    assert by_name.fingerprint == by_path.fingerprint
    monkeypatch.chdir(MODELS)
    assert load_tokenizer("qwen2.5-7b-instruct").name == "qwen2.5-7b-instruct"  # an existing folder


def test_unknown_names_and_misused_loaders_are_clear_errors():
    with pytest.raises(TokenizerError, match=r"unknown tokenizer 'gtp2'; did you mean gpt2\? \(or give a model "
                                             r"folder, a tokenizer\.json or a Hugging Face Hub id\)"):
        load_tokenizer("gtp2")
    with pytest.raises(TokenizerError, match=r"the 'hf' tokenizer needs a path: tokenizer: \{path: MODEL_FOLDER\}"):
        load_tokenizer("hf")
    with pytest.raises(TokenizerError, match=r"the tiktoken encoding 'gpt2' is chosen by name; it takes no path"):
        load_tokenizer("gpt2", path="somewhere")
    with pytest.raises(TokenizerError, match=r"^missing-folder: no such folder or file \(nothing at "):
        load_tokenizer("./missing-folder")
    with pytest.raises(TokenizerError, match=r"^model\.json: no such folder or file \(nothing at "):
        load_tokenizer("model.json")


def test_third_party_tokenizers_register_through_the_same_hook(plugin_site, caplog: pytest.LogCaptureFixture):
    plugin_site("tokenizer")
    with caplog.at_level(logging.WARNING):
        found = registry()
    twin = found.info("gpt2-twin")
    assert (twin.plugin, twin.distribution, twin.description) == ("letters", "psfixture-tokenizer 0.1",
                                                                  "gpt2 under a plugin's name")
    assert isinstance(found.load("gpt2-twin"), TiktokenTokenizer)
    assert found.info("gpt2").plugin == "tiktoken"  # the built-in claim comes first and is kept
    assert "tokenizer 'gpt2' of plugin 'letters' is already registered by plugin 'tiktoken'; ignored" in caplog.text
    with pytest.raises(TokenizerError, match=r"tokenizer 'brokentokenizer': plugin 'brokentokenizer' \(distribution "
                                             r"psfixture-tokenizer 0.1\) failed during registration: RuntimeError: "
                                             r"vocabulary file missing") as caught:
        found.info("brokentokenizer")
    assert isinstance(caught.value.__cause__, RuntimeError)
