"""The embedded sample datasets: 60 short instruction records, and the same records as preference pairs, so a
comparison runs with no download."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ..data.sources.loading import LoadedRecords, load_records

__all__ = ["load_sample_records", "sample_data_path", "sample_pairs", "sample_pairs_path"]


def sample_data_path() -> Path:
    """Where the sample dataset (a JSON array of ``instruction``/``input``/``output`` records) lies."""
    return Path(str(resources.files("promptstyles.experiments").joinpath("sample_data.json")))


def load_sample_records() -> LoadedRecords:
    """The sample records, validated like any dataset."""
    return load_records(sample_data_path())


def sample_pairs(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Preference pairs made from instruction records: each record's own answer chosen, the next record's
    answer (an answer to another question) rejected. How ``sample_pairs.json`` was made from the sample data."""
    return [{"instruction": record["instruction"], "input": record["input"], "chosen": record["output"],
             "rejected": records[(index + 1) % len(records)]["output"]} for index, record in enumerate(records)]


def sample_pairs_path() -> Path:
    """Where the sample preference pairs (``sample_pairs`` of the sample dataset, a JSON array) lie."""
    return Path(str(resources.files("promptstyles.experiments").joinpath("sample_pairs.json")))
