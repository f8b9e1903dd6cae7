"""From a config to train/validation/test DataLoaders: the one path every style takes.

records -> style parts -> tokens (once, for all records) -> splits -> samplers -> collator -> batches.
This module sits above ``data/``: it reads the config and hands ``data/`` plain arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import Config, load_config
from .data.cache import dataset_key, load_dataset, save_dataset
from .data.collate import Batch, Collator
from .data.encoding import ProgressCallback, tokenize_records
from .data.loaders import SPLITS, make_loader, split_dataset
from .data.loading import load_records
from .data.model_markup import markup_ids
from .data.samplers import IndexBatchSampler
from .data.tokenized import TokenizedDataset
from .data.tokenizers import Tokenizer, get_tokenizer
from .errors import DataError, TokenizerError
from .records import Record
from .styles._base import Style
from .styles.registry import default_registry

__all__ = ["DataLoaders", "PreparedData", "build_dataloaders", "build_tokenizer", "padding_share", "prepare_data"]

logger = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """Everything between the config and the loaders: style, tokenizer, datasets per split, and counts."""

    config: Config
    style: Style
    tokenizer: Tokenizer
    dataset: TokenizedDataset
    splits: dict[str, TokenizedDataset]
    records: list[Record]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(dataset) for name, dataset in self.splits.items()}


@dataclass
class DataLoaders:
    """The three loaders (``.train``, ``.val``, ``.test``) and what they were built from."""

    train: torch.utils.data.DataLoader
    val: torch.utils.data.DataLoader
    test: torch.utils.data.DataLoader
    collator: Collator
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

    def __getitem__(self, split: str) -> torch.utils.data.DataLoader:
        if split not in SPLITS:
            raise KeyError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, split)

    def batch_indices(self, split: str) -> list[np.ndarray]:
        """The example indices of each batch the next epoch of the ``split`` loader gives, in order.

        A look ahead: the loader's shuffle does not advance, so iterating it next gives these batches.
        """
        sampler = self[split].batch_sampler
        assert isinstance(sampler, IndexBatchSampler)
        epoch = sampler.epoch
        batches = [np.asarray(indices) for indices in sampler]
        sampler.set_epoch(epoch)
        return batches

    def batch_shapes(self, split: str) -> list[tuple[int, int, int]]:
        """``(examples, padded length, real tokens)`` of each batch the next epoch of ``split`` gives: what a
        forward pass pays for, and how much of it is padding (see :func:`padding_share`)."""
        lengths = self.datasets[split].lengths
        shapes = []
        for indices in self.batch_indices(split):
            width = int(self.batch(split, indices).inputs.shape[1])
            shapes.append((len(indices), width, int(np.minimum(lengths[indices], width).sum())))
        return shapes

    def batch(self, split: str, indices: Sequence[int] | np.ndarray) -> Batch:
        """The batch the collator builds from examples ``indices`` of ``split``, as the loader would."""
        return self.collator(self.datasets[split].batch(indices))


def build_tokenizer(config: Config, style: Style) -> Tokenizer:
    """The config's tokenizer for ``style``. A model's own tokenizer must have the style's markup tokens as
    special tokens; otherwise the error names the token and suggests the styles that fit the model."""
    name, path = config.tokenizer.source
    extend = config.tokenizer.special_tokens == "extend"
    try:
        tokenizer = get_tokenizer(name, path=path, special_tokens=style.special_tokens if extend else (),
                                  plugins=config.plugins)
    except TokenizerError as error:
        raise TokenizerError(f"tokenizer.{'path' if path is not None else 'name'}: {error}") from error
    if tokenizer.own_special_tokens:
        registry = default_registry(tuple(config.plugins))
        candidates = {info.name: info.style.special_tokens for info in registry.infos()}
        markup_ids(style.name, style.special_tokens, tokenizer, candidates)
    logger.info("tokenizer %s: vocabulary size %d, EOS %d", tokenizer.name, tokenizer.vocab_size, tokenizer.eos_id)
    return tokenizer


def prepare_data(
    config: Config | Any,
    *,
    records: Sequence[Record] | None = None,
    progress: ProgressCallback | None = None,
) -> PreparedData:
    """Load, validate, render and tokenize the records of ``config`` and split them."""
    config = load_config(config)
    style = config.build_style()
    mode = config.tokenizer.special_tokens
    tokenizer = build_tokenizer(config, style)
    skipped: list[tuple[int, str]] = []
    source = "records"
    if records is None:
        loaded = load_records(config.data.source, format=config.data.format, fields=config.data.fields,
                              on_invalid=config.data.on_invalid, cache=config.data.cache_dir,
                              use_cache=config.data.cache)
        records, skipped, source = loaded.records, loaded.skipped, loaded.source
    records = list(records)
    dataset = None
    key = dataset_key(records, style, tokenizer, mode) if config.data.cache else None
    if key is not None:
        dataset = load_dataset(key, config.data.cache_dir)
    if dataset is None:
        dataset = tokenize_records(records, style, tokenizer, special_tokens=mode, source=source, progress=progress,
                                   num_proc=config.data.num_proc)
        if key is not None:
            save_dataset(dataset, key, config.data.cache_dir)
    split = config.data.split
    limit = config.collate.allowed_max_length
    splits, dropped = split_dataset(
        dataset, train=split.train, test=split.test, shuffle=split.shuffle, seed=split.seed,
        drop_longer_than=limit if config.collate.drop_overlong else None,
    )
    if not len(splits["train"]):
        raise DataError(f"the training split is empty: {len(dataset)} records with data.split.train={split.train}")
    logger.info("split sizes: %s", {name: len(s) for name, s in splits.items()})
    return PreparedData(config, style, tokenizer, dataset, splits, records, skipped, dropped)


def build_dataloaders(
    config: Config | Any,
    *,
    records: Sequence[Record] | None = None,
    progress: ProgressCallback | None = None,
    data: PreparedData | None = None,
    **collator_options: Any,
) -> DataLoaders:
    """Train, validation and test DataLoaders for a config (a ``Config``, a mapping or a YAML path).

    ``loader.shuffle`` and ``loader.drop_last`` apply to the training loader; validation and test keep
    their order and last batch. ``data`` reuses already prepared data; ``collator_options`` override the
    config's collate settings (e.g. ``response_mask=True`` for scoring the response text alone).
    """
    data = data if data is not None else prepare_data(config, records=records, progress=progress)
    config = data.config
    loader = config.loader
    device = collator_options.pop("device", config.collate.device)
    # Worker processes must not touch an accelerator: they build CPU batches in pinned memory, and the
    # main process moves each batch.
    to_device = device not in (None, "cpu") and loader.num_workers > 0
    pin = to_device and torch.device(device).type == "cuda" and torch.cuda.is_available()
    if config.collate.pad_token_id is None and data.tokenizer.pad_id is not None:
        collator_options.setdefault("pad_token_id", data.tokenizer.pad_id)  # the model's own pad token
    collator = Collator.from_config(config.collate, eos_token_id=data.tokenizer.eos_id,
                                    device=None if to_device else device, **collator_options)
    built: dict[str, torch.utils.data.DataLoader] = {}
    for name, dataset in data.splits.items():
        if config.collate.mask != "none":
            dataset.spans(config.collate.mask)  # computed once here, inherited by worker processes
        training = name == "train"
        built[name] = make_loader(
            dataset, collator, batch_size=loader.batch_size, shuffle=loader.shuffle and training,
            drop_last=loader.drop_last and training, seed=loader.seed,
            group_by_length=loader.group_by_length and training, rank=loader.rank, world_size=loader.world_size,
            num_workers=loader.num_workers, pin_memory=pin, device=device if to_device else None,
        )
    return DataLoaders(built["train"], built["val"], built["test"], collator, data)


def padding_share(shapes: Sequence[tuple[int, int, int]]) -> float:
    """The share of batch positions that are padding, from :meth:`DataLoaders.batch_shapes`."""
    positions = sum(size * width for size, width, _ in shapes)
    return 1.0 - sum(real for _, _, real in shapes) / positions if positions else 0.0
