"""The chat-template style: any model's template, decomposed into parts, against transformers' own rendering.

Every ``tests/fixtures/chat_templates/*.jinja`` and every shared model folder is covered: a new fixture is
expected to be reproduced unless the table below says which error it raises.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import pytest
from shared_paths import MODELS, require

from promptstyles import PartKind
from promptstyles.cli import main
from promptstyles.errors import StyleError
from promptstyles.records import Conversation, Message
from promptstyles.styles import Part, available_styles, get_style
from promptstyles.styles.chat_template import ChatTemplateStyle

pytest.importorskip("jinja2")
transformers = pytest.importorskip("transformers")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "fixtures" / "chat_templates"
SHARED = ("llama-3-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3", "phi-3.5-mini-instruct")

IRREGULAR: dict[str, str] = {
    # Qwen3 opens its final answer with an empty think block that earlier answers lack: the `qwen3` style.
    "qwen3-0.6b": "the markup between a user message and its answer depends on the turn index",
    # DeepSeek-R1 prompts with <think> that its training text lacks: the `deepseek-r1` style.
    "deepseek-r1-distill-qwen-32b": "the generation prompt is not a prefix of the training text",
    # Hermes 3's tool_use template needs tools (its default template is plain ChatML): the `hermes3` style.
    # gpt-oss writes a dated system message of its own and channels: the `gpt-oss` style.
    "gpt-oss-120b": "the markup before the first user message .* is neither the user prefix nor a default system",
    "hermes-3-llama-3.1-8b-tool_use": r"it refuses the conversation \[user, assistant\]: it fails without tools",
}
"""Templates the style refuses, with the start of the reason it gives; every other one must be reproduced."""

SYSTEM_NOTES = {
    # The system prompt goes into the last user turn only while that turn is the last message: once an answer
    # follows it is dropped, so the generation prompt would not be a prefix of the training text. The derived
    # style reproduces the template without a system prompt and refuses one, pointing to mistral-v0.3.
    "mistral-7b-instruct-v0.3": "writes a system prompt only when the conversation ends with a user message",
}
"""Templates reproduced without a system prompt, whose style refuses one with this reason."""

_LLAMA3 = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
TOKENS = {
    "llama-3.1-8b-instruct": _LLAMA3, "llama-3.2-3b-instruct": _LLAMA3,
    "chatml-think-tools": {"eos_token": "<|im_end|>"},
    "qwen2-7b-instruct": {"eos_token": "<|im_end|>"},
    "command-r": {"bos_token": "<BOS_TOKEN>", "eos_token": "<|END_OF_TURN_TOKEN|>"},
    "phi-3-mini-4k-instruct": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "phi-4": {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"},
    "deepseek-llm-7b-chat": {"bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>",
                             "eos_token": "<\uff5cend\u2581of\u2581sentence\uff5c>"},
}
"""The special tokens of each fixture's tokenizer_config.json (the template file alone names none)."""
GEMMA = {"bos_token": "<bos>", "eos_token": "<eos>"}
DEFAULT_TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}


def tokens_for(name: str) -> dict[str, str]:
    return TOKENS.get(name, GEMMA if name.startswith("gemma") else DEFAULT_TOKENS)


CASES = [pytest.param(path, id=path.stem) for path in sorted(TEMPLATES.glob("*.jinja"))]
CASES += [pytest.param(MODELS / name, id=name) for name in SHARED]


def case_name(path: Path) -> str:
    return path.stem if path.suffix == ".jinja" else path.name


@cache
def reference(path: Path):
    """transformers' rendering of the same template: the model folder's tokenizer, or the fixture's text."""
    if path.suffix != ".jinja":
        if not path.is_dir():
            pytest.skip(f"shared model folder not found at {path}")
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
        return lambda messages, generation: tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation)
    from transformers.utils.chat_template_utils import render_jinja_template

    template, tokens = path.read_text(encoding="utf-8"), tokens_for(path.stem)
    return lambda messages, generation: render_jinja_template(
        [messages], chat_template=template, add_generation_prompt=generation, **tokens)[0][0]


