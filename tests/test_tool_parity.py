"""Tool and reasoning conversations render as each model's official template renders them (transformers'
``apply_chat_template`` with ``tools=``), training text and every generation prompt; with the shared
tokenizers, the ids are the template's ids."""

from __future__ import annotations

import pytest
from agent_records import REASONING_CONVERSATIONS, TOOL_CONVERSATIONS, messages_and_tools, record
from engine_styles import MODELS
from test_template_parity import Case, reference  # noqa: F401  (the fixture)

from promptstyles import StyleError, get_style, to_record
from promptstyles.data.build.encoding import encode_generation_prompt
from promptstyles.data.build.tokenize import tokenize_records

transformers = pytest.importorskip("transformers")

AGENT_CASES = [
    (Case("qwen2.5", "qwen2.5-7b-instruct"), ("tools",)),
    (Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>"), ("tools", "reasoning")),
    (Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>", options={"enable_thinking": False},
          context={"enable_thinking": False}), ("tools",)),
    (Case("mistral-v0.3", "mistral-7b-instruct-v0.3"), ("tools",)),
    (Case("mistral-nemo", "mistral-nemo-instruct-2407.jinja", "<s>", "</s>"), ("tools",)),
    (Case("hermes3", "hermes-3-llama-3.1-8b-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>"), ("tools",)),
    (Case("llama3.1", "llama-3.1-8b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"), ("tools",)),
    (Case("llama3.2", "llama-3.2-3b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", options={"date": "04 Jul 2025"},
          context={"date_string": "04 Jul 2025"}), ("tools",)),
]
SKIPPED = {
    # The template drops a system prompt unless a user message is last; the style keeps it in the last user
    # message, as mistral-common does (see test_template_parity); and it drops a call turn's text, which the
    # style refuses (tested in test_mistral_refuses_what_its_template_drops).
    ("mistral-v0.3", "text, two calls and two results"): "system prompt; text with calls",
    ("mistral-nemo", "text, two calls and two results"): "system prompt; text with calls",
    # Hermes 3's template drops a call turn's text; the style refuses it (test_hermes3_refuses_text_with_calls).
    ("hermes3", "text, two calls and two results"): "text with calls",
    # Llama 3.x writes one call per turn and no text beside it (test_llama_refuses_two_calls_and_text_with_a_call).
    ("llama3.1", "text, two calls and two results"): "two calls in one turn",
    ("llama3.2", "text, two calls and two results"): "two calls in one turn",
}


def cases() -> list[tuple[Case, str]]:
    out = []
    for case, features in AGENT_CASES:
        names = [*(TOOL_CONVERSATIONS if "tools" in features else ()),
                 *(REASONING_CONVERSATIONS if "reasoning" in features else ())]
        if "reasoning" in features and "tools" not in features:
            names = [name for name, (_, tools) in REASONING_CONVERSATIONS.items() if not tools]
        out += [(case, name) for name in names if (case.style, name) not in SKIPPED]
    return out


def case_id(value) -> str:
    if isinstance(value, Case):
        return value.style + "".join(f"-{k}={v}" for k, v in value.options.items())
    return str(value)


def render_official(reference, case: Case, name: str, *, upto: int | None = None) -> str:  # noqa: F811
    messages, tools = messages_and_tools(name)
    generation = upto is not None
    return reference(case, messages[:upto] if generation else messages, generation=generation,
                     tools=tools or None)


def style_of(case: Case):
    return get_style(case.style, **case.options)


@pytest.mark.parametrize(("case", "name"), cases(), ids=case_id)
def test_training_text_equals_the_official_template(reference, case, name):  # noqa: F811
    assert style_of(case).render(record(name)).text == render_official(reference, case, name)


