"""Plugin discovery through real entry points (fixture distributions with .dist-info metadata)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptstyles import InstructionRecord, PluginError, Style, StyleError, build_registry
from promptstyles.plugins import DISABLE_ENV
from promptstyles.styles.registry import StyleRegistry

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_builtin_alpaca_comes_from_the_entry_point_of_the_core_distribution():
    info = build_registry().info("alpaca")
    assert (info.plugin, info.distribution.split()[0], info.aliases) == ("alpaca", "promptstyles", ("stanford-alpaca",))


def test_third_party_plugin_is_found_by_entry_point(plugin_site):
    plugin_site("good")
    registry = build_registry()
    info = registry.info("yell")
    assert (info.name, info.plugin, info.distribution) == ("shout", "shout", "psfixture-good 0.1")
    style = registry.get("shout")
    assert style.render(InstructionRecord("hi there", "", "ok")).text == "Q: HI THERE\nA: ok"
    assert registry.names()[0] == "alpaca"


def test_name_claimed_twice_is_an_error_naming_both_plugins(plugin_site):
    plugin_site("conflict")
    registry = build_registry()
    with pytest.raises(StyleError) as caught:
        registry.get("alpaca")
    message = str(caught.value)
    assert "'alpaca' is claimed by both plugin 'alpaca' (promptstyles 0.1.0)" in message
    assert "plugin 'rival' (psfixture-conflict 0.1)" in message
    assert "alpaca" not in registry.names()
    assert "rival-unique" in registry.names()
    assert registry.conflicts == [message]


def test_failing_plugins_are_reported_and_others_still_load(plugin_site):
    plugin_site("good")
    plugin_site("broken")
    registry = build_registry()
    failures = {f.plugin: f for f in registry.failures}
    assert set(failures) == {"brokenimport", "brokenregister"}
    assert failures["brokenimport"].stage == "import"
    assert isinstance(failures["brokenimport"].error, ModuleNotFoundError)
    assert failures["brokenregister"].stage == "registration"
    assert {"alpaca", "shout"} <= set(registry.names())
    assert "half" not in registry.names()
    with pytest.raises(PluginError, match="plugin 'brokenregister' \\(distribution psfixture-broken 0.1\\) failed "
                                          "during registration: RuntimeError: configuration file missing") as caught:
        registry.get("half")
    assert isinstance(caught.value.__cause__, RuntimeError)
    with pytest.raises(PluginError, match="'brokenimport'.*No module named 'promptstyles_dependency_that_does_not"):
        registry.get("brokenimport")


def test_unknown_style_lists_closest_names():
    with pytest.raises(StyleError, match="unknown style 'alpacaa'; did you mean alpaca, stanford-alpaca\\?"):
        build_registry().get("alpacaa")
    with pytest.raises(StyleError, match="unknown style 'zzz'; available: alpaca, .*stanford-alpaca"):
        build_registry().get("zzz")


def test_unknown_style_mentions_failed_plugins(plugin_site):
    plugin_site("broken")
    with pytest.raises(StyleError, match="plugins that failed to load: brokenimport, brokenregister"):
        build_registry().get("nothing-like-it")


def test_module_named_in_config_is_loaded_after_installed_plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES / "modules"))
    registry = build_registry(["psfixture_configured"])
    info = registry.info("terse")
    assert (info.plugin, info.distribution) == ("psfixture_configured", None)
    assert registry.get("terse", separator=" => ").render(InstructionRecord("a", "", "b")).text == "a => b"


def test_missing_config_module_is_a_plugin_failure():
    registry = build_registry(["no_such_plugin_module"])
    assert [(f.plugin, f.stage) for f in registry.failures] == [("no_such_plugin_module", "import")]
    with pytest.raises(PluginError, match="no_such_plugin_module"):
        registry.get("no_such_plugin_module")


def test_plugins_can_be_disabled_by_environment(plugin_site, monkeypatch):
    plugin_site("good")
    monkeypatch.setenv(DISABLE_ENV, "shout")
    assert "shout" not in build_registry().names()


def test_registering_something_that_is_not_a_style_fails_that_plugin():
    from promptstyles.plugins import Registration

    registry = StyleRegistry([Registration(object, (), "odd", None), Registration(int, ("Bad Name",), "odd", None)])
    assert [f.plugin for f in registry.failures] == ["odd", "odd"]
    assert "not a promptstyles.Style subclass" in str(registry.failures[0].error)


def test_a_plugin_raising_anything_on_import_is_isolated_and_named(plugin_site):
    plugin_site("good")
    plugin_site("raising")
    registry = build_registry()
    failures = {f.plugin: f for f in registry.failures}
    assert {name: (f.stage, type(f.error)) for name, f in failures.items()} == {
        "crashing": ("import", RuntimeError), "exiting": ("import", SystemExit), "mistyped": ("import", SyntaxError),
    }
    assert failures["crashing"].describe() == ("plugin 'crashing' (distribution psfixture-raising 0.1) failed during "
                                               "import: RuntimeError: licence file not found")
    assert failures["exiting"].describe().endswith("failed during import: SystemExit: 3")
    assert {"alpaca", "shout"} <= set(registry.names())
    with pytest.raises(PluginError, match="^plugin 'crashing' \\(distribution psfixture-raising 0.1\\)") as caught:
        registry.get("crashing")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_an_alias_claimed_twice_is_an_error_naming_both_plugins(plugin_site):
    plugin_site("aliasclash")
    registry = build_registry()
    message = ("style name 'stanford-alpaca' is claimed by both plugin 'alpaca' (promptstyles 0.1.0) and plugin 'echo' "
               "(psfixture-aliasclash 0.1); uninstall one of them or block it with PROMPTSTYLES_DISABLE_PLUGINS")
    with pytest.raises(StyleError) as caught:
        registry.get("stanford-alpaca")
    assert str(caught.value) == message
    assert registry.conflicts == [message]
    assert (registry.info("alpaca").aliases, registry.info("repeat").name, registry.info("echo").aliases) == (
        (), "echo", ("repeat",))
    assert "stanford-alpaca" not in registry


def test_a_style_name_equal_to_an_earlier_alias_is_a_clash():
    from promptstyles.plugins import Registration

    def style(style_name: str) -> type[Style]:
        return type(style_name.title(), (Style,), {"name": style_name, "parts": lambda self, record, **_: []})

    registry = StyleRegistry([Registration(style("echo"), ("other",), "first", None),
                              Registration(style("other"), (), "second", None)])
    with pytest.raises(StyleError, match="^style name 'other' is claimed by both plugin 'first' and plugin 'second'"):
        registry.get("other")
    assert (registry.names(), registry.info("echo").aliases) == (["echo"], ())


def test_an_option_typo_lists_what_the_style_takes(plugin_site, monkeypatch):
    plugin_site("good")
    monkeypatch.syspath_prepend(str(FIXTURES / "modules"))
    registry = build_registry(["psfixture_configured"])
    with pytest.raises(StyleError, match="^style 'shout' has no option 'loud'; it takes no options$"):
        registry.get("yell", loud=True)
    with pytest.raises(StyleError, match="^style 'terse' has no options 'seperator', 'x'; it accepts: separator; "
                                         "did you mean 'separator'\\?$"):
        registry.get("terse", seperator=" ", x=1)
    assert registry.get("terse", separator=" ").separator == " "
