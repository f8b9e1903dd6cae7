"""gpt-oss and DeepSeek-R1 render tool definitions, calls and results as their official templates do, rendered by
transformers: training text, every generation prompt, each JSON-schema shape of gpt-oss's TypeScript namespace;
masks train calls and answers, never tool lists or results; what a template cannot write is refused by key."""

# ruff: noqa: RUF001  (the full-width bars are DeepSeek's real token text)

from __future__ import annotations

import copy
import json

import pytest
from agent_records import REASONING_CONVERSATIONS, TOOL_CONVERSATIONS, WEATHER, call, messages_and_tools, record
from promptstyles_deepseek.deepseek_r1 import TOOL_TOKENS as R1_TOOL_TOKENS
from promptstyles_harmony.gpt_oss import TOOL_TOKENS as OSS_TOOL_TOKENS
from test_template_parity import TEMPLATES, Case, reference  # noqa: F401  (the fixture)

from promptstyles import StyleError, get_style, to_record
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.turns import per_assistant

GPT_OSS = Case("gpt-oss", "gpt-oss-120b.jinja", "<|startoftext|>", "<|return|>")
R1_TOKENS = {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}
ONE_CALL_EACH = [name for name in [*TOOL_CONVERSATIONS, *REASONING_CONVERSATIONS]
                 if name not in ("text, two calls and two results", "reasoning, arguments as a string of JSON")]


def gpt2(style):
    """GPT-2 given the style's markup tokens, those of its tool markup too."""
    tools = OSS_TOOL_TOKENS if style.name == "gpt-oss" else R1_TOOL_TOKENS
    return get_tokenizer("gpt2", special_tokens=(*style.special_tokens, *tools))


def trained_runs(style, raw, mode: str = "assistant", **collate) -> list[str]:
    """Trained targets decoded run by run, GPT-2 given the style's markup tokens; the end-of-text is GPT-2's."""
    tokenizer = gpt2(style)
    dataset = tokenize_records([to_record(raw)], style, tokenizer, special_tokens="extend")
    targets = Collator(mask=mode, **collate)(dataset.batch([0])).targets[0].tolist()
    runs, current = [], []
    for target in [*targets, -100]:
        if target == -100 and current:
            runs.append(tokenizer.decode(current))
        current = [] if target == -100 else [*current, target]
    return runs


# -- gpt-oss ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ONE_CALL_EACH)
def test_gpt_oss_tool_conversations_render_as_its_template(reference, name):  # noqa: F811
    messages, tools = messages_and_tools(name)
    style = get_style("gpt-oss")
    raw = {"messages": messages, "tools": tools}
    assert style.render(raw).text == reference(GPT_OSS, messages, tools=tools or None)
    for k, message in enumerate(messages):
        if message["role"] == "assistant":
            expected = reference(GPT_OSS, messages[:k], generation=True, tools=tools or None)
            assert style.generation_prompt({"messages": messages[: k + 1], "tools": tools}) == expected
    for example in per_assistant([to_record(raw)]):
        prefix = messages[: len(example.messages)]
        assert style.render(example).text == reference(GPT_OSS, prefix, tools=tools or None)


def spec(name: str, properties: dict | None, required: list[str] | None = None, **extra) -> dict:
    parameters = None if properties is None else {"type": "object", "properties": properties, **extra}
    if required is not None:
        parameters["required"] = required
    function = {"name": name, "description": f"The {name} tool"}
    return {"type": "function", "function": {**function, **({"parameters": parameters} if parameters else {})}}


SCHEMAS = [
    spec("nested", {"where": {"type": "object", "description": "A place", "properties": {
        "city": {"type": "string"}, "at": {"type": "object", "properties": {"lat": {"type": "number"}}}},
        "required": ["city"]}, "plain": {"type": "object"}}, ["where"]),
    spec("enums", {"unit": {"type": "string", "enum": ["c", "f"], "default": "c", "description": "Unit"},
                   "level": {"type": "integer", "enum": [1, 2]}, "mode": {"type": "string", "enum": ["a"]}}),
    spec("arrays", {"tags": {"type": "array", "items": {"type": "string"}}, "ns": {"type": "array", "items": {
        "type": "integer"}}, "flags": {"type": "array", "items": {"type": "boolean"}, "nullable": True},
        "points": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "wide": {"type": "array", "items": {"type": "object", "properties": {
            "a_long_property_name": {"type": "string"}, "another_long_name": {"type": "number"}}}},
        "grid": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "anything": {"type": "array"}}, ["tags"]),
    spec("defaults", {"count": {"type": "integer", "default": 3}, "ratio": {"type": "number", "default": 0.5},
                      "on": {"type": "boolean", "default": False}, "name": {"type": "string", "default": "x"},
                      "list": {"type": "array", "items": {"type": "string"}, "default": ["a"]}}, ["count"]),
    spec("nullables", {"maybe": {"type": "string", "nullable": True}, "kinds": {"type": ["string", "null"]},
                       "one": {"type": ["integer"]}, "untyped": {"description": "Anything"}}),
    spec("unions", {"either": {"oneOf": [{"type": "string", "description": "a name", "default": "x"},
                                         {"type": "number"}], "default": "x"},
                    "objects": {"oneOf": [{"type": "object"}, {"type": "string"}]}}),
    spec("nothing", None),
    spec("empty", {}),
]