def build(path: Path, **options) -> ChatTemplateStyle:
    if MODELS in path.parents:
        require(path)
    if path.suffix == ".jinja":
        options.setdefault("tokens", tokens_for(path.stem))
    return ChatTemplateStyle(template=str(path), **options)


SYSTEM = {"role": "system", "content": "You are terse. Answer in one line."}
EXCHANGES = [
    ({"role": "user", "content": "What is the capital of France?"}, {"role": "assistant", "content": "Paris."}),
    ({"role": "user", "content": " Und auf Deutsch?\nBitte kurz. "}, {"role": "assistant", "content": "Paris, ✓ 巴黎"}),
]
CONVERSATIONS = {
    "single turn": [*EXCHANGES[0]],
    "system + user": [SYSTEM, *EXCHANGES[0]],
    "multi-turn": [*EXCHANGES[0], *EXCHANGES[1]],
    "system + multi-turn": [SYSTEM, *EXCHANGES[0], *EXCHANGES[1]],
}


def record(messages: list[dict[str, str]]) -> Conversation:
    return Conversation(tuple(Message(m["role"], m["content"]) for m in messages))


@pytest.mark.parametrize("path", CASES)
def test_reproduces_the_template_or_names_what_is_irregular(path):
    name = case_name(path)
    if name in IRREGULAR:
        with pytest.raises(StyleError, match=IRREGULAR[name]):
            build(path)
        return
    style, render = build(path), reference(path)
    compared = 0
    for label, messages in CONVERSATIONS.items():
        if style.system_turn == "none" and messages[0]["role"] == "system":
            with pytest.raises(StyleError, match=SYSTEM_NOTES.get(name, "has no system role")):
                style.render(record(messages))
            continue
        assert style.render(record(messages)).text == render(messages, False), label
        assert style.generation_prompt(record(messages)) == render(messages[:-1], True), label
        assert style.render(record(messages[:-1])).text == render(messages[:-1], False), label
        compared += 1
    assert compared >= 2


@pytest.mark.parametrize("path", CASES)
def test_parts_follow_the_markup_and_message_text_is_never_markup(path):
    if case_name(path) in IRREGULAR:
        pytest.skip("refused, see the test above")
    style = build(path)
    parts = style.render(record([*EXCHANGES[0], *EXCHANGES[1]])).parts
    text_parts = [part for part in parts if not part.markup and part.kind is not PartKind.SYSTEM]
    assert [part.text.strip() for part in text_parts] == [m["content"].strip() for e in EXCHANGES for m in e]
    assert [part.kind for part in text_parts] == [PartKind.PROMPT, PartKind.RESPONSE] * 2
    assert parts[-1].kind is PartKind.END
    assert style.stop_sequences and style.stop_sequences[0] in parts[-1].text


def test_llama3_parts_special_tokens_and_stops():
    style = build(MODELS / "llama-3-8b-instruct")
    header = "<|start_header_id|>{}<|end_header_id|>\n\n"
    assert style.render(record([SYSTEM, *EXCHANGES[0]])).parts == (
        Part("<|begin_of_text|>" + header.format("system"), PartKind.SYSTEM, True),
        Part(SYSTEM["content"], PartKind.SYSTEM),
        Part("<|eot_id|>", PartKind.SYSTEM, True),
        Part(header.format("user"), PartKind.PROMPT, True),
        Part("What is the capital of France?", PartKind.PROMPT),
        Part("<|eot_id|>", PartKind.PROMPT, True),
        Part(header.format("assistant"), PartKind.RESPONSE_HEADER, True),
        Part("Paris.", PartKind.RESPONSE),
        Part("<|eot_id|>", PartKind.END, True),
    )
    assert style.special_tokens == ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
    assert style.stop_sequences == ("<|eot_id|>",)


def test_qwen_default_system_prompt_and_phi_closing():
    qwen = build(MODELS / "qwen2.5-7b-instruct")
    assert qwen.system == "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    # its turn markup, then the added tokens its template writes around tool calls (found by the tool probe)
    assert qwen.special_tokens == ("<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>")
    phi = build(MODELS / "phi-3.5-mini-instruct")
    assert phi.render(record([*EXCHANGES[0]])).parts[-2:] == (
        Part("Paris.", PartKind.RESPONSE), Part("<|end|>\n<|endoftext|>", PartKind.END, True))
    assert phi.stop_sequences == ("<|end|>",)


