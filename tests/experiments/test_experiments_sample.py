"""The embedded sample dataset is valid, varied and installed with the package."""

from __future__ import annotations

import json

from promptstyles.experiments.sample import load_sample_records, sample_data_path


def test_sixty_valid_records_about_a_third_with_input() -> None:
    loaded = load_sample_records()
    assert len(loaded) == 60 and not loaded.skipped
    with_input = [r for r in loaded.records if r.input]
    assert 15 <= len(with_input) <= 25
    assert len({r.instruction for r in loaded.records}) == 60
    assert max(len(r.output.split()) for r in loaded.records) <= 25


def test_plain_keys_only() -> None:
    raw = json.loads(sample_data_path().read_text(encoding="utf-8"))
    assert {tuple(sorted(item)) for item in raw} == {("input", "instruction", "output")}
