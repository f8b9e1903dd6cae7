"""The built-in loader of a model's own tokenizer (``hf``): a folder, a ``tokenizer.json`` or a Hub id.

``tokenizers`` is imported only when a tokenizer is loaded, so the plugin registers without the extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ....errors import TokenizerError
from ....hookspecs import hookimpl
from .tokenizer import HFTokenizer, load_hf_tokenizer

__all__ = ["register_tokenizers"]


def _load(*, path: str | None = None, special_tokens: Sequence[str] = ()) -> HFTokenizer:
    """A model's tokenizer; its special tokens are its own, so a style's markup tokens add nothing."""
    if path is None:
        raise TokenizerError("the 'hf' tokenizer needs a path: tokenizer: {path: MODEL_FOLDER} (or a Hub id)")
    return load_hf_tokenizer(path)


@hookimpl
def register_tokenizers(register: Callable[..., Any]) -> None:
    register("hf", _load, "a model's own tokenizer: a folder with tokenizer.json, the file itself, or a Hub id")
