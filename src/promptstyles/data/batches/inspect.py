"""A batch as a person reads it: each example's tokens, split into trained and masked stretches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tokenized import TokenizedDataset
from ..tokenizers.protocol import Tokenizer
from .collate import Batch, Collator

__all__ = ["ExampleView", "view_batch"]


@dataclass(frozen=True)
class ExampleView:
    """One row of a batch: the record it came from and its text as (text, trained) stretches."""

    record: int
    tokens: int
    trained: int
    padding: int
    truncated: int
    segments: list[tuple[str, bool]]


def view_batch(
    dataset: TokenizedDataset, indices: np.ndarray, collator: Collator, tokenizer: Tokenizer,
    batch: Batch | None = None,
) -> list[ExampleView]:
    """Decode each row of the batch built from ``indices``; a token is trained when its target is kept.

    The first token of an example is never a target (nothing predicts it) and shows as masked; the
    appended end-of-text shows as the tokenizer writes it.
    """
    batch = batch if batch is not None else collator(dataset.batch(indices))
    targets = batch.targets.cpu().numpy()
    width = targets.shape[1]
    views = []
    for row, index in enumerate(np.asarray(indices)):
        ids = [*dataset[int(index)].tolist(), collator.eos_token_id]
        shown = ids[: width + 1]
        trained = [False] + [bool(targets[row, j] != collator.ignore_index) for j in range(len(shown) - 1)]
        pieces = tokenizer.decode_tokens(shown)
        segments: list[tuple[str, bool]] = []
        for piece, flag in zip(pieces, trained, strict=True):
            if segments and segments[-1][1] == flag:
                segments[-1] = (segments[-1][0] + piece, flag)
            else:
                segments.append((piece, flag))
        views.append(ExampleView(
            record=int(dataset.positions[int(index)]),
            tokens=len(ids) - 1,
            trained=int(sum(trained)),
            padding=max(0, width - (len(ids) - 1)),
            truncated=max(0, len(ids) - len(shown)),
            segments=segments,
        ))
    return views
