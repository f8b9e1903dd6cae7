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

from promptstyles import ChatStyle, Turn

__all__ = ["Llama2Style"]


class Llama2Style(ChatStyle):
    name = "llama2"
    description = "Llama-2 chat: <s>[INST] <<SYS>>...<</SYS>> ... [/INST] ... </s>"
    special_tokens = ("<s>", "</s>")
    bos_token = "<s>"
    user_prefix = "[INST] "
    response_header, response_lead, response_end = " [/INST]", " ", " </s>"
    system_turn = "first_user"
    fold_template = ("<<SYS>>\n", "\n<</SYS>>\n\n")
    alternate = True
    strip_roles = frozenset({"user", "assistant"})
    stops = ("</s>", "[INST]")

    def user_turn_prefix(self, *, first: bool) -> str:
        return self.user_prefix if first else self.bos_token + self.user_prefix

    def content(self, turn: Turn, *, folded: bool = False):
        if folded:
            return turn.trimmed(left=False)
        return super().content(turn)