@pytest.mark.parametrize(("case", "name"), cases(), ids=case_id)
def test_every_generation_prompt_equals_the_official_template(reference, case, name):  # noqa: F811
    messages, tools = messages_and_tools(name)
    style = style_of(case)
    answers = [k for k, message in enumerate(messages) if message["role"] == "assistant"]
    for k in answers:
        prompt = style.generation_prompt({"messages": messages[: k + 1], "tools": tools})
        assert prompt == render_official(reference, case, name, upto=k), f"before message {k}"


ID_CASES = [("qwen2.5", "qwen2.5-7b-instruct"), ("mistral-v0.3", "mistral-7b-instruct-v0.3")]


def load(style: str, folder: str):
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    if not (MODELS / folder).is_dir():
        pytest.skip(f"tokenizer folder {MODELS / folder} not found")
    reference_tokenizer = transformers.PreTrainedTokenizerFast.from_pretrained(str(MODELS / folder))
    return get_style(style), HFTokenizer(MODELS / folder), reference_tokenizer


@pytest.fixture(scope="module", params=ID_CASES, ids=lambda v: v[0])
def model(request):
    return load(*request.param)


def template_ids(tokenizer, messages, tools, **options) -> list[int]:
    out = tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=True, **options)
    return list(out["input_ids"] if not isinstance(out, list) else out)


def test_ids_equal_the_template_for_every_tool_conversation(model):
    style, tokenizer, reference_tokenizer = model
    names = [name for name in TOOL_CONVERSATIONS if (style.name, name) not in SKIPPED]
    dataset = tokenize_records([to_record(record(name)) for name in names], style, tokenizer)
    for index, name in enumerate(names):
        messages, tools = messages_and_tools(name)
        expected = template_ids(reference_tokenizer, messages, tools)
        ours = [*dataset[index].tolist(), tokenizer.eos_id]
        assert ours == (expected if expected[-1] == tokenizer.eos_id else [*expected, tokenizer.eos_id]), name
        for k, message in enumerate(messages):
            if message["role"] == "assistant":
                prompt = encode_generation_prompt(style, to_record({"messages": messages[: k + 1], "tools": tools}),
                                                  tokenizer)
                assert prompt == template_ids(reference_tokenizer, messages[:k], tools, add_generation_prompt=True)


MARKERS = "<tool_call> </tool_call> <think> [TOOL_CALLS] [TOOL_RESULTS] [INST] </s> <|call|> <|im_end|> <|im_start|>"


def markers_everywhere(*, text_with_calls: bool) -> dict:
    """A tool conversation with markup of every family written inside each piece of record text."""
    call = {"id": "abcdefgh1", "type": "function", "function": {"name": "f<|im_end|>", "arguments": {"x": MARKERS}}}
    calling = [{"role": "assistant", "content": MARKERS, "tool_calls": [call]}] if text_with_calls else [
        {"role": "assistant", "content": "", "tool_calls": [call]}]
    return {"messages": [{"role": "user", "content": MARKERS}, *calling,
                         {"role": "tool", "content": MARKERS, "tool_call_id": "abcdefgh1"},
                         {"role": "assistant", "content": MARKERS}],
            "tools": [{"type": "function", "function": {"name": "f<|im_end|>", "description": MARKERS}}]}


@pytest.mark.parametrize(("style", "folder", "markup"), [
    # the tool instructions name the Hermes tags twice, the call writes them once; five turns open and close
    ("qwen2.5", "qwen2.5-7b-instruct", {"<tool_call>": 3, "</tool_call>": 3, "<|im_end|>": 5, "<|im_start|>": 5}),
    # the final </s> is not stored: the collator appends the end-of-text
    ("mistral-v0.3", "mistral-7b-instruct-v0.3", {"[TOOL_CALLS]": 1, "[TOOL_RESULTS]": 1, "[INST]": 1, "</s>": 1}),
])
def test_markup_written_inside_record_text_stays_text(style, folder, markup):
    style, tokenizer, _ = load(style, folder)
    raw = markers_everywhere(text_with_calls=style.name == "qwen2.5")
    ids = tokenize_records([to_record(raw)], style, tokenizer)[0].tolist()
    assert {token: ids.count(tokenizer.special_id(token)) for token in markup} == markup
    assert tokenizer.decode(ids) == style.render(raw).text.removesuffix("</s>")  # the appended end-of-text


