"""Mistral Nemo instruct (mistralai/Mistral-Nemo-Instruct-2407): Mistral v0.3's format without the spaces::

    <s>[INST]{user}[/INST]{assistant}</s>[INST]{system}

    {user}[/INST]

Control tokens are not followed by a space and answers are written as given (not trimmed). The system prompt
is folded into the last user message, as for ``mistral-v0.3`` (and with the same known deviation from the
Hugging Face template, which folds it only while a user message is last). Tools, tool calls and tool results
are written as :mod:`.mistral_tools` shows, without the spaces.
"""

from .mistral_v03 import MistralV03Style

__all__ = ["MistralNemoStyle"]


class MistralNemoStyle(MistralV03Style):
    name = "mistral-nemo"
    description = "Mistral Nemo instruct: <s>[INST]...[/INST]...</s>, tools as Mistral v0.3 without spaces"
    user_prefix = "[INST]"
    response_lead = ""
    strip_roles = frozenset()
