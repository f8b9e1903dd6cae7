"""Every check a build runs short of tokenizing the data, so that a config ``validate`` calls valid starts.

A build fails on a style it cannot find, a tokenizer folder that is missing or corrupt, markup the tokenizer
lacks, ids that contradict it, a data file that is missing or holds bad records, or an empty training split.
:func:`preflight` runs each of these in the order a build meets them; only the tokenization is left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._config_checks import check_data_source
from ._pipeline_pairs import is_preference_data, normalised_pairs
from .config import Config, load_config
from .data.batches.splits import split_indices
from .data.build.pairs import pair_records
from .data.build.rendering import render_parts
from .data.sources.files import read_data, validate_data
from .data.tokenizers.protocol import Tokenizer
from .errors import DataError
from .pipeline import build_tokenizer
from .styles._base import Style

__all__ = ["Preflight", "preflight"]


@dataclass(frozen=True)
class Preflight:
    """What a build would start from: the config, its style and tokenizer, and the records read."""

    config: Config
    style: Style
    tokenizer: Tokenizer
    records: int | None
    """How many records were read, checked and rendered (not tokenized); None where a build reads them itself
    (a URL, which is fetched then, or a streamed file, which is checked record by record as it is read)."""
    unit: str = "records"
    """What ``records`` counts: ``records``, or ``preference pairs``."""


def _check_records(config: Config, style: Style) -> tuple[int, str]:
    """Read, check and render every record (both of a preference pair), and check that the training split gets
    some; how many, and whether records or pairs."""
    data = config.data
    assert data.path is not None
    parts = read_data(data.path, format=data.format)
    first = next(parts)  # what the records are is told from the first file's, as a build tells it
    if is_preference_data(config, first[0]):
        pairs, _, source = normalised_pairs(itertools.chain([first], parts), data.on_invalid)
        records, count, unit = pair_records(pairs, source=source), len(pairs), "preference pairs"
    else:
        loaded = validate_data(itertools.chain([first], parts), fields=data.fields, on_invalid=data.on_invalid)
        records, source, count, unit = loaded.records, loaded.source, len(loaded.records), "records"
    for index, record in enumerate(records):
        render_parts(style, record, index=index, source=source)
    split = data.split
    if not len(split_indices(count, train=split.train, test=split.test).train):
        raise DataError(f"the training split is empty: {count} {unit} with data.split.train={split.train}")
    return count, unit


def preflight(source: str | Path | Mapping[str, Any] | Config) -> Preflight:
    """The config's style, tokenizer and data, checked as a build checks them; raises what the build would."""
    config = load_config(source)
    style = config.build_style()
    tokenizer = build_tokenizer(config, style)
    check_data_source(config)
    data = config.data
    if data.streaming or data.path is None:
        return Preflight(config, style, tokenizer, None)
    return Preflight(config, style, tokenizer, *_check_records(config, style))
