"""The bundled chat styles as plugins: discovery, per-format rules and options, chat records, the exercise variant."""

from __future__ import annotations

import pytest

from promptstyles import (
    Conversation,
    InstructionRecord,
    Message,
    PartKind,
    StyleError,
    build_registry,
    get_style,
    to_record,
)
from promptstyles.cli import main

BUNDLED = {
    "chatml": "chatml", "qwen2": "chatml", "qwen2.5": "chatml",
    "command-r": "cohere", "deepseek": "deepseek",
    "gemma": "gemma", "gemma3": "gemma",
    "llama2": "llama", "llama3": "llama", "llama3.1": "llama", "llama3.2": "llama",
    "mistral": "mistral", "mistral-v0.3": "mistral",
    "phi3": "phi", "phi3-exercise": "phi", "phi4": "phi",
    "tinyllama": "zephyr", "zephyr": "zephyr",
    "vicuna": "vicuna",
}


def chat(*pairs: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, content) for role, content in pairs))


@pytest.mark.parametrize(("name", "plugin"), sorted(BUNDLED.items()))
def test_each_style_comes_from_its_plugin_distribution_entry_point(name, plugin):
    info = build_registry().info(name)
    assert (info.name, info.plugin, info.distribution) == (name, plugin, f"promptstyles-{plugin} 0.1.0")


def test_list_shows_every_bundled_style_with_its_plugin(capsys):
    assert main(["list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    for name, plugin in BUNDLED.items():
        assert rows[name][2:4] == [plugin, f"(promptstyles-{plugin}"], rows[name]
    assert rows["phi3"][1] == "phi-3,phi3.5,phi-3.5"


def test_render_command_prints_a_chat_style_exactly(capsys):
    record = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}'
    assert main(["render", "phi3", "--json", record, "--generation"]) == 0
    assert capsys.readouterr().out == "<|user|>\nHi<|end|>\n<|assistant|>\n"


@pytest.mark.parametrize(("name", "pairs", "message"), [
    ("llama2", (("user", "a"), ("user", "b")), "turn 2 (user): expected an assistant message after a user message"),
    ("gemma", (("assistant", "a"),), "turn 1 (assistant): expected a user message first"),
    ("mistral", (("system", "s"), ("assistant", "a")),
     "turn 2 (assistant): expected a user message after the system message"),
    ("vicuna", (("user", "a"), ("assistant", "b"), ("assistant", "c")),
     "turn 3 (assistant): expected a user message after an assistant message"),
    ("chatml", (("user", "a"), ("system", "s")), "turn 2 (system): a system message may only come first"),
    ("gemma", (("system", "s"), ("user", "a")),
     "turn 1 (system): style 'gemma' has no system role; leave the system message out"),
])
def test_turn_order_errors_name_the_turn(name, pairs, message):
    with pytest.raises(StyleError) as caught:
        get_style(name).render(chat(*pairs))
    assert str(caught.value) == message


def test_formats_that_do_not_require_alternation_render_consecutive_user_turns():
    assert get_style("chatml").render(chat(("user", "a"), ("user", "b"), ("assistant", "c"))).text == (
        "<|im_start|>user\na<|im_end|>\n<|im_start|>user\nb<|im_end|>\n<|im_start|>assistant\nc<|im_end|>\n"
    )


def test_qwen_always_writes_a_system_turn():
    with pytest.raises(StyleError, match="style 'qwen2.5' always writes a system turn"):
        get_style("qwen2.5", system=None)
    assert get_style("qwen2.5", system="").render(InstructionRecord("Hi!", "", "Hello.")).text == (
        "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
    )


def test_vicuna_with_an_empty_system_sentence_starts_with_a_space_like_fastchat():
    assert get_style("vicuna", system="").render(InstructionRecord("Hi!", "", "Hello.")).text == (
        " USER: Hi! ASSISTANT: Hello.</s>"
    )


def test_bos_false_leaves_out_only_the_leading_bos():
    conversation = chat(("user", "Hi!"), ("assistant", "Hello."), ("user", "Bye."), ("assistant", "Bye."))
    assert get_style("llama2", bos=False).render(conversation).text == (
        "[INST] Hi! [/INST] Hello. </s><s>[INST] Bye. [/INST] Bye. </s>"
    )
    assert get_style("llama3", bos=False).generation_prompt(InstructionRecord("Hi!")) == (
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert get_style("gemma", bos=False).generation_prompt(InstructionRecord("Hi!")) == (
        "<start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n"
    )
    assert get_style("mistral", bos=False).generation_prompt(InstructionRecord("Hi!")) == " [INST] Hi! [/INST]"


def test_joiner_option_and_unknown_options():
    style = get_style("chatml", joiner="\n\nInput: ")
    assert style.generation_prompt(InstructionRecord("Add.", "1 2")) == (
        "<|im_start|>user\nAdd.\n\nInput: 1 2<|im_end|>\n<|im_start|>assistant\n"
    )
    assert style.options == {"joiner": "\n\nInput: "}
    with pytest.raises(StyleError, match="^style 'chatml' has no option 'sytem'; it accepts: system, joiner, bos; "
                                         "did you mean 'system'\\?$"):
        get_style("chatml", sytem="x")
    with pytest.raises(StyleError, match="^style 'chatml' has no options 'sytem', 'size'; it accepts: system, "
                                         "joiner, bos; did you mean 'system'\\?$"):
        get_style("chatml", sytem="x", size=3)


def test_sharegpt_and_openai_records_through_a_style():
    expected = (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nName a primary colour.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nRed.<|eot_id|>"
    )
    sharegpt = {"conversations": [
        {"from": "system", "value": "Answer briefly."},
        {"from": "human", "value": "Name a primary colour."},
        {"from": "gpt", "value": "Red."},
    ]}
    openai = {"messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Name a primary colour."},
        {"role": "assistant", "content": "Red."},
    ]}
    style = get_style("llama3")
    assert style.render(to_record(sharegpt)).text == expected
    assert style.render(to_record(openai)).text == expected


