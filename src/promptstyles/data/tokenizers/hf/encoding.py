"""Rendered parts to ids with a Hugging Face tokenizer, exactly as the model's own chat template encodes them.

The whole rendered text is encoded at once (``add_special_tokens=False``, what ``apply_chat_template``
does), so merges across part seams and SentencePiece's prefix space come out as the model sees them; part
boundaries are then placed in token space from the encoding's character offsets: a token belongs to the
part its first character is in.

Hugging Face tokenizers match added tokens anywhere in a text, so a record holding ``<|eot_id|>`` would
become id 128009. An added token whose characters touch record text (a part with ``markup=False``) is
refused: the text between the accepted markup tokens around it is encoded again as ordinary text, by a
copy of the tokenizer that knows no added tokens. That is what the whole text gives when the refused
token is not an added token, the markup's tokens and the seams around them unchanged.
"""

from __future__ import annotations

import itertools
import json
import pickle
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from ...arrays import block_offsets

__all__ = ["PartIds", "PartsEncoder", "TextPart", "utf8_starts"]


class TextPart(Protocol):
    """A rendered part as the encoder needs it (``styles.Part`` is one)."""

    @property
    def text(self) -> str: ...

    @property
    def markup(self) -> bool: ...


class PartIds(NamedTuple):
    """The ids of a rendered example, and where each part ends in them (token index, exclusive)."""

    ids: list[int]
    part_ends: list[int]


def _part_ids(parts: Sequence[TextPart], ids: list[int], starts: np.ndarray) -> PartIds:
    """Part ends in token space: a token belongs to the part its first character is in."""
    part_ends = np.cumsum(np.fromiter((len(part.text) for part in parts), dtype=np.int64, count=len(parts)))
    return PartIds(list(ids), np.searchsorted(starts, part_ends, side="left").tolist())


def utf8_starts(text: str, starts: np.ndarray) -> np.ndarray:
    """Character positions in ``text`` as UTF-8 byte offsets."""
    if text.isascii():
        return starts
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    offsets = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000), out=offsets[1:])
    return offsets[starts]


def _plain_copies(tokenizer: Any) -> tuple[Any, Any]:
    """Copies of ``tokenizer`` without added tokens, sharing its model: one for text at the start of an
    example, one for text after a markup token (a Metaspace ``prepend_scheme: first`` adds its ``▁`` only
    at the start of the text, so that copy never adds it)."""
    from tokenizers import Tokenizer

    def copy(pre_tokenizer: Any) -> Any:
        plain = Tokenizer(tokenizer.model)
        for name, component in (("normalizer", tokenizer.normalizer), ("pre_tokenizer", pre_tokenizer),
                                ("decoder", tokenizer.decoder)):
            if component is not None:
                setattr(plain, name, component)
        return plain

    pre_tokenizer = tokenizer.pre_tokenizer
    start = copy(pre_tokenizer)
    if pre_tokenizer is None:
        return start, start
    state = json.loads(pre_tokenizer.__getstate__())
    if not _never_prepend(state):
        return start, start
    inner = pickle.loads(pickle.dumps(pre_tokenizer))
    inner.__setstate__(json.dumps(state).encode())
    return start, copy(inner)


def _never_prepend(node: Any) -> bool:
    """Switch every Metaspace in a serialized pre-tokenizer from ``first`` to ``never``; whether any was."""
    changed = False
    if isinstance(node, dict):
        if node.get("type") == "Metaspace" and node.get("prepend_scheme") == "first":
            node["prepend_scheme"] = "never"
            changed = True
        values: Iterable[Any] = node.values()
    else:
        values = node if isinstance(node, list) else ()
    for value in values:
        changed = _never_prepend(value) or changed
    return changed


