"""Export to a Hugging Face chat template: transformers renders the exported template exactly as the style
renders (text for every bundled style; ids and the ``assistant`` mask, through ``{% generation %}`` tags, with
the shared tokenizers whose specials the style's markup uses; one known deviation in the mask, explained in
the test), refuses what the style refuses, and
``--into`` sets the template in place."""

from __future__ import annotations

import json

import pytest
from shared_paths import MODELS

from promptstyles import ChatStyle, PromptStylesError, StyleError, get_style, to_record
from promptstyles.cli import main
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.styles.agent import AgentStyle
from promptstyles.styles.export import chat_template
from promptstyles.styles.registry import default_registry

pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")
jinja2 = pytest.importorskip("jinja2")

STYLES = [info.name for info in default_registry().infos()
          if info.name != "chat-template" and not issubclass(info.style, AgentStyle)]
TOKENIZERS = {  # shared tokenizer folder -> styles whose markup it encodes as the style does
    "llama-3-8b-instruct": ["llama3", "llama3.1", "llama3.2", "alpaca"],
    "qwen2.5-7b-instruct": ["chatml", "qwen2", "qwen2.5"],
    "mistral-7b-instruct-v0.3": ["mistral-v0.3"],
    "phi-3.5-mini-instruct": ["phi3"],
}
BATTERY = {
    "single": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    "input": [{"role": "user", "content": "Add.", "input": "1 2"}, {"role": "assistant", "content": "3"}],
    "system": [{"role": "system", "content": " Be brief. "}, {"role": "user", "content": " Name a colour."},
               {"role": "assistant", "content": "Red. "}],
    "multi-turn": [{"role": "user", "content": "a "}, {"role": "assistant", "content": " b"},
                   {"role": "user", "content": "  c\n"}, {"role": "assistant", "content": "日本語 🙂"}],
    "system multi-turn": [{"role": "system", "content": "S"}, {"role": "user", "content": "a"},
                          {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
                          {"role": "assistant", "content": "d"}],
    "braces": [{"role": "user", "content": "{{ x }} {% y %}"}, {"role": "assistant", "content": "{z}"}],
}
REFUSED = {  # shapes some styles refuse
    "two users": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
    "assistant first": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}],
    "late system": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}],
    "only system": [{"role": "system", "content": "a"}],
}


def _record(conversation: list[dict], *, generation: bool = False):
    """The conversation as our record: a user message with an ``input`` is an instruction record."""
    if any("input" in message for message in conversation):
        user, *answer = conversation
        raw = {"instruction": user["content"], "input": user["input"],
               "output": answer[0]["content"] if answer else ""}
        return to_record(raw, require_output=not generation)
    return to_record({"messages": conversation}, require_output=not generation)


def _ours(style, conversation: list[dict], *, generation: bool = False) -> str | None:
    try:
        if generation:
            return style.generation_prompt(_record(conversation, generation=True))
        return style.render(_record(conversation)).text
    except PromptStylesError:
        return None


def _theirs(reference, template: str, conversation: list[dict], **options) -> str | None:
    try:
        return reference.apply_chat_template(conversation, chat_template=template, tokenize=False, **options)
    except jinja2.TemplateError:  # the template's raise_exception
        return None


@pytest.fixture(scope="module")
def reference():
    folder = MODELS / "llama-3-8b-instruct"
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")
    return transformers.PreTrainedTokenizerFast.from_pretrained(str(folder))


@pytest.mark.parametrize("name", STYLES)
def test_transformers_renders_the_export_as_the_style_does(name, reference):
    style = get_style(name)
    plain, tagged = chat_template(style), chat_template(style, generation_tags=True)
    assert "{% generation %}" in tagged and "{% generation %}" not in plain
    rendered = 0
    for conversation in [*BATTERY.values(), *REFUSED.values()]:
        ours = _ours(style, conversation)
        for template in (plain, tagged):
            assert _theirs(reference, template, conversation) == ours, conversation
        prompt = conversation[:-1] if conversation[-1]["role"] == "assistant" else conversation
        if prompt and prompt[-1]["role"] == "user":
            expected = _ours(style, prompt, generation=True)
            assert _theirs(reference, tagged, prompt, add_generation_prompt=True) == expected, prompt
        rendered += ours is not None
    assert rendered >= 2


@pytest.mark.parametrize("name", ["qwen2.5", "llama3.1", "alpaca"])
def test_the_export_carries_the_resolved_options(name, reference):
    style = get_style(name, system="Be exact.", **({"date": "2 Feb 2025"} if name == "llama3.1" else {}))
    conversation = BATTERY["single"]
    assert _theirs(reference, chat_template(style), conversation) == _ours(style, conversation)
    assert "Be exact." in _ours(style, conversation)


