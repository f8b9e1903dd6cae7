"""The bundled chat styles against their models' official chat templates, byte for byte.

The expected strings come from each model's official ``chat_template`` (its tokenizer_config.json, rendered
the way transformers renders it) and, for Vicuna, from FastChat's ``vicuna_v1.1`` conversation. They are
literals on purpose: a change in any style shows up here as a changed string.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from promptstyles import Conversation, InstructionRecord, Message, PartKind, StyleError, get_style
from promptstyles.testing import default_records

HEADER, RESPONSE, END = PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END
SYSTEM, PROMPT = PartKind.SYSTEM, PartKind.PROMPT

VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)

SINGLE = InstructionRecord("Name a primary colour.", "", "Red.")
WITH_INPUT = InstructionRecord("Add the numbers.", "2 3", "5.")
WITH_SYSTEM = Conversation(
    (Message("system", "Answer briefly."), Message("user", "Name a primary colour."), Message("assistant", "Red."))
)
TWO_TURNS = Conversation((
    Message("user", "Hi!"), Message("assistant", "Hello."),
    Message("user", "Name a primary colour."), Message("assistant", "Red."),
))


@dataclass(frozen=True)
class Golden:
    single: str
    """``SINGLE``: an instruction record without input."""
    input: str
    """``WITH_INPUT``: instruction and input joined by a newline in one user message."""
    system: str | None
    """``WITH_SYSTEM``; None where the official template refuses a system message."""
    system_generation: str | None
    two_turns: str
    generation: str
    """The generation prompt of ``TWO_TURNS`` (its final answer left out)."""


GOLDEN = {
    "phi3": Golden(
        single="<|user|>\nName a primary colour.<|end|>\n<|assistant|>\nRed.<|end|>\n<|endoftext|>",
        input="<|user|>\nAdd the numbers.\n2 3<|end|>\n<|assistant|>\n5.<|end|>\n<|endoftext|>",
        system=(
            "<|system|>\nAnswer briefly.<|end|>\n<|user|>\nName a primary colour.<|end|>\n<|assistant|>\n"
            "Red.<|end|>\n<|endoftext|>"
        ),
        system_generation=(
            "<|system|>\nAnswer briefly.<|end|>\n<|user|>\nName a primary colour.<|end|>\n<|assistant|>\n"
        ),
        two_turns=(
            "<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nName a primary colour.<|end|>\n"
            "<|assistant|>\nRed.<|end|>\n<|endoftext|>"
        ),
        generation=(
            "<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nName a primary colour.<|end|>\n"
            "<|assistant|>\n"
        ),
    ),
    "phi4": Golden(
        single=(
            "<|im_start|>user<|im_sep|>Name a primary colour.<|im_end|><|im_start|>assistant<|im_sep|>Red.<|im_end|>"
        ),
        input=(
            "<|im_start|>user<|im_sep|>Add the numbers.\n2 3<|im_end|><|im_start|>assistant<|im_sep|>5.<|im_end|>"
        ),
        system=(
            "<|im_start|>system<|im_sep|>Answer briefly.<|im_end|>"
            "<|im_start|>user<|im_sep|>Name a primary colour.<|im_end|><|im_start|>assistant<|im_sep|>Red.<|im_end|>"
        ),
        system_generation=(
            "<|im_start|>system<|im_sep|>Answer briefly.<|im_end|>"
            "<|im_start|>user<|im_sep|>Name a primary colour.<|im_end|><|im_start|>assistant<|im_sep|>"
        ),
        two_turns=(
            "<|im_start|>user<|im_sep|>Hi!<|im_end|><|im_start|>assistant<|im_sep|>Hello.<|im_end|>"
            "<|im_start|>user<|im_sep|>Name a primary colour.<|im_end|><|im_start|>assistant<|im_sep|>Red.<|im_end|>"
        ),
        generation=(
            "<|im_start|>user<|im_sep|>Hi!<|im_end|><|im_start|>assistant<|im_sep|>Hello.<|im_end|>"
            "<|im_start|>user<|im_sep|>Name a primary colour.<|im_end|><|im_start|>assistant<|im_sep|>"
        ),
    ),
    "chatml": Golden(
        single=(
            "<|im_start|>user\nName a primary colour.<|im_end|>\n<|im_start|>assistant\nRed.<|im_end|>\n"
        ),
        input="<|im_start|>user\nAdd the numbers.\n2 3<|im_end|>\n<|im_start|>assistant\n5.<|im_end|>\n",
        system=(
            "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nName a primary colour.<|im_end|>\n"
            "<|im_start|>assistant\nRed.<|im_end|>\n"
        ),
        system_generation=(
            "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nName a primary colour.<|im_end|>\n"
            "<|im_start|>assistant\n"
        ),
        two_turns=(
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n"
            "Name a primary colour.<|im_end|>\n<|im_start|>assistant\nRed.<|im_end|>\n"
        ),
        generation=(
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n"
            "Name a primary colour.<|im_end|>\n<|im_start|>assistant\n"
        ),
    ),
    "qwen2.5": Golden(
        single=(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nName a primary colour.<|im_end|>\n<|im_start|>assistant\nRed.<|im_end|>\n"
        ),
        input=(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nAdd the numbers.\n2 3<|im_end|>\n<|im_start|>assistant\n5.<|im_end|>\n"
        ),
        system=(
            "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nName a primary colour.<|im_end|>\n"
            "<|im_start|>assistant\nRed.<|im_end|>\n"
        ),
        system_generation=(
            "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nName a primary colour.<|im_end|>\n"
            "<|im_start|>assistant\n"
        ),
        two_turns=(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n"
            "Name a primary colour.<|im_end|>\n<|im_start|>assistant\nRed.<|im_end|>\n"
        ),
        generation=(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n"
            "Name a primary colour.<|im_end|>\n<|im_start|>assistant\n"
        ),
    ),
    "llama2": Golden(
        single="<s>[INST] Name a primary colour. [/INST] Red. </s>",
        input="<s>[INST] Add the numbers.\n2 3 [/INST] 5. </s>",
        system="<s>[INST] <<SYS>>\nAnswer briefly.\n<</SYS>>\n\nName a primary colour. [/INST] Red. </s>",
        system_generation="<s>[INST] <<SYS>>\nAnswer briefly.\n<</SYS>>\n\nName a primary colour. [/INST]",
        two_turns="<s>[INST] Hi! [/INST] Hello. </s><s>[INST] Name a primary colour. [/INST] Red. </s>",
        generation="<s>[INST] Hi! [/INST] Hello. </s><s>[INST] Name a primary colour. [/INST]",
    ),
    "llama3": Golden(
        single=(
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nName a primary colour.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nRed.<|eot_id|>"
        ),
        input=(
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nAdd the numbers.\n2 3<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n5.<|eot_id|>"
        ),
        system=(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nName a primary colour.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nRed.<|eot_id|>"
        ),
        system_generation=(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nName a primary colour.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        ),
        two_turns=(
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nName a primary colour.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nRed.<|eot_id|>"
        ),
        generation=(
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nName a primary colour.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        ),
    ),
    "mistral": Golden(
        single="<s> [INST] Name a primary colour. [/INST] Red.</s>",
        input="<s> [INST] Add the numbers.\n2 3 [/INST] 5.</s>",
        system="<s> [INST] Answer briefly.\n\nName a primary colour. [/INST] Red.</s>",
        system_generation="<s> [INST] Answer briefly.\n\nName a primary colour. [/INST]",
        two_turns="<s> [INST] Hi! [/INST] Hello.</s> [INST] Name a primary colour. [/INST] Red.</s>",
        generation="<s> [INST] Hi! [/INST] Hello.</s> [INST] Name a primary colour. [/INST]",
    ),
    "mistral-v0.3": Golden(
        single="<s>[INST] Name a primary colour.[/INST] Red.</s>",
        input="<s>[INST] Add the numbers.\n2 3[/INST] 5.</s>",
        system="<s>[INST] Answer briefly.\n\nName a primary colour.[/INST] Red.</s>",
        system_generation="<s>[INST] Answer briefly.\n\nName a primary colour.[/INST]",
        two_turns="<s>[INST] Hi![/INST] Hello.</s>[INST] Name a primary colour.[/INST] Red.</s>",
        generation="<s>[INST] Hi![/INST] Hello.</s>[INST] Name a primary colour.[/INST]",
    ),
    "gemma": Golden(
        single=(
            "<bos><start_of_turn>user\nName a primary colour.<end_of_turn>\n<start_of_turn>model\nRed.<end_of_turn>\n"
        ),
        input=(
            "<bos><start_of_turn>user\nAdd the numbers.\n2 3<end_of_turn>\n<start_of_turn>model\n5.<end_of_turn>\n"
        ),
        system=None,
        system_generation=None,
        two_turns=(
            "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nName a primary colour.<end_of_turn>\n<start_of_turn>model\nRed.<end_of_turn>\n"
        ),
        generation=(
            "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nName a primary colour.<end_of_turn>\n<start_of_turn>model\n"
        ),
    ),
    "gemma3": Golden(
        single=(
            "<bos><start_of_turn>user\nName a primary colour.<end_of_turn>\n<start_of_turn>model\nRed.<end_of_turn>\n"
        ),
        input=(
            "<bos><start_of_turn>user\nAdd the numbers.\n2 3<end_of_turn>\n<start_of_turn>model\n5.<end_of_turn>\n"
        ),
        system=(
            "<bos><start_of_turn>user\nAnswer briefly.\n\nName a primary colour.<end_of_turn>\n<start_of_turn>model\n"
            "Red.<end_of_turn>\n"
        ),
        system_generation=(
            "<bos><start_of_turn>user\nAnswer briefly.\n\nName a primary colour.<end_of_turn>\n<start_of_turn>model\n"
        ),
        two_turns=(
            "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nName a primary colour.<end_of_turn>\n<start_of_turn>model\nRed.<end_of_turn>\n"
        ),
        generation=(
            "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nName a primary colour.<end_of_turn>\n<start_of_turn>model\n"
        ),
    ),
    "zephyr": Golden(
        single="<|user|>\nName a primary colour.</s>\n<|assistant|>\nRed.</s>\n",
        input="<|user|>\nAdd the numbers.\n2 3</s>\n<|assistant|>\n5.</s>\n",
        system=(
            "<|system|>\nAnswer briefly.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\nRed.</s>\n"
        ),
        system_generation="<|system|>\nAnswer briefly.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\n",
        two_turns=(
            "<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\n"
            "Red.</s>\n"
        ),
        generation=(
            "<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\n"
        ),
    ),
    "tinyllama": Golden(
        single="<|user|>\nName a primary colour.</s>\n<|assistant|>\nRed.</s>\n",
        input="<|user|>\nAdd the numbers.\n2 3</s>\n<|assistant|>\n5.</s>\n",
        system=(
            "<|system|>\nAnswer briefly.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\nRed.</s>\n"
        ),
        system_generation="<|system|>\nAnswer briefly.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\n",
        two_turns=(
            "<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\n"
            "Red.</s>\n"
        ),
        generation=(
            "<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\nName a primary colour.</s>\n<|assistant|>\n"
        ),
    ),
    "vicuna": Golden(
        single=(
            VICUNA_SYSTEM
            + " USER: Name a primary colour. ASSISTANT: Red.</s>"
        ),
        input=(
            VICUNA_SYSTEM
            + " USER: Add the numbers.\n2 3 ASSISTANT: 5.</s>"
        ),
        system="Answer briefly. USER: Name a primary colour. ASSISTANT: Red.</s>",
        system_generation="Answer briefly. USER: Name a primary colour. ASSISTANT:",
        two_turns=(
            VICUNA_SYSTEM
            + " USER: Hi! ASSISTANT: Hello.</s>USER: Name a primary colour. ASSISTANT: Red.</s>"
        ),
        generation=(
            VICUNA_SYSTEM
            + " USER: Hi! ASSISTANT: Hello.</s>USER: Name a primary colour. ASSISTANT:"
        ),
    ),
}

STOPS = {
    "chatml": ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    "gemma": ("<end_of_turn>", "<eos>", "<start_of_turn>"),
    "gemma3": ("<end_of_turn>", "<eos>", "<start_of_turn>"),
    "llama2": ("</s>", "[INST]"),
    "llama3": ("<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>"),
    "mistral": ("</s>", "[INST]"),
    "mistral-v0.3": ("</s>", "[INST]"),
    "phi3": ("<|end|>", "<|endoftext|>", "<|user|>"),
    "phi4": ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    "qwen2.5": ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    "tinyllama": ("</s>", "<|user|>"),
    "vicuna": ("</s>", "USER:"),
    "zephyr": ("</s>", "<|user|>"),
}

CHAT_STYLES = sorted(GOLDEN)


def test_every_bundled_chat_style_has_golden_strings():
    assert sorted(STOPS) == CHAT_STYLES
    assert len(CHAT_STYLES) == 13


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_single_turn_with_and_without_input(name):
    style = get_style(name)
    assert style.render(SINGLE).text == GOLDEN[name].single
    assert style.render(WITH_INPUT).text == GOLDEN[name].input


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_system_prompt_from_the_record_or_the_option(name):
    golden = GOLDEN[name]
    if golden.system is None:
        with pytest.raises(StyleError, match=f"turn 1 \\(system\\): style '{name}' has no system role"):
            get_style(name).render(WITH_SYSTEM)
        with pytest.raises(StyleError, match=f"style '{name}' has no system prompt"):
            get_style(name, system="Answer briefly.")
        return
    style = get_style(name)
    assert style.render(WITH_SYSTEM).text == golden.system
    assert style.generation_prompt(WITH_SYSTEM) == golden.system_generation
    assert get_style(name, system="Answer briefly.").render(SINGLE).text == golden.system


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_two_turns_and_generation_prompt(name):
    style = get_style(name)
    text = style.render(TWO_TURNS).text
    prompt = style.generation_prompt(TWO_TURNS)
    assert text == GOLDEN[name].two_turns
    assert prompt == GOLDEN[name].generation
    assert text.startswith(prompt)
    assert style.parts(TWO_TURNS, generation=True)[-1].kind is HEADER


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_prompt_and_response_split_at_the_final_header(name):
    style = get_style(name)
    rendered = style.render(TWO_TURNS)
    header = [part for part in rendered.parts if part.kind is HEADER][-1]
    assert rendered.prompt + rendered.response == rendered.text
    assert rendered.prompt + header.text == style.generation_prompt(TWO_TURNS)
    assert rendered.response_text == "Red."
    assert "Hello." in rendered.prompt


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_record_text_is_its_own_parts_and_every_answer_is_closed(name):
    style = get_style(name)
    parts = style.parts(TWO_TURNS)
    default_system = [style.system] if style.system is not None else []
    record_text = [*default_system, "Hi!", "Hello.", "Name a primary colour.", "Red."]
    assert [p.text for p in parts if not p.markup] == record_text
    kinds = [p.kind for p in parts if p.kind in (HEADER, END) or (p.kind is RESPONSE and not p.markup)]
    assert kinds == [HEADER, RESPONSE, END] * 2
    assert all(p.text for p in parts)


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_declared_special_tokens_are_the_ones_the_markup_uses(name):
    style = get_style(name)
    records = [TWO_TURNS] if GOLDEN[name].system is None else [TWO_TURNS, WITH_SYSTEM]
    # a tool style's tool markup: the conformance battery's tool call, its result, two calls
    records += [case.record for case in default_records(style) if case.label == "tool call and result"]
    markup = "".join(p.text for record in records for p in style.parts(record) if p.markup)
    assert style.special_tokens
    assert [token for token in style.special_tokens if token not in markup] == []


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_stop_sequences_and_response_extraction(name):
    style = get_style(name)
    assert style.stop_sequences == STOPS[name]
    prompt = style.generation_prompt(SINGLE)
    assert style.extract_response(style.render(SINGLE).text, prompt=prompt) == "Red."
    generated = prompt + " Red. " + STOPS[name][0] + "\nand more the model made up"
    assert style.extract_response(generated, prompt=prompt) == "Red."
    assert style.extract_response("Blue." + STOPS[name][-1] + "junk") == "Blue."


EXACT_PARTS = {
    "phi3 keeps record text apart from markup": ("phi3", WITH_INPUT, [
        (PROMPT, True, "<|user|>\n"),
        (PROMPT, False, "Add the numbers."),
        (PROMPT, True, "\n"),
        (PROMPT, False, "2 3"),
        (PROMPT, True, "<|end|>\n"),
        (HEADER, True, "<|assistant|>\n"),
        (RESPONSE, False, "5."),
        (END, True, "<|end|>\n<|endoftext|>"),
    ]),
    "llama2 folds the system prompt; the answer starts with a space": ("llama2", WITH_SYSTEM, [
        (PROMPT, True, "<s>[INST] "),
        (SYSTEM, True, "<<SYS>>\n"),
        (SYSTEM, False, "Answer briefly."),
        (SYSTEM, True, "\n<</SYS>>\n\n"),
        (PROMPT, False, "Name a primary colour."),
        (HEADER, True, " [/INST]"),
        (RESPONSE, True, " "),
        (RESPONSE, False, "Red."),
        (END, True, " </s>"),
    ]),
    "gemma3 folds the system prompt into the first user turn": ("gemma3", WITH_SYSTEM, [
        (PROMPT, True, "<bos><start_of_turn>user\n"),
        (SYSTEM, False, "Answer briefly."),
        (SYSTEM, True, "\n\n"),
        (PROMPT, False, "Name a primary colour."),
        (PROMPT, True, "<end_of_turn>\n"),
        (HEADER, True, "<start_of_turn>model\n"),
        (RESPONSE, False, "Red."),
        (END, True, "<end_of_turn>\n"),
    ]),
    "vicuna's system sentence is record text, not markup": ("vicuna", SINGLE, [
        (SYSTEM, False, VICUNA_SYSTEM),
        (SYSTEM, True, " "),
        (PROMPT, True, "USER: "),
        (PROMPT, False, "Name a primary colour."),
        (PROMPT, True, " "),
        (HEADER, True, "ASSISTANT:"),
        (RESPONSE, True, " "),
        (RESPONSE, False, "Red."),
        (END, True, "</s>"),
    ]),
}


@pytest.mark.parametrize("case", sorted(EXACT_PARTS))
def test_exact_parts(case):
    name, record, expected = EXACT_PARTS[case]
    assert [(p.kind, p.markup, p.text) for p in get_style(name).parts(record)] == expected


def test_mistral_v03_folds_the_system_prompt_into_the_last_user_message():
    conversation = Conversation((Message("system", "Answer briefly."), *TWO_TURNS.messages))
    style = get_style("mistral-v0.3")
    assert style.render(conversation).text == (
        "<s>[INST] Hi![/INST] Hello.</s>[INST] Answer briefly.\n\nName a primary colour.[/INST] Red.</s>"
    )
    assert style.generation_prompt(conversation) == (
        "<s>[INST] Hi![/INST] Hello.</s>[INST] Answer briefly.\n\nName a primary colour.[/INST]"
    )


def test_template_trimming_is_reproduced():
    padded = Conversation(
        (Message("system", " Be brief. "), Message("user", "  Hi!\n"), Message("assistant", " Hello. "))
    )
    assert get_style("llama2").render(padded).text == (
        "<s>[INST] <<SYS>>\n Be brief. \n<</SYS>>\n\n  Hi! [/INST] Hello. </s>"
    )
    assert get_style("llama3").render(padded).text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
    )
    assert get_style("mistral").render(padded).text == "<s> [INST]  Be brief. \n\n  Hi!\n [/INST]  Hello. </s>"
    assert get_style("gemma3").render(padded).text == (
        "<bos><start_of_turn>user\n Be brief. \n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
    )
