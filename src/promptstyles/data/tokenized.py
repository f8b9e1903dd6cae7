"""The tokenized dataset: every example rendered and tokenized once, stored compactly.

Storage is one token array (``uint16`` when ids fit, as with GPT-2) plus per-example start and length,
and per-example *runs*: stretches of tokens of one part kind (system, prompt, header, response, end).
Masks are derived from the runs, so they follow the part boundaries the style declared and never a
search for a marker in token space. A token that straddles two parts belongs to the part it starts in,
which is also what counting the tokens of the separately encoded prompt gives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from ..errors import DataError, RecordError, StyleError
from ..records import Record
from ..styles._base import Part, PartKind, Style, without_final_answer
from .tokenizers import Tokenizer

__all__ = [
    "KIND_CODES",
    "MASK_MODES",
    "IndexBatch",
    "Spans",
    "TokenizedDataset",
    "encode_generation_prompt",
    "encode_parts",
    "tokenize_records",
]

logger = logging.getLogger(__name__)

KINDS = tuple(PartKind)
KIND_CODES = {kind: code for code, kind in enumerate(KINDS)}
_HEADER = KIND_CODES[PartKind.RESPONSE_HEADER]
_RESPONSE = KIND_CODES[PartKind.RESPONSE]
_END = KIND_CODES[PartKind.END]

MASK_MODES = ("none", "instruction", "prompt", "assistant", "last_assistant")
"""Which targets are trained: ``none`` all; ``instruction`` from the final response header on (the reference
exercise); ``prompt`` the final response and end markup; ``assistant`` every assistant turn's response and
end markup; ``last_assistant`` only the final turn's. ``response_text`` (the final response's own words)
is used for scoring comparable losses."""

_CHUNK = 4096

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Spans:
    """Token spans ``[start, end)`` per example, flat: example ``i`` owns ``starts[offsets[i]:offsets[i+1]]``."""

    starts: np.ndarray
    ends: np.ndarray
    offsets: np.ndarray
    single_to_end: bool
    """Every example has exactly one span and it runs to the example's end (the fast path)."""


class IndexBatch(NamedTuple):
    """What the dataset hands the collator for a batch: the dataset and the example indices."""

    dataset: TokenizedDataset
    indices: np.ndarray


