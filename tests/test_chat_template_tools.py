"""The ``chat-template`` style on tool and reasoning conversations: parts traced through the model's own template
(``styles/_template_trace.py``). The text and every generation prompt equal transformers' rendering, the ids
equal ``apply_chat_template(tools=...)`` with the shared tokenizers, the trained text equals that of the dedicated
style of the same model, and what a template cannot be traced on is refused by name."""

from __future__ import annotations

import pytest
from agent_records import REASONING_CONVERSATIONS, TOOL_CONVERSATIONS, messages_and_tools, record
from engine_styles import MODELS
from test_template_parity import TEMPLATES, Case, reference  # noqa: F401  (the fixture)
from test_tool_masks import trained_text
from test_tool_parity import markers_everywhere, template_ids

from promptstyles import StyleError, get_style, to_record
from promptstyles.data.build.encoding import encode_generation_prompt
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.styles._base import PartKind as K

transformers = pytest.importorskip("transformers")

LLAMA = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
THINK = "chatml-think-tools.jinja"


def case(template: str, tokens: dict[str, str] | None = None, **more) -> Case:
    path = TEMPLATES / template if template.endswith(".jinja") else MODELS / template
    options = {"template": str(path), **({"tokens": tokens} if tokens else {}), **more}
    tokens = tokens or {}
    return Case("chat-template", template, tokens.get("bos_token"), tokens.get("eos_token"), options=options)


CASES = {"qwen2.5": case("qwen2.5-7b-instruct"), "mistral-v0.3": case("mistral-7b-instruct-v0.3"),
         "llama3.1": case("llama-3.1-8b-instruct.jinja", LLAMA), "llama3.2": case("llama-3.2-3b-instruct.jinja", LLAMA),
         "think": case(THINK, {"eos_token": "<|im_end|>"}),
         # Qwen3's markup is irregular (its last answer opens with an empty think block): every conversation traced
         "qwen3": case("qwen3-0.6b.jinja", {"eos_token": "<|im_end|>"}, trace=True)}
REFUSED = {
    # the template drops the system prompt once an answer follows (the style names the key it would lose)
    ("mistral-v0.3", "text, two calls and two results"): r"key 'messages\[0\].content': .* leaves it out",
    # Llama 3.x writes one call per turn: the template's own error
    ("llama3.1", "text, two calls and two results"): "only supports single tool-calls",
    ("llama3.2", "text, two calls and two results"): "only supports single tool-calls",
}
STYLES: dict[str, object] = {}


def style_of(name: str):
    if name not in STYLES:
        if not MODELS.joinpath(CASES[name].template).is_dir() and not CASES[name].template.endswith(".jinja"):
            pytest.skip(f"shared model folder {CASES[name].template} not found")
        STYLES[name] = get_style("chat-template", **CASES[name].options)
    return STYLES[name]


def conversations(name: str) -> list[str]:
    reasoning = list(REASONING_CONVERSATIONS) if name in ("think", "qwen3") else []
    return [*TOOL_CONVERSATIONS, *reasoning]


PAIRS = [(name, conversation) for name in CASES for conversation in conversations(name)]


@pytest.mark.parametrize(("name", "conversation"), PAIRS)
def test_text_and_every_generation_prompt_equal_the_template(reference, name, conversation):  # noqa: F811
    style, messages, tools = style_of(name), *messages_and_tools(conversation)
    if (name, conversation) in REFUSED:
        with pytest.raises(StyleError, match=REFUSED[name, conversation]):
            style.render(record(conversation))
        return
    official = CASES[name]
    assert style.render(record(conversation)).text == reference(official, messages, tools=tools or None)
    for k, message in enumerate(messages):
        if message["role"] == "assistant":
            prompt = style.generation_prompt({"messages": messages[: k + 1], "tools": tools})
            assert prompt == reference(official, messages[:k], generation=True, tools=tools or None), k


def test_features_are_found_by_probing():
    assert style_of("qwen2.5").renders == {"tools"}
    assert style_of("mistral-v0.3").renders == {"tools"}
    assert style_of("think").renders == {"tools", "reasoning"}
    assert style_of("qwen3").renders == {"tools", "reasoning"}
    plain = get_style("chat-template", template=str(MODELS / "llama-3-8b-instruct"))
    assert plain.renders == frozenset()
    with pytest.raises(StyleError, match=r"key 'tools': style 'chat-template' cannot render tools"):
        plain.render(record("one call"))
    with pytest.raises(StyleError, match=r"key 'messages\[1\].reasoning_content'.* cannot render reasoning"):
        style_of("qwen2.5").render(record("reasoning, one turn"))


