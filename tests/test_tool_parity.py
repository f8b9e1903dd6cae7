"""Tool and reasoning conversations render as each model's official template renders them (transformers'
``apply_chat_template`` with ``tools=``), training text and every generation prompt; with the shared
tokenizers, the ids are the template's ids."""

from __future__ import annotations

import pytest
from agent_records import REASONING_CONVERSATIONS, TOOL_CONVERSATIONS, messages_and_tools, record
from engine_styles import MODELS
from test_template_parity import Case, reference  # noqa: F401  (the fixture)

from promptstyles import get_style, to_record
from promptstyles.data.build.encoding import encode_generation_prompt
from promptstyles.data.build.tokenize import tokenize_records

transformers = pytest.importorskip("transformers")

AGENT_CASES = [
    (Case("qwen2.5", "qwen2.5-7b-instruct"), ("tools",)),
    (Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>"), ("tools", "reasoning")),
    (Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>", options={"enable_thinking": False},
          context={"enable_thinking": False}), ("tools",)),
]


def cases() -> list[tuple[Case, str]]:
    out = []
    for case, features in AGENT_CASES:
        names = [*(TOOL_CONVERSATIONS if "tools" in features else ()),
                 *(REASONING_CONVERSATIONS if "reasoning" in features else ())]
        if "reasoning" in features and "tools" not in features:
            names = [name for name, (_, tools) in REASONING_CONVERSATIONS.items() if not tools]
        out += [(case, name) for name in names]
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


ID_CASES = [("qwen2.5", "qwen2.5-7b-instruct")]


@pytest.fixture(scope="module", params=ID_CASES, ids=lambda v: v[0])
def model(request):
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    style, folder = request.param
    if not (MODELS / folder).is_dir():
        pytest.skip(f"tokenizer folder {MODELS / folder} not found")
    reference_tokenizer = transformers.PreTrainedTokenizerFast.from_pretrained(str(MODELS / folder))
    return get_style(style), HFTokenizer(MODELS / folder), reference_tokenizer


def template_ids(tokenizer, messages, tools, **options) -> list[int]:
    out = tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=True, **options)
    return list(out["input_ids"] if not isinstance(out, list) else out)


def test_ids_equal_the_template_for_every_tool_conversation(model):
    style, tokenizer, reference_tokenizer = model
    names = list(TOOL_CONVERSATIONS)
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


def test_markup_written_inside_record_text_stays_text(model):
    style, tokenizer, _ = model
    markers = "<tool_call> </tool_call> <think> [TOOL_CALLS] <|call|> <|im_end|> <|im_start|>"
    raw = {"messages": [{"role": "user", "content": markers},
                        {"role": "assistant", "content": markers, "tool_calls": [
                            {"type": "function", "function": {"name": "f<|im_end|>", "arguments": {"x": markers}}}]},
                        {"role": "tool", "content": markers}, {"role": "assistant", "content": markers}],
           "tools": [{"type": "function", "function": {"name": "f<|im_end|>", "description": markers}}]}
    ids = tokenize_records([to_record(raw)], style, tokenizer)[0].tolist()
    # the tool instructions name the tags twice, the call writes them once; five turns open and close
    markup = {"<tool_call>": 3, "</tool_call>": 3, "<|im_end|>": 5, "<|im_start|>": 5}
    assert {token: ids.count(tokenizer.special_id(token)) for token in markup} == markup
    assert tokenizer.decode(ids) == style.render(raw).text
