"""Instruction records rendered from a chat style's skeleton: the parts of the general path, part for part."""

from __future__ import annotations

import itertools

import pytest

from promptstyles import ChatStyle, InstructionRecord, Part, PartKind, StyleError, get_style
from promptstyles.styles._instruction_skeleton import skeleton_of
from promptstyles.styles.registry import default_registry

TEXTS = {
    "instruction": ("Do it.", "  padded  ", "\nlines\n", "x", "\u3000wide space", "markup <|im_end|> [INST]"),
    "input": ("", "an input", "  spaced ", "\t", " "),
    "output": ("answer", " leading", "trailing  ", "", "  ", "\n\nblank lines first"),
}
RECORDS = [InstructionRecord(*texts) for texts in itertools.product(*TEXTS.values())]


def chat_styles() -> list[tuple[str, dict]]:
    """Every registered chat style, with its defaults and with options that move or change its markup."""
    found = []
    for info in default_registry().infos():
        options_list = ({}, {"system": "Be brief. "}, {"joiner": " | ", "bos": False})
        for options in options_list:
            try:
                style = get_style(info.name, **options)
            except StyleError:
                continue
            if isinstance(style, ChatStyle):
                found.append((info.name, options))
    return found


@pytest.mark.parametrize(("name", "options"), chat_styles(), ids=lambda value: str(value))
def test_every_chat_style_renders_instruction_records_from_its_skeleton_as_its_general_path_does(name, options):
    style = get_style(name, **options)
    for record in RECORDS:
        assert style.parts(record) == style._general_parts(record), record
    skeletons = style.__dict__["_skeletons"]
    assert set(skeletons) == {(False, False), (False, True), (True, False), (True, True)}
    if type(style).content is ChatStyle.content:
        assert all(skeleton is not None for skeleton in skeletons.values())


class Tagged(ChatStyle):
    name = "tagged"
    user_prefix, user_suffix = "<U>", "</U>"
    response_header, response_end = "<A>", "</A>"
    strip_roles = frozenset({"assistant"})


class Shouting(Tagged):
    """Reads the record's text: the general path must render it."""

    name = "shouting"

    def content(self, turn, *, folded=False):
        return tuple((text.upper(), markup) for text, markup in super().content(turn, folded=folded))


def test_the_skeleton_holds_the_markup_and_fills_in_each_text_trimmed_as_the_style_trims_it():
    style = Tagged()
    skeleton = skeleton_of(style, ChatStyle, True, True, style._general_parts)
    assert skeleton is not None
    assert [part.text for part in skeleton.parts] == ["<U>", " \ue000 ", "\n", " \ue001 ", "</U>", "<A>",
                                                      "\ue002", "</A>"]  # the probe, its answer trimmed
    assert [(slot.position, slot.field) for slot in skeleton.slots] == [(1, "instruction"), (3, "input"),
                                                                        (6, "output")]
    assert skeleton.fill(InstructionRecord(" Add. ", " 1 2 ", "  3  ")) == [
        Part("<U>", PartKind.PROMPT, True), Part(" Add. ", PartKind.PROMPT), Part("\n", PartKind.PROMPT, True),
        Part(" 1 2 ", PartKind.PROMPT), Part("</U>", PartKind.PROMPT, True),
        Part("<A>", PartKind.RESPONSE_HEADER, True), Part("3", PartKind.RESPONSE), Part("</A>", PartKind.END, True),
    ]
    assert skeleton.fill(InstructionRecord("Add.", "1 2", "   ")) is None  # the general path drops the part


def test_a_style_that_reads_record_text_has_no_skeleton_and_renders_by_its_own_rules():
    style = Shouting()
    assert skeleton_of(style, ChatStyle, False, True, style._general_parts) is None
    assert style.render(InstructionRecord("add", "", " three ")).text == "<U>ADD</U><A>THREE</A>"