@pytest.fixture(scope="module", params=list(TOKENIZERS))
def model(request):
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    folder = MODELS / request.param
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")
    return request.param, HFTokenizer(folder), transformers.PreTrainedTokenizerFast.from_pretrained(str(folder))


def test_ids_and_assistant_masks_equal_ours(model):
    folder, tokenizer, reference = model
    eos = tokenizer.eos_id
    checked = 0
    for name in TOKENIZERS[folder]:
        style = get_style(name)
        template = chat_template(style, generation_tags=True)
        for case, conversation in BATTERY.items():
            if _ours(style, conversation) is None:
                continue
            out = reference.apply_chat_template(conversation, chat_template=template, tokenize=True,
                                                return_dict=True, return_assistant_tokens_mask=True)
            ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
            dataset = tokenize_records([_record(conversation)], style, tokenizer)
            stored = dataset[0].tolist()
            assert [*stored, eos] == (ids if ids[-1] == eos else [*ids, eos]), (name, case)
            targets = Collator(pad_token_id=eos, mask="assistant")(dataset.batch([0])).targets[0].tolist()
            trained = [int(target != -100) for target in targets]  # target i is token i + 1
            ours = [0, *trained[: len(ids) - 1]]
            deviations = [j for j in range(len(ids)) if ours[j] != mask[j]]
            # Known deviation: a special token that swallows the whitespace after it (Phi's rstrip) has an offset
            # span reaching into an answer that starts with whitespace, so transformers marks that header token.
            assert all(mask[j] == 1 and reference.convert_ids_to_tokens(ids[j]) in style.response_header
                       for j in deviations), (name, case, deviations)
            assert not deviations or (folder.startswith("phi") and any(
                m["role"] == "assistant" and m["content"][:1].isspace() for m in conversation)), (name, case)
            assert sum(mask) > 0
            prompt = reference.apply_chat_template(conversation[:-1], chat_template=template, tokenize=True,
                                                   add_generation_prompt=True, return_dict=True)
            assert stored[: len(prompt["input_ids"])] == list(prompt["input_ids"]), (name, case)
            checked += 1
    assert checked >= 4 * len(TOKENIZERS[folder])


def test_into_sets_the_template_in_place_and_keeps_the_other_keys(tmp_path, capsys):
    path = tmp_path / "tokenizer_config.json"
    original = {"bos_token": "<s>", "model_max_length": 4096, "added_tokens_decoder": {"0": {"content": "<unk>"}},
                "chat_template": "old"}
    path.write_text(json.dumps(original), encoding="utf-8")
    assert main(["export", "phi3", "--generation-tags", "--into", str(path)]) == 0
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == {**original, "chat_template": chat_template(get_style("phi3"), generation_tags=True)}
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer_config.json"]  # no temporary left behind
    capsys.readouterr()
    assert main(["export", "phi3"]) == 0
    assert capsys.readouterr().out == chat_template(get_style("phi3")) + "\n"
    assert main(["export", "phi3", "--into", str(tmp_path / "missing.json")]) == 1
    assert "missing.json: file not found" in capsys.readouterr().err


class Shouting(ChatStyle):
    """A Python style whose rendering no markup can say."""

    name = "shouting"
    user_prefix, response_header = "U: ", "A: "

    def content(self, turn, *, folded=False):
        return tuple((text.upper(), markup) for text, markup in turn.segments)


def test_a_style_that_markup_cannot_say_is_refused_with_the_reason():
    with pytest.raises(StyleError, match="cannot export style 'shouting' overrides ChatStyle.content, which a "
                                         "declaration cannot express"):
        chat_template(Shouting())


CALL = {"id": "call00001", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}


@pytest.mark.parametrize(("name", "key"), [("qwen2.5", "tool_calls"), ("mistral-v0.3", "tool_calls"),
                                           ("chatml", "reasoning_content"), ("llama3", "thinking")])
def test_an_export_refuses_tool_and_reasoning_data_it_would_drop(name, key, reference):
    template = chat_template(get_style(name), generation_tags=True)
    answer = {"role": "assistant", "content": "Done.", key: [CALL] if key == "tool_calls" else "Thought."}
    shown = "reasoning_content" if key == "thinking" else key  # transformers passes `thinking` on under this name
    with pytest.raises(jinja2.TemplateError, match=f"writes text turns only: {shown} in a message would be left out"):
        reference.apply_chat_template([{"role": "user", "content": "Hi"}, answer], chat_template=template,
                                      tokenize=False)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    with pytest.raises(jinja2.TemplateError, match=f"style '{name}' writes text turns only, no tool list"):
        reference.apply_chat_template([{"role": "user", "content": "Hi"}], chat_template=template, tools=tools,
                                      tokenize=False, add_generation_prompt=True)
    plain = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Done."}]
    assert reference.apply_chat_template(plain, chat_template=template, tokenize=False) == get_style(name).render(
        to_record({"messages": plain})).text
