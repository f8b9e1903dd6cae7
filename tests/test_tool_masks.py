"""Masks of tool and reasoning conversations come from the part kinds: an assistant's reasoning, tool calls, text
and end markup are trained; tool definitions and tool results never; ``train_reasoning=False`` leaves reasoning
untrained. Checked on hand-written runs and on real batches of the Qwen2.5 tokenizer, decoded."""

from __future__ import annotations

import numpy as np
import pytest
from agent_records import record
from engine_styles import MODELS

from promptstyles import get_style, to_record
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.masks import KIND_CODES, compute_spans
from promptstyles.styles._base import PartKind as K

# One example of runs: kind and length in tokens.
RUNS = [(K.SYSTEM, 3), (K.TOOLS, 40), (K.PROMPT, 5), (K.RESPONSE_HEADER, 3), (K.REASONING, 7), (K.TOOL_CALL, 9),
        (K.END, 2), (K.TOOL_RESULT, 6), (K.RESPONSE_HEADER, 3), (K.REASONING, 4), (K.RESPONSE, 5), (K.END, 2)]


def spans(mode: str, **options) -> list[tuple[int, int]]:
    ends = np.cumsum([n for _, n in RUNS])
    kinds = np.array([KIND_CODES[kind] for kind, _ in RUNS], dtype=np.int8)
    found = compute_spans(ends, kinds, np.array([0, len(RUNS)]), np.array([ends[-1]]), mode, **options)
    return list(zip(found.starts.tolist(), found.ends.tolist(), strict=True))


@pytest.mark.parametrize(("mode", "train_reasoning", "expected"), [
    ("assistant", True, [(51, 69), (78, 89)]),  # reasoning + call + end; reasoning + text + end
    ("assistant", False, [(58, 69), (82, 89)]),  # calls + end; text + end
    ("last_assistant", True, [(78, 89)]),
    ("last_assistant", False, [(82, 89)]),
    ("prompt", True, [(78, 89)]),
    ("instruction", True, [(75, 89)]),
    ("instruction", False, [(75, 78), (82, 89)]),
    ("none", False, [(0, 89)]),
])
def test_runs_trained_under_each_mode(mode, train_reasoning, expected):
    assert spans(mode, train_reasoning=train_reasoning) == expected


def trained_text(style, raw, mode: str, folder: str = "qwen2.5-7b-instruct", **collate) -> list[str]:
    """The trained targets of one example, decoded run by run (what a batch trains, as text); the collator appends
    the model's end-of-text, `<|im_end|>` for Qwen2.5."""
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    if not (MODELS / folder).is_dir():
        pytest.skip(f"tokenizer folder {MODELS / folder} not found")
    tokenizer = HFTokenizer(MODELS / folder)
    style = get_style(style) if isinstance(style, str) else style
    dataset = tokenize_records([to_record(raw)], style, tokenizer)
    batch = Collator(pad_token_id=tokenizer.eos_id, mask=mode, **collate)(dataset.batch([0]))
    targets = batch.targets[0].tolist()
    runs, current = [], []
    for target in [*targets, -100]:
        if target == -100:
            if current:
                runs.append(tokenizer.decode(current))
            current = []
        else:
            current.append(target)
    return runs


CALL_TURN = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call><|im_end|>\n'


def test_qwen25_assistant_mask_trains_calls_text_and_ends_never_tools_or_results():
    assert trained_text("qwen2.5", record("one call"), "assistant") == [
        CALL_TURN, "It is 21 °C and clear in Zürich.<|im_end|>\n<|im_end|>"]


def test_qwen25_last_assistant_mask_trains_the_final_turn_only():
    assert trained_text("qwen2.5", record("one call"), "last_assistant") == [
        "It is 21 °C and clear in Zürich.<|im_end|>\n<|im_end|>"]


def test_qwen25_text_before_calls_is_trained_with_them():
    assert trained_text("qwen2.5", record("text, two calls and two results"), "assistant") == [
        'Checking both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}\n'
        '</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "東京"}}\n</tool_call><|im_end|>\n',
        "東京 is warmer: 25 vs 18.<|im_end|>\n<|im_end|>"]


def test_mistral_v03_trains_the_call_turn_and_the_answer_never_the_tool_list_or_results():
    assert trained_text("mistral-v0.3", record("one call"), "assistant", folder="mistral-7b-instruct-v0.3") == [
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}, "id": "call00001"}]</s>',
        "It is 21 °C and clear in Zürich.</s>"]
    assert trained_text("mistral-v0.3", record("one call"), "last_assistant", folder="mistral-7b-instruct-v0.3") == [
        "It is 21 °C and clear in Zürich.</s>"]


def test_llama31_trains_the_json_call_and_the_answer_never_the_tool_list_or_ipython_results():
    llama = get_style("llama3.1")
    assert trained_text(llama, record("one call"), "assistant", folder="llama-3-8b-instruct") == [
        '{"name": "get_weather", "parameters": {"city": "Zürich"}}<|eot_id|>',
        "It is 21 °C and clear in Zürich.<|eot_id|>"]  # its <|eot_id|> is the end-of-text the collator appends


def test_collate_train_reasoning_reaches_the_collator_from_the_config():
    from promptstyles.config import CollateConfig

    assert Collator.from_config(CollateConfig(mask="assistant"), eos_token_id=0).train_reasoning is True
    assert Collator.from_config(CollateConfig(train_reasoning=False), eos_token_id=0).train_reasoning is False
