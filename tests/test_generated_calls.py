"""Styles read their tool calls back from generated text: the inverse of how they write them, strictly.

Each style that writes tool calls parses what it rendered back to the same names and arguments; malformed JSON,
a missing name or arguments, an unclosed block and an undeclared name are each told apart, never repaired."""

from __future__ import annotations

import pytest
from agent_records import SEARCH, WEATHER, call

from promptstyles import get_style, to_record
from promptstyles.generated_calls import ParsedCall, read_call, read_call_list

HERMES = ("qwen2.5", "qwen3", "hermes3")
MISTRAL = ("mistral-v0.3", "mistral-nemo")
LLAMA = ("llama3.1", "llama3.2")
TOOL_STYLES = HERMES + MISTRAL + LLAMA


def calling(*calls: dict) -> dict:
    """A record whose reference answer is a turn of tool calls."""
    return {"tools": [WEATHER, SEARCH], "messages": [
        {"role": "user", "content": "Weather in Zürich, and search for \"föhn\"?"},
        {"role": "assistant", "content": "", "tool_calls": list(calls)}]}


def generated(style_name: str, raw: dict) -> str:
    """What a model that learned the style perfectly generates: the rendered text after the generation prompt,
    as the comparison keeps it (``extract_response``)."""
    style = get_style(style_name)
    text, prompt = style.render(raw).text, style.generation_prompt(raw)
    assert text.startswith(prompt)
    return style.extract_response(text[len(prompt):])


ONE = call("get_weather", {"city": "Zürich", "unit": "c"}, "call00001")
TWO = call("search", {"query": "föhn \"wind\"", "limit": {"max": 3, "exact": [True, None]}}, "call00002")


@pytest.mark.parametrize("style_name", TOOL_STYLES)
def test_a_rendered_call_parses_back_to_its_name_and_arguments(style_name: str) -> None:
    for calls in ([ONE], [TWO]) + (([ONE, TWO],) if style_name not in LLAMA else ()):  # Llama: one call a turn
        raw = calling(*calls)
        parsed = get_style(style_name).parse_tool_calls(generated(style_name, raw))
        assert parsed is not None
        assert [(c.name, dict(c.arguments or {}), c.parsed) for c in parsed] == [
            (c["function"]["name"], c["function"]["arguments"], True) for c in calls]
        tools = to_record(raw).tools
        assert all(c.names(tools) for c in parsed)


@pytest.mark.parametrize("style_name", TOOL_STYLES)
def test_a_text_answer_makes_no_call(style_name: str) -> None:
    assert get_style(style_name).parse_tool_calls("It is 21 °C and clear in Zürich.") == ()


@pytest.mark.parametrize("style_name", ["chatml", "alpaca", "llama3", "mistral", "gpt-oss"])
def test_a_style_that_writes_no_tool_calls_reads_none_back(style_name: str) -> None:
    assert get_style(style_name).parse_tool_calls('<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>') is None


HERMES_CASES = {
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>':
        [("get_weather", {"city": "Paris"}, None)],
    'Checking.\n<tool_call>\n{"name": "search", "arguments": {}}\n</tool_call>\n<tool_call>\n'
    '{"name": "get_weather", "arguments": {"city": "Lima"}}\n</tool_call>':
        [("search", {}, None), ("get_weather", {"city": "Lima"}, None)],
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}\n</tool_call>':
        [(None, None, "not JSON: Expecting ',' delimiter (character 56)")],
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}': [(None, None, "no closing </tool_call>")],
    '<tool_call>\n{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}\n</tool_call>':
        [("get_weather", None, "no object 'arguments'")],
    '<tool_call>\n{"arguments": {}}\n</tool_call>': [(None, None, "no non-empty string 'name'")],
    '<tool_call>\n["get_weather"]\n</tool_call>': [(None, None, "a call is a JSON object, got list")],
}


def _seen(calls: tuple[ParsedCall, ...] | None) -> list[tuple[object, object, object]]:
    assert calls is not None
    return [(c.name, None if c.arguments is None else dict(c.arguments), c.problem) for c in calls]


@pytest.mark.parametrize("text", HERMES_CASES)
@pytest.mark.parametrize("style_name", HERMES)
def test_hermes_styles_read_exact_strings(style_name: str, text: str) -> None:
    assert _seen(get_style(style_name).parse_tool_calls(text)) == HERMES_CASES[text]


def test_qwen3_reads_calls_after_the_think_block_only() -> None:
    text = ('<think>\nMaybe <tool_call>\n{"name": "search", "arguments": {}}\n</tool_call>?\n</think>\n\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>')
    assert _seen(get_style("qwen3").parse_tool_calls(text)) == [("get_weather", {"city": "Oslo"}, None)]


MISTRAL_CASES = {
    '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call00001"}]':
        [("get_weather", {"city": "Paris"}, None)],
    '[TOOL_CALLS][{"name": "search", "arguments": {"query": "x"}, "id": "a"}, {"name": "", "arguments": {}}]':
        [("search", {"query": "x"}, None), (None, None, "no non-empty string 'name'")],
    '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call00001"}':
        [(None, None, "not JSON: Expecting ',' delimiter (character 76)")],
    '[TOOL_CALLS] {"name": "get_weather", "arguments": {"city": "Paris"}}':
        [(None, None, "not a non-empty JSON list of calls")],
    '[TOOL_CALLS] []': [(None, None, "not a non-empty JSON list of calls")],
    '[TOOL_CALLS] [{"name": "get_weather", "parameters": {"city": "Paris"}}]':
        [("get_weather", None, "no object 'arguments'")],
}


@pytest.mark.parametrize("text", MISTRAL_CASES)
@pytest.mark.parametrize("style_name", MISTRAL)
def test_mistral_styles_read_exact_strings(style_name: str, text: str) -> None:
    assert _seen(get_style(style_name).parse_tool_calls(text)) == MISTRAL_CASES[text]


LLAMA_CASES = {
    '{"name": "get_weather", "parameters": {"city": "Paris"}}': [("get_weather", {"city": "Paris"}, None)],
    '{"name": "get_weather", "arguments": {"city": "Paris"}}': [("get_weather", None, "no object 'parameters'")],
    '{"name": "get_weather", "parameters": {"city": "Paris"}} and more': [
        (None, None, "not JSON: Extra data (character 57)")],
    '{"name": "get_weather", "parameters": {"city": "Par': [
        (None, None, "not JSON: Unterminated string starting at (character 47)")],
}


@pytest.mark.parametrize("text", LLAMA_CASES)
@pytest.mark.parametrize("style_name", LLAMA)
def test_llama_styles_read_exact_strings(style_name: str, text: str) -> None:
    assert _seen(get_style(style_name).parse_tool_calls(text)) == LLAMA_CASES[text]


def test_a_call_names_a_declared_tool_only_when_it_parsed_with_a_declared_name() -> None:
    tools = to_record(calling(ONE)).tools
    assert read_call('{"name": "get_weather", "arguments": {}}').names(tools)
    assert not read_call('{"name": "get_wether", "arguments": {}}').names(tools)  # parses, but undeclared
    assert not read_call('{"name": "get_weather", "arguments": []}').names(tools)  # declared, but not parsed
    assert not read_call('{"name": "get_weather", "arguments": {}}').names(())


def test_a_list_that_does_not_load_is_one_failed_call() -> None:
    assert [c.parsed for c in read_call_list('[{"name": "a", "arguments": {}}, {"name": ')] == [False]
    assert [c.parsed for c in read_call_list('[{"name": "a", "arguments": {}}, 3]')] == [True, False]
