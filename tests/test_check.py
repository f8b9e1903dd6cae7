"""``promptstyles check``: a style against a model folder's own chat template, as text and as ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
from engine_styles import MODEL_STYLES, MODELS

from promptstyles import InstructionRecord, PromptStylesError, get_style
from promptstyles.check import BATTERY, as_messages, check_style
from promptstyles.cli import main

pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

TEMPLATES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"
MISTRAL_DEVIATION = (
    "known deviation in 'system prompt': the official template drops a system prompt unless a user message is last; "
    "mistral-common keeps it in the last user message"
)


def folder(name: str) -> str:
    path = MODELS / name
    if not path.is_dir():
        pytest.skip(f"tokenizer folder {path} not found")
    return str(path)


def run(capsys, *args: str) -> tuple[int, list[str]]:
    status = main(["check", *args])
    return status, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("model", "style"), MODEL_STYLES.items())
def test_each_shared_model_agrees_with_its_style(capsys, model, style):
    status, lines = run(capsys, style, "--tokenizer", folder(model))
    header = f"check {style!r} against the chat template of {folder(model)} (tokenizer {model}, mask assistant)"
    assert lines[0] == header
    if style == "mistral-v0.3":  # two tool cases beside the battery of text turns
        assert MISTRAL_DEVIATION in lines
        assert lines[-1] == "9 cases, 8 agree, 0 differ, 1 known deviations"
    elif style == "qwen2.5":
        assert lines[-1] == "9 cases, 9 agree, 0 differ, 0 known deviations"
    else:
        assert lines[-1] == "7 cases, 7 agree, 0 differ, 0 known deviations"
    assert not [line for line in lines if line.startswith(("differ", "first", "untrained"))]
    assert status == 0


def test_every_dataset_record_agrees_as_text_and_ids(capsys, dataset_path):
    status, lines = run(capsys, "llama3", "--tokenizer", folder("llama-3-8b-instruct"), "--data", str(dataset_path))
    assert lines[1:] == ["1107 cases, 1107 agree, 0 differ, 0 known deviations"]
    assert status == 0


def test_a_mismatched_pair_fails_with_the_first_difference(capsys):
    status, lines = run(capsys, "chatml", "--tokenizer", folder("qwen2.5-7b-instruct"))
    assert lines[1:] == [
        "differ: single turn, multi-turn, unicode, leading spaces, empty input",
        "first difference in 'single turn', at character 12:",
        "  style:    <|im_start|>user\\nName a primary colo",
        "  template: <|im_start|>system\\nYou are Qwen, cre",
        "                        ^",
        "first different id in 'single turn', at token 1:",
        "  style:    151644 '<|im_start|>'  >872 'user'  198 '\\n'  675 'Name'  264 ' a'",
        "  template: 151644 '<|im_start|>'  >8948 'system'  198 '\\n'  2610 'You'  525 ' are'",
        "7 cases, 2 agree, 5 differ, 0 known deviations",
    ]
    assert status == 1


def test_a_style_with_other_special_tokens_differs_in_ids_from_the_first_token(capsys):
    status, lines = run(capsys, "llama3", "--tokenizer", folder("qwen2.5-7b-instruct"))
    assert lines[6:9] == [
        "first different id in 'single turn', at token 0:",
        "  style:    >27 '<'  91 '|'  7265 'begin'  3575 '_of'",
        "  template: >151644 '<|im_start|>'  8948 'system'  198 '\\n'  2610 'You'",
    ]
    assert status == 1


def test_seam_merges_are_reported_without_failing(capsys):
    status, lines = run(capsys, "phi3", "--tokenizer", folder("phi-3.5-mini-instruct"))
    assert lines[1] == ("seam merges in 1 case (parts encoded one by one give other ids than the whole text, which is "
                        "what is trained): leading spaces (token 1)")
    assert status == 0


def test_an_end_marker_outside_the_mask_is_reported(capsys):
    status, lines = run(capsys, "llama3", "--tokenizer", folder("llama-3-8b-instruct"), "--mask", "prompt")
    assert lines[1:] == [
        "untrained end marker in 'multi-turn': assistant turn 1 is not trained to stop under mask 'prompt'",
        "7 cases, 7 agree, 0 differ, 0 known deviations",
    ]
    assert status == 0
    _, lines = run(capsys, "llama3", "--tokenizer", folder("llama-3-8b-instruct"), "--mask", "last_assistant")
    assert lines[1].startswith("untrained end marker in 'multi-turn'")


def test_a_deviation_the_style_does_not_declare_fails():
    style = get_style("mistral-v0.3")
    declared = check_style(style, folder("mistral-7b-instruct-v0.3"))
    assert [(case.name, case.status) for case in declared.cases if case.status != "agree"] == [
        ("system prompt", "known deviation")]

    class Undeclared(type(style)):  # type: ignore[misc]
        known_deviations: ClassVar[dict[str, str]] = {}

    result = check_style(Undeclared(), folder("mistral-7b-instruct-v0.3"))
    differing = [(case.name, case.status) for case in result.cases if case.status != "agree"]
    assert differing == [("system prompt", "differ")]
    assert not result.ok


def test_both_sides_refusing_a_case_agree():
    result = check_style(get_style("gemma"), TEMPLATES / "gemma-2-2b-it.jinja")
    system = next(case for case in result.cases if case.name == "system prompt")
    assert system.status == "agree"
    assert "has no system role" in system.reason and "System role not supported" in system.reason
    assert result.tokenizer is None and system.ids is None


def test_records_become_chat_messages_as_the_parity_tests_build_them():
    assert as_messages(InstructionRecord("Add.", "2 3", "5")) == (("user", "Add.\n2 3"), ("assistant", "5"))
    assert as_messages(InstructionRecord("Add.", "", "5")) == (("user", "Add."), ("assistant", "5"))
    assert list(BATTERY) == ["single turn", "system prompt", "multi-turn", "generation prompt", "unicode",
                             "leading spaces", "empty input"]


def test_unusable_input_is_a_clear_error(capsys, tmp_path):
    with pytest.raises(PromptStylesError, match="unknown mask 'everything'"):
        check_style(get_style("llama3"), folder("llama-3-8b-instruct"), mask="everything")
    assert main(["check", "llama3", "--tokenizer", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"promptstyles: error: {tmp_path}: no tokenizer.json there")


def test_a_template_that_writes_more_differs_where_the_style_ends(tmp_path):
    template = tmp_path / "chatml-plus.jinja"
    template.write_text("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                        "{% if add_generation_prompt %}<|im_start|>assistant\n{% else %}<|endoftext|>{% endif %}")
    result = check_style(get_style("chatml"), template)
    single = next(case for case in result.cases if case.name == "single turn")
    assert single.text is not None
    text = "<|im_start|>user\nName a primary colour.<|im_end|>\n<|im_start|>assistant\nRed.<|im_end|>\n"
    assert (single.text.position, single.text.style, single.text.template) == (len(text), "", "<|endoftext|>")
    assert single.text.before == "<|im_start|>assistant\nRed.<|im_end|>\n"[-24:]
    assert [case.name for case in result.cases if case.status == "agree"] == ["generation prompt"]


def test_the_readme_shows_the_real_output(capsys):
    """Each ``$ promptstyles check ...`` block of the README is what the command prints, from the shared folder."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in readme.split("```console\n$ promptstyles check ")[1:]]
    assert len(blocks) == 2
    for block in blocks:
        command, *expected = block.rstrip("\n").split("\n")
        args = [arg.replace("../shared", str(MODELS.parent)) for arg in command.split()]
        folder(Path(args[args.index("--tokenizer") + 1]).name)
        main(["check", *args])
        out = capsys.readouterr().out.replace(str(MODELS.parent), "../shared")
        assert out.splitlines() == expected


def test_declared_deviations_must_name_battery_cases_and_are_warned_about_when_they_agree(caplog):
    class Misnamed(type(get_style("llama3"))):  # type: ignore[misc]
        known_deviations: ClassVar[dict[str, str]] = {"system": "typo"}

    with pytest.raises(PromptStylesError, match="style 'llama3' declares known deviations in 'system', which are no "
                                                "battery cases; use the case names: single turn, system prompt,"):
        check_style(Misnamed(), folder("llama-3-8b-instruct"))

    class Stale(type(get_style("llama3"))):  # type: ignore[misc]
        known_deviations: ClassVar[dict[str, str]] = {"unicode": "fixed since"}

    with caplog.at_level("WARNING", logger="promptstyles.check"):
        result = check_style(Stale(), folder("llama-3-8b-instruct"))
    assert result.count("agree") == 7
    assert caplog.messages == [
        "style 'llama3' declares a known deviation in 'unicode', but it agrees with the template"]


def test_markup_inside_a_record_agrees_as_text_but_not_as_ids(capsys, tmp_path):
    """The template's text, tokenized as the model reads it, turns a record's ``<|eot_id|>`` into the special id;
    the style keeps record text ordinary, and check shows that difference in ids alone."""
    data = tmp_path / "markup.json"
    data.write_text(json.dumps([{"instruction": "Repeat <|eot_id|> once.", "input": "", "output": "<|eot_id|>"}]))
    status, lines = run(capsys, "llama3", "--tokenizer", folder("llama-3-8b-instruct"), "--data", str(data))
    assert lines[1:] == [
        "differ: record 0",
        "first different id in 'record 0', at token 6:",
        "  style:    128007 '<|end_header_id|>'  271 '\\n\\n'  39818 'Repeat'  >83739 ' <|'  68 'e'  354 'ot'"
        "  851 '_id'",
        "  template: 128007 '<|end_header_id|>'  271 '\\n\\n'  39818 'Repeat'  >220 ' '  128009 '<|eot_id|>'"
        "  3131 ' once'  13 '.'",
        "8 cases, 7 agree, 1 differ, 0 known deviations",
    ]
    assert status == 1


def test_style_options_reach_the_style(capsys):
    """A default system prompt other than the template's differs wherever the conversation has none (the two
    tool cases too)."""
    status, lines = run(capsys, "qwen2.5", "--tokenizer", folder("qwen2.5-7b-instruct"), "--option", "system=Be brief.")
    assert lines[1:6] == [
        "differ: single turn, multi-turn, unicode, leading spaces, empty input and 2 more",
        "first difference in 'single turn', at character 19:",
        "  style:    <|im_start|>system\\nBe brief.<|im_end|>\\n<|im",
        "  template: <|im_start|>system\\nYou are Qwen, created by",
        "                                ^",
    ]
    assert status == 1
