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
    "Turn",
    "available_styles",
    "build_registry",
    "get_style",
    "hookimpl",
    "load_config",
    "to_record",
]

__version__ = "0.1.0"
