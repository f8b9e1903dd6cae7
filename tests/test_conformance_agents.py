"""The conformance kit on tool and reasoning styles: its battery holds a tool call and its result, and reasoning,
with the style's markers inside them too, and each kind of break in those parts fails the kit with its case named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest
from promptstyles_chatml.hermes3 import Hermes3Style
from promptstyles_chatml.qwen3 import Qwen3Style
from promptstyles_chatml.qwen25 import Qwen25Style
from test_conformance import failures

from promptstyles import PartKind
from promptstyles.testing import check_style, default_records


def _relabelled(parts, kind: PartKind):
    """Parts with the record text of ``kind`` written as if it were markup."""
    return [part._replace(markup=True) if part.kind is kind else part for part in parts]


class ResultAsMarkup(Qwen25Style):
    name = "qwen2.5-result-as-markup"

    def parts(self, record, *, generation=False):
        return _relabelled(super().parts(record, generation=generation), PartKind.TOOL_RESULT)


class ReasoningAsMarkup(Qwen3Style):
    name = "qwen3-reasoning-as-markup"

    def parts(self, record, *, generation=False):
        return _relabelled(super().parts(record, generation=generation), PartKind.REASONING)


class CallTurnUnended(Qwen25Style):
    """Qwen2.5 that leaves out the ``<|im_end|>`` closing a turn of tool calls."""

    name = "qwen2.5-call-turn-unended"

    def parts(self, record, *, generation=False):
        parts = super().parts(record, generation=generation)
        calls = [n for n, part in enumerate(parts) if part.kind is PartKind.TOOL_CALL]
        if calls and parts[calls[-1] + 1].kind is PartKind.END:
            del parts[calls[-1] + 1]
        return parts


class HermesWithoutItsBreaks(Hermes3Style):
    name = "hermes3-without-breaks"
    template_breaks: ClassVar[Mapping[str, str]] = {}


@pytest.mark.parametrize(("name", "labels"), [
    ("qwen2.5", ["tool call and result", "two tool calls", "markers in tool call and result",
                 "markers in two tool calls"]),
    ("qwen3", ["tool call and result", "two tool calls", "reasoning", "markers in tool call and result",
               "markers in two tool calls", "markers in reasoning"]),
    ("llama3.1", ["tool call and result", "two tool calls", "markers in tool call and result",
                  "markers in two tool calls"]),
    ("llama3", []),
])
def test_the_battery_adds_tool_and_reasoning_cases_where_a_style_renders_them(name, labels):
    from promptstyles.styles.registry import get_style

    cases = default_records(get_style(name))
    assert [case.label for case in cases if "tool" in case.label or "reasoning" in case.label] == labels
    markers = next(case for case in cases if case.label == "markers in conversation").record
    if name.startswith("qwen"):  # the tags the style writes only in tool and reasoning turns are in the markers
        assert "<tool_call>" in markers.messages[0].content
        assert ("<think>" in markers.messages[0].content) is (name == "qwen3")


def test_a_tool_result_written_as_markup_is_named_with_its_case():
    found = failures(ResultAsMarkup(), records=None, properties=["record text stays one part"])
    assert found[:3] == [
        "record text stays one part [tool call and result]: record text 'Sunny, 18 degrees.' is not whole inside "
        "one non-markup part",
        "record text stays one part [two tool calls]: record text 'Sunny, 18 degrees.' is not whole inside one "
        "non-markup part",
        "record text stays one part [two tool calls]: record text 'Sunny, 19 degrees.' is not whole inside one "
        "non-markup part",
    ]
    assert [line.split(":")[0] for line in found[3:]] == [
        "record text stays one part [markers in tool call and result]",
        *["record text stays one part [markers in two tool calls]"] * 2]


def test_reasoning_written_as_markup_is_named_with_its_case():
    found = failures(ReasoningAsMarkup(), records=None, properties=["record text stays one part"])
    assert found[0] == ("record text stays one part [reasoning]: record text 'The user asks about the weather.' is "
                        "not whole inside one non-markup part")
    assert [line.split(":")[0] for line in found[1:]] == ["record text stays one part [markers in reasoning]"]


def test_a_turn_of_tool_calls_with_no_end_marker_is_named():
    assert failures(CallTurnUnended(), records=None,
                    properties=["stop sequences end each response", "end markers are trained"]) == [
        f"end markers are trained [{label}]: end marker '<|im_start|>' at character {at} is not trained under "
        f"'assistant' masking (tokens [{token}])"
        for label, at, token in (("tool call and result", 876, 228), ("two tool calls", 976, 260))]


def test_what_a_template_breaks_is_not_expected_only_where_the_style_says_so():
    check_style(Hermes3Style())  # raises on any failure
    found = failures(HermesWithoutItsBreaks(), records=None, properties=["generation prompt is a prefix"])
    assert [line.split(":")[0] for line in found] == [
        "generation prompt is a prefix [tool call and result]", "generation prompt is a prefix [two tool calls]",
        "generation prompt is a prefix [markers in tool call and result]",
        "generation prompt is a prefix [markers in two tool calls]"]
