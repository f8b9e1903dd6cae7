"""Vicuna v1.1, as FastChat's ``vicuna_v1.1`` conversation writes it (the models ship no chat template)::

    {system} USER: {user} ASSISTANT: {assistant}</s>USER: {user} ASSISTANT:

The system sentence defaults to FastChat's; ``system=""`` writes an empty one (the prompt then starts with
a space, as FastChat's does). Turns must alternate. No BOS text (the tokenizer adds ``<s>``).
"""

from promptstyles import ChatStyle

__all__ = ["VicunaStyle"]


class VicunaStyle(ChatStyle):
    name = "vicuna"
    description = "Vicuna v1.1: {system} USER: ... ASSISTANT: ...</s>"
    special_tokens = ("</s>",)
    default_system = (
        "A chat between a curious user and an artificial intelligence assistant. "
        "The assistant gives helpful, detailed, and polite answers to the user's questions."
    )
    system_suffix = " "
    user_prefix, user_suffix = "USER: ", " "
    response_header, response_lead, response_end = "ASSISTANT:", " ", "</s>"
    system_required = True
    alternate = True
    stops = ("</s>", "USER:")
