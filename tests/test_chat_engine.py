"""Chat records end to end: every chat style's multi-turn masks, and every style from YAML to a batch."""

from __future__ import annotations

import json

import pytest
from engine_styles import REQUIRED_OPTIONS, registered_style, styles_where

from promptstyles import Message, PartKind, available_styles, build_dataloaders
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.data.tokenizers.gpt2_files import load_encoding
from promptstyles.records import Conversation

GPT2 = load_encoding("gpt2")
CHAT_STYLES = styles_where(lambda style: style.supports_conversations)
TWO_TURNS = Conversation((
    Message("user", "Name a colour."), Message("assistant", "Blue."),
    Message("user", "And a fruit?"), Message("assistant", "A pear, ripe."),
))


def trained_tokens(style_name: str, mode: str, special_tokens: str):
    """Trained target ids (end-of-text excluded), the tokenizer, the parts and the ids of the example."""
    style = registered_style(style_name)
    extend = special_tokens == "extend"
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens if extend else ())
    dataset = tokenize_records([TWO_TURNS], style, tokenizer, special_tokens=special_tokens)
    targets = Collator(mask=mode)(dataset.batch([0])).targets[0].tolist()
    assert targets[-1] == 50256  # the appended end-of-text is trained
    return [t for t in targets[:-1] if t != -100], tokenizer, style.parts(TWO_TURNS), dataset[0].tolist()


TRAINED = (PartKind.REASONING, PartKind.TOOL_CALL, PartKind.RESPONSE, PartKind.END)


def trained_parts(parts, mode: str) -> list[tuple[int, int]]:
    """Character ranges of the parts a mode trains."""
    last_header = max(i for i, p in enumerate(parts) if p.kind is PartKind.RESPONSE_HEADER)
    ranges, position = [], 0
    for i, part in enumerate(parts):
        if part.kind in TRAINED and (mode == "assistant" or i > last_header):
            ranges.append((position, position + len(part.text)))
        position += len(part.text)
    return ranges


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_with_special_tokens_exactly_the_assistant_turns_and_end_markers_are_trained(name):
    trained, tokenizer, parts, _ = trained_tokens(name, "assistant", "extend")
    text = "".join(parts[i].text for i in range(len(parts)))
    expected = "".join(text[start:end] for start, end in trained_parts(parts, "assistant"))
    expected = expected.removesuffix("<|endoftext|>")  # a closing end-of-text is the appended one
    assert "Blue." in expected and "A pear, ripe." in expected
    assert tokenizer.decode(trained) == expected


@pytest.mark.parametrize("mode", ["assistant", "last_assistant"])
@pytest.mark.parametrize("name", CHAT_STYLES)
def test_as_plain_text_trained_tokens_are_those_starting_in_trained_parts(name, mode):
    trained, _, parts, ids = trained_tokens(name, mode, "text")
    _, offsets = GPT2.decode_with_offsets(ids)
    ranges = trained_parts(parts, mode)
    expected = [ids[k] for k, offset in enumerate(offsets) if k and any(s <= offset < e for s, e in ranges)]
    assert trained == expected
    decoded = GPT2.decode(trained)
    assert "A pear, ripe." in decoded and ("Blue." in decoded) == (mode == "assistant")


RECORDS = [
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                  {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye."}]},
    {"conversations": [{"from": "human", "value": "Capital of France?"}, {"from": "gpt", "value": "Paris."}]},
]


@pytest.mark.parametrize("name", available_styles())
def test_every_style_builds_a_batch_from_yaml(name, tmp_path):
    chat = registered_style(name).supports_conversations
    records = RECORDS if chat else RECORDS[:2]
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    mask = "assistant" if chat else "prompt"
    options = json.dumps(REQUIRED_OPTIONS.get(name, {}))
    (tmp_path / "config.yaml").write_text(
        f"style: {name}\nstyle_options: {options}\ndata: {{path: data.jsonl, split: {{train: 1.0, test: 0.0}}}}\n"
        f"collate: {{mask: {mask}}}\nloader: {{batch_size: 4, shuffle: false, drop_last: false}}\n", encoding="utf-8")
    loaders = build_dataloaders(tmp_path / "config.yaml")
    inputs, targets = next(iter(loaders.train))
    assert inputs.shape[0] == len(records)
    lengths = loaders.train.dataset.lengths.tolist()
    assert inputs.shape[1] == max(lengths)
    for row, record in enumerate(loaders.data.records):
        assert inputs[row, : lengths[row]].tolist() == GPT2.encode_ordinary(loaders.style.render(record).text)
        assert int((targets[row] == 50256).sum()) == 1
    assert bool((targets != -100).any(dim=1).all())