class TokenizedDataset(torch.utils.data.Dataset):
    """A map-style dataset of tokenized examples sharing one buffer; ``ds[i]`` is an int64 id array.

    ``tokens`` holds every example followed by one end-of-text id; ``starts`` and ``lengths`` locate
    each example (the length excludes that end-of-text).
    """

    def __init__(
        self,
        tokens: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        run_ends: np.ndarray,
        run_kinds: np.ndarray,
        run_offsets: np.ndarray,
        *,
        eos_id: int,
        vocab_size: int,
        positions: np.ndarray | None = None,
    ) -> None:
        self.tokens = tokens
        self.starts = starts
        self.lengths = lengths
        self.run_ends = run_ends
        self.run_kinds = run_kinds
        self.run_offsets = run_offsets
        self.eos_id = eos_id
        self.vocab_size = vocab_size
        self.positions = np.arange(len(starts)) if positions is None else positions
        """Index of each example in the records it was built from (kept through ``select``)."""
        self._spans: dict[str, Spans] = {}

    # -- the torch Dataset protocol --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> np.ndarray:
        """The token ids of example ``index`` (without the stored end-of-text)."""
        start = int(self.starts[index])
        return self.tokens[start : start + int(self.lengths[index])].astype(np.int64)

    def __getitems__(self, indices: Sequence[int] | np.ndarray) -> IndexBatch:
        """Used by ``DataLoader`` for whole batches: no per-example work before the collator."""
        return IndexBatch(self, np.asarray(indices, dtype=np.int64))

    # -- views and derived data -------------------------------------------------------------------------

    def select(self, indices: Sequence[int] | np.ndarray) -> TokenizedDataset:
        """A dataset of some examples, sharing the token buffer (used for splits and filtering)."""
        indices = np.asarray(indices, dtype=np.int64)
        run_counts = np.diff(self.run_offsets)[indices]
        run_offsets = _offsets(run_counts)
        run_index = _ranges(self.run_offsets[indices], run_counts)
        subset = TokenizedDataset(
            self.tokens, self.starts[indices], self.lengths[indices], self.run_ends[run_index],
            self.run_kinds[run_index], run_offsets, eos_id=self.eos_id, vocab_size=self.vocab_size,
            positions=self.positions[indices],
        )
        return subset

    def spans(self, mode: str) -> Spans:
        """Trained token spans under a mask mode (see ``MASK_MODES``), or ``response_text``; cached."""
        if mode not in self._spans:
            self._spans[mode] = self._compute_spans(mode)
        return self._spans[mode]

    def _compute_spans(self, mode: str) -> Spans:
        n_runs = len(self.run_kinds)
        example = np.repeat(np.arange(len(self)), np.diff(self.run_offsets))
        run_index = np.arange(n_runs)
        run_starts = np.zeros(n_runs, dtype=np.int64)
        if n_runs:
            run_starts[1:] = self.run_ends[:-1]
            run_starts[self.run_offsets[:-1][np.diff(self.run_offsets) > 0]] = 0
        kinds = self.run_kinds
        last_header = np.full(len(self), -1, dtype=np.int64)
        is_header = kinds == _HEADER
        np.maximum.at(last_header, example[is_header], run_index[is_header])
        final_turn = run_index >= np.where(last_header[example] >= 0, last_header[example], n_runs)
        assistant = (kinds == _RESPONSE) | (kinds == _END)
        if mode == "none":
            trained = np.ones(n_runs, dtype=bool)
        elif mode == "instruction":
            trained = final_turn
        elif mode in ("prompt", "last_assistant"):
            trained = final_turn & assistant
        elif mode == "assistant":
            trained = assistant
        elif mode == "response_text":
            trained = final_turn & (kinds == _RESPONSE)
        else:
            raise DataError(f"unknown mask mode {mode!r}; expected one of {', '.join(MASK_MODES)}")
        trained &= self.run_ends > run_starts  # runs that hold no token do not split spans
        boundary = np.ones(n_runs + 1, dtype=bool)
        if n_runs:
            boundary[1:-1] = example[1:] != example[:-1]
        previous_trained = np.concatenate(([False], trained[:-1])) & ~boundary[:-1]
        next_trained = np.concatenate((trained[1:], [False])) & ~boundary[1:]
        first = np.flatnonzero(trained & ~previous_trained)
        last = np.flatnonzero(trained & ~next_trained)
        owners = example[first]
        offsets = _offsets(np.bincount(owners, minlength=len(self)))
        starts, ends = run_starts[first], self.run_ends[last].astype(np.int64)
        single = bool(len(first) == len(self) and np.all(ends == self.lengths[owners]))
        return Spans(starts, ends, offsets, single)

    # -- statistics ----------------------------------------------------------------------------------------

    def trained_targets(self, mode: str) -> np.ndarray:
        """Targets trained per example under a mask mode, before truncation: one per token of the trained
        spans except the first token of the example (nothing predicts it), plus the end-of-text."""
        if mode == "none":
            return self.lengths.astype(np.int64)
        spans = self.spans(mode)
        owners = np.repeat(np.arange(len(self)), np.diff(spans.offsets))
        sizes = spans.ends - spans.starts - (spans.starts == 0)
        return np.bincount(owners, weights=sizes, minlength=len(self)).astype(np.int64) + 1

    @property
    def prompt_lengths(self) -> np.ndarray:
        """Tokens before the final response header of each example."""
        spans = self.spans("instruction")
        out = self.lengths.astype(np.int64).copy()
        has = np.diff(spans.offsets) > 0
        out[has] = spans.starts[spans.offsets[:-1][has]]
        return out

    def stats(self) -> dict[str, Any]:
        """Token counts per example: total, prompt (before the final header) and response, as plain data."""
        lengths = self.lengths.astype(np.int64)
        prompt = self.prompt_lengths
        response = lengths - prompt

        def summary(values: np.ndarray) -> dict[str, float]:
            if not len(values):
                return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0, "min": 0, "total": 0}
            return {
                "mean": float(values.mean()), "median": float(np.median(values)),
                "p95": float(np.percentile(values, 95)), "max": int(values.max()), "min": int(values.min()),
                "total": int(values.sum()),
            }

        return {
            "examples": len(self),
            "tokens": summary(lengths),
            "prompt_tokens": summary(prompt),
            "response_tokens": summary(response),
        }

    @property
    def nbytes(self) -> int:
        """Memory held by this dataset's arrays (the token buffer counted whole)."""
        arrays = (self.tokens, self.starts, self.lengths, self.run_ends, self.run_kinds, self.run_offsets,
                  self.positions)
        return sum(int(a.nbytes) for a in arrays)

    def __repr__(self) -> str:
        return f"TokenizedDataset({len(self)} examples, {int(self.lengths.sum())} tokens)"


def _offsets(counts: np.ndarray) -> np.ndarray:
    """Where each of ``len(counts)`` consecutive blocks starts, and (last) where the blocks end."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each start and count, without a Python loop."""
    heads = _offsets(counts)[:-1]
    return np.repeat(starts - heads, counts) + np.arange(int(counts.sum()))


