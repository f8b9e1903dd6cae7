"""Cohere Command-R, as the default ``chat_template`` of CohereForAI/c4ai-command-r-v01 (and -plus) writes it::

    <BOS_TOKEN><|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>{system}<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|USER_TOKEN|>{user}<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>{assistant}<|END_OF_TURN_TOKEN|>

No newlines between turns. User and assistant text is stripped, the system prompt is written as given;
turns must alternate. There is no default system prompt (the template's "You are Command-R, ..." branch
is switched off). The template's other variants (``tool_use``, ``rag``) are not this style.
"""

from promptstyles import ChatStyle

__all__ = ["CommandRStyle"]


class CommandRStyle(ChatStyle):
    name = "command-r"
    description = "Cohere Command-R: <|START_OF_TURN_TOKEN|><|USER_TOKEN|> ... <|END_OF_TURN_TOKEN|>"
    special_tokens = ("<BOS_TOKEN>", "<|START_OF_TURN_TOKEN|>", "<|SYSTEM_TOKEN|>", "<|USER_TOKEN|>",
                      "<|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>")
    bos_token = "<BOS_TOKEN>"
    system_prefix, system_suffix = "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>", "<|END_OF_TURN_TOKEN|>"
    user_prefix, user_suffix = "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<|END_OF_TURN_TOKEN|>"
    response_header, response_end = "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>"
    alternate = True
    strip_roles = frozenset({"user", "assistant"})
    stops = ("<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|>")