def test_special_token_strings_in_records_stay_record_text():
    style = get_style("chatml")
    parts = style.parts(chat(("user", "say <|im_end|>"), ("assistant", "<|im_start|>system")))
    assert [p.text for p in parts if not p.markup] == ["say <|im_end|>", "<|im_start|>system"]
    assert [p.text for p in parts if p.markup] == [
        "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>\n",
    ]


# -- the reference exercise's Phi-3 variant ------------------------------------------------------------


def test_phi3_exercise_matches_the_exercise_format(raw_records):
    style = get_style("phi3-exercise")
    rendered = style.render(to_record(raw_records[50]))
    assert rendered.text == (
        "<|user|>\nIdentify the correct spelling of the following word.\nOcassion"
        "\n<|assistant|>:\nThe correct spelling is 'Occasion.'"
    )
    assert rendered.response == "\n<|assistant|>:\nThe correct spelling is 'Occasion.'"
    assert style.render(to_record(raw_records[999])).text == (
        "<|user|>\nWhat is an antonym of 'complicated'?\n<|assistant|>:\nAn antonym of 'complicated' is 'simple'."
    )


def test_phi3_exercise_parts_and_generation_prompt():
    style = get_style("phi3-exercise")
    record = InstructionRecord("Add.", "1 2", "3")
    assert [(p.kind, p.markup, p.text) for p in style.parts(record)] == [
        (PartKind.PROMPT, True, "<|user|>\n"),
        (PartKind.PROMPT, False, "Add."),
        (PartKind.PROMPT, True, "\n"),
        (PartKind.PROMPT, False, "1 2"),
        (PartKind.RESPONSE_HEADER, True, "\n<|assistant|>:\n"),
        (PartKind.RESPONSE, False, "3"),
    ]
    prompt = style.generation_prompt(record)
    assert prompt == "<|user|>\nAdd.\n1 2\n<|assistant|>:\n"
    assert style.extract_response(prompt + "3<|endoftext|><|user|>", prompt=prompt) == "3"
    assert style.special_tokens == ()


def test_phi3_exercise_renders_one_exchange_without_system_prompt():
    style = get_style("phi3-exercise")
    assert style.render(chat(("user", "Hi"), ("assistant", "Yo"))).text == "<|user|>\nHi\n<|assistant|>:\nYo"
    with pytest.raises(StyleError, match="^turn 3 \\(user\\): style 'phi3-exercise' renders one exchange"):
        style.render(chat(("user", "a"), ("assistant", "b"), ("user", "c")))
    with pytest.raises(StyleError, match="^turn 1 \\(system\\): style 'phi3-exercise' has no system role"):
        style.render(chat(("system", "s"), ("user", "a")))
    with pytest.raises(StyleError, match="style 'phi3-exercise' has no system prompt"):
        get_style("phi3-exercise", system="Be kind.")
