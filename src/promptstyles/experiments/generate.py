"""Generating a response the way a style is used at inference: its prompt, its stops, its extraction.

A style is judged on what a user would get, so generation starts from the style's generation prompt,
encoded exactly as the training examples are (its ids are a prefix of the training ids), stops at the
end-of-text id or at any of the style's stop sequences in the decoded continuation, and hands the
continuation to ``style.extract_response``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..data.build.encoding import encode_generation_prompt
from ..data.modes import SpecialTokensMode
from ..data.tokenizers.protocol import Tokenizer
from ..errors import TokenizerError
from ..records import Record, to_record
from ..styles import Style

__all__ = ["Generation", "generate", "generate_response", "tokenizer_mode"]

logger = logging.getLogger(__name__)


def tokenizer_mode(tokenizer: Tokenizer, style: Style) -> SpecialTokensMode:
    """``extend`` when ``tokenizer`` gives the style's markup tokens special ids (it was built with them, or
    they are a model's own), ``text`` when it encodes them as ordinary text, as it did for training."""
    if tokenizer.own_special_tokens or any(tokenizer.special_id(t) is not None for t in style.special_tokens):
        return "extend"
    return "text"

@dataclass(frozen=True)
class Generation:
    """A generated continuation: its ids and text (stop sequence included) and why it ended."""

    ids: list[int]
    text: str
    stopped: Literal["eos", "stop", "length"]


def _next_logits(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    # A GPT computes the head for the last position only; any other module is called as ids -> logits.
    head = getattr(model, "next_token_logits", None)
    return head(ids) if callable(head) else model(ids)[:, -1, :]


def _choose(logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None) -> int:
    if temperature <= 0.0:
        return int(torch.argmax(logits))
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        threshold = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    return int(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator))


@torch.inference_mode()
def generate(
    model: nn.Module,
    tokenizer: Tokenizer,
    prompt: str | Sequence[int],
    *,
    max_new_tokens: int = 64,
    stop_sequences: Sequence[str] = (),
    eos_id: int | None = None,
    context_length: int | None = None,
    temperature: float = 0.0,
    top_k: int | None = None,
    seed: int | None = None,
    device: str | torch.device | None = None,
) -> Generation:
    """Continue ``prompt`` (text, or ids already encoded) token by token: greedy, or sampled when
    ``temperature`` > 0 (from the ``top_k`` most likely tokens when given; ``seed`` makes it repeatable).

    Tensors go to ``device``, by default the model's. The input is cropped to the last ``context_length``
    tokens (the model's own by default). Generation
    ends at ``eos_id`` (the tokenizer's by default; not part of the result), when a stop sequence appears
    in the decoded continuation (kept in ``text`` for the style to cut), or after ``max_new_tokens``.
    """
    eos = tokenizer.eos_id if eos_id is None else eos_id
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    if context_length is None:
        context_length = getattr(getattr(model, "config", None), "context_length", None)
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    was_training = model.training
    model.eval()
    prompt_ids = tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    new: list[int] = []
    text = ""
    stopped: Literal["eos", "stop", "length"] = "length"
    for _ in range(max_new_tokens):
        window = ids if context_length is None else ids[:, -context_length:]
        token = _choose(_next_logits(model, window)[0], temperature, top_k, generator)
        if token == eos:
            stopped = "eos"
            break
        new.append(token)
        ids = torch.cat([ids, torch.tensor([[token]], device=device)], dim=1)
        text = tokenizer.decode(new)
        if any(stop in text for stop in stop_sequences):
            stopped = "stop"
            break
    model.train(was_training)
    return Generation(new, text, stopped)


def generate_response(
    model: nn.Module,
    tokenizer: Tokenizer,
    style: Style,
    record: Record | dict[str, Any],
    *,
    special_tokens: SpecialTokensMode | None = None,
    max_new_tokens: int = 64,
    **options: object,
) -> str:
    """The response ``model`` gives to ``record`` in ``style``: generated, stopped and extracted.

    The prompt is encoded as training examples are, so the model sees the first ids of what it was trained
    on: in the tokenizer's own special-token mode (see :func:`tokenizer_mode`), which ``special_tokens`` may
    repeat but not contradict. ``options`` go to :func:`generate` (e.g. ``temperature``, ``top_k``, ``seed``,
    ``context_length``).
    """
    record = to_record(record, require_output=False)
    mode = tokenizer_mode(tokenizer, style)
    if special_tokens is not None and special_tokens != mode and style.special_tokens:
        raise TokenizerError(
            f"special_tokens={special_tokens!r} contradicts the tokenizer {tokenizer.name!r}, which encodes the "
            f"markup of style {style.name!r} in {mode!r} mode; leave special_tokens out, or build the tokenizer "
            f"in that mode (get_tokenizer(..., special_tokens=style.special_tokens) for 'extend')")
    prompt = encode_generation_prompt(style, record, tokenizer, special_tokens=mode)
    generation = generate(
        model,
        tokenizer,
        prompt,
        max_new_tokens=max_new_tokens,
        stop_sequences=style.stop_sequences,
        **options,  # type: ignore[arg-type]
    )
    logger.debug("generated %d tokens (%s)", len(generation.ids), generation.stopped)
    return style.extract_response(generation.text)
