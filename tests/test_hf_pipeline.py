"""A model's own tokenizer through the whole pipeline: config, markup check, masks, pad, buffer dtype, cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from engine_styles import MODELS

from promptstyles import TokenizerError, get_style, to_record
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import build_dataloaders, prepare_data

pytest.importorskip("tokenizers")

LLAMA3, QWEN, MISTRAL, PHI = (
    "llama-3-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3", "phi-3.5-mini-instruct"
)
SINGLE = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
MULTI = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                      {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
X = -100


def folder(name: str) -> Path:
    if not (MODELS / name).is_dir():
        pytest.skip(f"tokenizer folder {MODELS / name} not found")
    return MODELS / name


@pytest.fixture
def project(tmp_path: Path, raw_records: list[dict]) -> Path:
    """A folder with a config's neighbours: 40 records and a link to the Qwen2.5 tokenizer folder."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "qwen").symlink_to(folder(QWEN), target_is_directory=True)
    (tmp_path / "data.json").write_text(json.dumps(raw_records[:40]), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("section", ["{path: models/qwen}", "models/qwen", "{name: hf, path: models/qwen}"])
def test_a_yaml_config_trains_a_model_with_its_own_tokenizer(project: Path, section: str):
    (project / "config.yaml").write_text(
        f"style: qwen2.5\ntokenizer: {section}\ndata: {{path: data.json, cache: false}}\n"
        "collate: {mask: prompt}\nloader: {batch_size: 4, shuffle: false}\n", encoding="utf-8")
    loaders = build_dataloaders(str(project / "config.yaml"))
    tokenizer = loaders.tokenizer
    assert (tokenizer.name, tokenizer.eos_id, tokenizer.pad_id) == ("qwen", 151645, 151643)  # the folder's name
    assert loaders.data.dataset.tokens.dtype == np.uint32
    assert (loaders.collator.pad_token_id, loaders.collator.eos_token_id) == (151643, 151645)
    batch = next(iter(loaders.train))
    lengths = loaders.datasets["train"].lengths[:4]
    shortest = int(np.argmin(lengths))
    assert batch.inputs[shortest, int(lengths[shortest]):].tolist() == [151645] + [151643] * (
        batch.inputs.shape[1] - int(lengths[shortest]) - 1)
    assert batch.inputs[:, :3].tolist() == [[151644, 8948, 198]] * 4  # <|im_start|>system\n


def test_a_style_whose_markup_the_model_lacks_is_refused_with_the_fitting_style():
    config = {"style": "chatml", "tokenizer": {"path": str(folder(LLAMA3))}}
    with pytest.raises(TokenizerError, match=r"style 'chatml' writes '<\|im_start\|>' as markup, but it is not a "
                                             r"special token of tokenizer 'llama-3-8b-instruct'.*: llama3(, |$)"):
        prepare_data(config, records=[to_record(SINGLE)])


def test_a_hub_id_without_huggingface_hub_says_to_download_the_folder(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(TokenizerError, match=r"^tokenizer\.name: Qwen/Qwen2\.5-7B-Instruct: no such folder or file "
                                             r".*, and huggingface_hub is not installed .*: download the model's "
                                             r"tokenizer"):
        prepare_data({"style": "qwen2.5", "tokenizer": "Qwen/Qwen2.5-7B-Instruct"}, records=[to_record(SINGLE)])


@pytest.mark.parametrize(
    ("name", "style", "mask", "targets"),
    [
        (LLAMA3, "llama3", "prompt", [
            [X] * 10 + [9906, 0, 128009] + [X] * 11, [X] * 22 + [67, 128009]]),
        (LLAMA3, "llama3", "assistant", [
            [X] * 10 + [9906, 0, 128009] + [X] * 11, [X] * 10 + [65, 128009] + [X] * 10 + [67, 128009]]),
        (MISTRAL, "mistral-v0.3", "assistant", [
            [X, X, X, 23325, 29576, 2, X, X, X, X], [X, X, X, 1055, 2, X, X, X, 1049, 2]]),
        (PHI, "phi3", "assistant", [
            [X, X, X, 15043, 29991, 32007, 32000, X, X, X, X, X],
            [X, X, X, 289, 32007, X, X, X, X, 270, 32007, 32000]]),
    ],
)
def test_masks_train_each_assistant_answer_and_its_end_marker(name, style, mask, targets):
    """Llama-3: ``Hello`` 9906, ``!`` 0, ``<|eot_id|>`` 128009; the final end marker is the appended EOS."""
    tokenizer = get_tokenizer(path=folder(name))
    dataset = tokenize_records([to_record(SINGLE), to_record(MULTI)], get_style(style), tokenizer)
    collator = Collator(mask=mask, pad_token_id=tokenizer.pad_id or tokenizer.eos_id, eos_token_id=tokenizer.eos_id)
    assert collator(dataset.__getitems__([0, 1])).targets.tolist() == targets


@pytest.mark.parametrize(("name", "style"), [(LLAMA3, "llama3"), (QWEN, "qwen2.5"), (MISTRAL, "mistral-v0.3"),
                                             (PHI, "phi3")])
def test_record_text_never_becomes_a_special_id_in_a_dataset(name, style):
    tokenizer = get_tokenizer(path=folder(name))
    injected = " ".join(["<|eot_id|>", "<|im_end|>", "[INST]", "<|end|>", "<s>", "</s>", "<|endoftext|>"])
    clean = {"messages": [{"role": "user", "content": "Say it"}, {"role": "assistant", "content": "It"}]}
    dirty = {"messages": [{"role": "user", "content": f"Say {injected}"},
                          {"role": "assistant", "content": f"It {injected}"}]}
    dataset = tokenize_records([to_record(clean), to_record(dirty)], get_style(style), tokenizer)
    added = set(tokenizer.added_tokens.values())
    assert [i for i in dataset[1].tolist() if i in added] == [i for i in dataset[0].tolist() if i in added]
    assert len(dataset[1]) > len(dataset[0]) + 14


def test_the_cache_keeps_uint32_ids_and_tells_tokenizer_files_apart(raw_records, tmp_path: Path):
    config = {"style": "llama3", "tokenizer": {"path": str(folder(LLAMA3))},
              "data": {"cache_dir": str(tmp_path)}}
    records = [to_record(record) for record in raw_records[:30]]
    built = prepare_data(config, records=records).dataset
    cached = prepare_data(config, records=records).dataset
    assert cached.tokens.dtype == built.tokens.dtype == np.uint32
    assert np.array_equal(cached.tokens, built.tokens) and int(built.tokens.max()) == 128009
    assert len(list((tmp_path / "datasets").iterdir())) == 1