def _render_chunk(
    style: Style, records: Sequence[Record], first_index: int, source: str | None, tokenizer: Any, extend: bool,
) -> tuple[list[list[int]] | list[list[Any]], list[int], list[int], list[int], list[int]]:
    """Render a chunk of records: their ids (or, with ``extend``, text pieces and special ids to encode),
    and for every run its kind code and end in UTF-8 bytes, the runs per record and each text's bytes."""
    encoded: list[Any] = []
    run_kinds: list[int] = []
    run_ends: list[int] = []
    run_counts: list[int] = []
    text_bytes: list[int] = []
    codes = KIND_CODES
    encode_parts = getattr(tokenizer, "encode_parts", None)
    for offset, record in enumerate(records):
        try:
            parts = style.parts(record)
        except StyleError as error:
            raise RecordError(f"style {style.name!r} cannot render it: {error}", index=first_index + offset,
                              source=source) from error
        texts = [part.text for part in parts]
        position = 0
        previous = -1
        count = 0
        has_header = False
        for part, text in zip(parts, texts):  # noqa: B905 - same length by construction
            code = codes[part.kind]
            position += len(text) if text.isascii() else len(text.encode("utf-8"))
            if code == previous:
                run_ends[-1] = position
            else:
                run_kinds.append(code)
                run_ends.append(position)
                previous = code
                count += 1
            has_header = has_header or code == _HEADER
        if not has_header:
            raise RecordError(f"style {style.name!r} rendered no assistant response to train on",
                              index=first_index + offset, source=source)
        run_counts.append(count)
        text_bytes.append(position)
        if extend:
            encoded.append(_markup_pieces(parts, tokenizer))
        elif encode_parts is not None:
            encoded.append(encode_parts(texts))
        else:
            encoded.append("".join(texts))
    if not extend and encode_parts is None:
        encoded = tokenizer.encode_ordinary_batch(encoded)
    return encoded, run_kinds, run_ends, run_counts, text_bytes


def _markup_pieces(parts: Sequence[Any], tokenizer: Any) -> list[Any]:
    """Ordinary text runs and special ids, where only markup may hold special tokens."""
    pieces: list[Any] = []
    for part in parts:
        for piece in tokenizer.split_markup(part.text) if part.markup else (part.text,):
            if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += piece
            elif piece != "":
                pieces.append(piece)
    return pieces


def encode_parts(parts: Sequence[Part], tokenizer: Tokenizer, *, special_tokens: str = "text") -> list[int]:
    """The ids of rendered parts exactly as a dataset stores them; e.g. a generation prompt for inference.

    ``special_tokens="extend"`` turns the style's declared markup tokens into their ids (record text never).
    """
    if special_tokens == "extend":
        return _encode_with_specials(tokenizer, _markup_pieces(parts, tokenizer))
    encode = getattr(tokenizer, "encode_parts", None)
    texts = [part.text for part in parts]
    return encode(texts) if encode is not None else tokenizer.encode_ordinary_batch(["".join(texts)])[0]


def encode_generation_prompt(
    style: Style, record: Record, tokenizer: Tokenizer, *, special_tokens: str = "text",
) -> list[int]:
    """The ids a model is given at inference: the first ids of the training example, whatever the answer.

    A prompt that ends in whitespace other than a plain space (``"<|end_header_id|>\\n\\n"``) tokenizes
    differently at the end of a text than before an answer's first character (``"\\n\\n"`` alone is one
    GPT-2 token, before a letter it is two). It is encoded as if followed by an answer, so inference sees
    exactly the ids training saw.
    """
    parts = style.parts(without_final_answer(record), generation=True)
    text = parts[-1].text if parts else ""
    if not text or not text[-1].isspace() or text.endswith(" "):
        return encode_parts(parts, tokenizer, special_tokens=special_tokens)
    probe = encode_parts([*parts, Part("a", PartKind.RESPONSE)], tokenizer, special_tokens=special_tokens)
    if tokenizer.decode(probe[-1:]) == "a":
        return probe[:-1]
    return encode_parts(parts, tokenizer, special_tokens=special_tokens)


def _encode_with_specials(tokenizer: Tokenizer, pieces: list[Any]) -> list[int]:
    texts = [piece for piece in pieces if isinstance(piece, str)]
    encoded = iter(tokenizer.encode_ordinary_batch(texts))
    ids: list[int] = []
    for piece in pieces:
        if isinstance(piece, str):
            ids.extend(next(encoded))
        else:
            ids.append(piece)
    return ids


