"""A record as the messages and tools a model's own chat template takes (the OpenAI / Hugging Face shape).

The inverse of reading such messages into a record: what ``apply_chat_template(messages, tools=...)`` is given,
so a style can be compared with the template on the same conversation, tool calls and reasoning included.
"""

from __future__ import annotations

from typing import Any

from .records import Conversation, Message

__all__ = ["as_chat_messages"]


def as_chat_messages(record: Conversation) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """``(messages, tools)``; ``tools`` is None when the record declares none. (An instruction record becomes a
    conversation first: :func:`promptstyles.check.as_messages`.)"""
    return [_message(message) for message in record.messages], [dict(tool) for tool in record.tools] or None


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.reasoning is not None:
        out["reasoning_content"] = message.reasoning
    if message.tool_calls:
        out["tool_calls"] = [
            {**({"id": call.id} if call.id is not None else {}), "type": "function", "function": {
                "name": call.name,
                "arguments": call.arguments_text if call.arguments_text is not None else dict(call.arguments)}}
            for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out
