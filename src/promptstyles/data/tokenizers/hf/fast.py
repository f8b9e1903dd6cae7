"""Rendered examples to ids and token byte starts without asking the Rust side for offsets.

Why: building a Python tuple of character offsets for every token, and mapping characters to UTF-8 bytes,
cost as much as the encoding itself. For a byte-level BPE tokenizer (Qwen2.5, Llama-3), and a
SentencePiece-style one whose ``▁`` stands for a space (Mistral v0.3; Phi-3.5 with the corrections of
``splits.py``), every token stands for a fixed number of bytes of the text, so where each token starts
follows from the ids alone: a running sum of the tokens' byte lengths (a token that starts inside a
character starts, as the offsets say, where that character starts). The ids come from
``encode_batch_fast``, which tracks no offsets.

Every record repeats its markup, and most its system prompt: an example's head (its text up to the last
added token of its markup before any record text but a system prompt) is encoded once and cached. The
tokenizer splits its input at added tokens before normalising and pre-tokenising, so the rest of the text,
encoded alone, gives the ids it gets in the whole text.

Added tokens in record text are caught by counting: under :func:`unsupported`'s conditions every added
token written in markup is matched by the tokenizer exactly where the markup has it, so an example whose
ids hold more added tokens than its markup wrote has one touching record text; it, and any example whose
token bytes do not add up to its text's bytes, goes through :class:`~.encoding.PartsEncoder`'s exact path.

Used only where it is proven: :func:`unsupported` checks the tokenizer's configuration, and
:meth:`FastEncoder.build` then checks that a probe batch encodes to the same ids and starts both ways.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ...arrays import block_offsets
from ..protocol import Encoded
from .encoding import PartsEncoder, TextPart, utf8_starts
from .exactness import byte_lengths, heads_apart, nodes, prepend_mode, probe_examples, unsupported
from .splits import SplitBytes

__all__ = ["FastEncoder", "exact_examples"]

logger = logging.getLogger(__name__)

_CACHE_SIZE = 1024


class FastEncoder:
    """Encodes rendered examples as :class:`PartsEncoder` with :func:`~.encoding.utf8_starts` does,
    faster (see the module docstring); build it with :meth:`build`."""

    def __init__(self, tokenizer: Any, exact: PartsEncoder, byte_lengths: np.ndarray, is_added: np.ndarray,
                 added: Iterable[str], split_heads: bool = True, splits: SplitBytes | None = None) -> None:
        self._tokenizer = tokenizer
        self._split_heads = split_heads
        self._splits = splits
        self._exact = exact
        self._byte_lengths = byte_lengths
        self._is_added = is_added
        ordered = sorted(added, key=len, reverse=True)  # leftmost-longest, as the tokenizer matches them
        self._added_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._markup_info: dict[str, tuple[int, int]] = {}
        self._heads: dict[str, list[int]] = {"": []}
        self._nfc = any(node["type"] == "NFC" for node in nodes(tokenizer.normalizer))
        self._encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)

    @classmethod
    def build(cls, tokenizer: Any, exact: PartsEncoder, added: Mapping[int, str], vocab_size: int,
              name: str = "") -> FastEncoder | None:
        """The fast encoder when the tokenizer's configuration and a probe batch prove it exact, else None."""
        reason = unsupported(tokenizer)
        lengths = None if reason else byte_lengths(tokenizer, vocab_size)
        if reason is None and lengths is None:
            reason = "some vocabulary token is not byte-level"
        if reason is not None or lengths is None or not added:
            logger.debug("tokenizer %s: encoding whole texts with offsets: %s", name, reason or "no added tokens")
            return None
        is_added = np.zeros(vocab_size, dtype=bool)
        is_added[list(added)] = True
        splits = None
        if prepend_mode(tokenizer) == "every":
            splits = SplitBytes(added.values(), [token.content for token in
                                                 tokenizer.get_added_tokens_decoder().values() if token.rstrip])
        fast = cls(tokenizer, exact, lengths, is_added, added.values(), heads_apart(tokenizer), splits)
        probe = probe_examples(list(added.values()))
        ids, starts = fast.encode_examples(probe)
        want_ids, want_starts = exact_examples(exact, probe)
        if ids != want_ids or not np.array_equal(starts, want_starts):
            logger.warning("tokenizer %s: its configuration allows the fast path, but a probe batch encodes "
                           "differently with it; encoding whole texts with offsets (slower, exact)", name)
            return None
        fast.forget()  # the probe's markup and heads (one per added token) would fill the bounded caches
        return fast

    def forget(self) -> None:
        """Empty the caches of markup and heads (they keep the first entries they see, up to a bound)."""
        self._markup_info = {}
        self._heads = {"": []}

    def _markup(self, text: str) -> tuple[int, int]:
        """How many added tokens the tokenizer matches in markup ``text``, and where the last one ends (-1:
        none); cached, as markup repeats."""
        info = self._markup_info.get(text)
        if info is None:
            found = list(self._added_pattern.finditer(text)) if self._added_pattern is not None else []
            info = (len(found), found[-1].end() if found else -1)
            if len(self._markup_info) < _CACHE_SIZE:
                self._markup_info[text] = info
        return info

    def _split(self, examples: Sequence[Sequence[TextPart]]) -> tuple[list[str], list[str], list[str], list[int]]:
        """Each example's text, its head (its text up to the last markup added token before any record text but a
        system prompt), the rest of its text, and how many added tokens its markup holds."""
        texts: list[str] = []
        heads: list[str] = []
        tails: list[str] = []
        expected: list[int] = []
        markup_info = self._markup_info
        for parts in examples:
            added = 0
            split = 0
            position = 0
            head = True
            for part in parts:
                text = part.text
                if part.markup:
                    count, end = markup_info.get(text) or self._markup(text)
                    added += count
                    if head and end >= 0 and self._split_heads:
                        split = position + end
                elif head and getattr(part, "kind", None) != "system":
                    head = False
                position += len(text)
            text = "".join([part.text for part in parts])
            texts.append(text)
            heads.append(text[:split])
            tails.append(text[split:])
            expected.append(added)
        return texts, heads, tails, expected

    def _encode_split(self, heads: list[str], tails: list[str]) -> list[list[int]]:
        """The ids of each head and tail, joined; heads come from a bounded cache (they repeat)."""
        cache = self._heads
        missing = list(dict.fromkeys(head for head in heads if head not in cache))
        room = _CACHE_SIZE - len(cache)
        if missing and room > 0:
            missing = missing[:room]
            cache.update(zip(missing, [e.ids for e in self._encode(missing, add_special_tokens=False)],
                             strict=True))
        uncached = [i for i, head in enumerate(heads) if head not in cache]
        for i in uncached:  # the cache is full: encode the whole text
            tails[i] = heads[i] + tails[i]
            heads[i] = ""
        ids = [encoding.ids for encoding in self._encode(tails, add_special_tokens=False)]
        return [cache[head] + rest if head else rest for head, rest in zip(heads, ids, strict=True)]

    def encode_examples(self, examples: Sequence[Sequence[TextPart]]) -> Encoded:
        """Each example's ids, and the UTF-8 byte at which each token starts (all examples end to end)."""
        if not examples:
            return Encoded([], np.zeros(0, np.int64))
        texts, heads, tails, expected = self._split(examples)
        ids = self._encode_split(heads, tails)
        n = len(ids)
        token_counts = np.fromiter(map(len, ids), dtype=np.int64, count=n)
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(token_counts.sum()))
        example = np.repeat(np.arange(n), token_counts)
        text_bytes = np.fromiter((len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts),
                                 dtype=np.int64, count=n)
        token_base = block_offsets(token_counts)
        added = self._is_added[flat]
        held = np.bincount(example[added], minlength=n)  # added tokens per example
        slow = held != np.asarray(expected)
        lengths = self._byte_lengths[flat]
        if self._splits is not None:
            lengths, misaligned = self._splits.correct(lengths, added, example, token_base[:-1][token_counts > 0],
                                                       held, texts)
            slow |= misaligned
        ends = np.cumsum(lengths)
        bytes_before = np.concatenate(([0], ends))[token_base]  # token bytes of the examples before each
        starts = ends - lengths - bytes_before[example]
        slow |= np.diff(bytes_before) != text_bytes
        ascii_ = np.fromiter(map(str.isascii, texts), dtype=bool, count=n)
        if not ascii_.all():
            if self._nfc:
                slow |= np.fromiter((not a and not unicodedata.is_normalized("NFC", t)
                                     for t, a in zip(texts, ascii_, strict=True)), dtype=bool, count=n)
            starts = self._char_starts(texts, starts, example, text_bytes, ascii_)
        return self._splice(examples, ids, starts, token_base, np.flatnonzero(slow).tolist())

    @staticmethod
    def _char_starts(texts: list[str], starts: np.ndarray, example: np.ndarray, text_bytes: np.ndarray,
                     ascii_: np.ndarray) -> np.ndarray:
        """Byte starts moved back to the start of their character (a token may begin inside one); only the
        examples with non-ASCII text are looked at."""
        wide = np.flatnonzero(~ascii_)
        data = np.frombuffer("".join([texts[i] for i in wide]).encode("utf-8"), dtype=np.uint8)
        char_start = np.maximum.accumulate(np.where((data & 0xC0) != 0x80, np.arange(len(data)), 0))
        base = np.zeros(len(texts), dtype=np.int64)
        base[wide] = block_offsets(text_bytes[wide])[:-1]
        tokens = np.flatnonzero(~ascii_[example] & (starts < text_bytes[example]))
        own = base[example[tokens]]
        starts = starts.copy()
        starts[tokens] = char_start[np.minimum(own + starts[tokens], len(data) - 1)] - own
        return starts

    def _splice(self, examples: Sequence[Sequence[TextPart]], ids: list[list[int]], starts: np.ndarray,
                token_base: np.ndarray, slow: list[int]) -> Encoded:
        """The fast results, with the examples that need the exact path encoded by it."""
        if not slow:
            return Encoded(ids, starts)
        pieces = [starts[token_base[i] : token_base[i + 1]] for i in range(len(ids))]
        exact_ids, _ = exact_examples(self._exact, [examples[i] for i in slow], pieces=(pieces, slow))
        for i, example_ids in zip(slow, exact_ids, strict=True):
            ids[i] = example_ids
        return Encoded(ids, np.concatenate(pieces))


def exact_examples(exact: PartsEncoder, examples: Sequence[Sequence[TextPart]],
                   pieces: tuple[list[np.ndarray], list[int]] | None = None) -> Encoded:
    """Ids and token byte starts by the exact path: whole texts encoded with offsets. With ``pieces``
    (per-example starts and the indices ``examples`` come from), their starts are replaced in place."""
    encoded = exact.encode_with_starts(examples)
    starts = [utf8_starts("".join(part.text for part in parts), token_starts)
              for parts, (_, token_starts) in zip(examples, encoded, strict=True)]
    if pieces is not None:
        for i, example_starts in zip(pieces[1], starts, strict=True):
            pieces[0][i] = example_starts
    return Encoded([ids for ids, _ in encoded], np.concatenate(starts) if starts else np.zeros(0, np.int64))
