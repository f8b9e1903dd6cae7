"""Phi-4, as the ``chat_template`` of microsoft/phi-4 writes it (no newlines between turns)::

    <|im_start|>system<|im_sep|>{system}<|im_end|><|im_start|>user<|im_sep|>{user}<|im_end|><|im_start|>assistant<|im_sep|>{assistant}<|im_end|>

No default system prompt and no BOS text.
"""

from promptstyles import ChatStyle

__all__ = ["Phi4Style"]


class Phi4Style(ChatStyle):
    name = "phi4"
    description = "Phi-4: <|im_start|>role<|im_sep|> ... <|im_end|>"
    special_tokens = ("<|im_start|>", "<|im_sep|>", "<|im_end|>")
    system_prefix, system_suffix = "<|im_start|>system<|im_sep|>", "<|im_end|>"
    user_prefix, user_suffix = "<|im_start|>user<|im_sep|>", "<|im_end|>"
    response_header, response_end = "<|im_start|>assistant<|im_sep|>", "<|im_end|>"
    stops = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
