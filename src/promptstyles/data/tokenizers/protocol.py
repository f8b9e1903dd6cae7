"""The one contract between the engine and a tokenizer, and what it returns for rendered examples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from ...styles._base import Part

__all__ = ["Encoded", "Tokenizer"]


class Encoded(NamedTuple):
    """Rendered examples as ids, and where each token starts: all the engine needs to place part boundaries."""

    ids: list[list[int]]
    """Each example's ids."""
    starts: np.ndarray
    """The UTF-8 byte offset at which each token starts in its example's text, every example's tokens end
    to end (``len(starts) == sum(map(len, ids))``). A token belongs to the part its first byte is in."""


@runtime_checkable
class Tokenizer(Protocol):
    """The one contract between the engine (datasets, generation, experiments, cli) and a tokenizer.

    ``encode_examples`` is the engine's entry point: it gets whole rendered examples as parts, so a
    tokenizer can encode them its own way (piece-wise with a cache, in a batch, with a model's real
    special tokens), as long as record text never becomes a special id and the ids equal the
    tokenization of the whole text. ``bos_id`` and ``pad_id`` are None when the tokenizer has none.
    ``own_special_tokens`` is True for a model's own tokenizer: its special tokens are fixed, a style's
    markup must be among them, and markup is always encoded with them (``markup_specials`` or not).
    A tokenizer whose batches already run on every core may set ``encodes_on_all_cores = True``: a build
    in one process then renders the next chunk while it encodes.
    """

    name: str
    eos_id: int
    vocab_size: int
    bos_id: int | None
    pad_id: int | None
    own_special_tokens: bool

    def encode(self, text: str) -> list[int]:
        """The ids of ``text`` as ordinary text: special-token strings in it stay text."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids of each text, as ``encode`` gives them."""

    def encode_examples(self, examples: Sequence[Sequence[Part]], *, markup_specials: bool = False) -> Encoded:
        """The ids of each example's joined parts and each token's start.

        With ``markup_specials`` the special tokens inside markup parts (``part.markup``) become their ids;
        every other part, and all text without the flag, is ordinary text.
        """

    def special_id(self, token: str) -> int | None:
        """The id of special token ``token``, or None when it is ordinary text for this tokenizer."""

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``."""

    def decode_tokens(self, ids: Iterable[int]) -> list[str]:
        """Each id's text on its own, e.g. to show a batch token by token."""
