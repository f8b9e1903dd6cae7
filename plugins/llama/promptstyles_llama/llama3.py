"""Llama-3 instruct, as the ``chat_template`` of meta-llama/Meta-Llama-3-8B-Instruct writes it::

    <|begin_of_text|><|start_header_id|>system<|end_header_id|>

    {system}<|eot_id|><|start_header_id|>user<|end_header_id|>

    {user}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

    {assistant}<|eot_id|>

Message text is trimmed; there is no default system prompt (Llama-3.1's template adds a dated preamble:
that is the ``llama3.1`` style).
"""

from promptstyles import ChatStyle

__all__ = ["Llama3Style"]


class Llama3Style(ChatStyle):
    name = "llama3"
    description = "Llama-3 instruct: <|start_header_id|>role<|end_header_id|>\\n\\n ... <|eot_id|>"
    special_tokens = ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
    bos_token = "<|begin_of_text|>"
    system_prefix, system_suffix = "<|start_header_id|>system<|end_header_id|>\n\n", "<|eot_id|>"
    user_prefix, user_suffix = "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"
    response_header, response_end = "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"
    strip_roles = frozenset({"system", "user", "assistant"})
    stops = ("<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>")
