"""Shared test set-up: the shared dataset and offline tokenizer files beside the repository."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from core_metadata import ensure_core_entry_points

ROOT = Path(__file__).resolve().parent.parent
ensure_core_entry_points(ROOT)
SHARED = ROOT.parent / "shared"
DATASET = SHARED / "data" / "instruction-data.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

if "TIKTOKEN_CACHE_DIR" not in os.environ and (SHARED / "tiktoken").is_dir():
    os.environ["TIKTOKEN_CACHE_DIR"] = str(SHARED / "tiktoken")


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Downloads and tokenized datasets go to a folder of this test session, never the user's cache."""
    os.environ["PROMPTSTYLES_CACHE_DIR"] = str(tmp_path_factory.mktemp("promptstyles-cache"))


@pytest.fixture(scope="session")
def dataset_path() -> Path:
    if not DATASET.exists():
        pytest.skip(f"shared dataset not found at {DATASET}")
    return DATASET


@pytest.fixture(scope="session")
def raw_records(dataset_path: Path) -> list[dict]:
    return json.loads(dataset_path.read_text(encoding="utf-8"))


@pytest.fixture
def plugin_site(monkeypatch: pytest.MonkeyPatch):
    """Put one of the fixture plugin distributions (module + .dist-info) on the path."""

    def add(name: str) -> Path:
        site = FIXTURES / "sites" / name
        monkeypatch.syspath_prepend(str(site))
        return site

    return add
