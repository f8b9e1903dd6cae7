"""Tool and reasoning conversations for tests: each as ``(messages, tools)`` in the OpenAI / Hugging Face format,
what ``apply_chat_template(messages, tools=tools)`` takes and what ``to_record({"messages", "tools"})`` reads."""

from __future__ import annotations

import copy

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city, in °C",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                    "unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["city"]}}}
SEARCH = {"type": "function", "function": {
    "name": "search", "description": "Search the web; \"quoted\" words must appear",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}


def call(name: str, arguments, call_id: str | None = None) -> dict:
    out: dict = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        out = {"id": call_id, **out}
    return out


TOOL_CONVERSATIONS: dict[str, tuple[list[dict], list[dict]]] = {
    "one call": ([
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Zürich"}, "call00001")]},
        {"role": "tool", "content": '{"temperature": 21, "sky": "clear"}', "tool_call_id": "call00001"},
        {"role": "assistant", "content": "It is 21 °C and clear in Zürich."},
    ], [WEATHER]),
    "text, two calls and two results": ([
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Compare Paris and 東京."},
        {"role": "assistant", "content": "Checking both.", "tool_calls": [
            call("get_weather", {"city": "Paris", "unit": "c"}, "call00002"),
            call("get_weather", {"city": "東京"}, "call00003")]},
        {"role": "tool", "content": "18", "tool_call_id": "call00002"},
        {"role": "tool", "content": "25", "tool_call_id": "call00003"},
        {"role": "assistant", "content": "東京 is warmer: 25 vs 18."},
    ], [WEATHER, SEARCH]),
    "two steps and a second question": ([
        {"role": "user", "content": "Find the capital of Peru, then its weather."},
        {"role": "assistant", "content": "", "tool_calls": [call("search", {"query": "capital of Peru"}, "call00004")]},
        {"role": "tool", "content": "Lima", "tool_call_id": "call00004"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Lima"}, "call00005")]},
        {"role": "tool", "content": "{\"temperature\": 19}", "tool_call_id": "call00005"},
        {"role": "assistant", "content": "Lima, 19 °C."},
        {"role": "user", "content": "Thanks! What does JSON stand for?"},
        {"role": "assistant", "content": "JavaScript Object Notation."},
    ], [SEARCH, WEATHER]),
    "tools declared, none called": ([
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": " Hi!\n"},
    ], [WEATHER]),
}

REASONING_CONVERSATIONS: dict[str, tuple[list[dict], list[dict]]] = {
    "reasoning, one turn": ([
        {"role": "user", "content": "What is 17 * 3?"},
        {"role": "assistant", "reasoning_content": "17 * 3 = 51.", "content": "51"},
    ], []),
    "reasoning over two turns": ([
        {"role": "system", "content": "Think first."},
        {"role": "user", "content": "2 + 2?"},
        {"role": "assistant", "reasoning_content": "Two and two make four.", "content": "4"},
        {"role": "user", "content": "And doubled?"},
        {"role": "assistant", "reasoning_content": "4 * 2 = 8.", "content": "8"},
    ], []),
    "reasoning with a tool call": ([
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "reasoning_content": "I need the weather tool.", "content": "",
         "tool_calls": [call("get_weather", {"city": "Oslo"}, "call00006")]},
        {"role": "tool", "content": "-3", "tool_call_id": "call00006"},
        {"role": "assistant", "reasoning_content": "It is freezing.", "content": "-3 °C in Oslo."},
    ], [WEATHER]),
    "reasoning, arguments as a string of JSON": ([
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Lima?"},
        {"role": "assistant", "reasoning_content": "\nCall it.\n", "content": "\nOne moment.",
         "tool_calls": [call("get_weather", '{"city":"Lima",  "unit": "c"}', "call00007")]},
        {"role": "tool", "content": "19", "tool_call_id": "call00007"},
        {"role": "assistant", "content": "19 °C."},
    ], [WEATHER]),
}


def messages_and_tools(name: str) -> tuple[list[dict], list[dict]]:
    """A fresh copy of one conversation (the templates read, never write, but tests may)."""
    table = TOOL_CONVERSATIONS if name in TOOL_CONVERSATIONS else REASONING_CONVERSATIONS
    messages, tools = table[name]
    return copy.deepcopy(messages), copy.deepcopy(tools)


def record(name: str) -> dict:
    messages, tools = messages_and_tools(name)
    return {"messages": messages, "tools": tools} if tools else {"messages": messages}
