"""One run of a comparison: a style's static costs, its fine-tuning, and its generated responses.

Every number comes from the data engine's own loaders and collator (the batches a user would train on),
so the comparison measures the engine rather than a second implementation of its rules.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.build.encoding import encode_generation_prompt
from ..data.tokenizers.protocol import Tokenizer
from ..errors import ConfigError, DataError, ModelError
from ..pipeline import DataLoaders, PreparedData, build_dataloaders
from ..records import Conversation, InstructionRecord, Record
from .checkpoints import load_gpt2_safetensors, load_state_dict_file
from .config import ModelSpec
from .generate import generate
from .hf_model import hf_model_factory
from .leaks import MarkupCheck
from .losses import evaluate
from .metrics import summarise_generations
from .model import GPT, resize_token_embeddings
from .paired import example_losses
from .stats import static_stats
from .train import Progress, TrainConfig, train

__all__ = [
    "bare_lengths",
    "check_loaders",
    "fine_tune",
    "generate_responses",
    "measure_static",
    "model_factory",
    "record_texts",
    "reference_text",
]

logger = logging.getLogger(__name__)

Tick = Callable[[int, int], None]
"""Progress of a long step: ``(done, total)``."""

_CHUNK = 256


def record_texts(record: Record) -> list[str]:
    """The record's own text: instruction, input and output, or every message's content."""
    if isinstance(record, InstructionRecord):
        return [text for text in (record.instruction, record.input, record.output) if text]
    return [message.content for message in record.messages if message.content]


def bare_lengths(records: Sequence[Record], tokenizer: Tokenizer) -> list[int]:
    """Tokens of each record's own text, each field encoded alone as ordinary text (no template)."""
    texts = [record_texts(record) for record in records]
    encoded = iter(tokenizer.encode_batch([t for fields in texts for t in fields]))
    return [sum(len(next(encoded)) for _ in fields) for fields in texts]


def reference_text(record: Record) -> str:
    """The answer a generated response is scored against: the output, or the final assistant message."""
    if isinstance(record, Conversation):
        last = record.messages[-1]
        return last.content if last.role == "assistant" else ""
    return record.output


def measure_static(data: PreparedData) -> tuple[dict[str, Any], list[int]]:
    """The ``static`` results of a style and the tokens of every example, with no model.

    Lengths, overhead, supervised targets and truncation are over all examples; padding and compute over
    one epoch of the training loader as configured (batch size, order, drop_last).
    """
    loaders = build_dataloaders(data.config, data=data)
    dataset, collator = data.dataset, loaders.example_collator
    supervised: list[int] = []
    for first in range(0, len(dataset), _CHUNK):
        indices = np.arange(first, min(first + _CHUNK, len(dataset)))
        batch = collator(dataset.batch(indices))
        supervised += (batch.targets != collator.ignore_index).sum(dim=1).tolist()
    batches = loaders.batch_shapes("train")
    lengths = dataset.lengths.tolist()
    stats = static_stats(lengths, bare_lengths(data.records, data.tokenizer), supervised, batches,
                         max_length=data.config.collate.allowed_max_length)
    return stats, lengths


def model_factory(spec: ModelSpec, seed: int, device: str = "cpu") -> Callable[[int], nn.Module]:
    """A function giving a fresh copy of the same initial model, grown to a vocabulary size if needed:
    our GPT, or a Hugging Face causal LM (:mod:`promptstyles.experiments.hf_model`) placed on ``device``."""
    if spec.is_hf:
        return hf_model_factory(spec, seed, device)
    config = spec.gpt_config()
    fmt = spec.checkpoint_format
    if fmt == "safetensors":
        base = load_gpt2_safetensors(spec.checkpoint, config)  # type: ignore[arg-type]
    elif fmt == "state_dict":
        base = load_state_dict_file(spec.checkpoint, config)  # type: ignore[arg-type]
    else:
        torch.manual_seed(seed)
        base = GPT(config)
    logger.info("model: %s, %.1fM parameters", spec.checkpoint or spec.preset, base.num_parameters() / 1e6)

    def make(vocab_size: int) -> GPT:
        model = copy.deepcopy(base)
        if vocab_size > model.config.vocab_size:
            resize_token_embeddings(model, vocab_size)
        return model

    return make


def _shape(model: nn.Module) -> Any:
    """The model's ``config``: ``vocab_size`` and ``context_length`` (a GPTConfig, or an HF model's ModelShape)."""
    return model.config


def _check_fits(model: nn.Module, loaders: DataLoaders) -> None:
    context = int(_shape(model).context_length)
    limit = loaders.collator.allowed_max_length
    longest = int(loaders.data.dataset.lengths.max())
    if (limit or longest) > context:
        raise ConfigError(
            f"examples of up to {longest} tokens do not fit the model's context of {context}; set "
            f"collate.allowed_max_length to {context} or less, or the model's context higher"
            " (model.config.context_length, or max_position_embeddings in model.init)",
            path="base.collate.allowed_max_length",
        )
    check_loaders(loaders)


