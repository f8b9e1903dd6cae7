"""Freezing: ``promptstyles freeze STYLE`` prints the resolved style as YAML that ``style: {file: ...}`` reloads
to render identically, for every bundled chat style; a style with its own Python freezes to its provenance and
chat template, and says so when reloaded."""

from __future__ import annotations

import itertools

import pytest
import yaml
from engine_styles import TOOL_MARKUP

from promptstyles import ChatStyle, ConfigError, InstructionRecord, StyleError, get_style, load_config
from promptstyles.cli import main
from promptstyles.records import Conversation, Message
from promptstyles.styles.export import chat_template
from promptstyles.styles.registry import default_registry

CHAT_STYLES = [info.name for info in default_registry().infos()
               if issubclass(info.style, ChatStyle) and info.plugin != "chat-template"]
RECORDS = [
    InstructionRecord("Add {the} numbers.", "", "3"),
    InstructionRecord(" Add. ", "1 2", " 3 "),
    Conversation((Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Yo"))),
    Conversation((Message("user", "a "), Message("assistant", " b"), Message("user", "c"), Message("assistant", "d"))),
]


def _parts(style, record, generation: bool):
    try:
        return style.parts(record, generation=generation)
    except StyleError as error:
        return str(error)


def _freeze(capsys, tmp_path, *arguments: str):
    assert main(["freeze", *arguments]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "frozen.yaml"
    path.write_text(text, encoding="utf-8")
    return yaml.safe_load(text), path


@pytest.mark.parametrize("name", CHAT_STYLES)
def test_a_frozen_chat_style_reloads_and_renders_identically(name, tmp_path, capsys):
    options = {"system": "Be exact. {not a placeholder}"} if name not in ("gemma", "phi3-exercise") else {}
    if name.startswith("llama3."):
        options["date"] = "2 Feb 2025"
    document, path = _freeze(capsys, tmp_path, name, *(f"--option={key}={value}" for key, value in options.items()))
    info = default_registry().info(name)
    assert document["name"] == name
    assert document["frozen_from"] == {"style": name, "plugin": info.plugin,
                                       "distribution": info.distribution.split()[0],
                                       "version": info.distribution.split()[1], "options": options}
    original = get_style(name, **options)
    reloaded = load_config({"style": {"file": str(path)}}).build_style()
    for record, generation in itertools.product(RECORDS, (False, True)):
        if not original.supports_conversations and isinstance(record, Conversation):
            continue
        assert _parts(reloaded, record, generation) == _parts(original, record, generation)
    assert reloaded.stop_sequences == original.stop_sequences
    # a declaration renders text turns only: the tokens of tool markup stay with the Python style
    assert reloaded.special_tokens == tuple(token for token in original.special_tokens if token not in TOOL_MARKUP)
    capsys.readouterr()
    assert main(["freeze", str(path)]) == 0  # freezing the frozen file changes nothing
    assert yaml.safe_load(capsys.readouterr().out) == document


def test_a_frozen_tool_style_refuses_tool_records_by_name(tmp_path, capsys):
    _document, path = _freeze(capsys, tmp_path, "qwen2.5")
    reloaded = load_config({"style": {"file": str(path)}}).build_style()
    call = {"id": "abcdefgh1", "type": "function", "function": {"name": "f", "arguments": {}}}
    with pytest.raises(StyleError, match="qwen2.5"):
        reloaded.render({"messages": [{"role": "user", "content": "Hi"},
                                      {"role": "assistant", "content": "", "tool_calls": [call]}]})


def test_llama32s_date_of_today_is_frozen(tmp_path, capsys):
    document, _path = _freeze(capsys, tmp_path, "llama3.2")
    today = get_style("llama3.2").date
    assert f"Today Date: {today}\n\n" in document["system"]["prefix"]
    assert "date" not in document["options"]


def test_a_style_with_its_own_python_freezes_to_its_template(tmp_path, capsys):
    document, path = _freeze(capsys, tmp_path, "alpaca", "--option", "system=Answer.")
    assert document["frozen_from"]["options"] == {"system": "Answer."}
    assert document["chat_template"] == chat_template(get_style("alpaca", system="Answer."))
    assert "select it again by name ('alpaca')" in document["note"]
    with pytest.raises(ConfigError, match=r"style 'alpaca' was frozen without a declaration .* select it by name "
                                          r"\('alpaca'\)"):
        load_config({"style": {"file": str(path)}})


def test_a_declaration_may_not_shadow_a_style_unless_frozen_from_it(tmp_path, capsys):
    document, path = _freeze(capsys, tmp_path, "phi3")
    document["frozen_from"]["style"] = "phi4"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(Exception, match="would shadow the registered style 'phi3'"):
        load_config({"style": {"file": str(path)}}).build_style()


def test_braces_in_markup_survive_freezing(tmp_path, capsys):
    source = tmp_path / "braces.yaml"
    source.write_text("name: braces\nuser: {prefix: '{{u}} '}\nassistant: {header: '{{a}}'}\n", encoding="utf-8")
    document, path = _freeze(capsys, tmp_path, str(source))
    assert document["frozen_from"]["style"] == "braces" and document["frozen_from"]["plugin"] is None
    reloaded = load_config({"style": {"file": str(path)}}).build_style()
    assert reloaded.render(InstructionRecord("{x}", "", "y")).text == "{u} {x}{a}y"
