"""The configuration schema: one YAML document selects the style, data, tokenizer, masking and loaders.

Example (every key optional; these are the defaults unless noted)::

    style: alpaca                 # a registered style name or alias, an inline chat format (see
                                  # promptstyles/styles/declarative.py): {name, system, user, assistant, ...},
                                  # or one in its own file: {file: my-format.yaml} (relative: to this file)
    style_options: {}             # keyword options of the style, e.g. {system: "You are ..."}
    plugins: []                   # extra plugin modules to load, e.g. [my_styles] (found next to the YAML
                                  # file too) or [./styles/my_styles.py]; one that fails to load is an error
    data:
      path: data.json             # JSON array or JSONL; or url: https://...; default: the reference dataset
                                  # several files: a list, or a glob (parts/*.jsonl, read in sorted order)
      format: auto                # auto | json | jsonl | parquet (auto: by the name; .parquet needs pyarrow)
      kind: auto                  # auto | instruction | preference: what the records hold; auto reads them as
                                  # preference pairs when the first record has a "chosen" key (see below)
      fields: {}                  # our key -> the dataset's key, e.g. {instruction: prompt, output: completion}
                                  # (one column per key; a record holds one kind: instruction or messages)
      on_invalid: error           # error | skip (skipped records are counted and logged)
      cache: true                 # keep tokenized datasets (and downloads, revalidated) in cache_dir; false: none
      cache_dir: null             # default: $PROMPTSTYLES_CACHE_DIR or ~/.cache/promptstyles; relative: to this file
      streaming: false            # true: a JSONL data.path is read and tokenized in chunks into a memory-mapped
                                  # store, so memory does not grow with the file (not for JSON arrays or URLs)
      num_proc: 1                 # processes that tokenize (this one included), or auto: one per usable core
      turns: whole                # whole | per_assistant: one example per assistant turn (see turns.py)
      cluster: null               # {engine: ray, address: auto, chunk_records: 4096, chunk_bytes: 2097152,
                                  # actors: null, results: stream | shards}: tokenize on a Ray cluster (pip
                                  # install 'promptstyles[ray]'); streamed files are read by the workers in
                                  # ranges of chunk_bytes; the store equals the local one
      split: {train: 0.85, test: 0.10, shuffle: false, seed: 123}   # validation gets the rest
    tokenizer:                    # or just the name or path: ``tokenizer: gpt2``, ``tokenizer: models/qwen``
      name: gpt2                  # a registered tokenizer: tiktoken's encodings, or a plugin's
      path: null                  # a model's own tokenizer: a folder with tokenizer.json, the file, or a Hub id
                                  # (Qwen/Qwen2.5-7B-Instruct, with huggingface_hub); relative: to this file
      special_tokens: text        # text | extend (the style's markup tokens get new ids; a model's own
                                  # tokenizer always uses its special ids, and the style's must be among them;
                                  # with extend, a declared style must declare every token its markup writes)
    collate:
      pad_token_id: null          # default: the tokenizer's end-of-text id (50256 for gpt2); an id it has
      ignore_index: -100          # any value that is no id of the tokenizer (a real id would go untrained)
      allowed_max_length: null
      mask: none                  # none | instruction | prompt | assistant | last_assistant
      truncation: reference       # reference | keep_eos (instruction data)
      truncation_mode: keep_start # keep_start | keep_end (preference pairs; TRL's names)
      drop_overlong: false        # true: drop (and count) what cannot fit allowed_max_length; false: an error
      pad_to_multiple_of: null
      attention_mask: false
      packing: false              # true: rows of allowed_max_length tokens, examples end to end (required then)
      device: cpu
      train_reasoning: true       # false: an assistant's reasoning is context, not trained (any mask but none)
    loader: {batch_size: 8, shuffle: true, drop_last: true, seed: 123, num_workers: 0,
             group_by_length: false, rank: null, world_size: null}

Preference data (``data.kind: preference``, or ``auto`` and a first record with a ``chosen`` key: Alpaca's
``instruction``/``input``/``chosen``/``rejected``, TRL's ``prompt``/``chosen``/``rejected`` with text or
messages, or conversations whose last assistant turn differs) give loaders of pair batches: chosen and
rejected rows padded together, ``chosen_labels``/``rejected_labels`` with ``ignore_index`` on the prompt and
padding, and ``prompt_length`` per pair (see ``promptstyles/data/batches/pairs.py``). Splits and
``batch_size`` count pairs; several files (a list or a glob) are read as one, as for instruction data, with
the kind told from the first file's first record. ``mask: none`` trains the completions there, as ``prompt``
does; ``assistant``, ``packing``, ``streaming``, ``fields`` and ``turns: per_assistant`` are errors naming the
key (a streamed file is checked before it is read). ``truncation_mode: keep_start`` keeps each pair's prompt
and cuts both completions at ``allowed_max_length``; ``keep_end`` keeps both completions and drops the same
leading prompt tokens from both rows. A pair whose prompt leaves no completion token is an error naming it, or
with ``drop_overlong`` dropped and counted.

``packing: true`` makes every loader give ``batch_size`` rows of ``allowed_max_length`` tokens, each
holding whole examples end to end with position ids that restart per example (see
``promptstyles/data/batches/packed.py``); ``group_by_length`` is then moot.
``shuffle``, ``drop_last`` and ``group_by_length`` (batches of similar lengths, less padding) apply to
the training loader; validation and test keep their order and their last batch. ``rank`` and
``world_size`` default to what ``torchrun`` sets (``RANK``, ``WORLD_SIZE``; 0 and 1 without it); with
``world_size`` > 1 the training loader gives rank ``rank`` its share of the batches, the same number on
every rank, while validation and test give every rank the whole split, so each rank scores every example
and the losses equal a single process's. Relative
``data.path`` values are read relative to the YAML file, and a ``plugins`` module whose ``.py`` file or
package folder sits beside the YAML file is loaded from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._config_paths import resolve_paths
from ._config_sections import (
    ClusterConfig,
    CollateConfig,
    Config,
    DataConfig,
    LoaderConfig,
    SplitConfig,
    TokenizerConfig,
)
from ._schema import Lines, from_mapping, read_yaml
from .data.sources.loading import REFERENCE_DATA_URL
from .errors import ConfigError
from .styles.declarative import is_style_file, read_style_file

__all__ = [
    "REFERENCE_DATA_URL",
    "ClusterConfig",
    "CollateConfig",
    "Config",
    "DataConfig",
    "LoaderConfig",
    "SplitConfig",
    "TokenizerConfig",
    "load_config",
]


def _style_file(data: Any, lines: Lines, source: str | None, base: Path) -> Any:
    """``data`` with ``style: {file: F}`` (or ``style: F.yaml``) as the file's checked, absolute path.

    The file is read now, so that its errors (with its own key paths and lines) come with the config's.
    """
    style = data.get("style") if isinstance(data, Mapping) else None
    if isinstance(style, Mapping) and "file" in style:
        extra = sorted(str(key) for key in style if key != "file")
        if extra:
            raise ConfigError("give style.file alone; put the other keys in the style file",
                              path=f"style.{extra[0]}", line=lines.get(("style", extra[0])), source=source)
        key: tuple[str, ...] = ("style", "file")
        file = style["file"]
    elif isinstance(style, str) and is_style_file(style):
        key, file = ("style",), style
    else:
        return data
    dotted, line = ".".join(key), lines.get(key)
    if not isinstance(file, str) or not is_style_file(file):
        raise ConfigError(f"expected the path of a .yaml or .yml style file, got {file!r:.60}", path=dotted,
                          line=line, source=source)
    path = Path(file).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"style file {path} not found (a relative path is read from the config's folder)",
                          path=dotted, line=line, source=source)
    tokenizer = data.get("tokenizer")
    read_style_file(path, extend=isinstance(tokenizer, Mapping) and tokenizer.get("special_tokens") == "extend")
    return {**data, "style": str(path)}


def load_config(source: str | Path | Mapping[str, Any] | Config) -> Config:
    """A validated :class:`Config` from a YAML file path, a mapping, or a ``Config`` (returned as is)."""
    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        return from_mapping(Config, _style_file(source, {}, None, Path.cwd()))
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"expected a YAML path or a mapping, got {type(source).__name__}")
    data, lines = read_yaml(source)
    if data is None:
        data = {}
    data = _style_file(data, lines, str(source), Path(source).parent)
    config = from_mapping(Config, data, lines=lines, source=str(source))
    return resolve_paths(config, Path(source).parent)
