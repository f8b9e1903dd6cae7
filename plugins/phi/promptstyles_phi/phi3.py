"""Phi-3 mini instruct, as the ``chat_template`` of microsoft/Phi-3-mini-4k-instruct writes it::

    <|system|>
    {system}<|end|>
    <|user|>
    {user}<|end|>
    <|assistant|>
    {assistant}<|end|>
    <|endoftext|>

No default system prompt and no BOS text (the tokenizer adds ``<s>``). The template ends a training
example with ``<|endoftext|>``; the generation prompt ends with ``<|assistant|>\\n``. Phi-3.5 mini uses the
same format (its template only skips an empty system message, which this style writes).
"""

from promptstyles import ChatStyle

__all__ = ["Phi3Style"]


class Phi3Style(ChatStyle):
    name = "phi3"
    description = "Phi-3 / Phi-3.5 mini instruct: <|user|> ... <|end|> <|assistant|> ... <|end|>"
    special_tokens = ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>")
    system_prefix, system_suffix = "<|system|>\n", "<|end|>\n"
    user_prefix, user_suffix = "<|user|>\n", "<|end|>\n"
    response_header, response_end = "<|assistant|>\n", "<|end|>\n"
    closing = "<|endoftext|>"
    stops = ("<|end|>", "<|endoftext|>", "<|user|>")