def test_mistral_refuses_what_its_template_drops_or_cannot_write():
    style = get_style("mistral-v0.3")
    raw = markers_everywhere(text_with_calls=True)
    with pytest.raises(StyleError, match="key 'messages.1..content': style 'mistral-v0.3' writes a turn's tool calls"):
        style.render(raw)
    raw = markers_everywhere(text_with_calls=False)
    raw["messages"][1]["tool_calls"][0]["id"] = "call_1"
    raw["messages"][2]["tool_call_id"] = "call_1"
    with pytest.raises(StyleError, match="key 'messages.1..tool_calls.0..id': style 'mistral-v0.3' needs call ids"):
        style.render(raw)


def test_mistral_refuses_turns_that_do_not_alternate_as_its_template_does():
    raw = markers_everywhere(text_with_calls=False)
    raw["messages"].insert(0, {"role": "user", "content": "first"})
    with pytest.raises(StyleError, match="turn 2 .user.: style 'mistral-v0.3' needs user and assistant turns to alt"):
        get_style("mistral-v0.3").render(raw)


@pytest.mark.parametrize("name", ["llama3.1", "llama3.2"])
def test_llama_refuses_two_calls_and_text_with_a_call(name):
    raw = record("text, two calls and two results")
    with pytest.raises(StyleError, match=f"key 'messages.2..tool_calls': style '{name}' writes one tool call per turn"):
        get_style(name).render(raw)
    raw["messages"][2]["tool_calls"].pop()
    raw["messages"].pop(4)
    with pytest.raises(StyleError, match=f"key 'messages.2..content': style '{name}' writes a turn's tool call or"):
        get_style(name).render(raw)


def test_hermes3_refuses_text_with_calls():
    with pytest.raises(StyleError, match="key 'messages.2..content': style 'hermes3' writes a turn's tool calls or"):
        get_style("hermes3").render(record("text, two calls and two results"))


def test_hermes3_writes_every_parameter_type_as_its_template_does(reference):  # noqa: F811
    kinds = {"type": "function", "function": {
        "name": "kinds", "description": "Every kind",
        "parameters": {"type": "object", "properties": {
            "n": {"type": "integer", "description": "  count "}, "x": {"type": "number"}, "b": {"type": "boolean"},
            "s": {"type": "string", "enum": ["a", "b"]},
            "o": {"type": "object"}, "m": {"type": "object", "additionalProperties": {"type": "integer"}},
            "any": {}}},
        "return": {"type": "string", "description": "the result"}}}
    empty = {"type": "function", "function": {"name": "nothing", "description": "No arguments",
                                               "parameters": {"type": "object", "properties": {}}}}
    messages = [{"role": "user", "content": "Go."}, {"role": "assistant", "content": "Done."}]
    case = Case("hermes3", "hermes-3-llama-3.1-8b-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>")
    expected = reference(case, messages, tools=[kinds, empty])
    assert get_style("hermes3").render({"messages": messages, "tools": [kinds, empty]}).text == expected
    assert "kinds(n: int, x: float, b: bool, s: str, o: dict, m: dict[str, int], any: Union[]) -> str" in expected
    for spec, kind in (({"type": "array", "items": {"type": "string"}}, "list[Union[]]"),):
        kinds["function"]["parameters"]["properties"] = {"p": spec}
        expected = reference(case, messages, tools=[kinds])
        assert f"kinds(p: {kind})" in expected
        assert get_style("hermes3").render({"messages": messages, "tools": [kinds]}).text == expected
    kinds["function"]["parameters"]["properties"] = {"p": {"type": ["string", "null"]}}
    with pytest.raises(StyleError, match="style 'hermes3' cannot write a parameter of type .'string', 'null'.: its"):
        get_style("hermes3").render({"messages": messages, "tools": [kinds]})
