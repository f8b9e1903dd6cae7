"""DeepSeek-R1: generation prompts are its template's; the final answer is written as the model generates it
after that prompt (its template cannot write reasoning), earlier answers as the template writes them."""

# ruff: noqa: RUF001  (the full-width bars are DeepSeek's real token text)

from __future__ import annotations

import pytest
from agent_records import REASONING_CONVERSATIONS, messages_and_tools, record
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
    """Trained targets decoded run by run, with GPT-2 given the style's markup tokens (no R1 tokenizer is
    shared); the appended end-of-text is GPT-2's."""
    style = get_style("deepseek-r1")
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    dataset = tokenize_records([to_record(raw)], style, tokenizer, special_tokens="extend")
    targets = Collator(mask=mode, **collate)(dataset.batch([0])).targets[0].tolist()
    runs, current = [], []
    for target in [*targets, -100]:
        if target == -100 and current:
            runs.append(tokenizer.decode(current))
        current = [] if target == -100 else [*current, target]
    return runs


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


def test_deepseek_r1_refuses_tools_and_names_the_styles_that_write_them():
    with pytest.raises(StyleError, match="key 'tools': style 'deepseek-r1' cannot render tools, tool calls or tool "
                                         "results; styles that can: .*qwen3"):
        get_style("deepseek-r1").render(record("one call"))


def test_extract_response_drops_the_generated_reasoning():
    assert get_style("deepseek-r1").extract_response("Let me see.\n</think>\n\n51<｜end▁of▁sentence｜>") == "51"
