"""The built-in Alpaca style against the reference format, byte for byte."""

from __future__ import annotations

import pytest

from promptstyles import Conversation, InstructionRecord, Message, PartKind, StyleError, get_style, to_record

PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
)


def test_record_50_with_input_matches_reference(raw_records):
    rendered = get_style("alpaca").render(to_record(raw_records[50]))
    expected_prompt = (
        PREAMBLE + "\n\n### Instruction:\nIdentify the correct spelling of the following word.\n\n### Input:\nOcassion"
    )
    assert rendered.prompt == expected_prompt
    assert rendered.response == "\n\n### Response:\nThe correct spelling is 'Occasion.'"
    assert rendered.text == expected_prompt + "\n\n### Response:\nThe correct spelling is 'Occasion.'"
    assert rendered.response_text == "The correct spelling is 'Occasion.'"


def test_record_999_without_input_omits_input_section(raw_records):
    rendered = get_style("alpaca").render(to_record(raw_records[999]))
    assert rendered.text == (
        PREAMBLE + "\n\n### Instruction:\nWhat is an antonym of 'complicated'?"
        "\n\n### Response:\nAn antonym of 'complicated' is 'simple'."
    )


@pytest.mark.parametrize("raw", [
    {"instruction": "Say hi.", "output": "Hi."},
    {"instruction": "Say hi.", "input": None, "output": "Hi."},
    {"instruction": "Say hi.", "input": "", "output": "Hi."},
])
def test_missing_none_or_empty_input_omits_section(raw):
    text = get_style("alpaca").render(to_record(raw)).text
    assert text == PREAMBLE + "\n\n### Instruction:\nSay hi.\n\n### Response:\nHi."


def test_parts_label_markup_and_record_text():
    parts = get_style("alpaca").parts(InstructionRecord("Add.", "1 2", "3"))
    assert [(p.kind, p.markup, p.text) for p in parts] == [
        (PartKind.SYSTEM, True, PREAMBLE + "\n\n### Instruction:\n"),
        (PartKind.PROMPT, False, "Add."),
        (PartKind.PROMPT, True, "\n\n### Input:\n"),
        (PartKind.PROMPT, False, "1 2"),
        (PartKind.RESPONSE_HEADER, True, "\n\n### Response:\n"),
        (PartKind.RESPONSE, False, "3"),
    ]


def test_generation_prompt_is_prefix_of_training_text():
    style = get_style("alpaca")
    record = InstructionRecord("Add.", "1 2", "3")
    prompt = style.generation_prompt(record)
    assert prompt == PREAMBLE + "\n\n### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:\n"
    assert style.render(record).text == prompt + "3"


def test_extract_response_cuts_at_stop_sequence():
    style = get_style("alpaca")
    prompt = style.generation_prompt(InstructionRecord("Add.", "1 2"))
    generated = prompt + " 3 \n\n### Instruction:\nMore"
    assert style.extract_response(generated, prompt=prompt) == "3"
    assert style.extract_response("The answer.<|endoftext|>junk") == "The answer."


def test_system_option_and_alias():
    style = get_style("Stanford-Alpaca", system="Answer briefly.")
    assert style.render(InstructionRecord("Hi?", "", "Hello.")).text == (
        "Answer briefly.\n\n### Instruction:\nHi?\n\n### Response:\nHello."
    )
    assert style.options == {"system": "Answer briefly."}


def test_single_exchange_conversation_renders_like_instruction():
    style = get_style("alpaca")
    conversation = Conversation((Message("system", "Be kind."), Message("user", "Hi?"), Message("assistant", "Hello.")))
    assert style.render(conversation).text == "Be kind.\n\n### Instruction:\nHi?\n\n### Response:\nHello."


def test_multi_turn_conversation_is_rejected():
    conversation = Conversation((Message("user", "a"), Message("assistant", "b"), Message("user", "c")))
    with pytest.raises(StyleError, match="one exchange.*user, assistant, user"):
        get_style("alpaca").render(conversation)


def test_unknown_option_names_style():
    with pytest.raises(StyleError, match="^style 'alpaca' has no option 'sytem'; it accepts: system; "
                                         "did you mean 'system'\\?$"):
        get_style("alpaca", sytem="x")


@pytest.mark.parametrize("blank", [" ", "\n", "\t "])
def test_whitespace_only_input_keeps_section_as_reference(blank):
    """The reference tests ``if entry["input"]``: whitespace is an input, rendered verbatim."""
    text = get_style("alpaca").render(to_record({"instruction": "Say hi.", "input": blank, "output": "Hi."})).text
    assert text == PREAMBLE + f"\n\n### Instruction:\nSay hi.\n\n### Input:\n{blank}\n\n### Response:\nHi."
