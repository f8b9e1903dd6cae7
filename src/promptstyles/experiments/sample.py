"""The embedded sample dataset: 60 short instruction records, so a comparison runs with no download."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..data.sources.loading import LoadedRecords, load_records

__all__ = ["load_sample_records", "sample_data_path"]


def sample_data_path() -> Path:
    """Where the sample dataset (a JSON array of ``instruction``/``input``/``output`` records) lies."""
    return Path(str(resources.files("promptstyles.experiments").joinpath("sample_data.json")))


def load_sample_records() -> LoadedRecords:
    """The sample records, validated like any dataset."""
    return load_records(sample_data_path())
