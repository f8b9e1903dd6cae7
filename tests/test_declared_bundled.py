"""Declarative styles are complete: every bundled chat style, declared in YAML under fixtures/declared/,
renders as its Python class does (parts with kinds and markup flags, generation prompts, and the same errors
for the shapes and options it refuses)."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import pytest
from engine_styles import TOOL_MARKUP

from promptstyles import (
    ChatStyle,
    ConfigError,
    InstructionRecord,
    PromptStylesError,
    get_style,
    load_config,
)
from promptstyles.cli import main
from promptstyles.records import Conversation, Message
from promptstyles.styles.declarative import read_style_file
from promptstyles.styles.registry import default_registry

DECLARED = Path(__file__).resolve().parent / "fixtures" / "declared"
CHAT_STYLES = [info.name for info in default_registry().infos()
               if issubclass(info.style, ChatStyle) and info.plugin != "chat-template"]


def _chat(*pairs: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, text) for role, text in pairs))


RECORDS = [
    InstructionRecord("Add the numbers.", "", "3"),
    InstructionRecord("Add the numbers.", "1 2", "3"),
    InstructionRecord("  padded {x} ", " in\n", " out "),
    _chat(("user", "Hi"), ("assistant", "Hello!")),
    _chat(("system", "Be brief."), ("user", "Name a colour."), ("assistant", "Red.")),
    _chat(("user", "a "), ("assistant", " b"), ("user", " c"), ("assistant", "d ")),
    _chat(("system", " S "), ("user", " a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")),
    _chat(("system", "S"), ("user", "a")),
    # shapes some formats refuse
    _chat(("user", "a"), ("user", "b"), ("assistant", "c")),
    _chat(("assistant", "a"), ("user", "b")),
    _chat(("user", "a"), ("system", "b"), ("assistant", "c")),
    _chat(("system", "only")),
]
OPTIONS = [{}, {"system": "Be exact."}, {"system": ""}, {"system": None}, {"bos": False}, {"joiner": " | "},
           {"date": "1 Jan 2025"}, {"system": 3}]


def _outcome(call, name: str):
    try:
        return call()
    except PromptStylesError as error:
        return type(error).__name__, str(error).replace(f"{name}-declared", name)


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_each_bundled_chat_style_is_declared(name):
    assert (DECLARED / f"{name}.yaml").is_file(), f"declare {name} in tests/fixtures/declared/{name}.yaml"


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_the_declared_style_renders_as_the_python_one(name):
    spec = read_style_file(DECLARED / f"{name}.yaml")
    registry = default_registry()
    compared = 0
    for options in OPTIONS:
        python = _outcome(lambda options=options: get_style(name, **options), name)
        declared = _outcome(lambda options=options: registry.declared(spec, **options), name)
        if isinstance(python, tuple) or isinstance(declared, tuple):  # refused by both
            assert isinstance(python, tuple) and isinstance(declared, tuple) and python[0] == declared[0], options
            continue
        for record, generation in itertools.product(RECORDS, (False, True)):
            ours, theirs = (_outcome(functools.partial(style.parts, record, generation=generation), name)
                            for style in (declared, python))
            assert ours == theirs, (options, record, generation)
            compared += 1
        assert declared.stop_sequences == python.stop_sequences
        # a declaration writes text turns only: Python's tokens of tool markup are not declared there
        assert declared.special_tokens == tuple(token for token in python.special_tokens if token not in TOOL_MARKUP)
        assert declared.supports_conversations == python.supports_conversations
    assert compared >= 6 * len(RECORDS)


def test_a_style_file_works_in_configs_and_the_cli(tmp_path, dataset_path, capsys):
    source = (DECLARED / "phi3.yaml").read_text(encoding="utf-8")
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "mine.yaml").write_text(source.replace("phi3-declared", "mine"), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"style: {{file: styles/mine.yaml}}\ndata: {{path: {dataset_path}}}\n", encoding="utf-8")
    style = load_config(config).build_style()
    assert style.name == "mine"
    assert style.render(InstructionRecord("Hi", "", "Yo")).parts == get_style("phi3").render(
        InstructionRecord("Hi", "", "Yo")).parts
    record = '{"instruction": "Hi", "output": "Yo"}'
    assert main(["render", str(tmp_path / "styles" / "mine.yaml"), "--json", record]) == 0
    assert capsys.readouterr().out == "<|user|>\nHi<|end|>\n<|assistant|>\nYo<|end|>\n<|endoftext|>"
    assert main(["validate", str(config)]) == 0
    assert f"valid (style 'mine' declared in {tmp_path / 'styles' / 'mine.yaml'}" in capsys.readouterr().out
    assert main(["stats", str(config)]) == 0
    assert "style 'mine'" in capsys.readouterr().out
    assert main(["batch", str(config), "--color", "never"]) == 0
    assert "<|assistant|>" in capsys.readouterr().out


def test_style_file_errors_name_the_file_key_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nuser:\n  prefix: 'U: '\n  prefx: 'x'\nassistant: {header: 'A:'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: user.prefx \(line 4\): unknown key 'prefx'"):
        load_config({"style": {"file": str(bad)}})
    bad.write_text("name: bad\nsystem: {prefix: 'Now: {time}'}\nassistant: {header: 'A:'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: system.prefix \(line 2\): unknown placeholder \{time\}"):
        load_config({"style": {"file": str(bad)}})
    config = tmp_path / "config.yaml"
    config.write_text("style:\n  file: missing.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"style.file \(line 2\): style file .*missing.yaml not found"):
        load_config(config)
    config.write_text("style:\n  file: bad.yaml\n  name: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"style.name \(line 3\): give style.file alone"):
        load_config(config)


def test_braces_and_the_date_placeholder(tmp_path):
    spec = read_style_file(DECLARED / "llama3.1.yaml")
    registry = default_registry()
    style = registry.declared(spec, date="2 Feb 2025")
    assert "Today Date: 2 Feb 2025\n\n" in style.render(InstructionRecord("a", "", "b")).text
    braces = load_config({"style": {"name": "braces", "user": {"prefix": "{{u}} "},
                                    "assistant": {"header": "{{a}}"}}}).build_style()
    assert braces.render(InstructionRecord("{x}", "", "y")).text == "{u} {x}{a}y"
    with pytest.raises(PromptStylesError, match=r"has no \{date\} in its markup"):
        registry.declared(read_style_file(DECLARED / "llama3.yaml"), date="1 Jan 2025")
