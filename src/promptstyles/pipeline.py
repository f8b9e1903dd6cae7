"""From a config to train/validation/test DataLoaders: the one path every style takes.

records -> style parts -> tokens (once, for all records) -> splits -> samplers -> collator -> batches.
This module sits above ``data/``: it reads the config and hands ``data/`` plain arguments. Preference pairs
(``data.kind: preference``, or detected) take the same path in :mod:`promptstyles._pipeline_pairs`, and
their loaders give pair batches (see :class:`~promptstyles.data.batches.pairs.PairCollator`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import torch

from ._config_checks import check_data_source, check_token_ids, no_batches
from ._engine import chunk_records, cluster_session, range_engine, tokenize_engine
from ._io import cache_dir
from ._pipeline_pairs import is_preference_data, pair_collator, pair_loaders, prepare_pairs
from ._prepared import DataLoaders, PreparedData, stage_timings
from .config import Config, load_config
from .data.batches.collate import Collator
from .data.batches.loaders import make_loader, padding_share, split_dataset
from .data.build.encoding import ProgressCallback
from .data.build.streaming import stream_dataset
from .data.build.tokenize import tokenize_records
from .data.sources.files import expand_paths, read_data, validate_data
from .data.store.cache import dataset_key, load_dataset, save_dataset
from .data.store.use import StoreUse
from .data.tokenized import TokenizedDataset
from .data.tokenizers.model_markup import markup_ids
from .data.tokenizers.protocol import Tokenizer
from .data.tokenizers.registry import get_tokenizer
from .distributed import main_process_first, placement
from .errors import DataError, TokenizerError
from .records import Record
from .styles._base import Style
from .styles.registry import default_registry
from .turns import per_assistant

__all__ = ["DataLoaders", "PreparedData", "build_dataloaders", "build_tokenizer", "padding_share",
           "prepare_data"]

logger = logging.getLogger(__name__)


def build_tokenizer(config: Config, style: Style) -> Tokenizer:
    """The config's tokenizer for ``style``. A model's own tokenizer must have the style's markup tokens as
    special tokens; otherwise the error names the token and suggests the styles that fit the model. The
    config's id-valued settings must fit the tokenizer (see :func:`check_token_ids`)."""
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
    check_token_ids(config.collate, tokenizer)
    logger.info("tokenizer %s: vocabulary size %d, EOS %d", tokenizer.name, tokenizer.vocab_size, tokenizer.eos_id)
    return tokenizer


def prepare_data(
    config: Config | Any,
    *,
    records: Sequence[Record] | None = None,
    progress: ProgressCallback | None = None,
) -> PreparedData:
    """Load, validate, render and tokenize the records of ``config`` and split them.

    ``progress(done, total)`` follows the build: in records, or with ``data.streaming`` in bytes of the file.
    """
    config = load_config(config)
    marks = [time.perf_counter()]  # the end of each stage: tokenizer, tokens, split
    style = config.build_style()
    tokenizer = build_tokenizer(config, style)
    if records is None:
        check_data_source(config)
    marks.append(time.perf_counter())
    if records is None and config.data.streaming:
        dataset, records, skipped, store = _streamed(config, style, tokenizer, progress)
    else:
        parts = _parts(config, records)
        first = next(parts)  # what the records are is told from the first file's
        if is_preference_data(config, first[0]):
            return prepare_pairs(config, style, tokenizer, itertools.chain([first], parts), marks)
        dataset, records, skipped, store = _tokenized(config, style, tokenizer, itertools.chain([first], parts),
                                                      records is not None, progress)
    marks.append(time.perf_counter())
    split = config.data.split
    limit = config.collate.allowed_max_length
    splits, dropped = split_dataset(
        dataset, train=split.train, test=split.test, shuffle=split.shuffle, seed=split.seed,
        drop_longer_than=limit if config.collate.drop_overlong else None,
    )
    if not len(splits["train"]):
        raise DataError(f"the training split is empty: {len(dataset)} records with data.split.train={split.train}")
    logger.info("split sizes: %s", {name: len(s) for name, s in splits.items()})
    marks.append(time.perf_counter())
    return PreparedData(config, style, tokenizer, dataset, splits, records, skipped, dropped, store,
                        stage_timings(marks))


def _parts(config: Config, records: Sequence[Any] | None) -> Iterator[tuple[list[Any], str]]:
    """The records given, or the raw records of each file (or the URL) of ``data``, with its name, read one
    file at a time."""
    if records is not None:
        return iter([(list(records), "records")])
    data = config.data
    return read_data(data.path or data.source, format=data.format, cache=data.cache_dir, use_cache=data.cache)


def _tokenized(
    config: Config, style: Style, tokenizer: Tokenizer, parts: Iterable[tuple[list[Any], str]], given: bool,
    progress: ProgressCallback | None,
) -> tuple[TokenizedDataset, list[Record], list[tuple[int, str]], StoreUse | None]:
    """Records read whole and tokenized at once, or their dataset loaded from the cache. Records read from
    ``data`` are validated first; records given are taken as they are."""
    skipped: list[tuple[int, str]] = []
    if given:
        (records, source), = parts
    else:
        loaded = validate_data(parts, fields=config.data.fields, on_invalid=config.data.on_invalid)
        records, skipped, source = loaded.records, loaded.skipped, loaded.source
    records = per_assistant(records) if config.data.turns == "per_assistant" else list(records)
    dataset, store = _cached_or_built(config, records, style, tokenizer, source, progress)
    return dataset, records, skipped, store


