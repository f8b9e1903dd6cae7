"""Properties of a style's token ids, checked per record with a tokenizer through the real engine.

The record is tokenized with ``tokenize_records`` and collated with the ``Collator`` exactly as training
does, so a failure here is a failure a user would meet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ..data.batches.collate import Collator
from ..data.build.encoding import encode_generation_prompt
from ..data.build.tokenize import tokenize_records
from ..data.modes import SpecialTokensMode
from ..data.tokenized import TokenizedDataset
from ..data.tokenizers.protocol import Tokenizer
from ..styles._base import Part, PartKind, Style
from ._text_checks import Rendering, assistant_turns, brief, stop_after

__all__ = ["TOKEN_CHECKS", "TokenView"]


@dataclass
class TokenView:
    """One rendering seen through one tokenizer: training ids, part-wise ids with token starts, a batch."""

    style: Style
    tokenizer: Tokenizer
    extend: bool
    rendering: Rendering

    @property
    def mode(self) -> SpecialTokensMode:
        return "extend" if self.extend else "text"

    @cached_property
    def dataset(self) -> TokenizedDataset:
        return tokenize_records([self.rendering.record], self.style, self.tokenizer, special_tokens=self.mode)

    @cached_property
    def train_ids(self) -> list[int]:
        return [int(token) for token in self.dataset[0]]

    @cached_property
    def encoded(self) -> tuple[list[int], list[int]]:
        """Part-wise ids and each token's UTF-8 start, as the engine encodes the parts."""
        ids, starts = self.tokenizer.encode_examples([self.rendering.parts], markup_specials=self.extend)
        return ids[0], [int(start) for start in starts]

    def decoded(self, ids: list[int]) -> str:
        return brief("".join(self.tokenizer.decode_tokens(ids)), 40)


def check_generation_ids(view: TokenView) -> list[str]:
    generation = encode_generation_prompt(view.style, view.rendering.record, view.tokenizer,
                                          special_tokens=view.mode)
    train = view.train_ids
    if train[: len(generation)] == generation:
        return []
    at = next(n for n, (a, b) in enumerate(zip(generation, train, strict=False)) if a != b) if any(
        a != b for a, b in zip(generation, train, strict=False)) else min(len(generation), len(train))
    return [f"generation prompt ids are not a prefix of the training ids: from token {at}, "
            f"{generation[at:at + 4]} {view.decoded(generation[at:at + 4])} vs {train[at:at + 4]} "
            f"{view.decoded(train[at:at + 4])}"]


def check_whole_text_ids(view: TokenView) -> list[str]:
    if view.rendering.has_markers:
        return []  # record text holding markup tokenizes differently on purpose (it stays text)
    partwise = view.encoded[0]
    whole_part = Part(view.rendering.text, PartKind.PROMPT, markup=True)
    whole = view.tokenizer.encode_examples([[whole_part]], markup_specials=view.extend).ids[0]
    if partwise == whole:
        return []
    at = next((n for n, (a, b) in enumerate(zip(partwise, whole, strict=False)) if a != b),
              min(len(partwise), len(whole)))
    return [f"part-wise ids differ from whole-text ids at token {at}: {partwise[at:at + 4]} "
            f"{view.decoded(partwise[at:at + 4])} vs {whole[at:at + 4]} {view.decoded(whole[at:at + 4])}"]


def check_specials_only_in_markup(view: TokenView) -> list[str]:
    if not view.extend:
        return []
    markup = [part.text for part in view.rendering.parts if part.markup]
    ids = view.encoded[0]
    failures = []
    for token in view.style.special_tokens:
        special = view.tokenizer.special_id(token)
        if special is None:
            continue
        expected = sum(text.count(token) for text in markup)
        if ids.count(special) != expected:
            failures.append(f"special token {token!r} (id {special}) is in the ids {ids.count(special)} times, "
                            f"but the style's markup writes it {expected} times")
    return failures


def check_end_markers_trained(view: TokenView) -> list[str]:
    """Under ``assistant`` masking, the tokens that end each assistant turn (its stop sequence, or its
    ``END`` markup) are trained targets, so a model learns to stop."""
    text = view.rendering.text
    parts = view.rendering.parts
    ranges: list[tuple[str, int, int]] = []
    position = 0
    for part in parts:
        if part.kind is PartKind.END:
            ranges.append((part.text, position, position + len(part.text)))
        position += len(part.text)
    if not view.rendering.has_markers:
        for end, _final in assistant_turns(parts):
            span = stop_after(view.style, text, end)
            if span is not None:
                ranges.append((text[span[0]:span[1]], *span))
    if not ranges:
        return []
    _ids, starts = view.encoded
    byte_ends = [*starts[1:], len(text.encode("utf-8"))]
    eos = view.tokenizer.eos_id
    targets = Collator(mask="assistant", pad_token_id=eos, eos_token_id=eos)(view.dataset.batch([0])).targets[0]
    trained = [token >= 1 and int(targets[token - 1]) != -100 for token in range(len(view.train_ids))]
    failures = []
    for marker, first, last in sorted(set(ranges), key=lambda item: item[1]):
        low, high = len(text[:first].encode("utf-8")), len(text[:last].encode("utf-8"))
        untrained = [token for token in range(len(trained))
                     if starts[token] < high and byte_ends[token] > low and not trained[token]]
        if untrained:
            failures.append(f"end marker {marker!r} at character {first} is not trained under 'assistant' "
                            f"masking (tokens {untrained})")
    return failures


TOKEN_CHECKS: dict[str, Callable[[TokenView], list[str]]] = {
    "generation ids are a prefix": check_generation_ids,
    "part-wise ids equal whole-text ids": check_whole_text_ids,
    "record text never becomes a special token": check_specials_only_in_markup,
    "end markers are trained": check_end_markers_trained,
}