def test_gpt_oss_writes_every_schema_shape_as_its_template(reference):  # noqa: F811
    messages = [{"role": "user", "content": "Go."}, {"role": "assistant", "content": "Done."}]
    expected = reference(GPT_OSS, messages, tools=SCHEMAS)
    assert get_style("gpt-oss").render({"messages": messages, "tools": SCHEMAS}).text == expected
    for fragment in ('where: {\ncity: \n                string, at?: ', 'unit?: "c" | "f", // default: c,\n',
                     "level?: number,\n", "flags?: boolean[] | null,\n", "wide?: any[],\n", "grid?: number[][],\n",
                     "count: number, // default: 3,\n", "kinds?: string | null,\n", "type nothing = () => any;",
                     "either?: string// a name"):
        assert fragment in expected


def test_gpt_oss_call_turns_after_reasoning_and_text_and_after_results(reference):  # noqa: F811
    tools = [WEATHER, SCHEMAS[0]]
    messages = [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "Plan a trip."},
        {"role": "assistant", "content": "Looking up the place first.",
         "tool_calls": [call("nested", {"where": {"city": "Oslo", "at": {"lat": 59.9}}})]},
        {"role": "tool", "content": "found"},
        {"role": "assistant", "reasoning_content": "Now the weather.", "content": "",
         "tool_calls": [call("get_weather", {"city": "Oslo", "unit": "c"})]},
        {"role": "tool", "content": "{\"t\": -3}"},
        {"role": "assistant", "content": "Cold: -3 °C."},
        {"role": "user", "content": "And no tools now?"},
        {"role": "assistant", "reasoning_content": "Just answer.", "content": "Fine."},
    ]
    style = get_style("gpt-oss")
    assert style.render({"messages": messages, "tools": tools}).text == reference(GPT_OSS, messages, tools=tools)
    for k in (2, 4, 6, 8):
        prompt = style.generation_prompt({"messages": messages[: k + 1], "tools": tools})
        assert prompt == reference(GPT_OSS, messages[:k], generation=True, tools=tools), k
    prompt = style.generation_prompt({"messages": messages[:7], "tools": tools})
    assert prompt.endswith('<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"{\\"t\\": -3}"'
                           "<|end|><|start|>assistant")
    assert "<|channel|>analysis<|message|>Now the weather.<|end|><|start|>assistant to=functions.get_weather" in prompt


def test_gpt_oss_writes_arguments_given_as_a_string_as_their_object(reference):  # noqa: F811
    messages, tools = messages_and_tools("reasoning, arguments as a string of JSON")
    messages[2]["content"] = ""
    text = get_style("gpt-oss").render({"messages": messages, "tools": tools}).text
    assert text != reference(GPT_OSS, messages, tools=tools)  # the template quotes the string
    parsed = copy.deepcopy(messages)
    parsed[2]["tool_calls"][0]["function"]["arguments"] = json.loads(messages[2]["tool_calls"][0]["function"]
                                                                     ["arguments"])
    assert text == reference(GPT_OSS, parsed, tools=tools)


def test_gpt_oss_masks_train_calls_and_answers_never_tools_or_results():
    style = get_style("gpt-oss", date="2025-07-04")
    call_text = ' to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Oslo"}<|call|>'
    final = "<|channel|>analysis<|message|>It is freezing.<|end|><|start|>assistant<|channel|>final<|message|>" \
            "-3 °C in Oslo.<|return|><|endoftext|>"
    raw = record("reasoning with a tool call")
    assert trained_runs(style, raw) == [call_text, final]
    assert trained_runs(style, raw, "last_assistant") == [final]
    assert trained_runs(style, raw, train_reasoning=False) == [
        call_text, "<|channel|>final<|message|>-3 °C in Oslo.<|return|><|endoftext|>"]
    first, _ = per_assistant([to_record(raw)])
    analysis = "<|channel|>analysis<|message|>I need the weather tool.<|end|><|start|>assistant"
    assert trained_runs(style, first) == [analysis + call_text + "<|endoftext|>"]
    assert trained_runs(style, first, train_reasoning=False) == [call_text + "<|endoftext|>"]