def kinds(style, conversation: str) -> list[tuple[str, K]]:
    """The rendered parts as (text, kind), neighbours of one kind joined."""
    out: list[tuple[str, K]] = []
    for part in style.render(record(conversation)).parts:
        if out and out[-1][1] is part.kind:
            out[-1] = (out[-1][0] + part.text, part.kind)
        else:
            out.append((part.text, part.kind))
    return out


def test_reasoning_and_its_closer_are_reasoning_the_answer_and_end_are_trained():
    assert kinds(style_of("think"), "reasoning, one turn") == [
        ("<|im_start|>user\nWhat is 17 * 3?<|im_end|>\n", K.PROMPT),
        ("<|im_start|>assistant\n", K.RESPONSE_HEADER),
        ("<think>\n17 * 3 = 51.\n</think>\n\n", K.REASONING),
        ("51", K.RESPONSE),
        ("<|im_end|>\n", K.END)]


def test_the_answer_is_read_after_the_reasoning():
    style = style_of("think")
    prompt = style.generation_prompt(record("reasoning, one turn"))
    assert style.extract_response(prompt + "<think>\nSo 51.\n</think>\n\n51<|im_end|>\n", prompt=prompt) == "51"
    from promptstyles.testing import assert_conforms

    assert_conforms(style, properties=["extract_response returns the output"])


def test_a_call_after_reasoning_and_the_tool_result_have_their_own_parts():
    parts = kinds(style_of("think"), "reasoning with a tool call")
    assert parts[2:8] == [
        ("<|im_start|>assistant\n", K.RESPONSE_HEADER),
        ("<think>\nI need the weather tool.\n</think>\n\n", K.REASONING),
        ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>', K.TOOL_CALL),
        ("<|im_end|>\n", K.END),
        ("<|im_start|>tool\n-3<|im_end|>\n", K.TOOL_RESULT),
        ("<|im_start|>assistant\n", K.RESPONSE_HEADER)]
    assert parts[0][1] is K.TOOLS and parts[1][1] is K.PROMPT
    assert parts[1][0].endswith("<|im_start|>user\nWeather in Oslo?<|im_end|>\n")


def test_mistral_answer_after_results_opens_with_the_results_closer():
    parts = kinds(style_of("mistral-v0.3"), "two steps and a second question")
    assert ('"}', K.TOOL_RESULT) not in parts  # joined with the result before it
    at = parts.index(("[/TOOL_RESULTS]", K.RESPONSE_HEADER))
    assert parts[at + 1] == ('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Lima"}, "id": "call00005"}]',
                             K.TOOL_CALL)


@pytest.mark.parametrize(("name", "plugin", "folder"), [("qwen2.5", "qwen2.5", "qwen2.5-7b-instruct"),
                                                        ("mistral-v0.3", "mistral-v0.3", "mistral-7b-instruct-v0.3")])
@pytest.mark.parametrize("mode", ["assistant", "last_assistant"])
def test_trained_text_equals_the_dedicated_style(name, plugin, folder, mode):
    for conversation in TOOL_CONVERSATIONS:
        if (name, conversation) in REFUSED:
            continue
        ours = trained_text(style_of(name), record(conversation), mode, folder)
        assert ours == trained_text(plugin, record(conversation), mode, folder), conversation
        assert ours  # something is trained


def test_train_reasoning_false_leaves_the_reasoning_untrained():
    style = style_of("think")
    raw = record("reasoning over two turns")
    assert trained_text(style, raw, "assistant") == ["<think>\nTwo and two make four.\n</think>\n\n4<|im_end|>\n",
                                                     "<think>\n4 * 2 = 8.\n</think>\n\n8<|im_end|>\n<|im_end|>"]
    unreasoned = ["4<|im_end|>\n", "8<|im_end|>\n<|im_end|>"]  # the collator's end-of-text closes the example
    assert trained_text(style, raw, "assistant", train_reasoning=False) == unreasoned


@pytest.mark.parametrize(("name", "folder"), [("qwen2.5", "qwen2.5-7b-instruct"),
                                              ("mistral-v0.3", "mistral-7b-instruct-v0.3")])
