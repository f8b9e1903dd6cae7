"""Progress where a person waits: bars on a terminal, none for work that is already done, only on rank 0."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "experiments"))

from test_experiments_compare import quick

from promptstyles import progress
from promptstyles.experiments.compare import compare
from promptstyles.progress import ProgressBars, default_progress


def test_work_done_within_the_delay_draws_no_bar(capsys):
    bars = ProgressBars()
    bars.records(600, 1100)
    bars.records(1100, 1100)
    assert capsys.readouterr().err == ""


def test_work_that_takes_longer_draws_its_bar(capsys, monkeypatch):
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    bars = ProgressBars()
    bars.records(600, 1100)
    bars.records(1100, 1100)
    err = capsys.readouterr().err
    assert "tokenizing records" in err and "1100/1100" in err


def test_only_rank_0_draws(capsys, monkeypatch):
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    bars = ProgressBars()
    bars.records(1100, 1100)
    assert capsys.readouterr().err == ""


def test_progress_defaults_to_bars_on_a_terminal_only(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert default_progress(True) is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert isinstance(default_progress(True), ProgressBars)
    assert default_progress(False) is None
    assert default_progress(print) is print


@pytest.mark.parametrize("terminal", [True, False])
def test_compare_shows_each_seeds_bar_on_a_terminal_by_default(terminal, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    compare({**quick(tmp_path), "seeds": [3, 4]})
    err = capsys.readouterr().err
    if not terminal:
        assert err == ""
        return
    assert "[1/1] alpaca: static statistics" in err
    assert "[1/1] alpaca seed 3 train" in err and "[1/1] alpaca seed 4 train" in err
    assert "[1/1] alpaca seed 3 generate" in err and "seed 4 generate" not in err
