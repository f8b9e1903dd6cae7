"""The README's plugin example, run as written: loaded through ``plugins:``, it renders input, refuses chat."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from promptstyles import InstructionRecord, PromptStylesError, load_config, to_record
from promptstyles.cli import main
from promptstyles.testing import assert_conforms

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_plugin() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Writing a style plugin"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's plugin section has no python block"
    return match.group(1)


@pytest.fixture
def config_path(tmp_path):
    (tmp_path / "my_styles.py").write_text(readme_plugin(), encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text("style: short\nplugins: [my_styles]\n", encoding="utf-8")
    yield path
    sys.modules.pop("my_styles", None)


def test_the_readme_plugin_renders_instruction_and_input(config_path, capsys):
    style = load_config(config_path).build_style()
    assert style.name == "terse"
    with_input = InstructionRecord("Add the numbers.", "1 2", "3")
    assert style.render(with_input).text == "Add the numbers.\n1 2\nAnswer: 3"
    assert style.generation_prompt(with_input) == "Add the numbers.\n1 2\nAnswer:"
    assert style.render(InstructionRecord("Say hi.", "", "Hi.")).text == "Say hi.\nAnswer: Hi."
    assert "Add the numbers.\n        1 2\n        Answer: 3\n" in readme_plugin()  # its docstring shows this output
    assert_conforms(style)  # e.g. its generation ids are a prefix of its training ids
    assert main(["validate", str(config_path)]) == 0
    assert "valid (style 'terse' from plugin 'my_styles'" in capsys.readouterr().out


def test_the_readme_plugin_refuses_a_chat_record_by_name(config_path):
    style = load_config(config_path).build_style()
    chat = to_record({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]})
    with pytest.raises(PromptStylesError, match="^style 'terse' takes instruction records only, not conversations$"):
        style.render(chat)
    with pytest.raises(PromptStylesError, match="^style 'terse' takes instruction records only"):
        style.generation_prompt(chat)
