"""Declarative styles: a chat format written in YAML (or a dict) instead of a plugin.

A ``style:`` mapping in a config becomes a :class:`~promptstyles.ChatStyle` with the markup it lists, so a
new format can be tried without writing Python. For example, Phi-3's format::

    style:
      name: my-phi3
      special_tokens: ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
      system: {prefix: "<|system|>\\n", suffix: "<|end|>\\n"}
      user: {prefix: "<|user|>\\n", suffix: "<|end|>\\n"}
      assistant: {header: "<|assistant|>\\n", end: "<|end|>\\n"}
      stop: ["<|end|>"]

Record text and markup stay separate parts, and masks, truncation and special tokens work as for any
registered style.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .._schema import Invalid
from .chat import ChatStyle

__all__ = ["AssistantMarkup", "DeclarativeStyle", "TurnMarkup", "build_declarative_style"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class TurnMarkup:
    """Markup around the text of a system or user turn."""

    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class AssistantMarkup:
    """Markup of an assistant turn: ``header`` opens it (and ends the generation prompt), ``end`` closes it."""

    header: str = ""
    end: str = ""
    lead: str = ""
    """Markup before the answer that the generation prompt leaves out (e.g. a space after ``[/INST]``)."""


@dataclass(frozen=True)
class DeclarativeStyle:
    """A chat format described by its markup strings; see the module docstring."""

    name: str
    description: str = ""
    bos: str = ""
    system: TurnMarkup = field(default_factory=TurnMarkup)
    user: TurnMarkup = field(default_factory=TurnMarkup)
    assistant: AssistantMarkup = field(default_factory=AssistantMarkup)
    closing: str = ""
    default_system: str | None = None
    system_turn: Literal["own", "first_user", "last_user", "none"] = "own"
    alternate: bool = False
    special_tokens: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise Invalid("name", f"use lowercase letters, digits, '.', '_' and '-', got {self.name!r}")
        if not self.assistant.header and not self.assistant.lead:
            raise Invalid("assistant", "give assistant.header: the markup that opens an answer")


def build_declarative_style(spec: DeclarativeStyle, **options: Any) -> ChatStyle:
    """A style instance from a declarative description; ``options`` as for any chat style."""
    attributes = {
        "name": spec.name,
        "description": spec.description or f"declarative style {spec.name!r}",
        "special_tokens": tuple(spec.special_tokens),
        "system_prefix": spec.system.prefix, "system_suffix": spec.system.suffix,
        "user_prefix": spec.user.prefix, "user_suffix": spec.user.suffix,
        "response_header": spec.assistant.header, "response_lead": spec.assistant.lead,
        "response_end": spec.assistant.end, "closing": spec.closing, "bos_token": spec.bos,
        "default_system": spec.default_system, "system_turn": spec.system_turn, "alternate": spec.alternate,
        "stops": tuple(spec.stop),
        "declaration": asdict(spec),
        "__module__": __name__,
    }
    style_class = type(f"Declared[{spec.name}]", (ChatStyle,), attributes)
    return style_class(**options)
