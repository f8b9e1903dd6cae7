"""Preference data from a config: pairs read, tokenized once (through the store), split by pair and batched.

The preference half of :mod:`promptstyles.pipeline`, taken when ``data.kind`` is ``preference``, or ``auto``
and the first record has a ``chosen`` answer. Like the pipeline it reads the config and hands ``data/`` plain
arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from ._config_sections import Config, check_preference
from ._prepared import PreparedData
from ._schema import Invalid
from .data.batches.loaders import DeviceDataLoader, make_pair_loader, split_pairs
from .data.batches.pairs import PairCollator
from .data.build.pairs import tokenize_pairs
from .data.pairs import PairDataset
from .data.store.pairs import stored_pairs
from .data.tokenizers.protocol import Tokenizer
from .distributed import main_process_first
from .errors import ConfigError, DataError, RecordError
from .preferences import PreferencePair, is_preference, to_preference_pair
from .styles._base import Style

__all__ = ["is_preference_data", "pair_collator", "pair_loaders", "prepare_pairs"]

logger = logging.getLogger(__name__)

def is_preference_data(config: Config, raw: Sequence[Any]) -> bool:
    """Whether ``raw`` is read as preference pairs: ``data.kind`` says so, or ``auto`` finds a ``chosen`` key in
    the first record. Detected pairs must suit the collate settings, as a declared kind must."""
    kind = config.data.kind
    if kind == "instruction" or (kind == "auto" and not (len(raw) and is_preference(raw[0]))):
        return False
    if kind == "auto":
        try:
            check_preference(config.collate)
        except Invalid as error:
            raise ConfigError(f"{error} (the records are preference pairs)", path=error.key) from None
        if config.data.fields:
            raise ConfigError("the records are preference pairs, which are read by their own keys; remove "
                              "data.fields, or set data.kind: instruction", path="data.fields")
    return True


def _normalised(raw: Sequence[Any], source: str, on_invalid: str) -> tuple[list[PreferencePair],
                                                                         list[tuple[int, str]]]:
    pairs: list[PreferencePair] = []
    skipped: list[tuple[int, str]] = []
    for index, item in enumerate(raw):
        try:
            pairs.append(to_preference_pair(item, index=index, source=source))
        except RecordError as error:
            if on_invalid != "skip":
                raise
            skipped.append((index, str(error)))
            logger.warning("skipping %s: %s", source, error)
    if not pairs:
        raise DataError(f"{source}: every preference record is invalid ({len(skipped)} skipped)")
    return pairs, skipped


def prepare_pairs(config: Config, style: Style, tokenizer: Tokenizer, raw: Sequence[Any],
                  source: str) -> PreparedData:
    """Normalise, tokenize (from the store when ``data.cache``), split and fit the pairs of ``raw``; the
    prepared data hold the pairs per split and, as ``splits``, their chosen and rejected rows."""
    data, collate = config.data, config.collate
    pairs, skipped = _normalised(raw, source, data.on_invalid)
    mode = config.tokenizer.special_tokens
    if data.cache:
        with main_process_first():
            dataset = stored_pairs(pairs, style, tokenizer, special_tokens=mode, directory=data.cache_dir,
                                   source=source)
    else:
        dataset = tokenize_pairs(pairs, style, tokenizer, special_tokens=mode, source=source, num_proc=data.num_proc)
    split = data.split
    splits, dropped = split_pairs(dataset, train=split.train, test=split.test, shuffle=split.shuffle,
                                  seed=split.seed, allowed_max_length=collate.allowed_max_length,
                                  truncation_mode=collate.truncation_mode, drop_overlong=collate.drop_overlong)
    logger.info("preference pairs per split: %s", {name: len(subset) for name, subset in splits.items()})
    if not len(splits["train"]):
        raise DataError(f"the training split is empty: {len(dataset)} pairs with data.split.train={split.train}")
    rows = {name: subset.examples for name, subset in splits.items()}
    return PreparedData(config, style, tokenizer, dataset.examples, rows, pairs, skipped, dropped, splits)


def pair_collator(config: Config, tokenizer: Tokenizer, **options: Any) -> PairCollator:
    """The config's collate settings for pairs: ``mask: none`` trains the completions, as ``prompt`` does
    (a pair's prompt is never trained); the pad id defaults to the model's own, else the end-of-text."""
    collate = config.collate
    pad = collate.pad_token_id if collate.pad_token_id is not None else (
        tokenizer.pad_id if tokenizer.pad_id is not None else tokenizer.eos_id)
    settings: dict[str, Any] = {
        "pad_token_id": pad, "eos_token_id": tokenizer.eos_id, "ignore_index": collate.ignore_index,
        "allowed_max_length": collate.allowed_max_length, "mask": "prompt" if collate.mask == "none" else collate.mask,
        "truncation_mode": collate.truncation_mode, "pad_to_multiple_of": collate.pad_to_multiple_of,
    }
    return PairCollator(**{**settings, **options})


def pair_loaders(config: Config, splits: dict[str, PairDataset], collator: PairCollator,
                 device: str | None) -> dict[str, DeviceDataLoader]:
    """Train, validation and test loaders of pair batches, sharded and shuffled as the instruction loaders are."""
    loader = config.loader
    rank, world_size = loader.placement
    to = None if device in (None, "cpu") else device
    pin = to is not None and loader.num_workers > 0 and torch.device(to).type == "cuda" and torch.cuda.is_available()
    built = {}
    for name, pairs in splits.items():
        training = name == "train"
        built[name] = make_pair_loader(
            pairs, collator, batch_size=loader.batch_size, shuffle=loader.shuffle and training,
            drop_last=loader.drop_last and training, seed=loader.seed,
            group_by_length=loader.group_by_length and training, rank=rank if training else 0,
            world_size=world_size if training else 1, num_workers=loader.num_workers, pin_memory=pin, device=to,
        )
    return built
