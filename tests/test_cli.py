"""The command line: exact output on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from promptstyles.cli import main

PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
)
RECORD_50 = (
    PREAMBLE + "\n\n### Instruction:\nIdentify the correct spelling of the following word.\n\n### Input:\nOcassion"
    "\n\n### Response:\nThe correct spelling is 'Occasion.'"
)


def test_render_prints_exactly_the_reference_text(dataset_path, capsys):
    assert main(["render", "alpaca", "--data", str(dataset_path), "--index", "50"]) == 0
    captured = capsys.readouterr()
    assert captured.out == RECORD_50
    assert captured.err == ""


def test_render_generation_prompt_and_literal_record(capsys):
    record = json.dumps({"instruction": "Add.", "input": "1 2"})
    assert main(["render", "alpaca", "--json", record, "--generation", "--option", "system=Be exact."]) == 0
    assert capsys.readouterr().out == "Be exact.\n\n### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:\n"


def test_list_shows_alpaca_with_its_plugin(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "ALIASES", "PLUGIN", "DESCRIPTION"]
    row = next(line for line in lines if line.startswith("alpaca "))
    assert row.split()[:4] == ["alpaca", "stanford-alpaca", "alpaca", "(promptstyles"]


def test_list_warns_about_failed_plugins_on_stderr(plugin_site, capsys):
    plugin_site("broken")
    assert main(["list"]) == 0
    err = capsys.readouterr().err
    assert "warning: plugin 'brokenimport' (distribution psfixture-broken 0.1) failed during import" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["render", "alpacaa", "--json", "{}"], "promptstyles: error: unknown style 'alpacaa'; did you mean alpaca"),
    (["render", "alpaca", "--json", '{"instruction": "x"}'], "promptstyles: error: --json, record 0, key 'output'"),
    (["render", "alpaca", "--json", "{"], "promptstyles: error: --json is not valid JSON"),
])
def test_errors_are_one_line_on_stderr(argv, message, capsys):
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1


def test_render_index_out_of_range(dataset_path, capsys):
    assert main(["render", "alpaca", "--data", str(dataset_path), "--index", "1100"]) == 1
    assert "index 1100 is out of range: the file has 1100 records" in capsys.readouterr().err


def test_validate_accepts_good_and_rejects_bad_config(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("style: stanford-alpaca\nstyle_options: {system: Hi}\n", encoding="utf-8")
    assert main(["validate", str(good)]) == 0
    assert "valid (style 'alpaca' from plugin 'alpaca'" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("style: alpaca\nstyle_options: {sytem: Hi}\n", encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().err == ("promptstyles: error: style 'alpaca' has no option 'sytem'; it accepts: system;"
                                       " did you mean 'system'?\n")


def test_debug_shows_the_traceback():
    with pytest.raises(Exception, match="unknown style"):
        main(["--debug", "render", "nope", "--json", "{}"])


def test_console_script_is_installed(dataset_path):
    executable = shutil.which("promptstyles") or str(__import__("pathlib").Path(sys.executable).parent / "promptstyles")
    result = subprocess.run([executable, "render", "alpaca", "--data", str(dataset_path), "--index", "50"],
                            capture_output=True, text=True, check=True)
    assert result.stdout == RECORD_50


CHAT_GPT2 = '''from promptstyles import hookimpl
from promptstyles.data.tokenizers import TiktokenTokenizer


def chat_gpt2(*, special_tokens=(), path=None):
    return TiktokenTokenizer("gpt2", special_tokens)


@hookimpl
def register_tokenizers(register):
    register("chat-gpt2", chat_gpt2, "GPT-2's encoding for chat styles")
'''


@pytest.mark.parametrize(("tokenizer", "shown"), [("chat-gpt2", "'chat-gpt2' (gpt2)"), ("gpt2", "'gpt2'")])
def test_stats_names_the_tokenizer_the_config_selected(tokenizer, shown, tmp_path, capsys):
    (tmp_path / "stats_tokenizers.py").write_text(CHAT_GPT2, encoding="utf-8")
    records = [{"instruction": f"Say {n}.", "input": "", "output": str(n)} for n in range(20)]
    (tmp_path / "data.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"tokenizer: {tokenizer}\nplugins: [stats_tokenizers]\ndata: {{path: data.json, cache: false}}\n",
        encoding="utf-8")
    try:
        assert main(["stats", str(tmp_path / "config.yaml")]) == 0
    finally:
        sys.modules.pop("stats_tokenizers", None)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"style 'alpaca', tokenizer {shown}, mask 'none', 20 records"


def test_compare_help_names_the_default_folder_and_what_overwrite_does(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "promptstyles-compare/ in the current folder" in text
    assert "recompute every run, finished ones too, instead of resuming from runs/" in text
