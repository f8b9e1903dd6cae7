"""The dataset cache key: every record field, style option, style source and tokenizer setting is in it."""

from __future__ import annotations

import copy
import importlib
import importlib.metadata
import os
import sys
from dataclasses import replace

import pytest
import torch

from promptstyles import Conversation, InstructionRecord, Message, StyleError, get_style
from promptstyles.config import load_config
from promptstyles.data.store.cache import dataset_key
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import build_dataloaders, prepare_data
from promptstyles.styles.alpaca import DEFAULT_PREAMBLE, AlpacaStyle

INSTRUCTION = InstructionRecord("Add.", "1 2", "3")
CHAT = Conversation((Message("system", "Be brief."), Message("user", "Hi?"), Message("assistant", "Hello.")))
RECORDS = [INSTRUCTION, CHAT]


def key(records=RECORDS, style=None, tokenizer=None, mode="text"):
    return dataset_key(records, style or get_style("chatml"), tokenizer or get_tokenizer("gpt2"), mode)


@pytest.mark.parametrize("changed", [
    replace(INSTRUCTION, instruction="Add!"),
    replace(INSTRUCTION, input="1 3"),
    replace(INSTRUCTION, output="4"),
])
def test_every_instruction_field_is_in_the_key(changed):
    assert key([changed, CHAT]) != key()


def test_text_cannot_move_between_fields_unnoticed():
    assert key([InstructionRecord("Add.\x1f1", "2", "3")]) != key([InstructionRecord("Add.", "1\x1f2", "3")])


@pytest.mark.parametrize("position, message", [
    (0, Message("user", "Be brief.")),
    (0, Message("system", "Be long.")),
    (2, Message("user", "Hello.")),
    (2, Message("assistant", "Hello!")),
])
def test_every_message_role_and_content_is_in_the_key(position, message):
    messages = list(CHAT.messages)
    messages[position] = message
    assert key([INSTRUCTION, Conversation(tuple(messages))]) != key()


def test_options_are_recorded_by_the_style_itself_with_defaults_applied():
    one, two = AlpacaStyle(system="One."), AlpacaStyle(system="Two.")
    assert (one.options, two.options) == ({"system": "One."}, {"system": "Two."})
    assert key(style=one) != key(style=two)
    assert key(style=AlpacaStyle()) == key(style=AlpacaStyle(system=DEFAULT_PREAMBLE)) == key(style=get_style("alpaca"))
    assert AlpacaStyle().options == {} and AlpacaStyle().resolved_options == {"system": DEFAULT_PREAMBLE}
    chatml = get_style("chatml")
    assert key(style=chatml) == key(style=get_style("chatml", system=None)) == key(style=get_style("chatml", system=""))
    assert key(style=chatml) != key(style=get_style("chatml", joiner=" ")) != key(style=get_style("chatml", bos=False))
    qwen = get_style("qwen2.5")
    assert key(style=qwen) == key(style=type(qwen)(system=qwen.system)) != key(style=get_style("chatml"))
    assert key(style=qwen) != key(style=get_style("qwen2.5", system="Other."))


def test_a_declared_style_records_its_options_and_declaration():
    declared = {"name": "mine", "assistant": {"header": "A: "}, "user": {"prefix": "U: "}}
    style = load_config({"style": declared, "style_options": {"system": "Sys."}}).build_style()
    assert style.options == {"system": "Sys."}
    other_option = load_config({"style": declared, "style_options": {"system": "Other."}}).build_style()
    other_markup = load_config({"style": {**declared, "user": {"prefix": "User: "}},
                                "style_options": {"system": "Sys."}}).build_style()
    assert len({key(style=style), key(style=other_option), key(style=other_markup)}) == 3
    with pytest.raises(StyleError, match="^style 'mine' has no option 'sytem'; it accepts: system, joiner, bos, date; "
                                         "did you mean 'system'\\?$"):
        load_config({"style": declared, "style_options": {"sytem": "Sys."}}).build_style()


def test_tokenizer_name_mode_and_added_tokens_are_in_the_key():
    style = get_style("chatml")
    plain = get_tokenizer("gpt2")
    renamed = copy.copy(plain)
    renamed.name = "gpt2-variant"  # another encoding with the same vocabulary size
    assert key(tokenizer=renamed) != key(tokenizer=plain)
    assert key(mode="extend") != key()
    forward = get_tokenizer("gpt2", special_tokens=("<|im_start|>", "<|im_end|>"))
    backward = get_tokenizer("gpt2", special_tokens=("<|im_end|>", "<|im_start|>"))
    assert repr(forward) == repr(backward) and forward.vocab_size == backward.vocab_size
    assert len({key(style=style, tokenizer=t, mode="extend") for t in (plain, forward, backward)}) == 3