class PartsEncoder:
    """Encodes rendered examples with one ``tokenizers.Tokenizer``; see the module docstring."""

    def __init__(self, tokenizer: Any, added: Mapping[int, str], vocab_size: int) -> None:
        self._tokenizer = tokenizer
        self._plain: tuple[Any, Any] | None = None
        self._added = added
        self._is_added = np.zeros(vocab_size, dtype=bool)
        self._is_added[list(added)] = True

    def plain(self, inner: bool = False) -> Any:
        """The tokenizer without added tokens (``inner``: for text that follows a markup token)."""
        if self._plain is None:
            self._plain = _plain_copies(self._tokenizer)
        return self._plain[1 if inner else 0]

    def encode(self, parts: Sequence[TextPart]) -> PartIds:
        """The ids of one rendered example and its part ends."""
        return self.encode_batch([parts])[0]

    def encode_batch(self, examples: Sequence[Sequence[TextPart]]) -> list[PartIds]:
        """The ids and part ends of many rendered examples; the text is encoded in one parallel batch."""
        encoded = self.encode_with_starts(examples)
        return [_part_ids(parts, ids, starts) for parts, (ids, starts) in zip(examples, encoded)]  # noqa: B905

    def encode_with_starts(self, examples: Sequence[Sequence[TextPart]]) -> list[tuple[list[int], np.ndarray]]:
        """Each example's ids, and the character of its text at which each token starts.

        The added tokens of the whole batch are checked against the record text at once; only the rare
        example where one touches record text is looked at on its own (see the module docstring).
        """
        texts = ["".join(part.text for part in parts) for parts in examples]
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = [encoding.ids for encoding in encodings]
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(counts.sum()))
        spans = np.fromiter(
            itertools.chain.from_iterable(itertools.chain.from_iterable(e.offsets for e in encodings)),
            dtype=np.int64, count=2 * len(flat),
        ).reshape(-1, 2)
        token_example = np.repeat(np.arange(len(ids)), counts)
        text_base = block_offsets(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        suspects = self._suspects(examples, flat, spans + text_base[token_example, None], text_base)
        token_base = block_offsets(counts)
        starts = np.maximum.accumulate(spans[:, 0] + text_base[token_example]) - text_base[token_example]
        out = [(ids[i], starts[token_base[i] : token_base[i + 1]]) for i in range(len(ids))]
        for i in np.unique(token_example[suspects]).tolist():
            out[i] = self._guard(examples[i], texts[i], ids[i], spans[token_base[i] : token_base[i + 1]])
        return out

    def _suspects(
        self, examples: Sequence[Sequence[TextPart]], flat: np.ndarray, spans: np.ndarray, text_base: np.ndarray,
    ) -> np.ndarray:
        """Tokens of the batch (flat positions) that are added tokens overlapping some record text."""
        added = np.flatnonzero(self._is_added[flat])
        if not added.size:
            return added
        lengths = np.fromiter((len(p.text) for parts in examples for p in parts), dtype=np.int64)
        record = np.fromiter((not p.markup for parts in examples for p in parts), dtype=bool, count=len(lengths))
        part_ends = np.cumsum(lengths)
        keep = record & (lengths > 0)
        starts, ends = (part_ends - lengths)[keep], part_ends[keep]
        begin, end = spans[added, 0], spans[added, 1]
        first = np.searchsorted(ends, begin, side="right")  # the first record text ending after the token starts
        hit = first < len(ends)
        hit[hit] &= starts[first[hit]] < end[hit]
        return added[hit]

    def _guard(
        self, parts: Sequence[TextPart], text: str, ids: list[int], spans: np.ndarray,
    ) -> tuple[list[int], np.ndarray]:
        """Refuse added tokens in record text (see the module docstring); the ids and token starts."""
        added = np.flatnonzero(self._is_added[np.asarray(ids, dtype=np.int64)])
        lengths = np.fromiter((len(part.text) for part in parts), dtype=np.int64, count=len(parts))
        record = np.fromiter((not part.markup for part in parts), dtype=bool, count=len(parts)) & (lengths > 0)
        part_ends = np.cumsum(lengths)
        starts, ends = (part_ends - lengths)[record], part_ends[record]
        begin, end = spans[added, 0:1], spans[added, 1:2]
        refused = np.zeros(len(added), dtype=bool)
        for index in np.flatnonzero(((begin < ends) & (end > starts)).any(axis=1)):
            refused[index] = self._touches(text, ids[added[index]], spans[added[index]], starts, ends)
        if refused.any():
            ids, spans = self._reencode(text, ids, spans, added[~refused], added[refused])
        return ids, np.maximum.accumulate(spans[:, 0]) if len(spans) else spans[:, 0]

    def _touches(self, text: str, token_id: int, span: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
        """Whether the token's own text overlaps record text (not only whitespace it strips, as Phi-3's
        ``<|user|>`` swallows the newline and spaces after it)."""
        content = self._added[token_id]
        begin = text.find(content, int(span[0]), int(span[1]))
        begin = int(span[0]) if begin < 0 else begin
        return bool(((begin < ends) & (begin + len(content) > starts)).any())

    def _reencode(
        self, text: str, ids: list[int], spans: np.ndarray, accepted: np.ndarray, refused: np.ndarray,
    ) -> tuple[list[int], np.ndarray]:
        """Encode the text between accepted markup tokens as ordinary text wherever a refused token lies."""
        fences = np.concatenate(([-1], accepted, [len(ids)]))
        new_ids: list[int] = []
        new_spans: list[np.ndarray] = []
        done = 0
        for left, right in itertools.pairwise(fences):
            if not ((refused > left) & (refused < right)).any():
                continue
            begin = int(spans[left, 1]) if left >= 0 else 0
            stop = int(spans[right, 0]) if right < len(ids) else len(text)
            encoding = self.plain(inner=begin > 0).encode(text[begin:stop], add_special_tokens=False)
            new_ids += ids[done : left + 1]
            new_spans.append(spans[done : left + 1])
            new_ids += encoding.ids
            new_spans.append(np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2) + begin)
            done = int(right)
        new_ids += ids[done:]
        new_spans.append(spans[done:])
        return new_ids, np.concatenate(new_spans)
