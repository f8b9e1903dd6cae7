"""Mistral instruct v0.1 / v0.2, as the ``chat_template`` of mistralai/Mistral-7B-Instruct-v0.1 writes it::

    <s> [INST] {system}

    {user} [/INST] {assistant}</s> [INST] {user} [/INST]

The system prompt is folded into the first user turn; text is written as given (no stripping); no default
system prompt. The generation prompt ends with ``[/INST]``; the space before the answer belongs to it.
"""

from promptstyles import ChatStyle

__all__ = ["MistralStyle"]


class MistralStyle(ChatStyle):
    name = "mistral"
    description = "Mistral instruct v0.1/v0.2: <s> [INST] ... [/INST] ...</s>"
    special_tokens = ("<s>", "</s>")
    bos_token = "<s>"
    user_prefix = " [INST] "
    response_header, response_lead, response_end = " [/INST]", " ", "</s>"
    system_turn = "first_user"
    alternate = True
    stops = ("</s>", "[INST]")