def _cached_or_built(
    config: Config, records: list[Record], style: Style, tokenizer: Tokenizer, source: str,
    progress: ProgressCallback | None,
) -> tuple[TokenizedDataset, StoreUse | None]:
    """The tokenized records: from the cache, or built (and cached). In a multi-process job rank 0 builds
    and caches while the other ranks wait, then load its entry; a rank that finds none (no cache, or one
    that cannot be written) builds its own copy."""
    mode = config.tokenizer.special_tokens

    def build() -> TokenizedDataset:
        return tokenize_records(records, style, tokenizer, special_tokens=mode, source=source, progress=progress,
                                engine=tokenize_engine(config), chunk_size=chunk_records(config))

    if not config.data.cache:
        if placement().world_size > 1:
            logger.info("rank %d: data.cache is false, so every rank tokenizes the records", placement().rank)
        return build(), None
    key = dataset_key(records, style, tokenizer, mode)
    with main_process_first() as main:
        dataset = load_dataset(key, config.data.cache_dir)
        found = dataset is not None
        if dataset is None:
            if not main:
                logger.warning("rank %d: the dataset cache %s holds no entry from rank 0 (unwritable?), so this"
                               " rank tokenizes the records too", placement().rank, cache_dir(config.data.cache_dir))
            dataset = build()
            if main:
                info = {"style": style.name, "tokenizer": tokenizer.name, "source": source}
                save_dataset(dataset, key, config.data.cache_dir, info)
    return dataset, StoreUse(key, config.data.cache_dir, found)


def _streamed(
    config: Config, style: Style, tokenizer: Tokenizer, progress: ProgressCallback | None,
) -> tuple[TokenizedDataset, Sequence[Record], list[tuple[int, str]], StoreUse | None]:
    """JSONL files read and tokenized in chunks into the store, and mapped from it (on a cluster, its workers
    read the files in byte ranges). In a multi-process job rank 0 builds the store while the other ranks wait,
    then map it."""
    data = config.data
    assert data.path is not None  # the config requires it with streaming
    paths = [str(path) for path in expand_paths(data.path)]
    with main_process_first(), cluster_session(config):
        streamed = stream_dataset(paths, style, tokenizer, special_tokens=config.tokenizer.special_tokens,
                                  format=data.format, fields=data.fields, on_invalid=data.on_invalid,
                                  cache=data.cache, directory=data.cache_dir,
                                  tokenize=tokenize_engine(config), chunk_size=chunk_records(config),
                                  progress=progress, **range_engine(config))
    store = StoreUse(streamed.key, data.cache_dir, streamed.found) if data.cache else None
    return streamed.dataset, streamed.records, streamed.skipped, store


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
    if data.preference:
        pair = pair_collator(config, data.tokenizer, **collator_options)
        pair_built = pair_loaders(config, data.pairs, pair, device)
        _warn_without_batches(config, data, pair_built)
        return DataLoaders(pair_built["train"], pair_built["val"], pair_built["test"], pair, data)
    # Worker processes must not touch an accelerator: they build CPU batches in pinned memory, and the
    # main process moves each batch.
    to_device = device not in (None, "cpu") and loader.num_workers > 0
    pin = to_device and torch.device(device).type == "cuda" and torch.cuda.is_available()
    if config.collate.pad_token_id is None and data.tokenizer.pad_id is not None:
        collator_options.setdefault("pad_token_id", data.tokenizer.pad_id)  # the model's own pad token
    collator = Collator.from_config(config.collate, eos_token_id=data.tokenizer.eos_id,
                                    device=None if to_device else device, **collator_options)
    rank, world_size = loader.placement  # only training is sharded: every rank scores all of val and test
    built: dict[str, torch.utils.data.DataLoader] = {}
    for name, dataset in data.splits.items():
        if config.collate.mask != "none":
            # computed once here, inherited by worker processes
            dataset.spans(config.collate.mask, train_reasoning=config.collate.train_reasoning)
        training = name == "train"
        built[name] = make_loader(
            dataset, collator, batch_size=loader.batch_size, shuffle=loader.shuffle and training,
            drop_last=loader.drop_last and training, seed=loader.seed,
            group_by_length=loader.group_by_length and training, rank=rank if training else 0,
            world_size=world_size if training else 1,
            num_workers=loader.num_workers, pin_memory=pin, device=device if to_device else None,
            row_length=config.collate.allowed_max_length if config.collate.packing else None,
        )
    _warn_without_batches(config, data, built)
    return DataLoaders(built["train"], built["val"], built["test"], collator, data)


def _warn_without_batches(config: Config, data: PreparedData, built: Mapping[str, Any]) -> None:
    """A training loader without batches is logged, not raised: a statistic may still be wanted, and a training
    run refuses it (``check_loaders``)."""
    if not len(built["train"]):
        logger.warning("%s", no_batches(config, "train", data.sizes["train"], data.size))
