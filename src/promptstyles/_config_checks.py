"""A config against what it meets outside itself: the tokenizer, and the data file.

A pad id the tokenizer does not have fails only later, in a model's embedding lookup; an ``ignore_index``
that is a real id silently drops every target with that id from the loss (with ``50256`` under GPT-2, every
end-of-text, so the model never learns to stop). Both are caught as soon as the tokenizer is known, with the
key path, before any record is tokenized. A data file that is missing, or a JSON array or preference pairs given
to the streamed build (which reads JSON Lines of instruction records), is named with its key before any record
is read.
"""

from __future__ import annotations

from ._config_sections import CollateConfig, Config
from .data.sources.files import expand_paths, first_record
from .data.sources.loading import is_json_array
from .data.sources.parquet import is_parquet
from .data.tokenizers.protocol import Tokenizer
from .errors import ConfigError, DataError
from .preferences import is_preference

__all__ = ["check_data_source", "check_token_ids", "no_batches"]


def _token(tokenizer: Tokenizer, token_id: int) -> str:
    """The text of ``token_id`` and what the tokenizer uses it for, as a reader checks it."""
    text = tokenizer.decode_tokens([token_id])[0]
    roles = [role for role, known in (("end-of-text", tokenizer.eos_id), ("padding", tokenizer.pad_id),
                                      ("beginning-of-text", tokenizer.bos_id)) if known == token_id]
    return f"{text!r}" + (f", the {' and '.join(roles)} id" if roles else "")


def check_token_ids(collate: CollateConfig, tokenizer: Tokenizer) -> None:
    """Raise :class:`ConfigError` where ``collate``'s ids contradict ``tokenizer``: a pad id that is no id of
    it, or an ``ignore_index`` that is one."""
    size = tokenizer.vocab_size
    pad = collate.pad_token_id
    if pad is not None and not 0 <= pad < size:
        default = tokenizer.pad_id if tokenizer.pad_id is not None else tokenizer.eos_id
        raise ConfigError(f"{pad} is no id of tokenizer {tokenizer.name!r} (its ids are 0 to {size - 1}); leave "
                          f"it out to pad with the tokenizer's own id ({default})", path="collate.pad_token_id")
    ignore = collate.ignore_index
    if 0 <= ignore < size:
        raise ConfigError(f"{ignore} is an id of tokenizer {tokenizer.name!r} ({_token(tokenizer, ignore)}), so "
                          "every target with that id would go untrained; use a value no token has, e.g. -100 (the "
                          "default)", path="collate.ignore_index")


def check_data_source(config: Config) -> None:
    """Each local file ``data.path`` names (a path, a list or a glob) must be a file, and a streamed one a single
    JSON Lines file of instruction records (a JSON array, or preference pairs, are read whole)."""
    data = config.data
    if data.path is None:
        return
    try:
        files = expand_paths(data.path)
    except DataError as error:
        raise ConfigError(str(error).removeprefix("data.path: "), path="data.path") from error
    for path in files:
        if not path.is_file():
            where = "does not exist" if not path.exists() else "is not a file"
            raise ConfigError(f"{path} {where} (a relative path is read from the config's folder)", path="data.path")
    if data.streaming:
        for path in files:
            if not is_parquet(path, data.format) and is_json_array(path):
                raise ConfigError(f"{path} is a JSON array, which is read whole; convert it to JSON Lines (one "
                                  "record per line) or set data.streaming: false", path="data.streaming")
        if data.kind == "auto" and is_preference(first_record(files[0], data.format)):
            raise ConfigError(f"{files[0]} holds preference pairs (its first record has a 'chosen' answer), which "
                              "are read whole, not streamed; set data.streaming: false (or data.kind: instruction to "
                              "read the records as instruction data)", path="data.streaming")


def no_batches(config: Config, split: str, examples: int, records: int) -> str:
    """Why the ``split`` loader over ``examples`` of ``records`` records gives no batches: an empty split, or too
    few training examples for one batch, with the settings that decide it."""
    loader, collate, fractions = config.loader, config.collate, config.data.split
    if not examples:
        return (f"the {split} loader has no batches: the {split} split holds none of the {records} records "
                f"(data.split: train {fractions.train}, test {fractions.test}, validation the rest)")
    world_size = loader.placement[1]
    unit = f"rows of collate.allowed_max_length={collate.allowed_max_length} tokens" if collate.packing else "examples"
    ranks = f" for each of loader.world_size={world_size} ranks" if world_size > 1 else ""
    return (f"the {split} loader has no batches: its {examples} examples make fewer than loader.batch_size="
            f"{loader.batch_size} {unit}{ranks}, and loader.drop_last is true; lower loader.batch_size or set "
            "loader.drop_last: false")
