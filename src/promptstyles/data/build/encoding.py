"""Encoding: records rendered by a style and tokenized once into a :class:`TokenizedDataset`.

The style renders each record into parts; the tokenizer encodes the parts of whole examples and says where
each token starts; part boundaries are then placed on tokens (a token that straddles two parts belongs to
the part it starts in, which is also what counting the tokens of the separately encoded prompt gives).
Generation prompts go through the same encoder, so inference sees exactly the ids training saw.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ...errors import DataError
from ...records import Record
from ...styles._base import Part, PartKind, Style, without_final_answer
from ..arrays import block_offsets
from ..modes import SPECIAL_TOKEN_MODES, SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .rendering import RenderedChunk, gc_paused, render_chunk, render_parts

if TYPE_CHECKING:
    from ..tokenized import TokenizedDataset  # imports torch: only where a dataset is built

__all__ = [
    "CHUNK_SIZE", "ChunkArrays", "ProgressCallback", "concat_datasets", "encode_chunk", "encode_generation_prompt",
    "encode_parts", "encode_rendered", "tokenize_chunk", "tokenize_chunks",
]

logger = logging.getLogger(__name__)

CHUNK_SIZE = 4096
"""Records rendered and encoded together: bounds the memory of the Python lists a chunk builds."""

ProgressCallback = Callable[[int, int], None]


class ChunkArrays(NamedTuple):
    """A tokenized chunk as plain arrays: what a worker process sends back (it need not import torch)."""

    tokens: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    run_ends: np.ndarray
    run_kinds: np.ndarray
    run_offsets: np.ndarray
    eos_id: int
    vocab_size: int

    def dataset(self) -> TokenizedDataset:
        from ..tokenized import TokenizedDataset

        return TokenizedDataset(*self[:6], eos_id=self.eos_id, vocab_size=self.vocab_size)


def encode_parts(
    parts: Sequence[Part], tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
) -> list[int]:
    """The ids of rendered parts exactly as a dataset stores them; e.g. a generation prompt for inference.

    ``special_tokens="extend"`` turns the style's declared markup tokens into their ids (record text never).
    """
    return tokenizer.encode_examples([parts], markup_specials=special_tokens == "extend").ids[0]


def encode_generation_prompt(
    style: Style, record: Record, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
) -> list[int]:
    """The ids a model is given at inference: the first ids of the training example, whatever the answer.

    A prompt that ends in whitespace other than a plain space (``"<|end_header_id|>\\n\\n"``) tokenizes
    differently at the end of a text than before an answer's first character (``"\\n\\n"`` alone is one
    GPT-2 token, before a letter it is two). It is encoded as if followed by an answer, so inference sees
    exactly the ids training saw.
    """
    parts = render_parts(style, without_final_answer(record), generation=True)
    text = parts[-1].text if parts else ""
    if not text or not text[-1].isspace() or text.endswith(" "):
        return encode_parts(parts, tokenizer, special_tokens=special_tokens)
    probe = encode_parts([*parts, Part("a", PartKind.RESPONSE)], tokenizer, special_tokens=special_tokens)
    if tokenizer.decode(probe[-1:]) == "a":
        return probe[:-1]
    return encode_parts(parts, tokenizer, special_tokens=special_tokens)


def tokenize_chunks(
    chunks: Iterable[Sequence[Record]],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    source: str | None = None,
    first_index: int = 0,
) -> Iterator[TokenizedDataset]:
    """Each chunk of records tokenized, in order: a stream whose memory does not grow with the input.

    ``first_index`` is the position of the first chunk's first record in the whole input (for errors).
    """
    first = first_index
    for records in chunks:
        if not len(records):
            continue
        yield tokenize_chunk(records, style, tokenizer, special_tokens=special_tokens, first_index=first,
                             source=source)
        first += len(records)


def tokenize_chunk(
    records: Sequence[Record],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    first_index: int = 0,
    source: str | None = None,
) -> TokenizedDataset:
    """Render and tokenize one chunk of records: the unit of streaming and parallel builds.

    ``first_index`` is the position of the chunk's first record in the whole input, so errors name the
    record where the user can find it. Chunks join with :func:`concat_datasets`.
    """
    return encode_chunk(records, style, tokenizer, special_tokens=special_tokens, first_index=first_index,
                        source=source).dataset()


def encode_chunk(
    records: Sequence[Record],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    first_index: int = 0,
    source: str | None = None,
) -> ChunkArrays:
    """:func:`tokenize_chunk` as plain arrays.

    The collector stays off until the chunk's parts are dropped: switched on while they live, it would walk
    them all at once as soon as rendering ends (about 6% of a Llama-3 chunk's time)."""
    if not len(records):
        raise DataError(f"{source or 'dataset'}: no records to tokenize")
    with gc_paused():
        return encode_rendered(render_chunk(style, records, first_index, source), tokenizer,
                               special_tokens=special_tokens, first_index=first_index)


def encode_rendered(
    chunk: RenderedChunk, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text", first_index: int = 0,
) -> ChunkArrays:
    """The second half of :func:`encode_chunk`: a rendered chunk encoded and its part boundaries placed."""
    _check_mode(special_tokens)
    extend = special_tokens == "extend" or tokenizer.own_special_tokens
    rendered, run_kinds, run_ends, run_counts, text_bytes = chunk
    encoded, starts = tokenizer.encode_examples(rendered, markup_specials=extend)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    example = _Examples(np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64, count=int(lengths.sum())),
                        lengths, starts, np.asarray(text_bytes, dtype=np.int64), np.asarray(run_ends, dtype=np.int64))
    if extend:
        example = _drop_final_end_of_text(example, tokenizer.eos_id)
    return _assemble(example, run_kinds, run_counts, tokenizer, first_index)


