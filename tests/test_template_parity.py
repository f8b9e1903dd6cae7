"""Every bundled chat style against its model's official ``chat_template``, rendered by transformers.

The templates are the publishers' own (``fixtures/chat_templates/``, see its SOURCES.md, and the
``tokenizer_config.json`` of the shared model folders); transformers' ``apply_chat_template`` renders them,
with the BOS and EOS text the model's config has. The style must produce the same text byte for byte: the
training text for whole conversations, and the generation prompt against ``add_generation_prompt=True``.
A known deviation is listed in ``DEVIATIONS``, documented in the style's docstring, and asserted as
exactly that deviation.
"""

# ruff: noqa: RUF001  (DeepSeek's special tokens have full-width bars)

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from shared_paths import MODELS, require

from promptstyles import Conversation, InstructionRecord, Message, StyleError, get_style

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
jinja2 = pytest.importorskip("jinja2")

TEMPLATES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"


@dataclass(frozen=True)
class Case:
    """A style and the official template it claims, with the special-token text that template is given."""

    style: str
    template: str
    """A file in ``fixtures/chat_templates/``, or a folder in the shared models (its tokenizer_config.json)."""
    bos: str | None = None
    eos: str | None = None
    system: bool = True
    """Whether the template accepts a system message."""
    options: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    """Template variables that match ``options`` (a fixed date rather than today's)."""
    text_parts: bool = False
    """The template reads a system message's text as ``content[0]['text']`` (Gemma-3), not as a string."""

    def text(self) -> str:
        if self.template.endswith(".jinja"):
            return (TEMPLATES / self.template).read_text(encoding="utf-8")
        config = require(MODELS / self.template / "tokenizer_config.json")
        return json.loads(config.read_text(encoding="utf-8"))["chat_template"]

    def tokens(self) -> dict[str, str | None]:
        if self.template.endswith(".jinja"):
            return {"bos_token": self.bos, "eos_token": self.eos}
        config = json.loads(require(MODELS / self.template / "tokenizer_config.json").read_text(encoding="utf-8"))
        return {key: _content(config.get(key)) for key in ("bos_token", "eos_token")}


def _content(token: Any) -> str | None:
    return token["content"] if isinstance(token, dict) else token


