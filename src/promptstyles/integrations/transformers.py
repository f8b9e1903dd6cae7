"""Our batches in ``transformers.Trainer`` and TRL's trainers, without re-tokenizing or re-masking.

Hugging Face causal LMs take ``input_ids`` and *unshifted* ``labels`` (the model shifts them), while our
collator returns shifted ``inputs`` and ``targets``. :func:`hf_inputs` converts one into the other exactly:
``input_ids`` gain the final target as one more column and ``labels`` are the targets behind one ignored
column, so a model's loss is computed on the same logits and the same targets as our own training loop's.

A :class:`TokenizedDataset` is already a torch ``Dataset`` that hands whole batches of indices to a collator
(``__getitems__``), so ``Trainer(train_dataset=dataset, data_collator=TrainerCollator(collator))`` trains on
the store's memory-mapped tokens. TRL's ``SFTTrainer`` takes only a ``datasets.Dataset``: :func:`index_dataset`
makes one that holds each example's index, not its tokens (pass ``dataset_kwargs={"skip_prepare_dataset":
True}`` and ``remove_unused_columns=False`` so TRL hands the indices to this collator untouched).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import torch

from ..data.batches.collate import Batch, Collator
from ..data.tokenized import IndexBatch, TokenizedDataset
from ..errors import DataError

__all__ = ["HF_IGNORE_INDEX", "TrainerCollator", "hf_inputs", "index_dataset", "trl_preference_inputs"]

HF_IGNORE_INDEX = -100
"""The label ``transformers`` losses skip."""

_EXTRA = "pip install 'promptstyles[train]'"


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise DataError(f"this needs the {module!r} package ({error}); install the train extra: {_EXTRA}") from error


def hf_inputs(batch: Batch, *, pad_token_id: int, ignore_index: int = -100) -> dict[str, torch.Tensor]:
    """``input_ids``, unshifted ``labels`` and ``attention_mask`` (or a packed batch's ``position_ids``) from one
    of our batches; the loss a Hugging Face model computes from them is the mean over our trained targets."""
    targets = batch.targets
    untrained = targets == ignore_index
    last = targets[:, -1:]
    input_ids = torch.cat([batch.inputs, torch.where(untrained[:, -1:], pad_token_id, last)], dim=1)
    labels = torch.cat([torch.full_like(last, HF_IGNORE_INDEX), torch.where(untrained, HF_IGNORE_INDEX, targets)],
                       dim=1)
    out = {"input_ids": input_ids, "labels": labels}
    if batch.position_ids is not None:
        out["position_ids"] = torch.cat([batch.position_ids, batch.position_ids[:, -1:] + 1], dim=1)
    elif batch.attention_mask is not None:
        # The added column's own logit is never scored, so its mask only has to keep the row's padding shape.
        out["attention_mask"] = torch.cat([batch.attention_mask, batch.attention_mask[:, -1:]], dim=1)
    return out


class TrainerCollator:
    """A ``data_collator`` for Hugging Face trainers: our collator's batch as :func:`hf_inputs`.

    Takes what a :class:`TokenizedDataset` hands a DataLoader (an index batch), or a list of ``{"index": i}``
    features from :func:`index_dataset` (then ``dataset`` is the tokenized dataset those indices point into).
    """

    def __init__(self, collator: Collator, dataset: TokenizedDataset | None = None) -> None:
        self.collator = collator
        self.dataset = dataset

    def __call__(self, features: IndexBatch | Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if len(features) == 2 and isinstance(features[0], TokenizedDataset):
            # Trainer's column filter (remove_unused_columns) hands an index batch over as a list of its fields.
            features = IndexBatch(features[0], np.asarray(features[1], dtype=np.int64))
        if not isinstance(features, IndexBatch):
            if self.dataset is None:
                raise DataError("TrainerCollator got index features but no dataset: build it with "
                                "TrainerCollator(collator, dataset)")
            try:
                indices = np.fromiter((int(feature["index"]) for feature in features), dtype=np.int64)
            except (KeyError, TypeError) as error:
                raise DataError(f"TrainerCollator takes features with an 'index' (index_dataset), got {error!r}; "
                                "a trainer that prepares the dataset itself re-tokenizes it: skip its "
                                "preparation") from error
            features = self.dataset.batch(indices)
        collator = self.collator
        return hf_inputs(collator(features), pad_token_id=collator.pad_token_id, ignore_index=collator.ignore_index)


def index_dataset(dataset: TokenizedDataset) -> Any:
    """A ``datasets.Dataset`` with one ``index`` column (0..n-1): what TRL's trainers need, the tokens staying
    in ``dataset``."""
    datasets = _require("datasets")
    return datasets.Dataset.from_dict({"index": np.arange(len(dataset), dtype=np.int64)})


def trl_preference_inputs(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A pair batch (:class:`~promptstyles.data.batches.pairs.PairCollator`) as TRL's DPO trainer takes one:
    chosen rows then rejected rows, with ``completion_mask`` 1 where our labels train."""
    labels = torch.cat([batch["chosen_labels"], batch["rejected_labels"]])
    return {"input_ids": torch.cat([batch["chosen_input_ids"], batch["rejected_input_ids"]]),
            "attention_mask": torch.cat([batch["chosen_attention_mask"], batch["rejected_attention_mask"]]),
            "completion_mask": (labels != HF_IGNORE_INDEX).long()}
