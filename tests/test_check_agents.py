"""``promptstyles check`` on tool calls, tool results and reasoning: compared with the model's template as the
model reads them (``tools=`` and ``tool_calls`` given to the template), never with the calls left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from promptstyles_chatml.qwen25 import Qwen25Style
from test_check import folder

from promptstyles import PartKind, get_style, to_record
from promptstyles.chat_messages import as_chat_messages
from promptstyles.check import AGENT_BATTERY, BATTERY, check_style
from promptstyles.data.tokenizers.registry import get_tokenizer

pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"
TOOL_CASES = ["tool call", "tool result, generation prompt"]


def example_records(name: str) -> list[dict]:
    return [json.loads(line) for line in (EXAMPLES / name).read_text(encoding="utf-8").splitlines() if line]


class CompactArguments(Qwen25Style):
    """Qwen2.5 writing call arguments without spaces: what a style that gets ``tojson`` wrong would do."""

    name = "qwen2.5-compact-arguments"

    def parts(self, record, *, generation=False):
        return [part._replace(text=part.text.replace(", ", ",").replace(": ", ":"))
                if part.kind is PartKind.TOOL_CALL and not part.markup else part
                for part in super().parts(record, generation=generation)]


@pytest.mark.parametrize(("style", "model"), [("qwen2.5", "qwen2.5-7b-instruct"),
                                              ("mistral-v0.3", "mistral-7b-instruct-v0.3")])
def test_a_tool_style_is_checked_on_tool_turns_as_text_and_ids(style, model):
    path = folder(model)
    result = check_style(get_style(style), path, tokenizer=get_tokenizer(path=path))
    tool_cases = {case.name: case for case in result.cases if case.name in AGENT_BATTERY}
    assert list(tool_cases) == TOOL_CASES
    assert all(case.status == "agree" and case.text is None and case.ids is None for case in tool_cases.values())


def test_a_text_only_style_gets_the_text_battery_alone():
    result = check_style(get_style("llama3"), folder("llama-3-8b-instruct"))
    assert [case.name for case in result.cases] == list(BATTERY)


def test_tool_records_are_compared_with_their_calls():
    path = folder("qwen2.5-7b-instruct")
    records = [to_record(raw) for raw in example_records("tool-calls.jsonl")]
    assert all(case.status == "agree" for case in check_style(get_style("qwen2.5"), path, records=records).cases)
    result = check_style(CompactArguments(), path, records=records)
    differing = [case.name for case in result.cases if case.status == "differ"]
    with_calls = [f"record {n}" for n, record in enumerate(records)
                  if any(message.tool_calls for message in record.messages)]
    assert with_calls and differing == [*TOOL_CASES, *with_calls]
    first = next(case for case in result.cases if case.name == "tool call")
    assert first.text is not None and first.text.before.endswith('"arguments": {"city":')
    assert (first.text.style[:8], first.text.template[:8]) == ('"Paris"}', ' "Paris"')


@pytest.mark.parametrize("name", ["tool-calls.jsonl", "reasoning.jsonl"])
def test_records_become_the_messages_and_tools_they_were_read_from(name):
    for raw in example_records(name):
        record = to_record(raw)
        messages, tools = as_chat_messages(record)
        assert to_record({"messages": messages, **({"tools": tools} if tools else {})}) == record
