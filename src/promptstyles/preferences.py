"""Preference records: one prompt with a chosen and a rejected completion (DPO, ORPO, reward models), or one
completion labelled desirable or not (KTO).

A pair is normalised into two ordinary records that differ only in their final answer, so any style renders
it with the code it renders instruction data with, and the prompt is the same text in both. The shapes read:

- Alpaca preference data: ``{"instruction", "input", "chosen", "rejected"}`` (the reference book's DPO data);
- TRL's explicit prompt: ``{"prompt", "chosen", "rejected"}``, all strings, or a message list for the prompt
  and a one-message assistant list for each completion;
- TRL's implicit prompt: ``{"chosen", "rejected"}`` as whole conversations whose last assistant turn differs;
- KTO's unpaired ``{"prompt", "completion", "label"}`` (strings or message lists, ``label`` a bool).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RecordError
from .records import Conversation, InstructionRecord, Message, Record, to_record

__all__ = ["LabelledCompletion", "PreferencePair", "is_preference", "to_labelled_completion", "to_preference_pair"]


@dataclass(frozen=True, slots=True)
class PreferencePair:
    """Two records with one prompt: ``chosen`` and ``rejected`` differ only in their final answer."""

    chosen: Record
    rejected: Record


@dataclass(frozen=True, slots=True)
class LabelledCompletion:
    """KTO's unpaired example: a record whose final answer is ``desirable`` or not."""

    record: Record
    desirable: bool


def is_preference(raw: Any) -> bool:
    """Whether a record is a preference pair: one with a ``chosen`` answer (every shape above has one)."""
    return isinstance(raw, PreferencePair) or (isinstance(raw, Mapping) and "chosen" in raw)


def _require(raw: Mapping[str, Any], key: str, *, index: int | None, source: str | None) -> Any:
    if key not in raw or raw[key] is None:
        raise RecordError("missing key", index=index, key=key, source=source)
    return raw[key]


def _conversation(turns: Any, key: str, *, index: int | None, source: str | None) -> Conversation:
    record = to_record({key: turns}, index=index, fields={"messages": key}, source=source)
    assert isinstance(record, Conversation)
    return record


def _answer(value: Any, key: str, *, index: int | None, source: str | None) -> Message:
    """A completion: a string, or TRL's one-message assistant list."""
    if isinstance(value, str):
        message = Message("assistant", value)
    else:
        messages = _conversation(value, key, index=index, source=source).messages
        if len(messages) != 1 or messages[0].role != "assistant":
            raise RecordError("expected one assistant message as the completion, got roles "
                              + ", ".join(m.role for m in messages), index=index, key=key, source=source)
        message = messages[0]
    if not message.content.strip():
        raise RecordError("the completion is empty; a preference pair needs text to compare", index=index, key=key,
                          source=source)
    return message


def _with_prompt(prompt: Any, answer: Message, *, index: int | None, source: str | None) -> Record:
    """The record a style renders: a text prompt becomes an instruction, a message list a conversation."""
    if isinstance(prompt, str):
        if not prompt.strip():
            raise RecordError("prompt is empty", index=index, key="prompt", source=source)
        return InstructionRecord(prompt, "", answer.content)
    return Conversation((*_conversation(prompt, "prompt", index=index, source=source).messages, answer))


def _implicit(raw: Mapping[str, Any], *, index: int | None, source: str | None) -> PreferencePair:
    """Whole conversations that share every message but the last assistant turn (TRL's implicit prompt)."""
    if isinstance(raw["chosen"], str) or isinstance(raw["rejected"], str):
        raise RecordError("text completions need a prompt: give the 'prompt' key (or 'instruction'), or give "
                          "'chosen' and 'rejected' as whole conversations", index=index, key="prompt", source=source)
    chosen = _conversation(raw["chosen"], "chosen", index=index, source=source).messages
    rejected = _conversation(_require(raw, "rejected", index=index, source=source), "rejected", index=index,
                             source=source).messages
    for key, messages in (("chosen", chosen), ("rejected", rejected)):
        if len(messages) < 2 or messages[-1].role != "assistant":
            raise RecordError("expected a conversation that ends with the assistant turn being compared", index=index,
                              key=key, source=source)
    if chosen[:-1] != rejected[:-1]:
        at = next((i for i, (a, b) in enumerate(zip(chosen, rejected, strict=False)) if a != b),
                  min(len(chosen), len(rejected)) - 1)
        raise RecordError(f"chosen and rejected differ at message {at}, before their last assistant turn; a pair "
                          "shares its prompt and differs only in the final answer", index=index, key="rejected",
                          source=source)
    for key, messages in (("chosen", chosen), ("rejected", rejected)):
        _answer([{"role": "assistant", "content": messages[-1].content}], key, index=index, source=source)
    return PreferencePair(Conversation(chosen), Conversation(rejected))


def to_preference_pair(raw: Any, *, index: int | None = None, source: str | None = None) -> PreferencePair:
    """Normalise one preference record (any shape in the module docstring) into a :class:`PreferencePair`.

    A pair whose chosen equals its rejected, a missing key or an empty completion is a :class:`RecordError`
    naming the record and key: such a pair has nothing to learn from.
    """
    if isinstance(raw, PreferencePair):
        pair = raw
    elif not isinstance(raw, Mapping):
        raise RecordError(f"expected a JSON object, got {type(raw).__name__}", index=index, source=source)
    elif "instruction" in raw:
        chosen = to_record(raw, index=index, source=source, fields={"output": "chosen"})
        rejected = to_record(raw, index=index, source=source, fields={"output": "rejected"})
        pair = PreferencePair(chosen, rejected)
    else:
        _require(raw, "chosen", index=index, source=source)
        if "prompt" not in raw:
            pair = _implicit(raw, index=index, source=source)
        else:
            answers = [_answer(_require(raw, key, index=index, source=source), key, index=index, source=source)
                       for key in ("chosen", "rejected")]
            chosen, rejected = (_with_prompt(raw["prompt"], answer, index=index, source=source) for answer in answers)
            pair = PreferencePair(chosen, rejected)
    if pair.chosen == pair.rejected:
        raise RecordError("'rejected' equals 'chosen'; a preference pair needs two different completions",
                          index=index, key="rejected", source=source)
    return pair


def to_labelled_completion(raw: Any, *, index: int | None = None, source: str | None = None) -> LabelledCompletion:
    """Normalise KTO's ``{"prompt", "completion", "label"}`` into a :class:`LabelledCompletion`."""
    if isinstance(raw, LabelledCompletion):
        return raw
    if not isinstance(raw, Mapping):
        raise RecordError(f"expected a JSON object, got {type(raw).__name__}", index=index, source=source)
    label = _require(raw, "label", index=index, source=source)
    if not isinstance(label, bool):
        raise RecordError(f"expected true or false, got {label!r:.40}", index=index, key="label", source=source)
    answer = _answer(_require(raw, "completion", index=index, source=source), "completion", index=index,
                     source=source)
    return LabelledCompletion(_with_prompt(_require(raw, "prompt", index=index, source=source), answer, index=index,
                                           source=source), label)
