"""The default records the conformance kit renders: the shapes of data that break styles in practice.

Each record has a label, used in failure lines, so a plugin author sees which kind of data failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Record, to_record
from ..styles._base import Part, Style

__all__ = ["Case", "default_records", "style_markers"]


@dataclass(frozen=True)
class Case:
    """A record to check and its label; ``optional`` records may be refused by a style with a ``StyleError``."""

    label: str
    record: Record
    optional: bool = False


def style_markers(style: Style) -> tuple[str, ...]:
    """The strings a style writes as markup: special tokens, stop sequences and its headers (stripped)."""
    probe = to_record({"instruction": "Name a colour.", "input": "Any.", "output": "Red."})
    markup: list[str] = [*style.special_tokens, *style.stop_sequences]
    try:
        parts: list[Part] = style.parts(probe)
    except Exception:  # a style that cannot render the probe fails the "renders" check instead
        parts = []
    markup += [part.text.strip() for part in parts if part.markup]
    return tuple(marker for marker in dict.fromkeys(markup) if marker)


def default_records(style: Style) -> list[Case]:
    """The built-in battery: instruction with and without input, unicode, whitespace-only input, long text,
    the style's own markers inside record text, and conversations (one with a whitespace-only message, one
    with a system prompt, which a style may refuse) when the style renders them."""
    markers = " ".join(style_markers(style))
    long_text = " ".join(f"Sentence number {n} of a long instruction." for n in range(400))
    cases = [
        Case("instruction", to_record({"instruction": "Name a primary colour.", "output": "Red."})),
        Case("instruction+input", to_record({"instruction": "Translate to French.", "input": "Good morning.",
                                             "output": "Bonjour."})),
        Case("unicode", to_record({"instruction": "Traduis « café » en 日本語 👩\u200d💻", "input": "Ça va? ½ ≠ ²",
                                   "output": "コーヒー ☕ \u2014 Cafe\u0301."})),
        Case("whitespace-only input", to_record({"instruction": "Say hello.", "input": " \t\n ",
                                                 "output": "Hello."})),
        Case("long text", to_record({"instruction": long_text, "output": long_text.replace("instruction",
                                                                                            "answer")})),
        Case("markers in text", to_record({"instruction": f"Explain {markers} please.", "input": markers,
                                           "output": f"They are {markers} indeed."})),
    ]
    if style.supports_conversations:
        turns = [("user", "Hi there."), ("assistant", "Hello! How can I help?"), ("user", "Add 2 and 3."),
                 ("assistant", "5.")]
        cases.append(Case("conversation", _conversation(turns)))
        cases.append(Case("whitespace-only message", _conversation([("user", " \n\t "), ("assistant", "Ok.")])))
        cases.append(Case("conversation with system", _conversation([("system", "Be brief."), *turns]),
                          optional=True))
    return cases


def _conversation(turns: list[tuple[str, str]]) -> Record:
    return to_record({"messages": [{"role": role, "content": content} for role, content in turns]})