def _check_mode(special_tokens: str) -> None:
    if special_tokens not in SPECIAL_TOKEN_MODES:
        raise DataError(f"unknown special_tokens mode {special_tokens!r}; expected one of "
                        f"{', '.join(SPECIAL_TOKEN_MODES)}")


def concat_datasets(chunks: Sequence[TokenizedDataset]) -> TokenizedDataset:
    """One dataset of chunks tokenized separately, in order (as if tokenized together)."""
    if not chunks:
        raise DataError("no tokenized chunks to join")
    if len(chunks) == 1:
        return chunks[0]
    from ..tokenized import TokenizedDataset

    token_base = block_offsets(np.array([len(chunk.tokens) for chunk in chunks], dtype=np.int64))[:-1]
    run_base = block_offsets(np.array([len(chunk.run_kinds) for chunk in chunks], dtype=np.int64))[:-1]
    first = chunks[0]
    return TokenizedDataset(
        np.concatenate([chunk.tokens for chunk in chunks]),
        np.concatenate([chunk.starts + base for chunk, base in zip(chunks, token_base, strict=True)]),
        np.concatenate([chunk.lengths for chunk in chunks]),
        np.concatenate([chunk.run_ends for chunk in chunks]),
        np.concatenate([chunk.run_kinds for chunk in chunks]),
        np.concatenate([chunks[0].run_offsets[:1]]
                       + [chunk.run_offsets[1:] + base for chunk, base in zip(chunks, run_base, strict=True)]),
        eos_id=first.eos_id, vocab_size=first.vocab_size,
    )


class _Examples(NamedTuple):
    """A chunk's examples encoded: all ids end to end, each example's token count, each token's byte start
    in its example, each example's text bytes and each run's end in bytes (within its example)."""

    ids: np.ndarray
    lengths: np.ndarray
    starts: np.ndarray
    text_bytes: np.ndarray
    run_ends: np.ndarray


def _drop_final_end_of_text(examples: _Examples, eos: int) -> _Examples:
    """Drop a style's own closing end-of-text id (Llama-3, Mistral and Phi-3 end with one): the collator appends
    exactly one. Only special-token encoding can produce the id, so text mode never needs this. The text
    bytes and runs stay: the appended id then starts where the dropped one ended, and a run ending at or
    after the dropped one's start still ends before the appended one."""
    ids, lengths, starts = examples.ids, examples.lengths, examples.starts
    if not len(ids):
        return examples
    last = block_offsets(lengths)[1:] - 1
    closing = (lengths > 0) & (ids[np.maximum(last, 0)] == eos)
    if not closing.any():
        return examples
    keep = np.ones(len(ids), dtype=bool)
    keep[last[closing]] = False
    return examples._replace(ids=ids[keep], lengths=lengths - closing, starts=starts[keep])


def _assemble(
    examples: _Examples, kinds: list[int], counts: list[int], tokenizer: Tokenizer, first_index: int,
) -> ChunkArrays:
    ids, lengths, token_starts, example_bytes, ends = examples
    if np.any(lengths == 0):
        raise DataError(f"record {first_index + int(np.flatnonzero(lengths == 0)[0])} rendered to no tokens")
    # Each example is stored followed by one end-of-text id, which the collator reads as its padding.
    dtype = np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32
    starts = block_offsets(lengths + 1)[:-1]
    token_example = np.repeat(np.arange(len(lengths)), lengths)
    tokens = np.full(len(ids) + len(lengths), tokenizer.eos_id, dtype=dtype)
    tokens[np.arange(len(ids)) + token_example] = ids

    # Map each run's end from bytes to tokens: a token belongs to the run its first byte is in. Byte
    # positions are global (examples end to end); an example's end-of-text starts where its text ends.
    example_byte_base = np.cumsum(example_bytes) - example_bytes
    if len(token_starts) != len(token_example) or np.any(token_starts < 0) or np.any(
        token_starts > example_bytes[token_example]
    ):
        raise DataError(f"tokenizer {tokenizer.name!r} gave token offsets outside the rendered text; cannot place "
                        "part boundaries")
    byte_starts = np.empty(len(tokens), dtype=np.int64)
    is_end = np.zeros(len(tokens), dtype=bool)
    is_end[starts + lengths] = True
    byte_starts[~is_end] = example_byte_base[token_example] + token_starts
    byte_starts[is_end] = example_byte_base + example_bytes
    if np.any(np.diff(byte_starts) < 0):
        raise DataError(f"tokenizer {tokenizer.name!r} gave token offsets out of order; cannot place part boundaries")
    run_counts = np.asarray(counts, dtype=np.int64)
    run_example = np.repeat(np.arange(len(lengths)), run_counts)
    global_ends = example_byte_base[run_example] + ends
    run_token_ends = np.searchsorted(byte_starts, global_ends, side="left") - starts[run_example]
    run_dtype = np.uint16 if int(lengths.max()) < 1 << 16 else np.int32
    return ChunkArrays(
        tokens, starts, lengths.astype(np.int32), run_token_ends.astype(run_dtype),
        np.asarray(kinds, dtype=np.uint8), block_offsets(run_counts), tokenizer.eos_id, tokenizer.vocab_size,
    )
