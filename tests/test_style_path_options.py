"""Paths inside style options and style-file names are read from the YAML file's folder, as data paths are."""

from __future__ import annotations

import shutil
from pathlib import Path

from promptstyles.config import load_config
from promptstyles.experiments.config import load_experiment

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATE = FIXTURES / "chat_templates" / "zephyr-7b-beta.jinja"


def test_a_relative_template_option_is_read_beside_the_config(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    shutil.copy(TEMPLATE, tmp_path / "cfg" / "chat.jinja")
    (tmp_path / "cfg" / "config.yaml").write_text(
        "style: chat-template\nstyle_options: {template: chat.jinja, tokens: {bos_token: '<s>', eos_token: '</s>'}}\n",
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    config = load_config(tmp_path / "cfg" / "config.yaml")
    assert config.style_options["template"] == str(tmp_path / "cfg" / "chat.jinja")
    rendered = config.build_style().render({"instruction": "Hi", "output": "Hello"}).text
    assert rendered == "<|user|>\nHi</s>\n<|assistant|>\nHello</s>\n"


def test_an_absolute_template_option_and_other_styles_options_are_left_alone(tmp_path):
    (tmp_path / "a.yaml").write_text(f"style: chat-template\nstyle_options: {{template: {TEMPLATE}}}\n",
                                     encoding="utf-8")
    assert load_config(tmp_path / "a.yaml").style_options["template"] == str(TEMPLATE)
    (tmp_path / "b.yaml").write_text("style: alpaca\nstyle_options: {system: chat.jinja}\n", encoding="utf-8")
    assert load_config(tmp_path / "b.yaml").style_options == {"system": "chat.jinja"}


def test_an_experiment_reads_style_files_and_template_options_beside_it(tmp_path, monkeypatch):
    folder = tmp_path / "exp"
    folder.mkdir()
    shutil.copy(TEMPLATE, folder / "chat.jinja")
    shutil.copy(FIXTURES / "declared" / "chatml.yaml", folder / "mine.yaml")
    (folder / "experiment.yaml").write_text(
        "styles:\n  - mine.yaml\n"
        "  - {name: chat-template, options: {template: chat.jinja, tokens: {eos_token: </s>}}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    experiment = load_experiment(folder / "experiment.yaml")
    first, second = experiment.styles
    assert (first if isinstance(first, str) else first.name) == str(folder / "mine.yaml")
    assert not isinstance(second, str) and second.options["template"] == str(folder / "chat.jinja")