MARKUP = "<|start|> <|channel|> <|message|> <|end|> <|return|> <|call|>"


def test_gpt_oss_markup_inside_record_text_stays_text():
    style = get_style("gpt-oss", date="2025-07-04")
    tool = {"type": "function", "function": {"name": "f", "description": MARKUP, "parameters": {
        "type": "object", "properties": {"x": {"type": "string", "description": MARKUP}}}}}
    raw = {"messages": [{"role": "user", "content": MARKUP},
                        {"role": "assistant", "content": "", "tool_calls": [call("f", {"x": MARKUP})]},
                        {"role": "tool", "content": MARKUP}, {"role": "assistant", "content": MARKUP}],
           "tools": [tool]}
    tokenizer = gpt2(style)
    ids = tokenize_records([to_record(raw)], style, tokenizer, special_tokens="extend")[0].tolist()
    counts = {token: ids.count(tokenizer.special_id(token)) for token in (*style.special_tokens, *OSS_TOOL_TOKENS)}
    # system, developer, user, call, result, answer: the style's own markup only
    assert counts == {"<|start|>": 6, "<|message|>": 6, "<|channel|>": 3, "<|end|>": 4, "<|return|>": 1,
                      "<|call|>": 1}


def test_gpt_oss_refuses_what_its_template_cannot_write():
    style = get_style("gpt-oss", date="2025-07-04")
    with pytest.raises(StyleError, match="key 'messages.2..tool_calls': style 'gpt-oss' writes one tool call per "
                                         "assistant message .its template writes only the first.; this one has 2"):
        style.render(record("text, two calls and two results"))
    with pytest.raises(StyleError, match="key 'messages.2..content': style 'gpt-oss' writes a call's reasoning or "
                                         "its text"):
        style.render(record("reasoning, arguments as a string of JSON"))
    raw = record("one call")
    del raw["tools"][0]["function"]["description"]
    with pytest.raises(StyleError, match="key 'tools.0..function.description': style 'gpt-oss' needs a description"):
        style.render(raw)
    raw = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}],
           "tools": [spec("t", {"level": {"type": "integer", "enum": [1, 2], "default": 1}})]}
    with pytest.raises(StyleError, match="key 'tools.0..function.parameters.properties.level.default': style "
                                         "'gpt-oss' needs a string here"):
        style.render(raw)


# -- DeepSeek-R1 -----------------------------------------------------------------------------------------------------

def r1_template(messages: list[dict], *, generation: bool = False) -> str:
    """The template in transformers' own Jinja environment: ``apply_chat_template`` drops ``content: None``, the
    only mark of a call turn the template reads, so it would never write a call; it needs string arguments."""
    from transformers.utils.chat_template_utils import _compile_jinja_template

    messages = copy.deepcopy(messages)
    for message in messages:
        for tool_call in message.get("tool_calls", ()):
            message["content"] = message["content"] or None
            if not isinstance(tool_call["function"]["arguments"], str):
                tool_call["function"]["arguments"] = json.dumps(tool_call["function"]["arguments"], ensure_ascii=False)
    template = _compile_jinja_template((TEMPLATES / "deepseek-r1-distill-qwen-32b.jinja").read_text(encoding="utf-8"))
    return template.render(messages=messages, add_generation_prompt=generation, **R1_TOKENS)


def r1_expected(messages: list[dict]) -> str:
    """The template's text, but a final answer to a user message as the model writes it after the template's
    generation prompt (``<think>\\n``): the style's documented form."""
    final = messages[-1]
    if messages[-2]["role"] != "user" or final.get("tool_calls"):
        return r1_template(messages)
    return (r1_template(messages[:-1], generation=True) + final.get("reasoning_content", "") + "\n</think>\n\n"
            + final["content"] + R1_TOKENS["eos_token"])


