"""Zephyr-7B-beta, as the ``chat_template`` of HuggingFaceH4/zephyr-7b-beta writes it::

    <|system|>
    {system}</s>
    <|user|>
    {user}</s>
    <|assistant|>
    {assistant}</s>

The tags are plain text for its tokenizer; only ``</s>`` is special. No default system prompt and no BOS
text (the tokenizer adds ``<s>``).
"""

from promptstyles import ChatStyle

__all__ = ["ZephyrStyle"]


class ZephyrStyle(ChatStyle):
    name = "zephyr"
    description = "Zephyr: <|user|>\\n ...</s> <|assistant|>\\n ...</s>"
    special_tokens = ("</s>",)
    system_prefix, system_suffix = "<|system|>\n", "</s>\n"
    user_prefix, user_suffix = "<|user|>\n", "</s>\n"
    response_header, response_end = "<|assistant|>\n", "</s>\n"
    stops = ("</s>", "<|user|>")
