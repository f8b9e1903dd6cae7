"""Tool calls in a comparison: per style, the share of generated calls that parse and that name a declared tool,
with a report that says plainly when nothing was measured and stays silent when no record declares tools."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from promptstyles import get_style, to_record
from promptstyles.experiments import compare
from promptstyles.experiments.differences import paired_differences
from promptstyles.experiments.report import render_markdown, write_report
from promptstyles.experiments.tool_calls import tool_call_results, tool_call_section, with_tool_calls

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALL = {"id": "call00001", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
RECORDS = [
    to_record({"tools": [WEATHER], "messages": [{"role": "user", "content": "Weather in Oslo?"},
                                                {"role": "assistant", "content": "", "tool_calls": [CALL]}]}),
    to_record({"tools": [WEATHER], "messages": [{"role": "user", "content": "Say hi."},
                                                {"role": "assistant", "content": "Hi!"}]}),
    to_record({"messages": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"}]}),
]


def hermes(name: str, arguments: str = '{"city": "Oslo"}') -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {arguments}}}\n</tool_call>'


def entries(*responses: str) -> list[dict[str, Any]]:
    return [{"record": position, "response": text} for position, text in enumerate(responses)]


def test_calls_are_counted_parsed_and_checked_against_the_records_tools() -> None:
    answered = entries(hermes("get_weather") + "\n" + hermes("get_wether"), hermes("get_weather", "{") + "Hi!",
                       hermes("get_weather"))  # the third record declares no tools: not counted
    section = tool_call_results(get_style("qwen2.5"), RECORDS, answered)
    assert section is not None
    assert {key: section[key] for key in ("readable", "records", "expected", "generated", "parsed", "declared")} == {
        "readable": True, "records": 2, "expected": 1, "generated": 3, "parsed": 2, "declared": 1}
    assert (section["parsed_share"], section["declared_share"]) == (2 / 3, 1 / 3)
    assert section["examples"] == {"records": [0, 1], "expected": [1, 0], "generated": [2, 1], "parsed": [2, 0],
                                   "declared": [1, 0]}
    assert 0 <= section["declared_share_low"] <= 1 / 3 <= section["declared_share_high"] <= 1


def test_no_generated_call_is_a_share_of_none_not_zero() -> None:
    section = tool_call_results(get_style("llama3.1"), RECORDS, entries("Oslo is cold.", "Hi!"))
    assert section is not None
    assert (section["generated"], section["parsed_share"], section["declared_share"]) == (0, None, None)
    assert section["parsed_share_low"] is None


def test_records_without_tools_give_no_section() -> None:
    assert tool_call_results(get_style("qwen2.5"), RECORDS[2:], entries("Hi!")) is None
    assert with_tool_calls({"generation": {}}, get_style("qwen2.5"), RECORDS[2:], entries("Hi!")) == {"generation": {}}


def test_a_style_that_cannot_read_its_calls_back_says_so() -> None:
    section = tool_call_results(get_style("chatml"), RECORDS, entries(hermes("get_weather"), "Hi!"))
    assert section == {"readable": False, "records": 2, "expected": 1}
    lines = tool_call_section({"styles": {"chatml": {"tool_calls": section}}})
    assert "| chatml | 2 | 1 |  | cannot read its tool calls back | cannot read its tool calls back |" in lines
    assert "chatml cannot read its tool calls back, so nothing was measured." in lines


def _results() -> dict[str, Any]:
    measured = tool_call_results(get_style("qwen2.5"), RECORDS,
                                 entries(hermes("get_weather") + "\n" + hermes("get_wether"), hermes("x", "[")))
    silent = tool_call_results(get_style("llama3.1"), RECORDS, entries("Oslo is cold.", "Hi!"))
    curve = {"step": [1], "train_loss": [3.0], "val_loss": [3.0], "val_response_loss": [3.0]}
    return {"styles": {
        "qwen2.5": {"training": {"val_response_loss": 2.0, "curve": curve}, "tool_calls": measured},
        "llama3.1": {"training": {"val_response_loss": 2.5, "curve": curve}, "tool_calls": silent},
    }}


def test_the_report_shows_measured_shares_and_says_when_nothing_was_generated() -> None:
    report = render_markdown(_results()).splitlines()
    assert "## Tool calls" in report
    assert "| style | records | calls expected | calls generated | parsed | names a declared tool |" in report
    row = next(line for line in report if line.startswith("| qwen2.5 | 2 | 1 | 3 | 67% (2/3) ["))
    assert "| 33% (1/3) [" in row
    assert "| llama3.1 | 2 | 1 | 0 | no tool calls generated | no tool calls generated |" in report
    assert "No tool calls generated by llama3.1: its shares measured nothing (not 0% success)." in report
    assert not any("0%" in line for line in report if line.startswith("| llama3.1 |"))


def test_the_report_says_when_no_reference_answer_holds_a_call() -> None:
    section = tool_call_results(get_style("qwen2.5"), RECORDS[1:], [{"record": 0, "response": hermes("get_weather")}])
    lines = tool_call_section({"styles": {"qwen2.5": {"tool_calls": section}}})
    assert "| qwen2.5 | 1 | 0 | 1 | 100% (1/1) [100%, 100%] | 100% (1/1) [100%, 100%] |" in lines
    assert any(line.startswith("No reference answer among these records holds a tool call") for line in lines)


def test_no_tools_no_section(tmp_path: Path) -> None:
    results = _results()
    for style in results["styles"].values():
        del style["tool_calls"]
    assert tool_call_section(results) == []
    write_report(results, tmp_path)
    assert "Tool calls" not in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "tool_calls" not in (tmp_path / "results.csv").read_text(encoding="utf-8")


def test_results_json_and_csv_hold_the_shares(tmp_path: Path) -> None:
    write_report(_results(), tmp_path)
    on_disk = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert on_disk["styles"]["qwen2.5"]["tool_calls"]["parsed"] == 2
    with (tmp_path / "results.csv").open(encoding="utf-8") as handle:
        rows = {row["style"]: row for row in csv.DictReader(handle)}
    assert float(rows["qwen2.5"]["tool_calls.parsed_share"]) == 2 / 3
    assert rows["llama3.1"]["tool_calls.parsed_share"] == ""  # measured nothing: empty, not 0
    assert rows["llama3.1"]["tool_calls.generated"] == "0"


def test_paired_differences_compare_records_where_both_styles_called() -> None:
    results = _results()
    assert not [row for row in paired_differences(results) if row["metric"].startswith("tool_calls.")]
    results["styles"]["llama3.1"]["tool_calls"] = tool_call_results(
        get_style("llama3.1"), RECORDS, entries('{"name": "get_weather", "parameters": {}}', '{"name": "hi"}'))
    rows = {row["metric"]: row for row in paired_differences(results) if row["metric"].startswith("tool_calls.")}
    # llama3.1 minus the best run, qwen2.5: 1 of 2 calls parsed against 2 of 3, over the two records both called on
    assert rows["tool_calls.parsed_share"]["difference"] == 1 / 2 - 2 / 3
    assert rows["tool_calls.parsed_share"]["examples"] == 2


def test_a_comparison_on_tool_data_writes_the_section(tmp_path: Path) -> None:
    experiment = {
        "styles": ["qwen2.5", "llama3.1"],
        "base": {"data": {"path": str(EXAMPLES / "tool-calls.jsonl"), "split": {"train": 0.5, "test": 0.3},
                          "turns": "per_assistant"},
                 "collate": {"mask": "prompt", "allowed_max_length": 512}, "loader": {"batch_size": 4}},
        "model": {"config": {"emb_dim": 32, "n_heads": 2, "n_layers": 1, "context_length": 512}},
        "training": {"max_steps": 2, "eval_every": 2, "eval_batches": 1},
        "generation": {"records": 8, "max_new_tokens": 8},
        "output": str(tmp_path),
    }
    results = compare(experiment, progress=False)
    report = (tmp_path / "report.md").read_text(encoding="utf-8").splitlines()
    assert "## Tool calls" in report
    for style in ("qwen2.5", "llama3.1"):
        section = results["styles"][style]["tool_calls"]
        assert section["records"] == 8 and section["expected"] >= 1
        responses = json.loads((tmp_path / "responses.json").read_text(encoding="utf-8"))[style]
        assert section["generated"] == sum(len(get_style(style).parse_tool_calls(r["response"]) or ())
                                           for r in responses)
        assert any(line.startswith(f"| {style} | 8 | {section['expected']} | {section['generated']} |")
                   for line in report)