def test_a_tokenizer_config_and_a_chat_template_file_in_a_folder(tmp_path):
    config = json.loads(require(MODELS / "llama-3-8b-instruct" / "tokenizer_config.json").read_text(encoding="utf-8"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    from_config = build(tmp_path / "tokenizer_config.json")
    assert from_config.generation_prompt(record([EXCHANGES[0][0]])) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n")
    # A folder's chat_template.jinja wins over the config's template, as in transformers.
    (tmp_path / "chat_template.jinja").write_text(
        "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}", encoding="utf-8")
    folder = build(tmp_path)
    assert folder.render(record([SYSTEM, *EXCHANGES[0]])).text == (
        f"<|begin_of_text|><system>{SYSTEM['content']}</system><user>What is the capital of France?</user>"
        "<assistant>Paris.</assistant>")
    assert folder.special_tokens == ("<|begin_of_text|>",)


def test_options_bos_and_system():
    style = build(MODELS / "llama-3-8b-instruct", bos=False, system="Be brief.")
    assert style.generation_prompt(record([EXCHANGES[0][0]])) == (
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
        "\n\nWhat is the capital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


def test_a_template_whose_markup_depends_on_the_turn_index(tmp_path):
    template = tmp_path / "numbered.jinja"
    template.write_text("{% for m in messages %}<turn {{ loop.index }}>{{ m.role }}: {{ m.content }}\n{% endfor %}"
                        "{% if add_generation_prompt %}<turn>assistant: {% endif %}", encoding="utf-8")
    with pytest.raises(StyleError, match=r"numbered.jinja: the markup between a user message and its answer depends"
                                         r" on the turn index"):
        ChatTemplateStyle(template=str(template))


def test_a_template_folding_the_system_prompt_inconsistently(tmp_path):
    template = tmp_path / "odd.jinja"
    template.write_text("{% for m in messages %}{% if m.role == 'system' %}[{{ m.content }}]{% elif m.role == 'user' %}"
                        "U: {{ m.content }}\n{% else %}A: {{ m.content }}\n{% endif %}{% endfor %}"
                        "{% if add_generation_prompt %}A: {% endif %}{% if messages[0].role == 'system' %}!{% endif %}",
                        encoding="utf-8")
    with pytest.raises(StyleError, match="a system prompt changes the markup of the user and assistant turns"):
        ChatTemplateStyle(template=str(template))


def test_a_template_trimming_only_later_turns(tmp_path):
    template = tmp_path / "trim.jinja"
    template.write_text("{% for m in messages %}{% if m.role == 'user' %}U: {{ m.content if loop.first else m.content"
                        " | trim }}\n{% else %}A: {{ m.content }}\n{% endif %}{% endfor %}"
                        "{% if add_generation_prompt %}A: {% endif %}", encoding="utf-8")
    with pytest.raises(StyleError, match=r"on \[system, user\]: at character 53 .*"
                                         "the markup fits plain text, but the template trims the whitespace around "
                                         "this text differently from the other turns"):
        ChatTemplateStyle(template=str(template))


PADDED = [{"role": role, "content": f" \n {role} {number}:\tÜber café \n "}
          for number, role in enumerate(("system", "user", "assistant", "user", "assistant"))]
"""A conversation whose every message starts and ends with whitespace, for templates that trim it."""
OWN_TURNS = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content.METHOD() if m.role == 'ROLE' else"
             " m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
FOLDED = ("{% if messages[0].role == 'system' %}{% set sys = messages[0].content.METHOD() + '\\n\\n' %}"
          "{% set turns = messages[1:] %}{% else %}{% set sys = '' %}{% set turns = messages %}{% endif %}"
          "{% for m in turns %}<start_of_turn>{{ m.role }}\n{{ (sys if loop.first else '') + m.content }}"
          "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>assistant\n{% endif %}")


@pytest.mark.parametrize("method", ["lstrip", "rstrip", "strip"])
@pytest.mark.parametrize(("source", "role"), [(OWN_TURNS, "system"), (OWN_TURNS, "user"), (OWN_TURNS, "assistant"),
                                              (FOLDED, "system")], ids=["system", "user", "assistant", "folded"])
def test_a_template_trimming_one_end_of_a_roles_text(tmp_path, source, role, method):
    template = tmp_path / f"{method}-{role}.jinja"
    template.write_text(source.replace("METHOD", method).replace("ROLE", role), encoding="utf-8")
    style, render = build(template), reference(template)
    for messages in (PADDED, PADDED[1:]):
        assert style.render(record(messages)).text == render(messages, False)
        assert style.generation_prompt(record(messages)) == render(messages[:-1], True)
    texts = [part.text for part in style.render(record(PADDED)).parts if not part.markup]
    assert texts == [getattr(m["content"], method)() if m["role"] == role else m["content"] for m in PADDED]


def test_llama2_folds_the_system_prompt_and_trims_the_folded_turn_as_one():
    style = build(TEMPLATES / "llama-2-7b-chat.jinja")
    assert style.render(record([SYSTEM, {"role": "user", "content": " Hi "}, EXCHANGES[0][1]])).parts == (
        Part("<s>[INST] ", PartKind.PROMPT, True),
        Part("<<SYS>>\n", PartKind.SYSTEM, True),
        Part(SYSTEM["content"], PartKind.SYSTEM),
        Part("\n<</SYS>>\n\n", PartKind.SYSTEM, True),
        Part(" Hi", PartKind.PROMPT),
        Part(" [/INST]", PartKind.RESPONSE_HEADER, True),
        Part(" ", PartKind.RESPONSE, True),
        Part("Paris.", PartKind.RESPONSE),
        Part(" </s>", PartKind.END, True),
    )


def test_a_template_that_ignores_system_messages_gives_a_style_that_refuses_them(tmp_path):
    template = tmp_path / "nosystem.jinja"
    template.write_text("{% for m in messages %}{% if m.role == 'user' %}<|user|>\n{{ m.content }}\n{% elif m.role =="
                        " 'assistant' %}<|assistant|>\n{{ m.content }}</s>\n{% endif %}{% endfor %}"
                        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}", encoding="utf-8")
    style = ChatTemplateStyle(template=str(template))
    assert style.render(record([*EXCHANGES[0]])).text == (
        "<|user|>\nWhat is the capital of France?\n<|assistant|>\nParis.</s>\n")
    assert style.stop_sequences == ("</s>",)
    with pytest.raises(StyleError, match=r"turn 1 \(system\): style 'chat-template' has no system role"):
        style.render(record([SYSTEM, *EXCHANGES[0]]))


def test_bad_template_option():
    with pytest.raises(StyleError, match="needs the option 'template'"):
        ChatTemplateStyle()
    with pytest.raises(StyleError, match="does not exist"):
        ChatTemplateStyle(template="no/such/folder")


def test_missing_jinja2_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(StyleError, match=r"pip install promptstyles\[hf\]"):
        build(TEMPLATES / "llama-3.1-8b-instruct.jinja")


def _registered() -> bool:
    return "chat-template" in available_styles()


@pytest.mark.skipif(not _registered(), reason="the 'chat-template' entry point is not installed yet (pip install -e .)")
def test_registered_through_the_entry_point_like_alpaca():
    style = get_style("chat-template", template=str(require(MODELS / "phi-3.5-mini-instruct")))
    assert type(style) is ChatTemplateStyle
    assert style.options == {"template": str(MODELS / "phi-3.5-mini-instruct")}


def test_cli_renders_with_the_template_option(capsys):
    plugin = [] if _registered() else ["--plugin", "promptstyles.styles.chat_template"]
    message = json.dumps({"messages": [EXCHANGES[0][0]]})
    argv = ["render", "chat-template", *plugin, "--json", message, "--generation",
            "--option", f"template={require(MODELS / 'phi-3.5-mini-instruct')}"]
    assert main(argv) == 0
    assert capsys.readouterr().out == "<|user|>\nWhat is the capital of France?<|end|>\n<|assistant|>\n"