def test_ids_equal_apply_chat_template(name, folder):
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    style = style_of(name)
    tokenizer = HFTokenizer(MODELS / folder)
    official = transformers.PreTrainedTokenizerFast.from_pretrained(str(MODELS / folder))
    names = [conversation for conversation in TOOL_CONVERSATIONS if (name, conversation) not in REFUSED]
    dataset = tokenize_records([to_record(record(conversation)) for conversation in names], style, tokenizer)
    for index, conversation in enumerate(names):
        messages, tools = messages_and_tools(conversation)
        expected = template_ids(official, messages, tools)
        ours = [*dataset[index].tolist(), tokenizer.eos_id]
        assert ours == (expected if expected[-1] == tokenizer.eos_id else [*expected, tokenizer.eos_id])
        for k, message in enumerate(messages):
            if message["role"] == "assistant":
                raw = to_record({"messages": messages[: k + 1], "tools": tools})
                assert encode_generation_prompt(style, raw, tokenizer) == template_ids(
                    official, messages[:k], tools, add_generation_prompt=True)


@pytest.mark.parametrize(("name", "folder", "markup"), [
    ("qwen2.5", "qwen2.5-7b-instruct", {"<tool_call>": 3, "</tool_call>": 3, "<|im_end|>": 5, "<|im_start|>": 5}),
    ("mistral-v0.3", "mistral-7b-instruct-v0.3", {"[TOOL_CALLS]": 1, "[TOOL_RESULTS]": 1, "[INST]": 1, "</s>": 1}),
])
def test_markup_inside_record_text_stays_text(name, folder, markup):
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    style, tokenizer = style_of(name), HFTokenizer(MODELS / folder)
    raw = markers_everywhere(text_with_calls=name == "qwen2.5")
    ids = tokenize_records([to_record(raw)], style, tokenizer)[0].tolist()
    assert {token: ids.count(tokenizer.special_id(token)) for token in markup} == markup
    assert tokenizer.decode(ids) == style.render(raw).text.removesuffix("</s>")


def test_plain_conversations_trace_to_the_derived_parts():
    style = style_of("qwen2.5")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Hi\n"},
                {"role": "assistant", "content": "Hello. "}, {"role": "user", "content": "Bye"},
                {"role": "assistant", "content": "\nBye."}]
    derived = style.parts(to_record({"messages": messages}))
    traced = style._trace.parts(messages, None, generation=False)
    assert [(p.text, p.kind) for p in traced if not p.markup] == [(p.text, p.kind) for p in derived if not p.markup]
    assert "".join(p.text for p in traced) == "".join(p.text for p in derived)
    trained = {K.RESPONSE, K.END}
    assert [p.text for p in traced if p.kind in trained] == [p.text for p in derived if p.kind in trained]


def template_with(tmp_path, old: str, new: str):
    text = (TEMPLATES / THINK).read_text(encoding="utf-8").replace(old, new)
    assert new in text
    (tmp_path / "t.jinja").write_text(text, encoding="utf-8")
    return get_style("chat-template", template=str(tmp_path / "t.jinja"), tokens={"eos_token": "<|im_end|>"})


def test_a_template_that_rewrites_text_cannot_be_traced(tmp_path):
    style = template_with(tmp_path, "'<|im_start|>tool\\n' + message.content",
                          "'<|im_start|>tool\\n' + message.content | upper")
    assert style.renders == {"reasoning"}  # the tool probe fails: tools are refused by name
    changing = template_with(tmp_path, "{{ message.content }}{% for call",
                             "{{ message.content | replace('x', 'y') }}{% for call")
    with pytest.raises(StyleError, match="differently depending on what it says"):
        changing.render({"messages": [{"role": "user", "content": "q"},
                                      {"role": "assistant", "content": "x", "reasoning_content": "r"}]})


def test_a_field_the_template_drops_is_refused_by_key(tmp_path):
    style = template_with(tmp_path, "{% if message.reasoning_content %}",
                          "{% if message.reasoning_content and loop.last %}")
    assert style.renders >= {"reasoning"}
    assert style.render(record("reasoning over two turns")).text  # an earlier turn's reasoning may be dropped
    with pytest.raises(StyleError, match=r"key 'messages\[1\].tool_calls\[1\]': .* leaves it out"):
        template_with(tmp_path, "{% for call in message.tool_calls or [] %}",
                      "{% for call in (message.tool_calls or [])[:1] %}").render(
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "",
                          "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {}}},
                                         {"type": "function", "function": {"name": "g", "arguments": {}}}]}]})


