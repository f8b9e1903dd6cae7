"""tiktoken encodings (``gpt2``, ``cl100k_base``, ...) behind the engine's one :class:`Tokenizer` protocol.

Record text is only ever encoded as ordinary text, so a literal ``<|endoftext|>`` in a record is a
handful of ordinary tokens, never id 50256. A style's markup tokens (``<|user|>``, ``<|im_start|>``) are
ordinary text too by default, as in the reference; with ``special_tokens="extend"`` they get new ids after
the base vocabulary (or the base id when the encoding already has that special token), and only markup
written by the style is ever matched.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from ...errors import TokenizerError
from ..arrays import block_offsets
from .gpt2_files import GPT2_PATTERN as _GPT2_PATTERN
from .gpt2_files import load_encoding
from .protocol import Encoded

if TYPE_CHECKING:
    from ...styles._base import Part

__all__ = ["TiktokenTokenizer"]

logger = logging.getLogger(__name__)

_SEGMENT_CACHE_SIZE = 1 << 16


class TiktokenTokenizer:
    """A tiktoken encoding, optionally extended with a style's special tokens."""

    own_special_tokens = False

    def __init__(self, encoding_name: str = "gpt2", extra_special_tokens: Sequence[str] = ()) -> None:
        import tiktoken

        try:
            base = load_encoding(encoding_name)
        except ValueError as error:
            known = ", ".join(tiktoken.list_encoding_names())
            raise TokenizerError(f"unknown tiktoken encoding {encoding_name!r}; available: {known}") from error
        except Exception as error:
            cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
            where = f"TIKTOKEN_CACHE_DIR={cache}" if cache else "the tiktoken cache"
            raise TokenizerError(
                f"cannot load the {encoding_name!r} BPE files: they are not in {where} and could not be downloaded "
                f"({type(error).__name__}: {error}). Connect to the internet once so tiktoken can cache them, or "
                "set TIKTOKEN_CACHE_DIR to a folder that holds them."
            ) from error
        self.name = encoding_name
        self._base = base
        self.eos_id: int = base.eot_token
        self.bos_id: int | None = None
        self.pad_id: int | None = None
        specials = dict(base._special_tokens)
        added: list[str] = []
        for token in dict.fromkeys(extra_special_tokens):
            if token not in specials:
                specials[token] = base.n_vocab + len(added)
                added.append(token)
        self.added_tokens: tuple[str, ...] = tuple(added)
        self._specials = {token: specials[token] for token in extra_special_tokens}
        if added:
            self._encoding = tiktoken.Encoding(
                name=f"{encoding_name}+{len(added)}",
                pat_str=base._pat_str,
                mergeable_ranks=base._mergeable_ranks,
                special_tokens=specials,
            )
            logger.info("added %d special tokens to %s: vocabulary size %d", len(added), encoding_name,
                        self._encoding.n_vocab)
        else:
            self._encoding = base
        self.vocab_size: int = self._encoding.n_vocab
        self._segments: dict[str, list[int]] | None = {} if base._pat_str == _GPT2_PATTERN else None
        self._markup_pattern = (
            re.compile("|".join(re.escape(t) for t in sorted(self._specials, key=len, reverse=True)))
            if self._specials else None
        )

    def __reduce__(self):  # tiktoken encodings pickle poorly; rebuild from the names instead
        return (type(self), (self.name, tuple(self._specials)))

    def encode_ordinary(self, text: str) -> list[int]:
        """Text as ordinary text: special-token strings in it stay text (see ``encode_parts`` for markup)."""
        return self._encoding.encode_ordinary(text)

    encode = encode_ordinary

    def encode_ordinary_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, as ``encode_ordinary`` gives them."""
        if self._segments is None:
            encode = self._encoding.encode_ordinary
            return [encode(text) for text in texts]
        return [self.encode_parts(text.split("\n"), "\n") for text in texts]

    encode_batch = encode_ordinary_batch

    def encode_examples(self, examples: Sequence[Sequence[Part]], *, markup_specials: bool = False) -> Encoded:
        """See :meth:`Tokenizer.encode_examples`; parts are encoded piece-wise (``encode_parts``)."""
        if markup_specials and self._markup_pattern is not None:
            ids = [self._encode_marked(parts) for parts in examples]
        else:
            ids = [self.encode_parts([part.text for part in parts]) for parts in examples]
        return Encoded(ids, self._token_starts(ids))

    def _encode_marked(self, parts: Sequence[Part]) -> list[int]:
        """Markup split at declared special tokens; text between them, and all record text, stays text."""
        pieces: list[str | int] = []
        for part in parts:
            for piece in self.split_markup(part.text) if part.markup else (part.text,):
                if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
                    pieces[-1] += piece
                elif piece != "":
                    pieces.append(piece)
        encoded = iter(self.encode_ordinary_batch([piece for piece in pieces if isinstance(piece, str)]))
        ids: list[int] = []
        for piece in pieces:
            if isinstance(piece, str):
                ids += next(encoded)
            else:
                ids.append(piece)
        return ids

    def _token_starts(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Byte offsets of every token within its example, from the bytes each id stands for."""
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        total = int(counts.sum())
        sizes = self.token_byte_lengths()[np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=total)]
        before = np.zeros(total + 1, dtype=np.int64)
        np.cumsum(sizes, out=before[1:])
        example_base = before[block_offsets(counts)[:-1]]
        return before[:-1] - np.repeat(example_base, counts)

    def encode_parts(self, parts: Sequence[str], joiner: str = "") -> list[int]:
        """The ids of ``joiner.join(parts)``, encoding the pieces between safe cuts apart, each distinct piece once.

        Under the GPT-2 family's pattern no pre-token crosses a cut between a non-space character and a
        newline, nor between a newline that follows a non-space character and a non-space character; the
        ids of the whole text are then the ids of its pieces end to end. The markup a style repeats in
        every example is so encoded once per dataset. Other encodings encode the joined text.
        """
        encode = self._encoding.encode_ordinary
        cache = self._segments
        if cache is None:
            return encode(joiner.join(parts))
        lookup = cache.get
        ids: list[int] = []
        segment = ""
        for index, part in enumerate(parts):
            if index and joiner:
                part = joiner + part
            if not part:
                continue
            if segment:
                last, first = segment[-1], part[0]
                if (first == "\n" and not last.isspace()) or (
                    last == "\n" and not first.isspace() and (len(segment) == 1 or not segment[-2].isspace())
                ):
                    cached = lookup(segment)
                    if cached is None:
                        cached = encode(segment)
                        if len(cache) < _SEGMENT_CACHE_SIZE:
                            cache[segment] = cached
                    ids += cached
                    segment = part
                    continue
                segment += part
            else:
                segment = part
        if segment:
            cached = lookup(segment)
            ids += cached if cached is not None else encode(segment)
        return ids

    def special_id(self, token: str) -> int | None:
        return self._specials.get(token)

    def split_markup(self, text: str) -> list[str | int]:
        """Split style-written markup into ordinary text pieces and the ids of declared special tokens."""
        if self._markup_pattern is None:
            return [text]
        pieces: list[str | int] = []
        position = 0
        for match in self._markup_pattern.finditer(text):
            if match.start() > position:
                pieces.append(text[position : match.start()])
            pieces.append(self._specials[match.group()])
            position = match.end()
        if position < len(text):
            pieces.append(text[position:])
        return pieces

    def decode(self, ids: Iterable[int]) -> str:
        return self._encoding.decode(list(ids))

    def decode_tokens(self, ids: Iterable[int]) -> list[str]:
        """Each id's text on its own (bytes that split a character show as the replacement character)."""
        return [self._encoding.decode_single_token_bytes(i).decode("utf-8", "replace") for i in ids]

    def token_byte_lengths(self) -> np.ndarray:
        """Bytes of UTF-8 text each id stands for, indexed by id (read-only, shared per encoding)."""
        return _byte_lengths(self.name, tuple(self._specials))

    def __repr__(self) -> str:
        extra = f", +{len(self.added_tokens)} special" if self.added_tokens else ""
        return f"TiktokenTokenizer({self.name!r}{extra}, vocab_size={self.vocab_size})"


@functools.lru_cache(maxsize=16)
def _byte_lengths(name: str, specials: tuple[str, ...]) -> np.ndarray:
    """Bytes of text per id, computed once per encoding (and added tokens) for the whole process."""
    encoding = TiktokenTokenizer(name, specials)._encoding
    lengths = np.zeros(encoding.n_vocab, dtype=np.int64)
    for token_id in range(encoding.n_vocab):
        try:
            lengths[token_id] = len(encoding.decode_single_token_bytes(token_id))
        except KeyError:  # holes in some encodings' id ranges
            lengths[token_id] = 0
    lengths.flags.writeable = False
    return lengths
