"""A style's markup against a model's tokenizer: each declared special token must be one of the model's.

With a model's own tokenizer, markup such as ``<|im_start|>`` is only right when the model has it as a
special token; otherwise the style writes a format the model was never trained on (chatml with the
Llama-3 tokenizer). The error names the token, the style and the tokenizer, and suggests the styles whose
markup the tokenizer does know, those whose tokens the model's own chat template writes first.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import UnknownMarkupError

__all__ = ["markup_ids", "matching_styles"]


def matching_styles(tokenizer: Any, candidates: Mapping[str, Sequence[str]]) -> list[str]:
    """Names of the candidate styles (name -> declared special tokens) whose every special token is one of
    the tokenizer's, best first: most of its tokens in the model's chat template, most tokens, then the
    name closest to the tokenizer's (``qwen2.5`` before ``chatml`` for ``qwen2.5-7b-instruct``)."""
    template = getattr(tokenizer, "chat_template", None) or ""

    def rank(name: str) -> tuple[int, int, float, str]:
        tokens = candidates[name]
        likeness = difflib.SequenceMatcher(None, name, str(tokenizer.name).lower()).ratio()
        return (-sum(token in template for token in tokens), -len(tokens), -likeness, name)

    known = [name for name, tokens in candidates.items()
             if tokens and all(tokenizer.special_id(token) is not None for token in tokens)]
    return sorted(known, key=rank)


def markup_ids(
    style: str, special_tokens: Sequence[str], tokenizer: Any, candidates: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """The model's id of each of the style's special tokens, or an error naming the first one it lacks."""
    ids: dict[str, int] = {}
    for token in special_tokens:
        token_id = tokenizer.special_id(token)
        if token_id is None:
            suggestions = matching_styles(tokenizer, candidates or {})
            hint = (f"use a style whose markup it has: {', '.join(suggestions[:4])}" if suggestions else
                    "no registered style's markup is special in it; derive one from the model's template with "
                    "the chat-template style")
            raise UnknownMarkupError(
                f"style {style!r} writes {token!r} as markup, but it is not a special token of tokenizer "
                f"{tokenizer.name!r}, so the model would read it as plain text: {hint}"
            )
        ids[token] = token_id
    return ids
