"""The id-valued settings of a config against the tokenizer they will meet.

A pad id the tokenizer does not have fails only later, in a model's embedding lookup; an ``ignore_index``
that is a real id silently drops every target with that id from the loss (with ``50256`` under GPT-2, every
end-of-text, so the model never learns to stop). Both are caught as soon as the tokenizer is known, with the
key path, before any record is tokenized.
"""

from __future__ import annotations

from ._config_sections import CollateConfig
from .data.tokenizers.protocol import Tokenizer
from .errors import ConfigError

__all__ = ["check_token_ids"]


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
