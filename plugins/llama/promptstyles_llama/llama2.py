"""Llama-2 chat, as the ``chat_template`` of meta-llama/Llama-2-7b-chat-hf writes it::

    <s>[INST] <<SYS>>
    {system}
    <</SYS>>

    {user} [/INST] {assistant} </s><s>[INST] {user} [/INST]

The system prompt is folded into the first ``[INST]``; every user turn starts with ``<s>`` (``bos=False``
leaves out only the first); message text is stripped (with a system prompt, the first user message only on
the right, as the template strips the folded text as a whole). There is no default system prompt. The
generation prompt ends with ``[/INST]``; the space before the answer belongs to the answer.
"""

from promptstyles import ChatStyle

__all__ = ["Llama2Style"]


class Llama2Style(ChatStyle):
    name = "llama2"
    description = "Llama-2 chat: <s>[INST] <<SYS>>...<</SYS>> ... [/INST] ... </s>"
    special_tokens = ("<s>", "</s>")
    bos_token = "<s>"
    user_prefix, later_user_prefix = "[INST] ", "<s>[INST] "
    response_header, response_lead, response_end = " [/INST]", " ", " </s>"
    system_turn = "first_user"
    fold_template = ("<<SYS>>\n", "\n<</SYS>>\n\n")
    alternate = True
    strip_roles = frozenset({"user", "assistant"})
    fold_strip = "right"
    stops = ("</s>", "[INST]")