def check_loaders(loaders: DataLoaders, *, generation_records: int = 0) -> None:
    """Refuse data too small to measure anything: no training step, no scored validation token, or
    responses requested from an empty test split. Each error says which setting to change.

    ``loaders`` must carry response masks (``build_dataloaders(..., response_mask=True)``).
    """
    data, loader = loaders.data, loaders.data.config.loader
    sizes, split = data.sizes, data.config.data.split
    counts = f"{len(data.dataset)} records split {sizes['train']}/{sizes['val']}/{sizes['test']} (train/val/test)"
    if len(loaders.train) == 0:
        raise ConfigError(
            f"{counts}: {sizes['train']} training examples make no batch of loader.batch_size={loader.batch_size}"
            f"{' (loader.drop_last drops a short batch)' if loader.drop_last else ''}, so no training step"
            f" would run; lower loader.batch_size to {max(sizes['train'] // loader.placement[1], 1)} or less, add"
            " records, or raise data.split.train", path="base.loader.batch_size")
    if sizes["val"] == 0:
        raise ConfigError(f"{counts}: the validation split is empty; add records or lower data.split.train"
                          f" ({split.train}) or data.split.test ({split.test})", path="base.data.split")
    ignore = loaders.collator.ignore_index
    if not any(bool((batch.response_mask & (batch.targets != ignore)).any()) for batch in loaders.val):
        raise DataError(f"{counts}: no validation example keeps a response token after truncation, so no"
                        " loss can be scored; raise collate.allowed_max_length or add records")
    if generation_records and sizes["test"] == 0:
        raise ConfigError(
            f"{counts}: generation.records={generation_records} asks for responses but the test split is"
            f" empty; raise data.split.test ({split.test}), add records, or set generation.records: 0",
            path="generation.records")


def fine_tune(
    model: nn.Module, loaders: DataLoaders, config: TrainConfig, *, progress: Tick | None = None
) -> dict[str, Any]:
    """Train ``model`` in place; the ``training`` results with the headline response-text loss.

    The final losses cover the whole validation split (``eval_batches`` limits only the curve's
    evaluations). ``val_examples`` holds each validation example's summed response-text loss and scored tokens, by
    record index, for the paired bootstrap of the verdict (:mod:`promptstyles.experiments.paired`).
    """
    if not loaders.example_collator.response_mask:
        raise ValueError("fine_tune scores the response text: build the loaders with response_mask=True")
    rows = int(_shape(model).vocab_size)
    if rows < loaders.tokenizer.vocab_size:
        raise ModelError(f"the model has {rows} token rows, the tokenizer "
                         f"{loaders.tokenizer.vocab_size} ids")
    _check_fits(model, loaders)

    def step(event: Progress) -> None:
        if progress is not None:
            progress(event.step, event.total_steps)

    ignore_index = loaders.collator.ignore_index
    result = train(model, loaders.train, loaders.val, config, progress=step, ignore_index=ignore_index)
    final = result.final
    if config.eval_batches is not None:  # the curve may sample the validation split; the result covers it all
        final = evaluate(model, loaders.val, device=config.device, ignore_index=ignore_index,
                         precision=config.precision)
    nll, scored = example_losses(model, loaders.val, ignore_index=ignore_index, device=config.device)
    return {
        "val_response_loss": None if final is None else final.response_loss,
        "val_loss": None if final is None else final.loss,
        "val_response_tokens": None if final is None else final.response_tokens,
        "val_tokens": None if final is None else final.tokens,
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "seconds": result.seconds,
        "curve": result.to_dict()["curve"],
        "val_examples": {"records": loaders.datasets["val"].positions.tolist(), "nll": nll, "tokens": scored},
    }


def _prompt_ids(data: PreparedData, record: Record) -> list[int]:
    """The generation prompt's ids, encoded the way training examples are (markup specials only)."""
    return encode_generation_prompt(data.style, record, data.tokenizer,
                                    special_tokens=data.config.tokenizer.special_tokens)


def generate_responses(
    model: nn.Module, data: PreparedData, count: int, max_new_tokens: int, *, progress: Tick | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Greedy responses to the first ``count`` test records, scored against their reference outputs.

    Returns the ``generation`` results (:func:`~promptstyles.experiments.metrics.summarise_generations`:
    token F1, ROUGE-L, stop and leak rates, lengths, per-example columns) and one entry per record.
    """
    test = data.splits["test"]
    positions = [int(p) for p in test.positions[:count]]
    style, tokenizer = data.style, data.tokenizer
    markup = MarkupCheck.of(style)
    entries = []
    for done, position in enumerate(positions, start=1):
        record = data.records[position]
        generation = generate(model, tokenizer, _prompt_ids(data, record), max_new_tokens=max_new_tokens,
                              stop_sequences=style.stop_sequences, context_length=_shape(model).context_length)
        ended, leak = markup.judge(generation.text, generation.stopped)
        entries.append({"record": position, "prompt": style.generation_prompt(record),
                        "response": style.extract_response(generation.text), "reference": reference_text(record),
                        "stopped": generation.stopped, "ended": ended, "leak": leak})
        if progress is not None:
            progress(done, len(positions))
    scores = summarise_generations(entries)
    for index, entry in enumerate(entries):
        entry |= {key: scores["examples"][key][index] for key in ("token_f1", "rouge_l", "words")}
    return scores, entries
