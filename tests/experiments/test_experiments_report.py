"""The report leads with the verdict; results.json and results.csv hold the same numbers as plain data."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from promptstyles.experiments.differences import NO_DIFFERENCE, paired_differences
from promptstyles.experiments.paired import paired_bootstrap
from promptstyles.experiments.report import flat_rows, rank_styles, render_markdown, verdict, write_report


def results() -> dict:
    def style(tokens: float, compute: int, response: float | None, loss: float, f1: float) -> dict:
        return {
            "static": {"examples": 60, "tokens_mean": tokens, "tokens_median": tokens - 1, "tokens_p95": tokens + 30,
                       "tokens_max": 140, "template_overhead_mean": tokens - 40, "supervised_fraction": 0.25,
                       "truncated": 1, "padding_fraction": 0.125, "compute_tokens": compute},
            "training": {"curve": {"step": [10, 20], "train_loss": [3.0, 2.0], "val_loss": [3.0, loss],
                                   "val_response_loss": [3.5, response]},
                         "val_response_loss": response, "val_loss": loss, "steps": 20, "seconds": 12.5},
            "generation": {"token_f1": f1, "rouge_l": f1 / 2, "n": 10},
        }

    return {
        "settings": {"model": "tiny", "seed": 123},
        "styles": {
            "alpaca": style(80.0, 6000, 2.5, 2.0, 0.2),
            "phi3": style(60.0, 4000, 2.0, 2.2, 0.3),
            "chatml": style(70.0, 5000, None, 2.1, 0.1),
        },
    }


def test_rank_and_verdict_on_the_headline_metric() -> None:
    headline, ranked = rank_styles(results())
    assert headline["metric"] == "training.val_response_loss"
    assert ranked == [("phi3", 2.0), ("alpaca", 2.5)]
    assert verdict(results()) == (
        "**phi3** is best on val loss, response text: 2, 0.5 lower (20.0%) than the runner-up **alpaca** (2.5)."
        " No noise was measured (one seed, no per-example losses), so the margin is unweighed."
    )


def test_higher_is_better_headline_and_ties() -> None:
    data = results() | {"headline": {"metric": "generation.token_f1", "lower_is_better": False}}
    assert [s for s, _ in rank_styles(data)[1]] == ["phi3", "alpaca", "chatml"]
    assert "0.1 higher (50.0%) than the runner-up **alpaca** (0.2)" in verdict(data)
    data["styles"]["alpaca"]["generation"]["token_f1"] = 0.3
    assert verdict(data).startswith(
        "**alpaca** and **phi3** tie exactly on token F1 at 0.3. Against the next run: **alpaca** / **phi3** is"
        " best on token F1: 0.3, 0.2 higher (200.0%) than the runner-up **chatml** (0.1).")


def test_runs_on_the_same_ids_tie_exactly_and_the_verdict_weighs_the_next_run() -> None:
    data = results()
    nll = {"phi3": [4.0, 6.0, 2.0, 4.0], "chatml": [4.0, 6.0, 2.0, 4.0], "alpaca": [5.0, 7.0, 2.5, 5.5]}
    for name, values in nll.items():
        data["styles"][name]["training"]["val_response_loss"] = sum(values) / 8
        data["styles"][name]["training"]["val_examples"] = {"records": [0, 1, 2, 3], "nll": values,
                                                           "tokens": [2, 2, 2, 2]}
    text = verdict(data)
    assert text.startswith(
        "**phi3** and **chatml** tie exactly on val loss, response text at 2 (every validation example scores the"
        " same: they trained on the same token ids). Against the next run: **phi3** / **chatml** is best on val"
        " loss, response text: 2, 0.5 lower (20.0%) than the runner-up **alpaca** (2.5)."), text
    data["styles"]["chatml"]["training"]["val_examples"]["nll"] = [5.0, 5.0, 2.0, 4.0]  # same mean, other examples
    assert verdict(data).startswith("**phi3** and **chatml** tie exactly on val loss, response text at 2. Against")


def test_without_training_results_styles_are_ranked_by_tokens_per_example() -> None:
    data = {"styles": {name: {"static": values["static"]} for name, values in results()["styles"].items()}}
    headline, ranked = rank_styles(data)
    assert headline["metric"] == "static.tokens_mean"
    assert ranked == [("phi3", 60.0), ("chatml", 70.0), ("alpaca", 80.0)]
    assert verdict({"styles": {}}) == "No style has results yet."
    assert verdict({"styles": {"alpaca": {"static": {"tokens_mean": 80}}}}) == (
        "Only **alpaca** has results: tokens/example mean 80."
    )


def test_flat_rows_leave_out_curves_and_derive_relative_compute() -> None:
    rows = {row["style"]: row for row in flat_rows(results())}
    assert rows["phi3"]["static.relative_compute"] == 1.0
    assert rows["alpaca"]["static.relative_compute"] == 1.5
    assert "training.curve" not in rows["alpaca"] and not any(k.startswith("training.curve") for k in rows["alpaca"])


def test_markdown_leads_with_the_verdict_and_orders_rows_best_first() -> None:
    text = render_markdown(results(), plots={"Loss curves": "plots/loss_curves.png"})
    lines = text.splitlines()
    assert lines[0] == "# Prompt style comparison"
    assert lines[2].startswith("**phi3** is best")
    fine_tuning = lines[lines.index("## Fine-tuning") + 2:]
    assert fine_tuning[0].startswith("| rank | style | val loss, response text | val loss, all supervised | token F1")
    assert fine_tuning[2] == "| 1 | phi3 | 2.000 | 2.200 | 0.300 | 0.150 | 10 | 20 | 12.5 |"
    assert fine_tuning[3].startswith("| 2 | alpaca | 2.500 |")
    assert fine_tuning[4].startswith("|  | chatml |  | 2.100 |")
    static = lines[lines.index("## Static comparison") + 2:]
    assert static[0] == "Ranked by tokens/example mean (fewer first)."
    assert static[4] == "| 1 | phi3 | 60 | 60.0 | 59.0 | 90.0 | 140 | 20.0 | 25.0% | 1 | 12.5% | 1.00x |"
    # ranked by its own figure: chatml has no fine-tuning rank but the second fewest tokens
    assert [line.split(" | ")[:2] for line in static[5:7]] == [["| 2", "chatml"], ["| 3", "alpaca"]]
    assert "![Loss curves](plots/loss_curves.png)" in lines
    assert '  "model": "tiny",' in lines


def test_write_report_files(tmp_path: Path) -> None:
    data = results()
    data["styles"]["chatml"]["training"]["val_loss"] = math.nan
    paths = write_report(data, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.md", "results.csv", "results.json"]
    loaded = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert loaded["styles"]["chatml"]["training"]["val_loss"] is None
    assert loaded["styles"]["phi3"]["training"]["curve"]["val_response_loss"] == [3.5, 2.0]
    with paths["csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["style"] for row in rows] == ["phi3", "alpaca", "chatml"]
    assert rows[0]["training.val_response_loss"] == "2.0"
    assert rows[1]["static.relative_compute"] == "1.5"
    assert rows[2]["training.val_loss"] == ""
    assert paths["markdown"].read_text(encoding="utf-8").startswith("# Prompt style comparison\n\n**phi3**")


def test_a_close_margin_is_reported_as_too_close_to_call() -> None:
    data = results()
    data["styles"]["alpaca"]["training"]["val_response_loss"] = 2.02
    assert verdict(data) == (
        "**phi3** is best on val loss, response text: 2, 0.02 lower (1.0%) than the runner-up **alpaca** (2.02)."
        " A margin under 2% is within what another seed or a longer run can change: read it as a tie until more"
        " training or several seeds confirm it."
    )


def test_with_several_seeds_the_verdict_weighs_the_margin_against_the_spread() -> None:
    data = results()
    for name, spread in (("phi3", 0.3), ("alpaca", 0.3)):
        data["styles"][name]["training"] |= {"val_response_loss_std": spread,
                                              "seeds": [{"seed": 1}, {"seed": 2}, {"seed": 3}]}
    assert verdict(data) == (
        "No detectable difference on val loss, response text: **phi3** (2) and **alpaca** (2.5) are 0.5 (20.0%)"
        " apart; the margin is within the spread over 3 seeds (±0.3 and ±0.3). Read it as a tie; more"
        " validation records, a longer run or more seeds can separate them.")
    data["styles"]["alpaca"]["training"]["val_response_loss_std"] = 0.1
    data["styles"]["phi3"]["training"]["val_response_loss_std"] = 0.1
    assert verdict(data).endswith(
        "The difference is larger than the measured noise: the margin exceeds the spread over 3 seeds (±0.1 and ±0.1).")
    assert "± over seeds" in render_markdown(data)


def with_examples(alpaca: list[float], phi3: list[float], tokens: list[int]) -> dict:
    data = results()
    for name, nll in (("alpaca", alpaca), ("phi3", phi3)):
        data["styles"][name]["training"]["val_examples"] = {"records": list(range(10, 10 + len(nll))), "nll": nll,
                                                            "tokens": tokens}
    return data


def test_a_winner_is_named_only_when_the_paired_bootstrap_interval_excludes_zero() -> None:
    # phi3 is 0.5 per token lower on every example: every resample gives the same difference
    steady = with_examples([5.0, 5.0, 5.0], [4.0, 4.0, 4.0], [2, 2, 2])
    assert verdict(steady) == (
        "**phi3** is best on val loss, response text: 2, 0.5 lower (20.0%) than the runner-up **alpaca** (2.5)."
        " The difference is larger than the measured noise: the 95% paired bootstrap interval of alpaca minus phi3"
        " over the same 3 validation examples, [+0.5, +0.5], excludes zero.")
    # the same means, but one example carries the whole margin and the others disagree
    noisy = with_examples([5.5, 1.5, 1.5, 1.5], [2.5, 2.5, 2.5, 0.5], [1, 1, 1, 1])
    text = verdict(noisy)
    assert text.startswith(
        "No detectable difference on val loss, response text: **phi3** (2) and **alpaca** (2.5) are 0.5 (20.0%)"
        " apart; the 95% paired bootstrap interval of alpaca minus phi3 over the same 4 validation examples, [")
    assert text.endswith("], holds zero. Read it as a tie; more validation records, a longer run or more seeds can"
                         " separate them.")


@pytest.mark.parametrize(("phi3", "weighed", "row"), [
    ([5.0, 5.0, 4.0], ((-0.5, 0.0), "[-0.5, +0]"), ((0.0, 0.5), "| +0.167 | [+0, +0.5] |")),
    ([5.0, 5.0, 6.0], ((0.0, 0.5), "[+0, +0.5]"), ((-0.5, 0.0), "| -0.167 | [-0.5, +0] |")),
], ids=["phi3 better on one example", "phi3 worse on one example"])
def test_an_interval_with_a_bound_at_exactly_zero_holds_zero(phi3: list[float], weighed: tuple, row: tuple) -> None:
    # the runs differ on one example of three: more than 2.5% of the resamples miss it (a difference of exactly
    # 0) and more than 2.5% draw only it, so one bound is exactly zero and the other the whole difference
    data = with_examples([5.0, 5.0, 5.0], phi3, [2, 2, 2])
    examples = {name: data["styles"][name]["training"]["val_examples"] for name in ("phi3", "alpaca")}
    interval = paired_bootstrap(examples["phi3"], examples["alpaca"])  # best minus runner-up
    assert interval is not None and (interval["low"], interval["high"]) == weighed[0]
    text = verdict(data)
    assert text.startswith("No detectable difference on val loss, response text: **phi3** (2) and **alpaca** (2.5)")
    shown = "[{:+.3g}, {:+.3g}]".format(*row[0])  # the verdict shows the table's interval: runner-up minus best
    assert f"interval of alpaca minus phi3 over the same 3 validation examples, {shown}, holds zero." in text
    rows = paired_differences(data)  # alpaca minus phi3
    assert [(r["style"], r["metric"], r["low"], r["high"], r["finding"]) for r in rows] == [
        ("alpaca", "training.val_response_loss", *row[0], NO_DIFFERENCE)]
    assert f"| alpaca | val loss, response text {row[1]}  | 3 | no detectable difference |" in (
        render_markdown(data).splitlines())


def test_generation_that_scores_nothing_is_said_plainly() -> None:
    data = results()
    for name in ("alpaca", "phi3", "chatml"):
        data["styles"][name]["generation"] = {"token_f1": 0.0, "rouge_l": 0.0, "n": 10, "empty": 7}
    lines = render_markdown(data).splitlines()
    assert lines[4] == (
        "Generation measured nothing: token F1 and ROUGE-L are 0 for every style (21 of 30 responses are empty"
        " once the style's markup is cut away);"
        " the model does not yet answer at this budget, so the generation columns rank nothing.")
    data["styles"]["phi3"]["generation"] = {"token_f1": 0.25, "rouge_l": 0.2, "n": 10, "empty": 0}
    data["styles"]["chatml"]["generation"]["empty"] = 10
    data["styles"]["alpaca"]["generation"]["empty"] = 10
    assert render_markdown(data).splitlines()[4] == (
        "Generation measured nothing for alpaca, chatml: token F1 and ROUGE-L are 0 (every response is empty once"
        " the style's markup is cut away).")
    assert "Generation measured nothing" not in render_markdown(results())


def test_warnings_follow_the_verdict_one_line_per_problem() -> None:
    data = results()
    data["styles"]["alpaca"]["generation"] |= {"n": 6, "stop_rate": 0.0, "cut": 6, "leak_rate": 0.5, "empty": 2,
                                               "leak_markers": {"### Instruction:": 2, "### Input:": 1}}
    data["styles"]["phi3"]["generation"] |= {"n": 6, "stop_rate": 2 / 6, "cut": 4, "leak_rate": 0.0, "empty": 0}
    data["styles"]["chatml"]["generation"] |= {"n": 6, "stop_rate": 0.5, "cut": 3, "leak_rate": 0.0, "empty": 0}
    data["styles"]["chatml"]["static"]["truncated"] = 0
    data["styles"]["phi3"]["static"]["truncated"] = 0
    lines = render_markdown(data).splitlines()
    start = lines.index("## Warnings")
    assert start == 4 and lines[2].startswith("**phi3** is best")
    assert lines[start:start + 8] == [
        "## Warnings",
        "",
        "- alpaca: never stops: 0 of 6 responses end at its end marker; 6 ran to max_new_tokens and were cut.",
        "- alpaca: markup leaks: 3 of 6 responses hold its markup or open a new turn (`### Instruction:` 2x,"
        " `### Input:` 1x).",
        "- alpaca: empty answers: 2 of 6 responses are empty once the style's markup is cut away (however long the"
        " model generated).",
        "- alpaca: truncated examples: 1 of 60 were cut at the maximum length, so its headline loss leaves out"
        " their cut response tokens; raise collate.allowed_max_length for a like-for-like comparison.",
        "- phi3: rarely stops: 2 of 6 responses end at its end marker; 4 ran to max_new_tokens and were cut.",
        "",
    ]
    data["styles"]["alpaca"]["generation"] = {"n": 6, "stop_rate": 1.0, "leak_rate": 0.0, "empty": 0}
    data["styles"]["phi3"]["generation"]["stop_rate"] = 0.5
    data["styles"]["alpaca"]["static"]["truncated"] = 0
    assert "## Warnings" not in render_markdown(data)


def test_paired_differences_against_the_best_run_per_metric(tmp_path: Path) -> None:
    data = with_examples([5.0, 5.0, 5.0], [4.0, 4.0, 4.0], [2, 2, 2])
    records = [1, 2, 3, 4, 5, 6]
    data["styles"]["phi3"]["generation"]["examples"] = {
        "records": records, "ended": [1] * 6, "leaked": [0] * 6, "token_f1": [0.0] * 6, "rouge_l": [0.0] * 6,
        "words": [3] * 6, "reference_words": [3] * 6}
    data["styles"]["alpaca"]["generation"]["examples"] = {
        "records": records[::-1], "ended": [0] * 6, "leaked": [1] * 6, "token_f1": [0.0] * 6, "rouge_l": [0.0] * 6,
        "words": [3, 1, 5, 3, 1, 5], "reference_words": [3] * 6}
    rows = paired_differences(data)
    assert [(row["style"], row["label"], row["finding"]) for row in rows] == [
        ("alpaca", "val loss, response text", "worse than phi3"),
        ("alpaca", "stop rate", "worse than phi3"),
        ("alpaca", "leak rate", "worse than phi3"),
        ("alpaca", "token F1", "measured nothing"),
        ("alpaca", "ROUGE-L", "measured nothing"),
        ("alpaca", "length / reference", "no detectable difference"),
    ]
    assert (rows[1]["difference"], rows[1]["low"], rows[1]["high"], rows[1]["examples"]) == (-1.0, -1.0, -1.0, 6)
    assert rows[5]["difference"] == 0.0 and rows[5]["low"] < 0 < rows[5]["high"]
    lines = render_markdown(data).splitlines()
    start = lines.index("## Paired differences against phi3")
    assert lines[start + 4:start + 10] == [
        "| style | metric | difference | 95% interval | ± seeds | examples | finding |",
        "|---|---|---:|---:|---:|---:|---|",
        "| alpaca | val loss, response text | +0.5 | [+0.5, +0.5] |  | 3 | worse than phi3 |",
        "| alpaca | stop rate | -1 | [-1, -1] |  | 6 | worse than phi3 |",
        "| alpaca | leak rate | +1 | [+1, +1] |  | 6 | worse than phi3 |",
        "| alpaca | token F1 |  |  |  |  | measured nothing |",
    ]
    write_report(data, tmp_path)
    with (tmp_path / "results.csv").open(encoding="utf-8") as handle:
        alpaca = next(row for row in csv.DictReader(handle) if row["style"] == "alpaca")
    assert [alpaca[f"vs_best.generation.stop_rate.{key}"] for key in ("difference", "low", "high", "finding")] == [
        "-1.0", "-1.0", "-1.0", "worse than phi3"]
    assert alpaca["vs_best.generation.token_f1.finding"] == "measured nothing"
    assert alpaca["vs_best.generation.token_f1.difference"] == ""
    # the loss margin within the seeds' spread is no finding, whatever the interval
    for name in ("phi3", "alpaca"):
        data["styles"][name]["training"]["val_response_loss_std"] = 0.3
    assert paired_differences(data)[0]["finding"] == "no detectable difference"
    assert paired_differences(data)[0]["spread"] == pytest.approx(0.6)


STEADY = ([5.0, 5.0, 5.0], [4.0, 4.0, 4.0])  # phi3 lower on every example: the interval excludes zero
NOISY = ([5.5, 1.5, 1.5, 1.5], [2.5, 2.5, 2.5, 0.5])  # the same means, one example carries it: holds zero
INTERVAL = {"excludes": "over the same 3 validation examples, [+0.5, +0.5], excludes zero",
            "holds": "over the same 4 validation examples, [-0.5, +1], holds zero"}
SPREAD = {"exceeds": "the margin exceeds the spread over 3 seeds (±0.1 and ±0.1)",
          "within": "the margin is within the spread over 3 seeds (±0.3 and ±0.3)"}


@pytest.mark.parametrize(("examples", "spread", "detected", "reason"), [
    ("excludes", None, True, "{interval}"),
    ("holds", None, False, "{interval}"),
    ("excludes", "exceeds", True, "{interval}, and {spread}"),
    ("excludes", "within", False, "{interval}, but {spread}"),
    ("holds", "exceeds", False, "{spread}, but {interval}"),
    ("holds", "within", False, "{interval}, and {spread}"),
])
def test_the_verdict_and_the_table_share_one_finding_in_every_combination(examples, spread, detected, reason):
    alpaca, phi3 = STEADY if examples == "excludes" else NOISY
    data = with_examples(alpaca, phi3, [2] * len(alpaca))
    if spread is not None:
        for name in ("phi3", "alpaca"):
            data["styles"][name]["training"] |= {"val_response_loss_std": 0.1 if spread == "exceeds" else 0.3,
                                                  "seeds": [{"seed": 1}, {"seed": 2}, {"seed": 3}]}
    interval = "the 95% paired bootstrap interval of alpaca minus phi3 " + INTERVAL[examples]
    because = reason.format(interval=interval, spread=SPREAD.get(spread or "", ""))
    text = verdict(data)
    [row] = [r for r in paired_differences(data) if r["style"] == "alpaca" and r["metric"].endswith("response_loss")]
    if detected:
        assert text == ("**phi3** is best on val loss, response text: 2, 0.5 lower (20.0%) than the runner-up"
                        f" **alpaca** (2.5). The difference is larger than the measured noise: {because}.")
        assert row["finding"] == "worse than phi3"
    else:
        assert text == ("No detectable difference on val loss, response text: **phi3** (2) and **alpaca** (2.5) are"
                        f" 0.5 (20.0%) apart; {because}. Read it as a tie; more validation records, a longer run"
                        " or more seeds can separate them.")
        assert row["finding"] == NO_DIFFERENCE
    assert row["difference"] > 0 and row["low"] <= row["high"]  # one sign everywhere: the style minus the best
