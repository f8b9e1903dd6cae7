"""Reasoning masks, and ``data.turns: per_assistant`` for templates that drop earlier turns' reasoning: Qwen3
renders a two-turn conversation without its first turn's reasoning; expanded, each turn is its own example,
rendered as the template renders the conversation up to it, and trained once with its reasoning."""

from __future__ import annotations

import json

import pytest
from agent_records import messages_and_tools, record
from test_template_parity import Case, reference  # noqa: F401  (the fixture)
from test_tool_masks import trained_text

from promptstyles import ConfigError, StyleError, get_style, to_record
from promptstyles.config import load_config
from promptstyles.data.store.cache import dataset_key
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import prepare_data
from promptstyles.turns import per_assistant

QWEN3 = Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>")
FIRST = "<think>\nTwo and two make four.\n</think>\n\n4<|im_end|>\n"
SECOND = "<think>\n4 * 2 = 8.\n</think>\n\n8<|im_end|>\n"


def test_whole_conversation_trains_what_the_template_shows_the_first_reasoning_is_gone():
    assert trained_text("qwen3", record("reasoning over two turns"), "assistant") == [
        "4<|im_end|>\n", SECOND + "<|im_end|>"]
    assert trained_text("qwen3", record("reasoning over two turns"), "assistant", train_reasoning=False) == [
        "4<|im_end|>\n", "8<|im_end|>\n<|im_end|>"]


def test_qwen3_tool_chain_trains_reasoning_calls_and_answers_never_tools_or_results():
    assert trained_text("qwen3", record("reasoning with a tool call"), "assistant") == [
        '<think>\nI need the weather tool.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": '
        '{"city": "Oslo"}}\n</tool_call><|im_end|>\n',
        "<think>\nIt is freezing.\n</think>\n\n-3 °C in Oslo.<|im_end|>\n<|im_end|>"]


def test_enable_thinking_false_leaves_the_empty_think_block_in_the_prompt():
    raw = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    assert trained_text("qwen3", raw, "assistant") == ["<think>\n\n</think>\n\nHello<|im_end|>\n<|im_end|>"]
    thinking_off = get_style("qwen3", enable_thinking=False)
    assert trained_text(thinking_off, raw, "assistant") == ["Hello<|im_end|>\n<|im_end|>"]
    assert thinking_off.generation_prompt(raw) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" \
        "<think>\n\n</think>\n\n"
    with_reasoning = {"messages": [raw["messages"][0], {**raw["messages"][1], "reasoning_content": "r"}]}
    with pytest.raises(StyleError, match="turn 2 .assistant.: key 'reasoning_content': enable_thinking is false"):
        thinking_off.render(with_reasoning)


def test_per_assistant_examples_render_as_the_template_renders_each_prefix(reference):  # noqa: F811
    messages, _ = messages_and_tools("reasoning over two turns")
    examples = per_assistant([to_record({"messages": messages})])
    assert [len(example.messages) for example in examples] == [3, 5]
    style = get_style("qwen3")
    for example, end in zip(examples, (3, 5), strict=True):
        assert style.render(example).text == reference(QWEN3, messages[:end])


def test_per_assistant_trains_every_turn_and_its_reasoning_exactly_once():
    examples = per_assistant([to_record(record("reasoning over two turns"))])
    assert [trained_text("qwen3", example, "assistant") for example in examples] == [
        [FIRST + "<|im_end|>"], [SECOND + "<|im_end|>"]]
    assert [trained_text("qwen3", example, "assistant", train_reasoning=False) for example in examples] == [
        ["4<|im_end|>\n<|im_end|>"], ["8<|im_end|>\n<|im_end|>"]]


def test_data_turns_per_assistant_expands_records_in_the_pipeline(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps(record("reasoning over two turns")) + "\n" + json.dumps(record("one call")) + "\n")
    config = {"style": "qwen3", "data": {"path": str(path), "cache": False, "turns": "per_assistant",
                                         "split": {"train": 1.0, "test": 0.0}}}
    prepared = prepare_data(config)
    assert [len(r.messages) for r in prepared.records] == [3, 5, 2, 4]
    assert len(prepared.dataset) == 4
    whole = prepare_data({**config, "data": {**config["data"], "turns": "whole"}})
    assert len(whole.dataset) == 2


def test_per_assistant_needs_records_read_whole():
    with pytest.raises(ConfigError, match="data.turns: per_assistant expands records read whole"):
        load_config({"data": {"path": "x.jsonl", "streaming": True, "turns": "per_assistant"}})


def test_the_cache_key_covers_calls_reasoning_tools_and_expansion():
    def key(raw) -> str:
        records = [to_record(raw)] if isinstance(raw, dict) else raw
        return dataset_key(records, get_style("qwen3"), get_tokenizer("gpt2"), "text")

    base = record("reasoning with a tool call")
    changed_argument = json.loads(json.dumps(base).replace('"Oslo"}', '"Bergen"}'))
    changed_reasoning = json.loads(json.dumps(base).replace("It is freezing.", "Cold."))
    no_tools = {"messages": base["messages"]}
    whole = [to_record(record("reasoning over two turns"))]
    keys = {key(base), key(changed_argument), key(changed_reasoning), key(no_tools), key(whole),
            key(per_assistant(whole)[1:])}
    assert len(keys) == 6
