"""The names of the engine's modes, each defined once: the config schema and the engine both read them.

Kept free of numpy and torch so that loading a config stays quick.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "DATA_KINDS",
    "MASK_MODES",
    "SPECIAL_TOKEN_MODES",
    "TRUNCATION_MODES",
    "TRUNCATION_POLICIES",
    "DataKind",
    "MaskMode",
    "SpecialTokensMode",
    "TruncationMode",
    "TruncationPolicy",
]

MaskMode = Literal["none", "instruction", "prompt", "assistant", "last_assistant"]
"""Which targets are trained: ``none`` all; ``instruction`` from the final response header on (the reference
exercise); ``prompt`` the final response and end markup; ``assistant`` every assistant turn's response and
end markup; ``last_assistant`` only the final turn's."""
MASK_MODES: tuple[MaskMode, ...] = get_args(MaskMode)

TruncationPolicy = Literal["reference", "keep_eos"]
"""``reference`` cuts padded rows at ``allowed_max_length`` (the end-of-text may go); ``keep_eos`` cuts each
example first, so its end-of-text target survives."""
TRUNCATION_POLICIES: tuple[TruncationPolicy, ...] = get_args(TruncationPolicy)

SpecialTokensMode = Literal["text", "extend"]
"""``text`` encodes a style's markup as ordinary text; ``extend`` gives its declared special tokens ids."""
SPECIAL_TOKEN_MODES: tuple[SpecialTokensMode, ...] = get_args(SpecialTokensMode)

TruncationMode = Literal["keep_start", "keep_end"]
"""How preference pairs are cut (TRL's names). ``keep_start`` keeps the prompt and each completion's first
tokens; ``keep_end`` keeps both completions whole and drops the prompt's first tokens, the same number from
both rows."""
TRUNCATION_MODES: tuple[TruncationMode, ...] = get_args(TruncationMode)

DataKind = Literal["auto", "instruction", "preference"]
"""What the records hold: ``instruction`` data (one answer each), ``preference`` pairs (a chosen and a
rejected answer to one prompt), or ``auto``: preference when the first record has a ``chosen`` key."""
DATA_KINDS: tuple[DataKind, ...] = get_args(DataKind)
