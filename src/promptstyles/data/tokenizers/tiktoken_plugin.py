"""The built-in tiktoken encodings (``gpt2``, ``cl100k_base``, ...), registered like any plugin's tokenizers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import TokenizerError
from ...hookspecs import hookimpl
from .tiktoken_encoding import TiktokenTokenizer

__all__ = ["register_tokenizers"]


def _encoding(name: str, *, special_tokens: Sequence[str] = (), path: str | None = None) -> TiktokenTokenizer:
    if path is not None:
        raise TokenizerError(f"the tiktoken encoding {name!r} is chosen by name; it takes no path ({path!r})")
    return TiktokenTokenizer(name, special_tokens)


@hookimpl
def register_tokenizers(register: Callable[..., Any]) -> None:
    import tiktoken

    for name in tiktoken.list_encoding_names():
        register(name, functools.partial(_encoding, name), f"tiktoken's {name} encoding")
