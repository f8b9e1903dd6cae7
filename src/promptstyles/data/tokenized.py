"""The tokenized dataset: every example tokenized once, stored compactly, indexed without copies.

Storage is one token array (``uint16`` when ids fit, as with GPT-2, else ``uint32``) plus per-example start and length,
and per-example *runs*: stretches of tokens of one part kind (system, prompt, header, response, end).
Masks are derived from the runs (see ``masks.py``); building a dataset from records is ``encoding.py``'s job.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from .arrays import block_offsets, concat_ranges
from .masks import Spans, compute_spans

__all__ = ["IndexBatch", "TokenizedDataset"]


class IndexBatch(NamedTuple):
    """What the dataset hands the collator for a batch: the dataset and the example indices."""

    dataset: TokenizedDataset
    indices: np.ndarray


class _MappedFile(NamedTuple):
    """A whole-file read-only memory map, pickled as where to map it again rather than as its bytes."""

    filename: str
    dtype: str
    shape: tuple[int, ...]

    def open(self) -> np.ndarray:
        return np.memmap(self.filename, dtype=np.dtype(self.dtype), mode="r", shape=self.shape)


def _as_mapped_file(array: Any) -> _MappedFile | None:
    """The recipe of ``array`` when it maps a whole file that still exists (not a slice, not a scratch file)."""
    if not isinstance(array, np.memmap) or not isinstance(array.base, mmap.mmap) or array.offset:
        return None
    filename = array.filename
    if not filename or not os.path.exists(filename) or os.path.getsize(filename) != array.nbytes:
        return None
    return _MappedFile(os.fspath(filename), array.dtype.str, tuple(array.shape))


class TokenizedDataset(torch.utils.data.Dataset):
    """A map-style dataset of tokenized examples sharing one buffer; ``ds[i]`` is an int64 id array.

    ``tokens`` holds every example followed by one end-of-text id; ``starts`` and ``lengths`` locate
    each example (the length excludes that end-of-text).
    """

    def __init__(
        self,
        tokens: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        run_ends: np.ndarray,
        run_kinds: np.ndarray,
        run_offsets: np.ndarray,
        *,
        eos_id: int,
        vocab_size: int,
        positions: np.ndarray | None = None,
    ) -> None:
        self.tokens = tokens
        self.starts = starts
        self.lengths = lengths
        self.run_ends = run_ends
        self.run_kinds = run_kinds
        self.run_offsets = run_offsets
        self.eos_id = eos_id
        self.vocab_size = vocab_size
        self.positions = np.arange(len(starts)) if positions is None else positions
        """Index of each example in the records it was built from (kept through ``select``)."""
        self._spans: dict[tuple[str, bool], Spans] = {}
        self._plain: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- the torch Dataset protocol --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> np.ndarray:
        """The token ids of example ``index`` (without the stored end-of-text)."""
        start = int(self.starts[index])
        return self.plain("tokens")[start : start + int(self.lengths[index])].astype(np.int64)

    def plain(self, name: str) -> np.ndarray:
        """The array ``name`` as a plain ``ndarray`` view (cached): a ``numpy.memmap`` from the store runs Python
        code for every slice and index taken of it, which costs a long batch more than copying its tokens."""
        array = getattr(self, name)
        if type(array) is np.ndarray:
            return array
        source, view = self._plain.get(name, (None, array))
        if source is not array:
            view = array.view(np.ndarray)
            self._plain[name] = (array, view)
        return view

    def locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The token buffer and the starts and lengths of the examples at ``indices``, as plain arrays."""
        return self.plain("tokens"), self.plain("starts")[indices], self.plain("lengths")[indices]

    def batch(self, indices: Sequence[int] | np.ndarray) -> IndexBatch:
        """The examples at ``indices`` as the collator takes them: no per-example work before it."""
        return IndexBatch(self, np.asarray(indices, dtype=np.int64))

    __getitems__ = batch  # what ``DataLoader`` calls for a whole batch

    # -- pickling: worker processes started with spawn or forkserver, DDP ranks ---------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Memory-mapped store files travel as their paths, so a worker maps the same page cache instead of
        receiving a copy of every token."""
        state = dict(self.__dict__, _plain={})  # views of the maps are made again where they are unpickled
        for name, value in state.items():
            recipe = _as_mapped_file(value)
            if recipe is not None:
                state[name] = recipe
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({name: value.open() if isinstance(value, _MappedFile) else value
                              for name, value in state.items()})

    # -- views and derived data -------------------------------------------------------------------------

    def select(self, indices: Sequence[int] | np.ndarray) -> TokenizedDataset:
        """A dataset of some examples, sharing the token buffer (used for splits and filtering)."""
        indices = np.asarray(indices, dtype=np.int64)
        run_counts = np.diff(self.run_offsets)[indices]
        run_offsets = block_offsets(run_counts)
        run_index = concat_ranges(self.run_offsets[indices], run_counts)
        subset = TokenizedDataset(
            self.tokens, self.starts[indices], self.lengths[indices], self.run_ends[run_index],
            self.run_kinds[run_index], run_offsets, eos_id=self.eos_id, vocab_size=self.vocab_size,
            positions=self.positions[indices],
        )
        return subset

    def spans(self, mode: str, *, train_reasoning: bool = True) -> Spans:
        """Trained token spans under a mask mode (see ``masks.compute_spans``); cached."""
        key = (mode, train_reasoning)
        if key not in self._spans:
            self._spans[key] = compute_spans(self.run_ends, self.run_kinds, self.run_offsets, self.lengths, mode,
                                             train_reasoning=train_reasoning)
        return self._spans[key]

    # -- statistics ----------------------------------------------------------------------------------------

    def trained_targets(self, mode: str) -> np.ndarray:
        """Targets trained per example under a mask mode, before truncation: one per token of the trained
        spans except the first token of the example (nothing predicts it), plus the end-of-text."""
        if mode == "none":
            return self.lengths.astype(np.int64)
        spans = self.spans(mode)
        owners = np.repeat(np.arange(len(self)), np.diff(spans.offsets))
        sizes = spans.ends - spans.starts - (spans.starts == 0)
        return np.bincount(owners, weights=sizes, minlength=len(self)).astype(np.int64) + 1

    @property
    def prompt_lengths(self) -> np.ndarray:
        """Tokens before the final response header of each example."""
        spans = self.spans("instruction")
        out = self.lengths.astype(np.int64).copy()
        has = np.diff(spans.offsets) > 0
        out[has] = spans.starts[spans.offsets[:-1][has]]
        return out

    def stats(self) -> dict[str, Any]:
        """Token counts per example: total, prompt (before the final header) and response, as plain data."""
        lengths = self.lengths.astype(np.int64)
        prompt = self.prompt_lengths
        response = lengths - prompt

        def summary(values: np.ndarray) -> dict[str, float]:
            if not len(values):
                return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0, "min": 0, "total": 0}
            return {
                "mean": float(values.mean()), "median": float(np.median(values)),
                "p95": float(np.percentile(values, 95)), "max": int(values.max()), "min": int(values.min()),
                "total": int(values.sum()),
            }

        return {
            "examples": len(self),
            "tokens": summary(lengths),
            "prompt_tokens": summary(prompt),
            "response_tokens": summary(response),
        }

    @property
    def nbytes(self) -> int:
        """Memory held by this dataset's arrays (the token buffer counted whole)."""
        arrays = (self.tokens, self.starts, self.lengths, self.run_ends, self.run_kinds, self.run_offsets,
                  self.positions)
        return sum(int(a.nbytes) for a in arrays)

    def __repr__(self) -> str:
        return f"TokenizedDataset({len(self)} examples, {int(self.lengths.sum())} tokens)"