def tokenize_records(
    records: Sequence[Record],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: str = "text",
    source: str | None = None,
    progress: ProgressCallback | None = None,
) -> TokenizedDataset:
    """Render and tokenize every record once into a :class:`TokenizedDataset`.

    Each record's parts are encoded where the tokenizer can cut between them exactly (the markup a style
    repeats is then encoded once); ``progress(done, total)`` is called after each chunk.
    ``special_tokens="extend"`` encodes the style's declared markup tokens as special ids; the tokenizer
    must have been built with them (``get_tokenizer(name, special_tokens=style.special_tokens)``).
    """
    if not len(records):
        raise DataError(f"{source or 'dataset'}: no records to tokenize")
    extend = tokenizer if special_tokens == "extend" else None
    if extend is not None and not hasattr(tokenizer, "split_markup"):
        raise DataError(f"tokenizer {tokenizer!r} cannot add special tokens")
    flat: list[int] = []  # every example's ids, each followed by one end-of-text id
    lengths: list[int] = []
    kinds: list[int] = []
    ends: list[int] = []
    counts: list[int] = []
    text_bytes: list[int] = []
    eos = tokenizer.eos_id
    for first in range(0, len(records), _CHUNK):
        chunk, run_kinds, run_ends, run_counts, chunk_bytes = _render_chunk(
            style, records[first : first + _CHUNK], first, source, tokenizer, extend is not None
        )
        if extend is not None:
            chunk = [_encode_with_specials(extend, pieces) for pieces in chunk]
            _drop_final_end_of_text(chunk, run_ends, run_counts, chunk_bytes, tokenizer)
        for ids in chunk:
            flat += ids
            flat.append(eos)
            lengths.append(len(ids))
        kinds += run_kinds
        ends += run_ends
        counts += run_counts
        text_bytes += chunk_bytes
        if progress is not None:
            progress(min(first + _CHUNK, len(records)), len(records))
    return _assemble(flat, lengths, kinds, ends, counts, text_bytes, tokenizer)


def _drop_final_end_of_text(
    encoded: list[list[int]], ends: list[int], counts: list[int], text_bytes: list[int], tokenizer: Tokenizer,
) -> None:
    """Drop a style's own closing end-of-text id (Phi-3 ends with one): the collator appends exactly one.

    Only special-token encoding can produce the id, so text mode never needs this.
    """
    eos = tokenizer.eos_id
    size = int(tokenizer.token_byte_lengths()[eos])
    last_run = -1
    for index, ids in enumerate(encoded):
        last_run += counts[index]
        if ids and ids[-1] == eos:
            ids.pop()
            text_bytes[index] -= size
            first_run = last_run - counts[index] + 1
            for run in range(first_run, last_run + 1):
                ends[run] = min(ends[run], text_bytes[index])


def _assemble(
    flat: list[int], example_lengths: list[int], kinds: list[int], ends: list[int], counts: list[int],
    text_bytes: list[int], tokenizer: Tokenizer,
) -> TokenizedDataset:
    lengths = np.asarray(example_lengths, dtype=np.int64)
    if np.any(lengths == 0):
        raise DataError(f"record {int(np.flatnonzero(lengths == 0)[0])} rendered to no tokens")
    # Each example is stored followed by one end-of-text id, which the collator reads as its padding.
    dtype = np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.int32
    tokens = np.fromiter(flat, dtype=dtype, count=len(flat))
    starts = _offsets(lengths + 1)[:-1]

    # Map each run's end from bytes to tokens: a token belongs to the run its first byte is in.
    byte_lengths = tokenizer.token_byte_lengths()[tokens]
    byte_lengths[starts + lengths] = 0
    token_byte_starts = np.cumsum(byte_lengths) - byte_lengths
    example_bytes = np.asarray(text_bytes, dtype=np.int64)
    example_byte_base = np.cumsum(example_bytes) - example_bytes
    if int(byte_lengths.sum()) != int(example_bytes.sum()):
        raise DataError("tokenizer byte lengths do not add up to the rendered text; cannot place part boundaries")
    run_counts = np.asarray(counts, dtype=np.int64)
    run_example = np.repeat(np.arange(len(lengths)), run_counts)
    global_ends = example_byte_base[run_example] + np.asarray(ends, dtype=np.int64)
    run_token_ends = np.searchsorted(token_byte_starts, global_ends, side="left") - starts[run_example]
    run_dtype = np.uint16 if int(lengths.max()) < 1 << 16 else np.int32
    run_offsets = _offsets(run_counts)
    return TokenizedDataset(
        tokens, starts, lengths.astype(np.int32), run_token_ends.astype(run_dtype),
        np.asarray(kinds, dtype=np.uint8), run_offsets, eos_id=tokenizer.eos_id, vocab_size=tokenizer.vocab_size,
    )
