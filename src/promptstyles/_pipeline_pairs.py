"""Preference data from a config: pairs read, tokenized once (through the store), split by pair and batched.

The preference half of :mod:`promptstyles.pipeline`, taken when ``data.kind`` is ``preference``, or ``auto``
and the first record has a ``chosen`` answer. Like the pipeline it reads the config and hands ``data/`` plain
arguments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from ._config_sections import Config, check_preference
from ._prepared import PreparedData, stage_timings
from ._schema import Invalid
from .data.batches.loaders import DeviceDataLoader, make_pair_loader, split_pairs
from .data.batches.pairs import PairCollator
from .data.build.pairs import tokenize_pairs
from .data.pairs import PairDataset
from .data.store.pairs import stored_pair_entry
from .data.store.use import StoreUse
from .data.tokenizers.protocol import Tokenizer
from .distributed import main_process_first
from .errors import ConfigError, DataError, RecordError
from .preferences import PreferencePair, is_preference, to_preference_pair
from .styles._base import Style

__all__ = ["is_preference_data", "normalised_pairs", "pair_collator", "pair_loaders", "prepare_pairs"]

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
        if config.data.turns != "whole":
            raise ConfigError("the records are preference pairs, each one chosen and one rejected completion; "
                              "set data.turns: whole, or data.kind: instruction", path="data.turns")
    return True


def normalised_pairs(parts: Iterable[tuple[list[Any], str]], on_invalid: str) -> tuple[list[PreferencePair],
                                                                                 list[tuple[int, str]], str]:
    """The pairs of every part (raw records and their file's name), joined in order: an error names the file and
    the record's index in it, a skipped record keeps its index in the joined records."""
    pairs: list[PreferencePair] = []
    skipped: list[tuple[int, str]] = []
    names: list[str] = []
    read = 0  # records of the files before this one, skipped ones included
    for raw, name in parts:
        names.append(name)
        for index, item in enumerate(raw):
            try:
                pairs.append(to_preference_pair(item, index=index, source=name))
            except RecordError as error:
                if on_invalid != "skip":
                    raise
                skipped.append((read + index, str(error)))
                logger.warning("skipping %s: %s", name, error)
        read += len(raw)
    source = ", ".join(names)
    if skipped:
        logger.warning("%s: skipped %d invalid preference record(s) of %d", source, len(skipped), read)
    if not read:
        raise DataError(f"{source}: the dataset has no records")
    if not pairs:
        raise DataError(f"{source}: every preference record is invalid ({len(skipped)} skipped by on_invalid: "
                        f"skip); the first: {skipped[0][1]}")
    return pairs, skipped, source


def prepare_pairs(config: Config, style: Style, tokenizer: Tokenizer, parts: Iterable[tuple[list[Any], str]],
                  marks: list[float]) -> PreparedData:
    """Normalise, tokenize (from the store when ``data.cache``), split and fit the pairs of ``parts`` (raw records
    and their file's name); the prepared data hold the pairs per split and, as ``splits``, their chosen and
    rejected rows. ``marks`` holds the clock at the start and the end of the tokenizer stage, as the pipeline
    times its stages."""
    data, collate = config.data, config.collate
    pairs, skipped, source = normalised_pairs(parts, data.on_invalid)
    mode = config.tokenizer.special_tokens
    store = None
    if data.cache:
        with main_process_first():
            dataset, key, found = stored_pair_entry(pairs, style, tokenizer, special_tokens=mode,
                                                    directory=data.cache_dir, source=source, num_proc=data.num_proc)
        store = StoreUse(key, data.cache_dir, found)
    else:
        dataset = tokenize_pairs(pairs, style, tokenizer, special_tokens=mode, source=source, num_proc=data.num_proc)
    marks.append(time.perf_counter())
    split = data.split
    splits, dropped = split_pairs(dataset, train=split.train, test=split.test, shuffle=split.shuffle,
                                  seed=split.seed, allowed_max_length=collate.allowed_max_length,
                                  truncation_mode=collate.truncation_mode, drop_overlong=collate.drop_overlong)
    logger.info("preference pairs per split: %s", {name: len(subset) for name, subset in splits.items()})
    if not len(splits["train"]):
        raise DataError(f"the training split is empty: {len(dataset)} pairs with data.split.train={split.train}")
    marks.append(time.perf_counter())
    rows = {name: subset.examples for name, subset in splits.items()}
    return PreparedData(config, style, tokenizer, dataset.examples, rows, pairs, skipped, dropped, store,
                        stage_timings(marks), splits)


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
        "train_reasoning": collate.train_reasoning,
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
