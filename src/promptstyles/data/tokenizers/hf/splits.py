"""Token byte lengths where a SentencePiece normalizer adds a ``▁`` to every split and added tokens swallow
the spaces after them (Phi-3.5: ``<|user|>\\n`` is one token, ``hi`` after it is ``▁hi``).

The tokenizer cuts a text at its added tokens first; an added token with ``rstrip`` takes the whitespace
after it along; every piece left between them is normalized on its own, ``▁`` put in front. So the first
token of each piece holds one ``▁`` the text lacks (it starts, as the offsets say, at the piece's first
character), and an added token stands for its own text plus the whitespace it swallowed, which only the text
tells. Counted here per example; an example whose added tokens do not line up with the text's, or whose
token bytes then do not add up to its text's, takes the exact path (``fast.py``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["SplitBytes"]

_WHITESPACE = "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""What ``rstrip`` takes: Rust's ``char::is_whitespace`` (Python's ``\\s`` also takes ``\\x1c``-``\\x1f``)."""


def _alternation(contents: Iterable[str]) -> str:
    """Leftmost-longest, as the tokenizer matches added tokens."""
    return "|".join(map(re.escape, sorted(contents, key=len, reverse=True)))


class SplitBytes:
    """Corrects token byte lengths read off the vocabulary for the ``▁`` before each split and the spaces
    that added tokens swallow."""

    def __init__(self, added: Iterable[str], stripping: Iterable[str]) -> None:
        strip = set(stripping)
        plain = [content for content in added if content not in strip]
        branches = [f"(?:{_alternation(strip)}){_WHITESPACE}*"] if strip else []
        if plain:
            branches.append(_alternation(plain))
        self._pattern = re.compile("|".join(branches))

    @staticmethod
    def _bytes(found: list[str]) -> np.ndarray:
        """The UTF-8 bytes of each string (characters, where all are ASCII as markup mostly is)."""
        if "".join(found).isascii():
            return np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        return np.fromiter((len(text.encode("utf-8")) for text in found), dtype=np.int64, count=len(found))

    def correct(self, lengths: np.ndarray, is_added: np.ndarray, example: np.ndarray, firsts: np.ndarray,
                held: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``lengths`` (the tokens of all examples end to end) corrected, and which examples' added tokens did
        not line up with their text's (those are left to the exact path). ``example`` is each token's example,
        ``firsts`` each non-empty example's first token and ``held`` each example's count of added tokens."""
        lengths = lengths.copy()
        after_added = np.concatenate(([True], is_added[:-1]))
        after_added[firsts] = True  # each example starts a split
        lengths[~is_added & after_added] -= 1  # the ▁ put before the split
        per_text = list(map(self._pattern.findall, texts))  # each added token's text, swallowed whitespace included
        found = np.fromiter(map(len, per_text), dtype=np.int64, count=len(texts))
        misaligned = found != held
        if misaligned.any():
            keep = ~misaligned[example] & is_added
            per_text = [found_texts for found_texts, bad in zip(per_text, misaligned, strict=True) if not bad]
        else:
            keep = is_added
        lengths[keep] = self._bytes(list(itertools.chain.from_iterable(per_text)))
        return lengths, misaligned
