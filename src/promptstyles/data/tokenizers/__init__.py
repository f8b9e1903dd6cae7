"""Tokenizers: the one protocol the engine talks to, tiktoken encodings, a model's own ``tokenizer.json``, and
the registry that finds them by name or path (each kind registered through the ``register_tokenizers`` hook)."""

from .protocol import Encoded, Tokenizer
from .registry import get_tokenizer
from .tiktoken_encoding import TiktokenTokenizer

__all__ = ["Encoded", "TiktokenTokenizer", "Tokenizer", "get_tokenizer"]
