"""The chat-style base class: records to turns, turn-order checks, options, folding, trimming, tidy parts."""

from __future__ import annotations

import pytest

from promptstyles import ChatStyle, Conversation, InstructionRecord, Message, PartKind, StyleError, to_record

SYSTEM, PROMPT = PartKind.SYSTEM, PartKind.PROMPT
HEADER, RESPONSE, END = PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END


class Tagged(ChatStyle):
    name = "tagged"
    system_prefix, system_suffix = "<S>", "</S>"
    user_prefix, user_suffix = "<U>", "</U>"
    response_header, response_end = "<A>", "</A>"
    bos_token = "<BOS>"
    default_system = "Default."


class Folded(Tagged):
    name = "folded"
    system_turn = "first_user"
    fold_template = ("[", "]")
    alternate = True
    strip_roles = frozenset({"user", "assistant"})


class FoldedLast(Folded):
    system_turn = "last_user"


def chat(*pairs: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, content) for role, content in pairs))


def test_instruction_record_becomes_one_exchange_with_the_input_joined():
    style = Tagged()
    assert style.render(InstructionRecord("Add.", "1 2", "3")).text == (
        "<BOS><S>Default.</S><U>Add.\n1 2</U><A>3</A>"
    )
    assert Tagged(joiner="\n\n").render(InstructionRecord("Add.", "1 2", "3")).text == (
        "<BOS><S>Default.</S><U>Add.\n\n1 2</U><A>3</A>"
    )
    assert style.render(InstructionRecord("Add.", "", "3")).text == "<BOS><S>Default.</S><U>Add.</U><A>3</A>"


def test_parts_keep_record_text_and_joiner_apart():
    parts = Tagged(system=None).parts(InstructionRecord("Add.", "1 2", "3"))
    assert [(p.kind, p.markup, p.text) for p in parts] == [
        (PROMPT, True, "<BOS><U>"),
        (PROMPT, False, "Add."),
        (PROMPT, True, "\n"),
        (PROMPT, False, "1 2"),
        (PROMPT, True, "</U>"),
        (HEADER, True, "<A>"),
        (RESPONSE, False, "3"),
        (END, True, "</A>"),
    ]


def test_generation_leaves_out_the_final_answer_and_ends_with_the_header():
    style = Tagged(system=None, bos=False)
    conversation = chat(("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d"))
    assert style.generation_prompt(conversation) == "<U>a</U><A>b</A><U>c</U><A>"
    assert style.parts(conversation, generation=True) == style.parts(chat(*[
        (m.role, m.content) for m in conversation.messages[:3]]), generation=True)
    assert style.generation_prompt(InstructionRecord("Add.", "", "3")) == "<U>Add.</U><A>"


@pytest.mark.parametrize(("system", "expected"), [
    (None, "<U>Hi</U><A>Yo</A>"),
    ("", "<U>Hi</U><A>Yo</A>"),
    ("Be kind.", "<S>Be kind.</S><U>Hi</U><A>Yo</A>"),
])
def test_system_option_sets_or_disables_the_default(system, expected):
    style = Tagged(system=system, bos=False)
    assert style.render(InstructionRecord("Hi", "", "Yo")).text == expected
    assert style.render(chat(("system", "Own."), ("user", "Hi"), ("assistant", "Yo"))).text == (
        "<S>Own.</S><U>Hi</U><A>Yo</A>"
    )


@pytest.mark.parametrize(("options", "message"), [
    ({"system": 3}, "option 'system' must be a string or null"),
    ({"joiner": None}, "option 'joiner' must be a string"),
    ({"bos": "no"}, "option 'bos' must be true or false"),
])
def test_bad_option_values_are_refused(options, message):
    with pytest.raises(StyleError, match=message):
        Tagged(**options)


def test_folding_into_the_first_or_last_user_turn_with_trimming():
    conversation = chat(("system", " Sys "), ("user", " a "), ("assistant", " b "), ("user", " c "), ("assistant", "d"))
    assert Folded(bos=False).render(conversation).text == "<U>[ Sys ]a</U><A>b</A><U>c</U><A>d</A>"
    assert FoldedLast(bos=False).render(conversation).text == "<U>a</U><A>b</A><U>[ Sys ]c</U><A>d</A>"
    assert FoldedLast(bos=False).generation_prompt(conversation) == "<U>a</U><A>b</A><U>[ Sys ]c</U><A>"


def test_folding_needs_a_user_turn():
    class FoldedAnyOrder(Tagged):
        name = "folded-any-order"
        system_turn = "first_user"

    with pytest.raises(StyleError, match="^turn 1 \\(system\\): expected a user message to fold the system prompt"):
        FoldedAnyOrder().render(chat(("system", "s"), ("assistant", "a")))


def test_trimming_spans_the_joined_instruction_and_input():
    assert Folded(system=None, bos=False).render(InstructionRecord(" Add. ", "  ", "3")).text == "<U>Add.</U><A>3</A>"
    assert Folded(system=None, bos=False).render(InstructionRecord(" Add.", "1 2 ", "3")).text == (
        "<U>Add.\n1 2</U><A>3</A>"
    )


@pytest.mark.parametrize(("pairs", "message"), [
    ((("user", "a"), ("user", "b")), "turn 2 (user): expected an assistant message after a user message"),
    ((("assistant", "a"),), "turn 1 (assistant): expected a user message first"),
    ((("system", "s"), ("assistant", "a")), "turn 2 (assistant): expected a user message after the system message"),
    ((("user", "a"), ("assistant", "b"), ("assistant", "c")),
     "turn 3 (assistant): expected a user message after an assistant message"),
    ((("user", "a"), ("system", "s")), "turn 2 (system): a system message may only come first"),
    ((("system", "s"),), "turn 1 (system): expected a user message after the system message"),
])
def test_turn_order_errors_name_the_turn(pairs, message):
    with pytest.raises(StyleError) as caught:
        Folded().render(chat(*pairs))
    assert str(caught.value) == message


def test_formats_without_alternation_render_any_order_but_still_check_the_system_turn():
    style = Tagged(system=None, bos=False)
    assert style.render(chat(("user", "a"), ("user", "b"), ("assistant", "c"))).text == "<U>a</U><U>b</U><A>c</A>"
    with pytest.raises(StyleError, match="turn 3 \\(system\\): a system message may only come first"):
        style.render(chat(("user", "a"), ("assistant", "b"), ("system", "c")))


def test_sharegpt_and_openai_records_render_alike():
    sharegpt = to_record({"conversations": [
        {"from": "system", "value": "Sys"}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]})
    openai = to_record({"messages": [
        {"role": "system", "content": "Sys"},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Yo"},
    ]})
    assert sharegpt == openai
    assert Tagged(bos=False).render(sharegpt).text == "<S>Sys</S><U>Hi</U><A>Yo</A>"


def test_response_text_leaves_out_markup_inside_the_response():
    class Spaced(Tagged):
        name = "spaced"
        response_lead = " "

    rendered = Spaced(system=None, bos=False).render(InstructionRecord("Hi", "", "Yo"))
    assert rendered.response == "<A> Yo</A>"
    assert rendered.response_text == "Yo"
