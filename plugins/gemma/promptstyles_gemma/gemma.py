"""Gemma and Gemma-2 instruct, as the ``chat_template`` of google/gemma-7b-it (and gemma-2-9b-it) writes it::

    <bos><start_of_turn>user
    {user}<end_of_turn>
    <start_of_turn>model
    {assistant}<end_of_turn>

Message text is trimmed; turns must alternate. The template has no system role and refuses a system
message, and so does this style (use ``gemma3`` to fold a system prompt into the first user turn).
"""

from promptstyles import ChatStyle

__all__ = ["GemmaStyle"]


class GemmaStyle(ChatStyle):
    name = "gemma"
    description = "Gemma / Gemma-2 instruct: <start_of_turn>user|model\\n ... <end_of_turn>"
    special_tokens = ("<bos>", "<start_of_turn>", "<end_of_turn>")
    bos_token = "<bos>"
    user_prefix, user_suffix = "<start_of_turn>user\n", "<end_of_turn>\n"
    response_header, response_end = "<start_of_turn>model\n", "<end_of_turn>\n"
    system_turn = "none"
    alternate = True
    strip_roles = frozenset({"user", "assistant"})
    stops = ("<end_of_turn>", "<eos>", "<start_of_turn>")
