"""DeepSeek-R1: generation prompts are its template's; the final answer is written as the model generates it
after that prompt (its template cannot write reasoning), earlier answers as the template writes them. gpt-oss:
reasoning in the analysis channel of the final answer, dropped from earlier ones, as its template writes it.
Their tools are tested in test_reasoning_tools.py."""

# ruff: noqa: RUF001  (the full-width bars are DeepSeek's real token text)

from __future__ import annotations

import pytest
from agent_records import REASONING_CONVERSATIONS, messages_and_tools, record
from test_reasoning_tools import trained_runs
from test_template_parity import Case, reference  # noqa: F401  (the fixture)

from promptstyles import StyleError, get_style, to_record
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.turns import per_assistant

R1 = Case("deepseek-r1", "deepseek-r1-distill-qwen-32b.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
NAMES = [name for name, (_, tools) in REASONING_CONVERSATIONS.items() if not tools]


@pytest.mark.parametrize("name", NAMES)
def test_generation_prompts_are_the_templates(reference, name):  # noqa: F811
    messages, _ = messages_and_tools(name)
    style = get_style("deepseek-r1")
    for k, message in enumerate(messages):
        if message["role"] == "assistant":
            expected = reference(R1, messages[:k], generation=True)
            assert style.generation_prompt({"messages": messages[: k + 1]}) == expected
            assert expected.endswith("<｜Assistant｜><think>\n")


@pytest.mark.parametrize("name", NAMES)
def test_the_final_answer_follows_the_generation_prompt_as_the_model_writes_it(reference, name):  # noqa: F811
    messages, _ = messages_and_tools(name)
    final = messages[-1]
    expected = (reference(R1, messages[:-1], generation=True) + final["reasoning_content"] + "\n</think>\n\n"
                + final["content"] + "<｜end▁of▁sentence｜>")
    assert get_style("deepseek-r1").render({"messages": messages}).text == expected


def trained_text(raw, mode: str, **collate) -> list[str]:
    """Trained DeepSeek-R1 targets decoded run by run, with GPT-2 given the style's markup tokens (no R1 tokenizer
    is shared); the appended end-of-text is GPT-2's."""
    return trained_runs(get_style("deepseek-r1"), raw, mode, **collate)


def test_reasoning_masks_and_per_assistant():
    raw = record("reasoning over two turns")
    assert trained_text(raw, "assistant") == [
        "4<｜end▁of▁sentence｜>", "4 * 2 = 8.\n</think>\n\n8<｜end▁of▁sentence｜><|endoftext|>"]
    assert trained_text(raw, "assistant", train_reasoning=False) == [
        "4<｜end▁of▁sentence｜>", "8<｜end▁of▁sentence｜><|endoftext|>"]
    first, second = per_assistant([to_record(raw)])
    assert trained_text(first, "assistant") == [
        "Two and two make four.\n</think>\n\n4<｜end▁of▁sentence｜><|endoftext|>"]
    assert trained_text(second, "assistant") == ["4 * 2 = 8.\n</think>\n\n8<｜end▁of▁sentence｜><|endoftext|>"]


def test_extract_response_drops_the_generated_reasoning():
    assert get_style("deepseek-r1").extract_response("Let me see.\n</think>\n\n51<｜end▁of▁sentence｜>") == "51"


GPT_OSS = Case("gpt-oss", "gpt-oss-120b.jinja", "<|startoftext|>", "<|return|>")
"""Its template dates the system message today (``strftime_now``), as the style does by default."""


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
@pytest.mark.parametrize("name", NAMES)
def test_gpt_oss_renders_reasoning_as_its_template(reference, name, effort):  # noqa: F811
    messages, _ = messages_and_tools(name)
    style = get_style("gpt-oss", reasoning_effort=effort)
    assert style.render({"messages": messages}).text == reference(GPT_OSS, messages, reasoning_effort=effort)
    for k, message in enumerate(messages):
        if message["role"] == "assistant":
            expected = reference(GPT_OSS, messages[:k], generation=True, reasoning_effort=effort)
            assert style.generation_prompt({"messages": messages[: k + 1]}) == expected
    for example in per_assistant([to_record({"messages": messages})]):
        prefix = messages[: len(example.messages)]
        assert style.render(example).text == reference(GPT_OSS, prefix, reasoning_effort=effort)


def test_gpt_oss_masks_train_the_final_analysis_answer_and_return():
    style = get_style("gpt-oss", date="2025-07-04")
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    dataset = tokenize_records([to_record(record("reasoning over two turns"))], style, tokenizer,
                               special_tokens="extend")
    def trained(**options) -> str:
        targets = Collator(mask="assistant", **options)(dataset.batch([0])).targets[0].tolist()
        return tokenizer.decode([t for t in targets if t != -100])

    assert trained() == ("<|channel|>final<|message|>4<|end|><|channel|>analysis<|message|>4 * 2 = 8.<|end|>"
                         "<|start|>assistant<|channel|>final<|message|>8<|return|><|endoftext|>")
    assert trained(train_reasoning=False) == ("<|channel|>final<|message|>4<|end|><|channel|>final<|message|>8"
                                              "<|return|><|endoftext|>")


def test_gpt_oss_refuses_a_bad_effort():
    with pytest.raises(StyleError, match="option 'reasoning_effort' must be one of low, medium, high, got 'max'"):
        get_style("gpt-oss", reasoning_effort="max")


def test_gpt_oss_date_option_is_the_current_date_line():
    import datetime as dt

    for date in ("2025-07-04", dt.date(2025, 7, 4)):
        text = get_style("gpt-oss", date=date).render(record("reasoning, one turn")).text
        assert "\nCurrent date: 2025-07-04\n\nReasoning: medium\n\n" in text


def test_gpt_oss_extracts_the_final_channel():
    generated = "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|> 51 <|return|>"
    assert get_style("gpt-oss").extract_response(generated) == "51"
