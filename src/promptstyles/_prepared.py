"""What the pipeline builds: the prepared data (style, tokenizer, datasets per split) and its loaders.

Kept apart from :mod:`promptstyles.pipeline` so that the preference path (:mod:`promptstyles._pipeline_pairs`)
builds the same objects without importing the pipeline back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import Config
from .data.batches.collate import Batch, Collator
from .data.batches.loaders import SPLITS
from .data.batches.packing import PackedBatchSampler
from .data.batches.pairs import PairBatch, PairCollator
from .data.batches.samplers import IndexBatchSampler
from .data.pairs import PairDataset
from .data.store.use import StoreUse
from .data.tokenized import TokenizedDataset
from .data.tokenizers.protocol import Tokenizer
from .errors import ConfigError
from .styles._base import Style

__all__ = ["DataLoaders", "PreparedData", "stage_timings"]

STAGES = ("tokenizer", "tokens", "split")


def stage_timings(marks: Sequence[float]) -> dict[str, float]:
    """Seconds per build stage from the clock read at the start and at the end of each stage (see ``STAGES``)."""
    return {stage: end - start for stage, start, end in zip(STAGES, marks, marks[1:], strict=False)}


@dataclass
class PreparedData:
    """Everything between the config and the loaders: style, tokenizer, datasets per split, and counts."""

    config: Config
    style: Style
    tokenizer: Tokenizer
    dataset: TokenizedDataset
    splits: dict[str, TokenizedDataset]
    records: Sequence[Any]
    """The records in dataset order (``PreferencePair``s for preference data); with ``data.streaming`` read
    from the file on demand."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    store: StoreUse | None = None
    """The store entry the tokens came from or went to; None when ``data.cache`` is off or records were given."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage: ``tokenizer`` (style and tokenizer), ``tokens`` (read and tokenize, or find), ``split``."""
    pairs: dict[str, PairDataset] = field(default_factory=dict)
    """For preference data, the pairs of each split; ``splits`` then holds their chosen and rejected rows."""

    @property
    def preference(self) -> bool:
        """Whether the data are preference pairs, batched by a ``PairCollator``."""
        return bool(self.pairs)

    @property
    def size(self) -> int:
        """Examples built; for preference data, pairs (``dataset`` holds two rows each)."""
        return len(self.dataset) // 2 if self.preference else len(self.dataset)

    @property
    def sizes(self) -> dict[str, int]:
        """Examples per split; for preference data, pairs."""
        return {name: len(dataset) for name, dataset in (self.pairs or self.splits).items()}


@dataclass
class DataLoaders:
    """The three loaders (``.train``, ``.val``, ``.test``) and what they were built from."""

    train: torch.utils.data.DataLoader
    val: torch.utils.data.DataLoader
    test: torch.utils.data.DataLoader
    collator: Collator | PairCollator
    data: PreparedData

    @property
    def style(self) -> Style:
        return self.data.style

    @property
    def tokenizer(self) -> Tokenizer:
        return self.data.tokenizer

    @property
    def datasets(self) -> dict[str, TokenizedDataset]:
        return self.data.splits

    @property
    def example_collator(self) -> Collator:
        """The collator of instruction examples; preference data have a ``PairCollator`` instead."""
        if not isinstance(self.collator, Collator):
            raise ConfigError("this reads instruction data (one answer per record), but the records are preference "
                              "pairs; set data.kind: instruction for such data, or use a preference objective",
                              path="data.kind")
        return self.collator

    def __getitem__(self, split: str) -> torch.utils.data.DataLoader:
        if split not in SPLITS:
            raise KeyError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, split)

    def batch_indices(self, split: str) -> list[np.ndarray]:
        """The example indices of each batch the next epoch of the ``split`` loader gives, in order.

        A look ahead: the loader's shuffle does not advance, so iterating it next gives these batches.
        With ``collate.packing`` each batch is ``(row, example)`` pairs (see ``PackedBatchSampler``).
        """
        sampler = self[split].batch_sampler
        assert isinstance(sampler, (IndexBatchSampler, PackedBatchSampler))
        epoch = sampler.epoch
        batches = [np.asarray(indices) for indices in sampler]
        sampler.set_epoch(epoch)
        return batches

    def batch_shapes(self, split: str) -> list[tuple[int, int, int]]:
        """``(examples, padded length, real tokens)`` of each batch the next epoch of ``split`` gives: what a
        forward pass pays for, and how much of it is padding (see :func:`padding_share`). Packed: ``(rows,
        row length, real tokens)``; preference data: ``(chosen and rejected rows, padded length, real tokens)``."""
        lengths = self.datasets[split].lengths
        shapes = []
        for indices in self.batch_indices(split):
            batch = self.batch(split, indices)
            if isinstance(batch, PairBatch):  # chosen and rejected rows, padded to one width
                real = torch.cat([batch["chosen_attention_mask"], batch["rejected_attention_mask"]])
                shapes.append((int(real.shape[0]), int(real.shape[1]), int(real.sum())))
                continue
            rows, width = batch.inputs.shape
            examples = indices[:, 1] if indices.ndim == 2 else indices
            shapes.append((int(rows), int(width), int(np.minimum(lengths[examples], width).sum())))
        return shapes

    def batch(self, split: str, indices: Sequence[int] | np.ndarray) -> Batch | PairBatch:
        """The batch the ``split`` loader builds from ``indices`` (example indices, or packed pairs; for preference
        data pair indices, giving a ``PairBatch``)."""
        collate = self[split].collate_fn
        assert collate is not None
        source = self.data.pairs[split] if self.data.preference else self.datasets[split]
        return collate(source.batch(indices))  # type: ignore[arg-type]  # our collators take IndexBatch
