"""promptstyles: instruction fine-tuning data for LLMs, with the prompt style as a plugin."""

from .config import Config, load_config
from .errors import (
    ConfigError,
    DataError,
    PluginError,
    PromptStylesError,
    RecordError,
    StyleError,
    TokenizerError,
    UnknownMarkupError,
)
from .hookspecs import hookimpl
from .records import Conversation, InstructionRecord, Message, Record, to_record
from .styles import (
    ChatStyle,
    Part,
    PartKind,
    Rendered,
    Style,
    Turn,
    available_styles,
    build_registry,
    get_style,
)

__all__ = [
    "ChatStyle",
    "Config",
    "ConfigError",
    "Conversation",
    "DataError",
    "InstructionRecord",
    "Message",
    "Part",
    "PartKind",
    "PluginError",
    "PromptStylesError",
    "Record",
    "RecordError",
    "Rendered",
    "Style",
    "StyleError",
    "TokenizerError",
    "UnknownMarkupError",
    "Turn",
    "available_styles",
    "build_registry",
    "get_style",
    "hookimpl",
    "load_config",
    "to_record",
]

__version__ = "0.1.0"

# The data engine imports torch; load it on first use so that rendering styles stays quick to import.
_LAZY = {
    "Batch": "promptstyles.data.batches.collate",
    "CheckResult": "promptstyles.check",
    "Collator": "promptstyles.data.batches.collate",
    "DataLoaders": "promptstyles.pipeline",
    "TokenizedDataset": "promptstyles.data.tokenized",
    "Tokenizer": "promptstyles.data.tokenizers",
    "build_dataloaders": "promptstyles.pipeline",
    "check_style": "promptstyles.check",
    "compare": "promptstyles.experiments.compare",
    "get_tokenizer": "promptstyles.data.tokenizers",
    "load_experiment": "promptstyles.experiments.config",
    "load_records": "promptstyles.data.sources.loading",
    "prepare_data": "promptstyles.pipeline",
    "tokenize_records": "promptstyles.data.build.tokenize",
}
__all__ += sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'promptstyles' has no attribute {name!r}")
