"""Mistral instruct v0.3 (mistralai/Mistral-7B-Instruct-v0.3), with ``[INST]``/``[/INST]`` as control tokens::

    <s>[INST] {user}[/INST] {assistant}</s>[INST] {system}

    {user}[/INST]

The system prompt is folded into the last user message (as mistral-common's v3 tokenizer does; the Hugging
Face template folds it only when a user message is last, which would drop it from training text). The
assistant text is trimmed, user text is not. The space before the answer belongs to the answer.
``known_deviations`` declares the system-prompt case, so ``promptstyles check`` reports it as a known deviation.
Tools, tool calls and tool results are written as :mod:`.mistral_tools` shows.
"""

from types import MappingProxyType

from promptstyles import Part
from promptstyles.generated_calls import ParsedCall
from promptstyles.records import Conversation

from .mistral import MistralStyle
from .mistral_tools import mistral_agent_parts, parse_mistral_calls

__all__ = ["MistralV03Style"]


class MistralV03Style(MistralStyle):
    name = "mistral-v0.3"
    description = "Mistral instruct v0.3: <s>[INST] ...[/INST] ...</s>"
    special_tokens = ("<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_CALLS]",
                      "[TOOL_RESULTS]", "[/TOOL_RESULTS]")
    renders = frozenset({"tools"})
    user_prefix = "[INST] "
    response_header = "[/INST]"
    system_turn = "last_user"
    strip_roles = frozenset({"assistant"})
    known_deviations = MappingProxyType({
        "system prompt": "the official template drops a system prompt unless a user message is last; "
                         "mistral-common keeps it in the last user message",
    })

    def agent_parts(self, record: Conversation, *, generation: bool = False) -> list[Part]:
        return mistral_agent_parts(self, record, generation=generation)

    def parse_tool_calls(self, response: str) -> tuple[ParsedCall, ...] | None:
        return parse_mistral_calls(response)
