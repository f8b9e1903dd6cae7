"""Mixed precision for the training loop: autocast and, for float16, a gradient scaler.

``fp32`` (the default) changes nothing, so CPU results stay bit for bit what they were. ``bf16`` autocasts
on any device that supports it (on a CPU only because it was asked for); ``fp16`` needs a GPU, where its
gradients are scaled so small ones do not vanish.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

from ..errors import ConfigError

__all__ = ["PRECISIONS", "Precision", "autocast", "grad_scaler"]

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _device_type(device: str) -> str:
    return torch.device(device).type


def check_precision(precision: Precision, device: str) -> None:
    """An error before any step when the device cannot run ``precision``."""
    kind = _device_type(device)
    if precision == "fp16" and kind not in ("cuda", "mps"):
        raise ConfigError(f"fp16 needs a GPU, and the device is {device!r}; use bf16 or fp32",
                          path="training.precision")
    if precision == "bf16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bfloat16; use fp16 or fp32", path="training.precision")


@contextlib.contextmanager
def autocast(precision: Precision, device: str) -> Iterator[None]:
    """Run the forward pass under autocast for ``precision`` (no-op for fp32)."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=_device_type(device), dtype=_DTYPES[precision]):
        yield


def grad_scaler(precision: Precision, device: str) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16 on CUDA; None otherwise (bf16 has float32's range)."""
    if precision == "fp16" and _device_type(device) == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