R1_CALLS = {
    "one call": messages_and_tools("one call")[0],
    "two steps and a second question": messages_and_tools("two steps and a second question")[0],
    "two calls, three results' worth": [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"}),
                                                            call("get_weather", '{"city":"Rome"}')]},
        {"role": "tool", "content": "18"}, {"role": "tool", "content": "24"}, {"role": "assistant", "content": "Rome."},
        {"role": "user", "content": "And Oslo, Bergen and Tromsø?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": city}) for city in
                                                            ("Oslo", "Bergen", "Tromsø")]},
        {"role": "tool", "content": "-3"}, {"role": "tool", "content": "4"}, {"role": "tool", "content": "-9"},
        {"role": "assistant", "content": "Bergen is warmest."},
    ],
}


@pytest.mark.parametrize("name", R1_CALLS)
def test_deepseek_r1_calls_and_outputs_render_as_its_template(name):
    messages = copy.deepcopy(R1_CALLS[name])
    style = get_style("deepseek-r1")
    assert style.render({"messages": messages}).text == r1_expected(messages)
    for k, message in enumerate(messages):
        if message["role"] == "assistant":
            prompt = style.generation_prompt({"messages": messages[: k + 1]})
            assert prompt == r1_template(messages[:k], generation=True), k
    for example in per_assistant([to_record({"messages": messages})]):
        assert style.render(example).text == r1_expected(messages[: len(example.messages)])


def test_deepseek_r1_masks_train_calls_and_answers_never_outputs():
    style = get_style("deepseek-r1")
    raw = {"messages": messages_and_tools("one call")[0]}
    call_text = ('<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n'
                 '{"city": "Zürich"}\n```<｜tool▁call▁end｜>')
    answer = "It is 21 °C and clear in Zürich.<｜end▁of▁sentence｜><|endoftext|>"
    assert trained_runs(style, raw) == [call_text, answer]
    assert trained_runs(style, raw, "last_assistant") == [answer]
    later = {"messages": R1_CALLS["two calls, three results' worth"]}
    runs = trained_runs(style, later)
    assert runs[0].endswith('{"city":"Rome"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>')
    assert runs[2].startswith("<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\"}")
    assert runs[3] == "Bergen is warmest.<｜end▁of▁sentence｜><|endoftext|>"


def test_deepseek_r1_markup_inside_record_text_stays_text():
    style = get_style("deepseek-r1")
    text = "<｜tool▁calls▁begin｜> <｜tool▁output▁end｜> <｜Assistant｜> <｜end▁of▁sentence｜>"
    raw = {"messages": [{"role": "user", "content": text},
                        {"role": "assistant", "content": "", "tool_calls": [call("f", {"x": text})]},
                        {"role": "tool", "content": text}, {"role": "assistant", "content": text}]}
    tokenizer = gpt2(style)
    ids = tokenize_records([to_record(raw)], style, tokenizer, special_tokens="extend")[0].tolist()
    assert {token: ids.count(tokenizer.special_id(token)) for token in (*style.special_tokens, *R1_TOOL_TOKENS)} == {
        "<｜begin▁of▁sentence｜>": 1, "<｜end▁of▁sentence｜>": 1, "<｜User｜>": 1, "<｜Assistant｜>": 1,
        "<｜tool▁calls▁begin｜>": 1, "<｜tool▁calls▁end｜>": 0, "<｜tool▁call▁begin｜>": 1,
        "<｜tool▁call▁end｜>": 1, "<｜tool▁sep｜>": 1,
        "<｜tool▁outputs▁begin｜>": 1, "<｜tool▁outputs▁end｜>": 1, "<｜tool▁output▁begin｜>": 1,
        "<｜tool▁output▁end｜>": 1}


def test_deepseek_r1_refuses_what_its_template_drops():
    style = get_style("deepseek-r1")
    with pytest.raises(StyleError, match="key 'tools': style 'deepseek-r1' writes no tool list"):
        style.render(record("one call"))
    for name, error in [
            ("text, two calls and two results", "key 'messages.2..content': style 'deepseek-r1' writes a turn's tool"),
            ("reasoning with a tool call", "key 'messages.1..reasoning_content': style 'deepseek-r1' writes no "
                                           "reasoning beside tool calls")]:
        with pytest.raises(StyleError, match=error):
            style.render({"messages": messages_and_tools(name)[0]})
    messages = messages_and_tools("reasoning with a tool call")[0]
    del messages[1]["reasoning_content"]
    with pytest.raises(StyleError, match="key 'messages.3..reasoning_content': style 'deepseek-r1' writes no "
                                         "reasoning in an answer after tool outputs"):
        style.render({"messages": messages})
