"""Tool and reasoning records: the OpenAI / Hugging Face format and ShareGPT tool data read into one record, the
arguments serialised as transformers' ``tojson``, and every bad input refused with the record and key named."""

from __future__ import annotations

import json

import pytest
from agent_records import WEATHER, call

from promptstyles import RecordError, StyleError, get_style, to_record
from promptstyles.records import Message, ToolCall
from promptstyles.tool_records import tojson

transformers = pytest.importorskip("transformers")


def test_openai_messages_become_calls_results_reasoning_and_tools():
    record = to_record({"tools": [WEATHER], "messages": [
        {"role": "user", "content": "Oslo?"},
        {"role": "assistant", "content": None, "reasoning": "Use the tool.",
         "tool_calls": [call("get_weather", '{"city": "Oslo"}', "c1")]},
        {"role": "tool", "content": "-3", "tool_call_id": "c1", "name": "get_weather"},
        {"role": "assistant", "content": "Cold.", "thinking": "It is -3."},
    ]})
    assert record.tools == (WEATHER,)
    assert record.messages == (
        Message("user", "Oslo?"),
        Message("assistant", "", "Use the tool.",
                (ToolCall("get_weather", {"city": "Oslo"}, "c1", '{"city": "Oslo"}'),)),
        Message("tool", "-3", tool_call_id="c1", name="get_weather"),
        Message("assistant", "Cold.", "It is -3."),
    )


def test_a_bare_function_spec_is_wrapped_as_openai_sends_it():
    spec = {"name": "f", "parameters": {"type": "object"}}
    record = to_record({"tools": [spec], "messages": [{"role": "user", "content": "x"}]})
    assert record.tools == ({"type": "function", "function": spec},)


def test_sharegpt_function_call_and_observation_turns_become_calls_and_results():
    record = to_record({"tools": json.dumps([{"name": "get_weather", "parameters": {}}]), "conversations": [
        {"from": "human", "value": "Oslo?"},
        {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
        {"from": "observation", "value": "-3"},
        {"from": "gpt", "value": "Cold."},
    ]})
    assert record.tools == ({"type": "function", "function": {"name": "get_weather", "parameters": {}}},)
    assert [(m.role, m.content, m.tool_calls) for m in record.messages] == [
        ("user", "Oslo?", ()), ("assistant", "", (ToolCall("get_weather", {"city": "Oslo"}),)),
        ("tool", "-3", ()), ("assistant", "Cold.", ())]


@pytest.mark.parametrize("value", [{"city": "Zürich", "b": [1, 2.5, None], "a": {"z": True}}, {}, {"q": "a\"b\\n"}])
def test_arguments_serialise_as_transformers_tojson(value):
    from transformers.utils.chat_template_utils import _compile_jinja_template

    rendered = _compile_jinja_template("{{ x | tojson }}").render(x=value)
    assert tojson(value) == rendered
    given = {"messages": [{"role": "user", "content": "u"},
                          {"role": "assistant", "content": "", "tool_calls": [call("f", json.dumps(value))]}]}
    assert to_record(given).messages[1].tool_calls[0].arguments == value


def test_a_string_of_json_is_kept_as_given_for_templates_that_write_it_so():
    given = '{"b":1,  "a":2}'
    parsed = to_record({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "tool_calls": [
        call("f", given)]}]}).messages[1].tool_calls[0]
    assert (parsed.arguments_json, tojson(parsed.arguments)) == (given, '{"b": 1, "a": 2}')


def _raw(*messages, tools=None):
    out = {"messages": list(messages)}
    if tools is not None:
        out["tools"] = tools
    return out


USER = {"role": "user", "content": "u"}


@pytest.mark.parametrize(("raw", "message"), [
    (_raw(USER, {"role": "tool", "content": "3"}),
     "record 7, key 'messages[1]': a tool result with no preceding tool call"),
    (_raw(USER, {"role": "assistant", "content": "no call"}, {"role": "tool", "content": "3"}),
     "record 7, key 'messages[2]': a tool result with no preceding tool call"),
    (_raw(USER, {"role": "assistant", "tool_calls": [call("f", "{'a': 1}")]}),
     "record 7, key 'messages[1].tool_calls[0].function.arguments': arguments are not JSON"),
    (_raw(USER, {"role": "assistant", "tool_calls": [call("f", "[1]")]}),
     "record 7, key 'messages[1].tool_calls[0].function.arguments': arguments must be a JSON object"),
    (_raw(USER, {"role": "robot", "content": "x"}),
     "record 7, key 'messages[1].role': unknown role 'robot'; expected one of assistant, system, tool, user"),
    (_raw(USER, {"role": "assistant", "tool_calls": [call("f", {}, "a")]}, {"role": "tool", "content": "1"},
          {"role": "tool", "content": "2"}),
     "record 7, key 'messages[3]': 2 tool results answer 1 tool call(s)"),
    (_raw(USER, {"role": "assistant", "tool_calls": [call("f", {}, "a")]},
          {"role": "tool", "content": "1", "tool_call_id": "b"}),
     "record 7, key 'messages[2].tool_call_id': tool_call_id 'b' answers no call"),
    (_raw(USER, {"role": "assistant", "tool_calls": [{"type": "function", "function": {"arguments": {}}}]}),
     "record 7, key 'messages[1].tool_calls[0].function.name': a tool call needs a non-empty string 'name'"),
    (_raw({"role": "user", "content": "u", "reasoning_content": "r"}),
     "record 7, key 'messages[0].reasoning_content': only an assistant message may have 'reasoning_content'"),
    (_raw(USER, {"role": "assistant", "content": "a", "reasoning": "x", "thinking": "y"}),
     "record 7, key 'messages[1].thinking': reasoning and thinking differ"),
    (_raw(USER, {"role": "assistant"}), "record 7, key 'messages[1].content': missing key"),
    (_raw(USER, tools=[{"type": "function", "function": {"description": "no name"}}]),
     "record 7, key 'tools[0]': a tool spec is"),
    ({"conversations": [{"from": "human", "value": "u"}, {"from": "function_call", "value": "get("}]},
     "record 7, key 'conversations[1].value': a function_call is not JSON"),
])
def test_bad_tool_input_names_the_record_and_key(raw, message):
    with pytest.raises(RecordError) as error:
        to_record(raw, index=7)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(("raw", "key", "what"), [
    (_raw(USER, {"role": "assistant", "content": "a", "reasoning_content": "r"}), "messages[1].reasoning_content",
     "reasoning"),
    (_raw(USER, {"role": "assistant", "content": "a"}, tools=[WEATHER]), "tools",
     "tools, tool calls or tool results"),
    (_raw(USER, {"role": "assistant", "tool_calls": [call("f", {})]}), "messages[1].tool_calls",
     "tools, tool calls or tool results"),
])
def test_a_style_that_cannot_render_tools_or_reasoning_refuses_them_and_names_those_that_can(raw, key, what):
    with pytest.raises(StyleError) as error:
        get_style("chatml").render(raw)
    text = str(error.value)
    assert text.startswith(f"key {key!r}: style 'chatml' cannot render {what}; styles that can: ")
    able = text.rpartition("styles that can: ")[2].split(", ")
    assert ("qwen2.5" in able) is (what != "reasoning")
