"""Mask spans: which tokens of each example are trained, derived from the part runs the style declared.

An example's parts are stored as *runs* (stretches of tokens of one part kind); a mask mode picks runs, and
adjacent picked runs merge into spans. No search for a marker in token space is ever involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..styles._base import PartKind
from .arrays import block_offsets
from .modes import MASK_MODES

__all__ = ["KIND_CODES", "Spans", "compute_spans"]

KINDS = tuple(PartKind)
KIND_CODES = {kind: code for code, kind in enumerate(KINDS)}
HEADER = KIND_CODES[PartKind.RESPONSE_HEADER]
_RESPONSE = KIND_CODES[PartKind.RESPONSE]
_END = KIND_CODES[PartKind.END]
_CALL = KIND_CODES[PartKind.TOOL_CALL]
_REASONING = KIND_CODES[PartKind.REASONING]


@dataclass(frozen=True)
class Spans:
    """Token spans ``[start, end)`` per example, flat: example ``i`` owns ``starts[offsets[i]:offsets[i+1]]``."""

    starts: np.ndarray
    ends: np.ndarray
    offsets: np.ndarray
    single_to_end: bool
    """Every example has exactly one span and it runs to the example's end (the fast path)."""


def compute_spans(
    run_ends: np.ndarray, run_kinds: np.ndarray, run_offsets: np.ndarray, lengths: np.ndarray, mode: str,
    *, train_reasoning: bool = True,
) -> Spans:
    """Trained spans under ``mode`` (one of ``MASK_MODES``, or ``response_text``: the final response's own
    words, used to score comparable losses) for examples of ``lengths`` tokens with these runs.

    An assistant turn is its reasoning, tool calls, text and end markup; tool definitions and tool results are
    prompt. ``train_reasoning=False`` leaves reasoning (and its markup) out of every mode but ``none``."""
    count = len(lengths)
    n_runs = len(run_kinds)
    example = np.repeat(np.arange(count), np.diff(run_offsets))
    run_index = np.arange(n_runs)
    run_starts = np.zeros(n_runs, dtype=np.int64)
    if n_runs:
        run_starts[1:] = run_ends[:-1]
        run_starts[run_offsets[:-1][np.diff(run_offsets) > 0]] = 0
    kinds = run_kinds
    last_header = np.full(count, -1, dtype=np.int64)
    is_header = kinds == HEADER
    np.maximum.at(last_header, example[is_header], run_index[is_header])
    final_turn = run_index >= np.where(last_header[example] >= 0, last_header[example], n_runs)
    assistant = (kinds == _RESPONSE) | (kinds == _END) | (kinds == _CALL) | (kinds == _REASONING)
    if mode == "none":
        trained = np.ones(n_runs, dtype=bool)
    elif mode == "instruction":
        trained = final_turn
    elif mode in ("prompt", "last_assistant"):
        trained = final_turn & assistant
    elif mode == "assistant":
        trained = assistant
    elif mode == "response_text":
        trained = final_turn & (kinds == _RESPONSE)
    else:
        raise DataError(f"unknown mask mode {mode!r}; expected one of {', '.join(MASK_MODES)}")
    if not train_reasoning and mode != "none":
        trained &= kinds != _REASONING
    trained &= run_ends > run_starts  # runs that hold no token do not split spans
    boundary = np.ones(n_runs + 1, dtype=bool)
    if n_runs:
        boundary[1:-1] = example[1:] != example[:-1]
    previous_trained = np.concatenate(([False], trained[:-1])) & ~boundary[:-1]
    next_trained = np.concatenate((trained[1:], [False])) & ~boundary[1:]
    first = np.flatnonzero(trained & ~previous_trained)
    last = np.flatnonzero(trained & ~next_trained)
    owners = example[first]
    offsets = block_offsets(np.bincount(owners, minlength=count))
    starts, ends = run_starts[first], run_ends[last].astype(np.int64)
    single = bool(len(first) == count and np.all(ends == lengths[owners]))
    return Spans(starts, ends, offsets, single)