def test_a_turn_without_its_end_markup_is_refused(tmp_path):
    closed = "+ '\\n</tool_call>' }}{% endfor %}{{ '<|im_end|>\\n'"
    style = template_with(tmp_path, closed + " }}", closed + " if not message.tool_calls else '\\n' }}")
    assert "tools" not in style.renders
    with pytest.raises(StyleError, match=r"cannot render tools.* \(a probe conversation with tools fails: .*does "
                                         r"not close the assistant turn messages\[1\] with '<\|im_end\|>\\n'"):
        style.render(record("one call"))


@pytest.mark.parametrize("name", ["qwen2.5", "mistral-v0.3", "think", "qwen3"])
def test_check_and_the_conformance_kit_cover_the_traced_cases(name):
    from promptstyles.check import check_style
    from promptstyles.testing import assert_conforms

    style = style_of(name)
    cases = {case.name: case.status for case in check_style(style, style.options["template"]).cases}
    agent = {"tool call", "tool result, generation prompt", *(("reasoning",) if "reasoning" in style.renders else ())}
    assert {case: cases.get(case) for case in agent} == dict.fromkeys(agent, "agree")
    # A bare .jinja names no added tokens, so the kit cannot tell which markup is special there; Qwen3's template
    # also cuts an answer at a "</think>" written in it, which the kit's marker records hold (a refusal, tested below).
    if name not in ("think", "qwen3"):
        assert_conforms(style)


TRAINED = {K.REASONING, K.TOOL_CALL, K.RESPONSE, K.END}


def runs_of(style, raw, kinds=frozenset(TRAINED)) -> list[str]:
    """The text of each run of parts of ``kinds`` (what a mask trains, as text, with ``train_reasoning`` given by
    whether ``kinds`` holds reasoning)."""
    out, current = [], ""
    for part in style.render(raw).parts:
        if part.kind in kinds:
            current += part.text
        elif current:
            out, current = [*out, current], ""
    return [*out, current] if current else out


@pytest.mark.parametrize("conversation", [*TOOL_CONVERSATIONS, *REASONING_CONVERSATIONS])
def test_traced_qwen3_trains_what_the_qwen3_style_trains(conversation):
    traced, plugin = style_of("qwen3"), get_style("qwen3")
    assert traced.render(record(conversation)).text == plugin.render(record(conversation)).text
    assert runs_of(traced, record(conversation)) == runs_of(plugin, record(conversation))
    unreasoned = frozenset(TRAINED - {K.REASONING})
    assert runs_of(traced, record(conversation), unreasoned) == runs_of(plugin, record(conversation), unreasoned)


def test_traced_qwen3_trains_each_turns_reasoning_once_per_assistant_turn():
    from promptstyles.turns import per_assistant

    style = style_of("qwen3")
    whole = record("reasoning over two turns")
    # the template drops the first answer's reasoning once a user message follows it
    assert runs_of(style, whole, frozenset({K.REASONING})) == ["<think>\n4 * 2 = 8.\n</think>\n\n"]
    examples = list(per_assistant([to_record(whole)]))
    assert [runs_of(style, example, frozenset({K.REASONING})) for example in examples] == [
        ["<think>\nTwo and two make four.\n</think>\n\n"], ["<think>\n4 * 2 = 8.\n</think>\n\n"]]
    assert [runs_of(style, example) for example in examples] == [
        ["<think>\nTwo and two make four.\n</think>\n\n4<|im_end|>\n"],
        ["<think>\n4 * 2 = 8.\n</think>\n\n8<|im_end|>\n"]]


def test_traced_qwen3_refuses_an_answer_its_template_would_cut():
    raw = {"messages": [{"role": "user", "content": "Show a tag."},
                        {"role": "assistant", "content": "It is </think>."}]}
    with pytest.raises(StyleError, match="writes this conversation's text differently depending on what it says"):
        style_of("qwen3").render(raw)


def test_an_irregular_template_names_the_trace_option():
    with pytest.raises(StyleError, match=r"depends on the turn index.*option trace=true"):
        get_style("chat-template", template=str(TEMPLATES / "qwen3-0.6b.jinja"), tokens={"eos_token": "<|im_end|>"})
    with pytest.raises(StyleError, match="option 'trace' must be true or false"):
        get_style("chat-template", template=str(TEMPLATES / THINK), trace="yes")
