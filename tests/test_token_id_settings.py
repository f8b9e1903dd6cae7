"""Id-valued settings against the tokenizer they meet: a pad id it lacks, or an ``ignore_index`` that is one of
its ids, is a ConfigError naming the key before any record is tokenized."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_styles import MODELS

from promptstyles import ConfigError, load_config
from promptstyles.cli import main
from promptstyles.pipeline import build_dataloaders, build_tokenizer

RECORDS = [{"instruction": f"Say {n}.", "input": "", "output": f"{n}"} for n in range(12)]


def _tokenizer_for(collate: dict, tokenizer: object = "gpt2") -> None:
    config = load_config({"collate": collate, "tokenizer": tokenizer})
    build_tokenizer(config, config.build_style())


@pytest.mark.parametrize(("collate", "message"), [
    ({"pad_token_id": 999999}, "collate.pad_token_id: 999999 is no id of tokenizer 'gpt2' (its ids are 0 to 50256); "
                               "leave it out to pad with the tokenizer's own id (50256)"),
    ({"pad_token_id": 50257}, "collate.pad_token_id: 50257 is no id of tokenizer 'gpt2' (its ids are 0 to 50256); "
                              "leave it out to pad with the tokenizer's own id (50256)"),
    ({"pad_token_id": -1}, "collate.pad_token_id: -1 is no id of tokenizer 'gpt2' (its ids are 0 to 50256); "
                           "leave it out to pad with the tokenizer's own id (50256)"),
    ({"ignore_index": 50256}, "collate.ignore_index: 50256 is an id of tokenizer 'gpt2' ('<|endoftext|>', the "
                              "end-of-text id), so every target with that id would go untrained; use a value no "
                              "token has, e.g. -100 (the default)"),
    ({"ignore_index": 0}, "collate.ignore_index: 0 is an id of tokenizer 'gpt2' ('!'), so every target with that id "
                          "would go untrained; use a value no token has, e.g. -100 (the default)"),
])
def test_ids_the_tokenizer_contradicts_are_named(collate: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _tokenizer_for(collate)
    assert str(caught.value) == message


@pytest.mark.parametrize("collate", [{"pad_token_id": 50256}, {"pad_token_id": 0}, {"ignore_index": -1},
                                     {"ignore_index": 50257}, {"ignore_index": -100, "pad_token_id": 50255}])
def test_ids_the_tokenizer_allows_pass(collate: dict) -> None:
    _tokenizer_for(collate)


def test_an_extended_vocabulary_counts_its_new_ids() -> None:
    """``extend`` gives chatml's two markup tokens ids 50257 and 50258: the pad id may be one of them, and
    ``ignore_index`` may not."""
    extend = {"name": "gpt2", "special_tokens": "extend"}
    config = load_config({"style": "chatml", "tokenizer": extend, "collate": {"pad_token_id": 50258}})
    assert build_tokenizer(config, config.build_style()).vocab_size == 50259
    config = load_config({"style": "chatml", "tokenizer": extend, "collate": {"ignore_index": 50258}})
    with pytest.raises(ConfigError, match=r"^collate.ignore_index: 50258 is an id of tokenizer 'gpt2' "
                                          r"\('<\|im_end\|>'\)"):
        build_tokenizer(config, config.build_style())


def test_a_models_own_pad_and_end_ids_are_named() -> None:
    folder = MODELS / "qwen2.5-7b-instruct"
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")
    pytest.importorskip("tokenizers")
    for ignore, role in ((151645, "end-of-text"), (151643, "padding")):
        config = load_config({"style": "qwen2.5", "tokenizer": {"path": str(folder)},
                              "collate": {"ignore_index": ignore}})
        with pytest.raises(ConfigError) as caught:
            build_tokenizer(config, config.build_style())
        assert "tokenizer 'qwen2.5-7b-instruct' (" in str(caught.value)
        assert f"the {role} id), so every target" in str(caught.value)
    config = load_config({"style": "qwen2.5", "tokenizer": {"path": str(folder)},
                          "collate": {"pad_token_id": 151665}})
    with pytest.raises(ConfigError, match=r"151665 is no id of tokenizer 'qwen2.5-7b-instruct' \(its ids are 0 to "
                                          r"151664\); leave it out to pad with the tokenizer's own id \(151643\)"):
        build_tokenizer(config, config.build_style())


def test_no_batch_is_built_with_a_contradicting_id() -> None:
    with pytest.raises(ConfigError, match="^collate.pad_token_id: 999999"):
        build_dataloaders({"collate": {"pad_token_id": 999999}, "data": {"cache": False}}, records=RECORDS)


def test_stats_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data.json").write_text(str(RECORDS).replace("'", '"'), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("data: {path: data.json, cache: false}\ncollate: {ignore_index: 50256}\n", encoding="utf-8")
    assert main(["stats", str(config)]) == 1
    assert capsys.readouterr().err.startswith("promptstyles: error: collate.ignore_index: 50256 is an id of tokenizer")
