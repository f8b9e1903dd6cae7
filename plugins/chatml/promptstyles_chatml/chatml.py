"""ChatML, as the common template writes it (e.g. ``'<|im_start|>' + role + '\\n' + content + '<|im_end|>\\n'``)::

    <|im_start|>system
    {system}<|im_end|>
    <|im_start|>user
    {user}<|im_end|>
    <|im_start|>assistant
    {assistant}<|im_end|>

No default system prompt and no BOS text.
"""

from promptstyles import ChatStyle

__all__ = ["ChatMLStyle"]


class ChatMLStyle(ChatStyle):
    name = "chatml"
    description = "ChatML: <|im_start|>role\\n ... <|im_end|>"
    special_tokens = ("<|im_start|>", "<|im_end|>")
    system_prefix, system_suffix = "<|im_start|>system\n", "<|im_end|>\n"
    user_prefix, user_suffix = "<|im_start|>user\n", "<|im_end|>\n"
    response_header, response_end = "<|im_start|>assistant\n", "<|im_end|>\n"
    stops = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
