"""``example-chat``: a small chat format written in Python, rendered as::

    <|system|>{system}<|end|>
    <|user|>{user}<|end|>
    <|assistant|>{assistant}<|end|>

The system turn only when there is a system prompt. Every piece of markup that touches record text is a
special token, so a tokenizer never merges the text with its markup.
"""

from promptstyles import ChatStyle

__all__ = ["ExampleChatStyle"]


class ExampleChatStyle(ChatStyle):
    name = "example-chat"
    description = "Example chat format: <|user|> ... <|end|> <|assistant|> ... <|end|>"
    special_tokens = ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
    system_prefix, system_suffix = "<|system|>", "<|end|>\n"
    user_prefix, user_suffix = "<|user|>", "<|end|>\n"
    response_header, response_end = "<|assistant|>", "<|end|>\n"
    stops = ("<|end|>", "<|user|>")
