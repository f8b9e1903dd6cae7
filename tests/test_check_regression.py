"""The data-path regression check: recorded ratios against a fresh run's, 20% below failing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import check_regression  # noqa: E402


def ratios_file(path: Path, ratios: dict[str, float]) -> Path:
    path.write_text(json.dumps({"recorded": "2026-12-04 17:00 UTC", "ratios": ratios}), encoding="utf-8")
    return path


def test_a_ratio_more_than_a_fifth_below_the_recorded_one_fails():
    lines = check_regression.compare({"path8_ref": 20.0, "path32_litgpt": 3.0, "build_raw": 1.5},
                                     {"path8_ref": 16.5, "path32_litgpt": 2.39, "build_raw": 2.0})
    assert lines == [
        "ok   path8_ref: 16.50 (recorded 20.00, floor 16.00)",
        "FAIL path32_litgpt: 2.39, more than 20% below the recorded 3.00 (floor 2.40)",
        "ok   build_raw: 2.00 (recorded 1.50, floor 1.20)",
    ]


def test_a_ratio_the_run_did_not_measure_fails_and_names_the_likely_cause():
    assert check_regression.compare({"path8_litgpt": 5.0}, {}) == [
        "FAIL path8_litgpt: recorded 5.00, not measured in this run (is its peer installed?)"]


def test_each_ratio_keeps_its_best_run():
    runs = [{"a": 1.0, "b": 4.0}, {"a": 3.0, "b": 2.0}, {"a": 2.0}]
    assert check_regression.best_of(runs) == {"a": 3.0, "b": 4.0}


def test_the_exit_status_says_whether_any_ratio_regressed(tmp_path, capsys):
    recorded = ratios_file(tmp_path / "recorded.json", {"path8_ref": 20.0, "path32_ref": 100.0})
    slow = ratios_file(tmp_path / "slow.json", {"path8_ref": 21.0, "path32_ref": 70.0})
    fast = ratios_file(tmp_path / "fast.json", {"path8_ref": 15.0, "path32_ref": 120.0})
    assert check_regression.main(["--recorded", str(recorded), "--fresh", str(slow)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "1 of 2 ratios regressed"
    assert check_regression.main(["--recorded", str(recorded), "--fresh", str(slow), str(fast)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "all 2 ratios within 20% of recorded.json"
    assert check_regression.main(["--recorded", str(recorded), "--fresh", str(slow), "--tolerance", "0.35"]) == 0