def test_a_plugin_style_is_keyed_by_its_distribution_version(monkeypatch):
    before = key(style=get_style("chatml")), key(style=get_style("alpaca"))
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "99.0" if name == "promptstyles-chatml" else real(name))
    assert key(style=get_style("chatml")) != before[0]
    assert key(style=get_style("alpaca")) == before[1]


STYLE_SOURCE = '''
from promptstyles import ChatStyle


class EditedStyle(ChatStyle):
    name = "edited"
    user_prefix = "U: "
    response_header = "A: "
'''


def test_editing_a_style_file_changes_the_key_whatever_its_date(tmp_path, monkeypatch):
    module = tmp_path / "edited_style_module.py"
    module.write_text(STYLE_SOURCE, encoding="utf-8")
    os.utime(module, (1_700_000_000, 1_700_000_000))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edited_style_module", raising=False)
    style = importlib.import_module("edited_style_module").EditedStyle()
    original = key(style=style)
    module.write_text(STYLE_SOURCE.replace('"A: "', '"B: "'), encoding="utf-8")
    os.utime(module, (1_700_000_000, 1_700_000_000))  # same date and size: only the content tells
    assert key(style=style) != original
    module.write_text(STYLE_SOURCE, encoding="utf-8")
    assert key(style=style) == original


def test_records_differing_only_in_input_get_their_own_entries(tmp_path, caplog):
    caplog.set_level("INFO")
    config = {"data": {"cache_dir": str(tmp_path), "split": {"train": 1.0, "test": 0.0}}}
    first = prepare_data(config, records=[INSTRUCTION]).dataset
    second = prepare_data(config, records=[replace(INSTRUCTION, input="1 3")]).dataset
    assert "loaded tokenized dataset" not in caplog.text
    assert len(list((tmp_path / "datasets").iterdir())) == 2
    assert first.tokens.tolist() != second.tokens.tolist()


def test_the_mask_applies_to_a_cached_entry_when_batches_are_built(dataset_path, tmp_path, caplog):
    """Masks are not in the entry: each ``collate.mask`` gives its own targets from one cached dataset."""
    caplog.set_level("INFO")
    base = {"data": {"path": str(dataset_path), "cache_dir": str(tmp_path)}, "loader": {"shuffle": False}}
    uncached = {**base, "data": {**base["data"], "cache": False}}
    targets = {}
    for mask in ("none", "prompt", "instruction"):
        caplog.clear()
        cached = next(iter(build_dataloaders({**base, "collate": {"mask": mask}}).train)).targets
        assert ("loaded tokenized dataset" in caplog.text) == (mask != "none")
        fresh = next(iter(build_dataloaders({**uncached, "collate": {"mask": mask}}).train)).targets
        assert torch.equal(cached, fresh)
        targets[mask] = cached
    assert len(list((tmp_path / "datasets").iterdir())) == 1
    assert (targets["none"] == -100).sum() < (targets["instruction"] == -100).sum()
    assert not torch.equal(targets["prompt"], targets["instruction"])


def test_a_template_file_edit_changes_the_key(tmp_path):
    """The chat-template style's option is a path: the key must follow the file's text, not its name."""
    template = tmp_path / "chat.jinja"
    body = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    template.write_text(body, encoding="utf-8")
    before = key(style=get_style("chat-template", template=str(template)))
    template.write_text(body.replace("<|end|>", "<|stop|>"), encoding="utf-8")
    assert key(style=get_style("chat-template", template=str(template))) != before


def test_state_taken_when_a_style_is_built_is_in_the_key(monkeypatch):
    """llama3.2 stamps the day it is built; a dataset built another day must not be served from the cache."""
    import datetime as dt

    import promptstyles_llama.llama31 as llama31

    first = key(style=get_style("llama3.2"))

    class NextYear(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2031, 1, 1)

    monkeypatch.setattr(llama31.dt, "datetime", NextYear)
    later = get_style("llama3.2")
    assert "Today Date: 01 Jan 2031" in later.render(INSTRUCTION).text
    assert key(style=later) != first
