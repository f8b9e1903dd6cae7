"""DeepSeek LLM chat, as the ``chat_template`` of deepseek-ai/deepseek-llm-7b-chat writes it::

    <｜begin▁of▁sentence｜>{system}

    User: {user}

    Assistant: {assistant}<｜end▁of▁sentence｜>User: {user}

    Assistant:

(the bars and the ``▁`` in the two special tokens are the full-width and block characters DeepSeek uses).
Text is written as given (no trimming) and there is no default system prompt. The generation prompt ends
with ``Assistant:``; the space before the answer belongs to the answer.
"""

# ruff: noqa: RUF001, RUF002  (the full-width bars are DeepSeek's real token text)

from promptstyles import ChatStyle

__all__ = ["DeepSeekStyle"]


class DeepSeekStyle(ChatStyle):
    name = "deepseek"
    description = "DeepSeek LLM chat: User: ...\\n\\nAssistant: ...<｜end▁of▁sentence｜>"
    special_tokens = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
    bos_token = "<｜begin▁of▁sentence｜>"
    system_suffix = "\n\n"
    user_prefix, user_suffix = "User: ", "\n\n"
    response_header, response_lead, response_end = "Assistant:", " ", "<｜end▁of▁sentence｜>"
    stops = ("<｜end▁of▁sentence｜>", "User:")
