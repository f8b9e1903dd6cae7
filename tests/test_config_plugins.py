"""Modules a config names in ``plugins``: found beside the YAML file, and required to load."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from promptstyles import InstructionRecord, PluginError, StyleError, load_config
from promptstyles.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TERSE = (FIXTURES / "modules" / "psfixture_configured.py").read_text(encoding="utf-8")


@pytest.fixture
def forget_modules():
    """Drop the modules a test imports from its own folder, so the next test imports its own copy."""
    names: list[str] = []
    yield names.append
    for name in names:
        sys.modules.pop(name, None)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plugins_module_beside_the_yaml_file_is_loaded_from_there(tmp_path, monkeypatch, forget_modules):
    forget_modules("beside_styles")
    monkeypatch.chdir(FIXTURES)  # not the config's folder
    write(tmp_path, "beside_styles.py", TERSE)
    config = load_config(write(tmp_path, "config.yaml", "style: terse\nplugins: [beside_styles]\n"))
    assert config.plugins == (str((tmp_path / "beside_styles.py").resolve()),)
    path_before = list(sys.path)
    style = config.build_style()
    assert style.render(InstructionRecord("a", "", "b")).text == "a\nb"
    assert sys.path == path_before
    assert main(["validate", str(tmp_path / "config.yaml")]) == 0


def test_plugins_entries_may_be_paths_to_a_file_or_package(tmp_path, forget_modules):
    forget_modules("deep_styles")
    forget_modules("pkg_styles")
    write(tmp_path, "lib/deep_styles.py", TERSE)
    write(tmp_path, "pkg_styles/__init__.py", "from ._impl import register_styles  # noqa: F401\n")
    write(tmp_path, "pkg_styles/_impl.py", TERSE.replace('name = "terse"', 'name = "packaged"'))
    config = load_config(write(tmp_path, "config.yaml", "style: packaged\nplugins: [lib/deep_styles.py, pkg_styles]\n"))
    assert config.plugins == (str(tmp_path / "lib" / "deep_styles.py"), str(tmp_path / "pkg_styles"))
    assert config.build_style().render(InstructionRecord("a", "", "b")).text == "a\nb"
    from promptstyles.styles.registry import build_registry

    assert build_registry(config.plugins).info("terse").plugin == "deep_styles"


def test_a_module_name_already_imported_from_elsewhere_is_refused(tmp_path, forget_modules):
    forget_modules("twin_styles")
    write(tmp_path, "one/twin_styles.py", TERSE)
    write(tmp_path, "two/twin_styles.py", TERSE)
    load_config(write(tmp_path, "one/config.yaml", "plugins: [twin_styles]\n")).build_style()
    second = load_config(write(tmp_path, "two/config.yaml", "plugins: [twin_styles]\n"))
    with pytest.raises(PluginError, match=f"a module 'twin_styles' is already imported from "
                                          f"{tmp_path / 'one' / 'twin_styles.py'}; rename one of them"):
        second.build_style()


def test_validate_fails_when_a_plugins_module_raises_on_import(tmp_path, capsys, forget_modules):
    forget_modules("alpaca_extra")
    write(tmp_path, "broken_styles.py", 'raise RuntimeError("needs a licence file")\n')
    config = write(tmp_path, "config.yaml", "style: alpaca\nplugins: [alpaca_extra, broken_styles]\n")
    write(tmp_path, "alpaca_extra.py", "")
    assert main(["validate", str(config)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"promptstyles: error: plugins[1]: plugin 'broken_styles' (from {tmp_path / 'broken_styles.py'}) failed "
        "during import: RuntimeError: needs a licence file; fix the module or remove it from plugins\n")


def test_validate_fails_when_a_plugins_module_is_missing(tmp_path, capsys):
    config = write(tmp_path, "config.yaml", "plugins: [no_such_styles_module]\n")
    assert main(["validate", str(config)]) == 1
    assert capsys.readouterr().err == (
        "promptstyles: error: plugins[0]: plugin 'no_such_styles_module' failed during import: ModuleNotFoundError: "
        "No module named 'no_such_styles_module'; fix the module or remove it from plugins\n")


def test_render_fails_when_a_plugin_option_module_is_missing(capsys):
    assert main(["render", "alpaca", "--json", '{"instruction": "Hi", "output": "Yo"}',
                 "--plugin", "no_such_styles_module"]) == 1
    assert capsys.readouterr().err == (
        "promptstyles: error: plugin 'no_such_styles_module' failed during import: ModuleNotFoundError: "
        "No module named 'no_such_styles_module'; fix the module or leave it out\n")


@pytest.mark.parametrize(("name", "owner"), [("alpaca", "alpaca"), ("stanford-alpaca", "alpaca"), ("chatml", "chatml")])
def test_a_declared_style_may_not_shadow_a_registered_name(name, owner):
    declaration = {"style": {"name": name, "assistant": {"header": "A: "}}}
    from promptstyles.styles.registry import default_registry

    info = default_registry().info(owner)
    origin = f"plugin {info.plugin!r} ({info.distribution})"
    with pytest.raises(StyleError) as caught:
        load_config(declaration).build_style()
    assert str(caught.value) == (f"declared style {name!r} would shadow the registered style {owner!r} from {origin}; "
                                 f"give the declaration another name, e.g. '{name}-custom'")
    assert load_config({"style": {**declaration["style"], "name": f"{name}-custom"}}).build_style().name == (
        f"{name}-custom")


def test_a_declared_style_lists_its_options_on_a_typo():
    config = load_config({"style": yaml.safe_load("{name: mine, assistant: {header: 'A: '}}"),
                          "style_options": {"joner": " "}})
    with pytest.raises(StyleError, match="^style 'mine' has no option 'joner'; it accepts: system, joiner, bos, date; "
                                         "did you mean 'joiner'\\?$"):
        config.build_style()


def test_an_experiment_finds_its_plugins_module_beside_its_yaml_file(tmp_path, forget_modules):
    from promptstyles.experiments import load_experiment

    forget_modules("experiment_styles")
    write(tmp_path, "experiment_styles.py", TERSE)
    experiment = load_experiment(write(tmp_path, "experiment.yaml", "styles: [terse]\n"
                                       "base: {plugins: [experiment_styles]}\n"))
    assert experiment.base.plugins == (str(tmp_path / "experiment_styles.py"),)
    assert experiment.runs()[0].config.build_style().render(InstructionRecord("a", "", "b")).text == "a\nb"
    with pytest.raises(PluginError, match="^base.plugins\\[0\\]: plugin 'no_such_styles_module' failed during import"):
        load_experiment(write(tmp_path, "broken.yaml", "styles: [alpaca]\nbase: {plugins: [no_such_styles_module]}\n"))


def test_a_plugin_option_finds_a_module_in_the_current_folder_first(tmp_path, monkeypatch, capsys, forget_modules):
    forget_modules("here_styles")
    write(tmp_path, "here_styles.py", TERSE)
    monkeypatch.chdir(tmp_path)
    assert main(["render", "terse", "--plugin", "here_styles", "--json", '{"instruction": "Hi", "output": "Yo"}']) == 0
    assert capsys.readouterr().out == "Hi\nYo"  # Terse: the instruction, its separator, the answer


def test_a_plugin_option_that_fails_is_said_once(tmp_path, monkeypatch, capsys, caplog, forget_modules):
    monkeypatch.chdir(tmp_path)
    assert main(["list", "--plugin", "no_such_styles"]) == 1
    err = capsys.readouterr().err
    assert err == ("promptstyles: error: plugin 'no_such_styles' failed during import: ModuleNotFoundError: "
                   "No module named 'no_such_styles'; fix the module or leave it out\n")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_an_unknown_style_hints_at_loading_its_plugin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StyleError, match=r"unknown style 'terse'; .*needs that module loaded "
                                         r"\(--plugin MODULE on the command line, plugins: \[MODULE\] in a config\)$"):
        load_config({"style": "terse"}).build_style()
