"""``data.turns: per_assistant``: a conversation as one example per assistant turn.

Some templates render earlier turns differently from the last one (Qwen3 drops the reasoning of turns before
the last user message; gpt-oss ends earlier turns with ``<|end|>`` and drops their analysis). Trained whole, such
a conversation teaches each turn as the template shows it in the full conversation, so earlier turns' reasoning
is never trained. Expanded, example ``k`` is the conversation up to its ``k``-th assistant turn, rendered as the
template renders that conversation, and only that final turn is trained (earlier turns are context): every turn,
its reasoning included, is trained exactly once, as the model saw it when it wrote that turn. The cost is tokens:
a conversation of ``n`` assistant turns is rendered ``n`` times, so its prompt tokens are stored and run about
``n / 2`` times over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .records import Conversation, Record

__all__ = ["TURNS", "per_assistant"]

TURNS = ("whole", "per_assistant")


def per_assistant(records: Iterable[Record]) -> list[Record]:
    """One example per assistant turn of each conversation (instruction records pass through)."""
    out: list[Record] = []
    for record in records:
        if not isinstance(record, Conversation):
            out.append(record)
            continue
        ends = [k + 1 for k, message in enumerate(record.messages) if message.role == "assistant"]
        out += [replace(record, messages=record.messages[:end], final_turn_only=True) for end in ends]
    return out
