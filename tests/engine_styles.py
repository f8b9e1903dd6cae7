"""Small styles defined for engine tests: known markup, special tokens, and multi-turn conversations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shared_paths import MODELS, require

from promptstyles import Conversation, InstructionRecord, Part, PartKind, Style, available_styles, get_style
from promptstyles.styles.alpaca import AlpacaStyle


class TagChat(Style):
    """``<|im_start|>role\\n...<|im_end|>\\n`` turns, like ChatML, with special tokens declared."""

    name = "tagchat"
    description = "ChatML-like test style"
    special_tokens = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
    supports_conversations = True

    def parts(self, record, *, generation=False):
        if isinstance(record, InstructionRecord):
            user = record.instruction + (f"\n{record.input}" if record.input else "")
            messages = [("user", user), ("assistant", record.output)]
        else:
            messages = [(m.role, m.content) for m in record.messages]
        if generation and messages[-1][0] == "assistant":
            messages = messages[:-1]
        parts = []
        for role, content in messages:
            if role == "assistant":
                parts += [Part("<|im_start|>assistant\n", PartKind.RESPONSE_HEADER, True),
                          Part(content, PartKind.RESPONSE), Part("<|im_end|>\n", PartKind.END, True)]
            else:
                kind = PartKind.SYSTEM if role == "system" else PartKind.PROMPT
                parts += [Part(f"<|im_start|>{role}\n", kind, True), Part(content, kind),
                          Part("<|im_end|>\n", kind, True)]
        if generation:
            parts.append(Part("<|im_start|>assistant\n", PartKind.RESPONSE_HEADER, True))
        return parts


def conversation(*turns: tuple[str, str]) -> Conversation:
    from promptstyles import Message

    return Conversation(tuple(Message(role, content) for role, content in turns))


class CloseParen(Style):
    """A header that starts with ``)``: a record ending in ``(`` makes one token straddle the boundary."""

    name = "closeparen"
    description = "test style whose header can merge with the record text"

    def parts(self, record, *, generation=False):
        parts = [Part(record.instruction, PartKind.PROMPT), Part(")\nA: ", PartKind.RESPONSE_HEADER, True)]
        if not generation:
            parts.append(Part(record.output, PartKind.RESPONSE))
        return parts


MODEL_STYLES = {
    "llama-3-8b-instruct": "llama3",
    "qwen2.5-7b-instruct": "qwen2.5",
    "mistral-7b-instruct-v0.3": "mistral-v0.3",
    "phi-3.5-mini-instruct": "phi3",
}
"""Each shared model folder and the bundled style that claims its chat template."""
TOOL_MARKUP = frozenset({"<tool_call>", "</tool_call>", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_CALLS]",
                         "[TOOL_RESULTS]", "[/TOOL_RESULTS]"})
"""Special tokens only tool markup writes (Qwen2.5's, Mistral v0.3's): a declaration of text turns has none."""
REQUIRED_OPTIONS = {"chat-template": {"template": str(MODELS / "llama-3-8b-instruct")}}
"""Options without which a registered style cannot be built, for tests that run every style."""


class Picky(AlpacaStyle):
    """Alpaca that cannot render the instruction "boom" (importable by worker processes)."""

    name = "picky"

    def parts(self, record, *, generation=False):
        if record.instruction == "boom":
            raise ValueError("no booms")
        return super().parts(record, generation=generation)


def registered_style(name: str) -> Style:
    """The registered style ``name``, built with the options it requires (none for most); a test skips when
    a shared folder it requires is missing."""
    options = REQUIRED_OPTIONS.get(name, {})
    if "template" in options:
        require(Path(options["template"]))
    return get_style(name, **options)


def styles_where(test: Callable[[Style], bool]) -> list[str]:
    """The registered styles that pass ``test``, for parametrizing; one whose shared folder is missing is kept, so
    its test skips naming the folder."""
    missing = {name for name, options in REQUIRED_OPTIONS.items() if not Path(options["template"]).exists()}
    return [name for name in available_styles() if name in missing or test(registered_style(name))]
