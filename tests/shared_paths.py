"""Where the tests find the shared dataset, tiktoken cache and model folders: ``../shared`` beside the checkout.

``PROMPTSTYLES_TEST_SHARED`` points the tests at another folder (an empty one runs the suite as a clone with
nothing beside it). A test that needs a shared file skips with one reason naming the missing path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PROMPTSTYLES_TEST_SHARED") or ROOT.parent / "shared")
DATASET = SHARED / "data" / "instruction-data.json"
TIKTOKEN = SHARED / "tiktoken"
MODELS = SHARED / "models"


def require(path: Path) -> Path:
    """``path`` when it exists; otherwise the test skips, naming it."""
    if not path.exists():
        pytest.skip(f"shared path not found: {path}")
    return path