CASES = [
    Case("llama3.1", "llama-3.1-8b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    Case("llama3.2", "llama-3.2-3b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", options={"date": "04 Jul 2025"},
         context={"date_string": "04 Jul 2025"}),
    Case("qwen2", "qwen2-7b-instruct.jinja", None, "<|im_end|>"),
    Case("qwen2.5", "qwen2.5-7b-instruct.jinja", None, "<|im_end|>"),
    Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>"),
    Case("deepseek", "deepseek-llm-7b-chat.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    Case("command-r", "command-r.jinja", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    Case("gemma", "gemma-2-2b-it.jinja", "<bos>", "<eos>", system=False),
    Case("mistral", "mistral-7b-instruct-v0.1.jinja", "<s>", "</s>"),
    Case("mistral", "mistral-7b-instruct-v0.2.jinja", "<s>", "</s>"),
    Case("gemma3", "gemma-3-1b-it.jinja", "<bos>", "<eos>", text_parts=True),
    Case("llama2", "llama-2-7b-chat.jinja", "<s>", "</s>"),
    Case("phi3", "phi-3-mini-4k-instruct.jinja", "<s>", "<|endoftext|>"),
    Case("phi4", "phi-4.jinja", "<|endoftext|>", "<|im_end|>"),
    Case("zephyr", "zephyr-7b-beta.jinja", "<s>", "</s>"),
    Case("tinyllama", "tinyllama-1.1b-chat-v1.0.jinja", "<s>", "</s>"),
    Case("llama3", "llama-3-8b-instruct"),
    Case("phi3.5", "phi-3.5-mini-instruct"),
    Case("mistral-v0.3", "mistral-7b-instruct-v0.3"),
    Case("mistral-nemo", "mistral-nemo-instruct-2407.jinja", "<s>", "</s>"),
    Case("gpt-oss", "gpt-oss-120b.jinja", "<|startoftext|>", "<|return|>"),  # dated today, as the template
]
BY_STYLE = {case.style: case for case in CASES}

SYSTEM = {"role": "system", "content": "Answer briefly."}
CONVERSATIONS: dict[str, list[dict[str, str]]] = {
    "single": [{"role": "user", "content": "Name a primary colour."}, {"role": "assistant", "content": "Red."}],
    "system": [SYSTEM, {"role": "user", "content": "Name a primary colour."}, {"role": "assistant", "content": "Red."}],
    "empty_system": [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Hello."}],
    "multi": [
        SYSTEM,
        {"role": "user", "content": " Hi there!\n"}, {"role": "assistant", "content": "Hello. "},
        {"role": "user", "content": "Name a primary colour."}, {"role": "assistant", "content": "\nRed."},
        {"role": "user", "content": "And another one?"}, {"role": "assistant", "content": " Blue, with ünïcödé. "},
    ],
}

DEVIATIONS = {
    # The official template folds the system prompt only into a user message that is the last message, so it
    # drops it from every training text; mistral-common (the publisher's reference) keeps it in the last user
    # message, and so does the style. Generation prompts (a user message last) agree.
    ("mistral-v0.3", "system"): "system prompt dropped by the template",
    ("mistral-v0.3", "empty_system"): "system prompt dropped by the template",
    ("mistral-v0.3", "multi"): "system prompt dropped by the template",
    ("mistral-nemo", "system"): "system prompt dropped by the template",
    ("mistral-nemo", "empty_system"): "system prompt dropped by the template",
    ("mistral-nemo", "multi"): "system prompt dropped by the template",
    # Phi-3.5's template skips an empty system message; the style writes the turn, as Phi-3's template does.
    ("phi3.5", "empty_system"): "empty system turn skipped by the template",
}


def pairs() -> list[tuple[Case, str]]:
    """Every case with every conversation; without the system message where the template has no system role."""
    return [(case, name) for case in CASES
            for name in (CONVERSATIONS if case.system else ("single", "multi_no_system"))]


def conversation(name: str) -> list[dict[str, str]]:
    if name == "multi_no_system":
        return CONVERSATIONS["multi"][1:]
    return CONVERSATIONS[name]


def record(messages: list[dict[str, str]]) -> Conversation:
    return Conversation(tuple(Message(m["role"], m["content"]) for m in messages))


@pytest.fixture(scope="module")
def reference():
    """transformers' own chat-template rendering, on a tokenizer whose vocabulary does not matter here."""
    vocabulary = tokenizers.Tokenizer(tokenizers.models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=vocabulary)

    def render(case: Case, messages: list[dict[str, str]], *, generation: bool = False, **context: Any) -> str:
        variables = {**case.tokens(), **case.context, **context}
        if case.text_parts and messages and messages[0]["role"] == "system":
            system = {"role": "system", "content": [{"type": "text", "text": messages[0]["content"]}]}
            messages = [system, *messages[1:]]
        return tokenizer.apply_chat_template(messages, chat_template=case.text(), tokenize=False,
                                             add_generation_prompt=generation, **variables)

    return render


@pytest.mark.parametrize(("case", "name"), pairs(), ids=lambda v: v.style if isinstance(v, Case) else v)
def test_training_text_equals_the_official_template(reference, case, name):
    messages = conversation(name)
    expected = reference(case, messages)
    text = get_style(case.style, **case.options).render(record(messages)).text
    if (case.style, name) in DEVIATIONS:
        assert text != expected
        return
    assert text == expected


@pytest.mark.parametrize(("case", "name"), pairs(), ids=lambda v: v.style if isinstance(v, Case) else v)
def test_generation_prompt_equals_the_official_template(reference, case, name):
    messages = conversation(name)
    expected = reference(case, messages[:-1], generation=True)
    prompt = get_style(case.style, **case.options).generation_prompt(record(messages))
    if (case.style, name) == ("phi3.5", "empty_system"):
        assert prompt == "<|system|>\n<|end|>\n" + expected
        return
    assert prompt == expected


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.style)
def test_instruction_record_is_one_user_message_of_instruction_and_input(reference, case):
    messages = [{"role": "user", "content": "Add the numbers.\n2 3"}, {"role": "assistant", "content": "5."}]
    style = get_style(case.style, **case.options)
    example = InstructionRecord("Add the numbers.", "2 3", "5.")
    assert style.render(example).text == reference(case, messages)
    assert style.generation_prompt(example) == reference(case, messages[:1], generation=True)


def test_mistral_v03_deviation_is_only_the_dropped_system_prompt(reference):
    case = BY_STYLE["mistral-v0.3"]
    style = get_style(case.style)
    for name in ("system", "multi"):
        messages = conversation(name)
        assert reference(case, messages) == style.render(record(messages[1:])).text
        assert f"[INST] {SYSTEM['content']}\n\n" in style.render(record(messages)).text


def test_phi35_deviation_is_only_the_empty_system_turn(reference):
    case = BY_STYLE["phi3.5"]
    messages = conversation("empty_system")
    text = get_style(case.style).render(record(messages)).text
    assert text == "<|system|>\n<|end|>\n" + reference(case, messages)


def test_gemma_refuses_a_system_message_as_its_template_does(reference):
    messages = conversation("system")
    with pytest.raises(jinja2.exceptions.TemplateError, match="System role not supported"):
        reference(BY_STYLE["gemma"], messages)
    with pytest.raises(StyleError, match="has no system role"):
        get_style("gemma").render(record(messages))


def test_command_r_refuses_turns_that_do_not_alternate_as_its_template_does(reference):
    messages = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(jinja2.exceptions.TemplateError, match="must alternate"):
        reference(BY_STYLE["command-r"], messages)
    with pytest.raises(StyleError, match="turn 2 \\(user\\): expected an assistant message"):
        get_style("command-r").render(record(messages))


# -- the dated Llama-3.1 / 3.2 preamble ---------------------------------------------------------------


def test_llama31_default_date_is_the_templates_own(reference):
    messages = conversation("system")
    assert get_style("llama3.1").render(record(messages)).text == reference(BY_STYLE["llama3.1"], messages)
    assert "Today Date: 26 Jul 2024\n\n" in reference(BY_STYLE["llama3.1"], messages)


@pytest.mark.parametrize("style", ["llama3.1", "llama3.2"])
@pytest.mark.parametrize("date", ["03 Oct 2024", dt.date(2024, 10, 3)])
def test_llama_date_option_is_the_templates_date_string(reference, style, date):
    messages = conversation("multi")
    expected = reference(BY_STYLE[style], messages, date_string="03 Oct 2024")
    assert get_style(style, date=date).render(record(messages)).text == expected
    assert "Today Date: 03 Oct 2024\n\n" in expected


def test_llama32_default_date_is_today_as_the_template_stamps_it(reference):
    messages = conversation("single")
    style = get_style("llama3.2")
    expected = reference(replace(BY_STYLE["llama3.2"], options={}, context={}), messages)
    assert style.render(record(messages)).text == expected
    assert f"Today Date: {dt.date.today():%d %b %Y}\n\n" in expected


@pytest.mark.parametrize("date", ["", "26 Jul\n2024", 20240726])
def test_a_bad_date_names_the_style_and_the_option(date):
    with pytest.raises(StyleError, match="style 'llama3.1': option 'date' must be a one-line string"):
        get_style("llama3.1", date=date)


def test_llama31_always_writes_the_system_turn():
    with pytest.raises(StyleError, match="style 'llama3.1' always writes a system turn"):
        get_style("llama3.1", system=None)
    assert get_style("llama3.1", system="Be brief. ").render(InstructionRecord("Hi", "", "Yo")).text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>"
    )


CLAIMED_ELSEWHERE = {
    # Its template cannot write reasoning; the style writes the final answer as the model generates it.
    "deepseek-r1-distill-qwen-32b.jinja": "test_reasoning_styles.py",
    # The template Hermes 3 uses when tools are given (its default one is ChatML).
    "hermes-3-llama-3.1-8b-tool_use.jinja": "test_tool_parity.py",
    # Not a model's template: tool and reasoning parts traced through the chat-template style.
    "chatml-think-tools.jinja": "test_chat_template_tools.py",
}


def test_every_template_fixture_is_claimed_by_a_style():
    claimed = {case.template for case in CASES} | set(CLAIMED_ELSEWHERE)
    assert sorted(p.name for p in TEMPLATES.glob("*.jinja") if p.name not in claimed) == []
