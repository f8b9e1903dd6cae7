"""The style API: a style turns a record into ordered, labelled parts.

Labelled parts are what let one engine mask every style exactly (targets follow part boundaries, never a
search for a marker in token space), and what keep record text apart from the style's own markup, so text
inside a record can never become a special token.
"""

from __future__ import annotations

import enum
import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, NamedTuple

from ..errors import StyleError
from ..generated_calls import ParsedCall
from ..records import Conversation, InstructionRecord, Message, Record, to_record
from ._accepts import check_options
from ._renders import refuse_unrenderable

__all__ = ["Part", "PartKind", "Rendered", "Style"]


class PartKind(str, enum.Enum):
    """What a piece of rendered text is, which is all the engine needs to decide what to train."""

    SYSTEM = "system"
    """System prompt or preamble, with its markup."""
    PROMPT = "prompt"
    """A user turn (instruction and input), with its markup."""
    RESPONSE_HEADER = "response_header"
    """The markup that opens an assistant turn, e.g. ``"\\n\\n### Response:\\n"`` or ``"<|assistant|>\\n"``."""
    RESPONSE = "response"
    """The assistant's own text."""
    END = "end"
    """Markup closing an assistant turn (e.g. ``"<|end|>\\n"``); trained with the response so a model learns to stop."""
    TOOLS = "tools"
    """Tool definitions (the declared functions) with their markup; never trained."""
    TOOL_CALL = "tool_call"
    """An assistant's tool call, markup and arguments (``"<tool_call>\\n{...}\\n</tool_call>"``); trained."""
    TOOL_RESULT = "tool_result"
    """A tool's output with its markup (``"<tool_response>..."``); never trained."""
    REASONING = "reasoning"
    """An assistant's reasoning with its markup (``"<think>\\n...\\n</think>\\n\\n"``); trained unless
    ``collate.train_reasoning`` is false."""


class Part(NamedTuple):
    """A run of rendered text. ``markup`` is True for text the style wrote (may hold special tokens).

    A named tuple rather than a dataclass: styles make several per record, on the dataset's hot path.
    """

    text: str
    kind: PartKind
    markup: bool = False


def _join(parts: Iterable[Part]) -> str:
    return "".join(part.text for part in parts)


@dataclass(frozen=True)
class Rendered:
    """A rendered example: the parts in order, and the strings users ask for most.

    ``prompt`` is everything before the final assistant turn; ``response`` is that turn: header, text and
    end markup. ``prompt + response == text``, and ``prompt`` + the header is the generation prompt.
    """

    parts: tuple[Part, ...]
    _final_header: int = field(default=-1, repr=False, compare=False)

    @classmethod
    def of(cls, parts: Sequence[Part]) -> Rendered:
        parts = tuple(parts)
        final_header = -1
        for position in range(len(parts) - 1, -1, -1):
            if parts[position].kind is PartKind.RESPONSE_HEADER:
                final_header = position
                break
        return cls(parts, final_header)

    @cached_property
    def text(self) -> str:
        return _join(self.parts)

    @cached_property
    def prompt(self) -> str:
        """Text before the final assistant turn's header (all of it when there is no assistant turn)."""
        if self._final_header < 0:
            return self.text
        return _join(self.parts[: self._final_header])

    @cached_property
    def response(self) -> str:
        """The final assistant turn as trained: header, response text and end markup."""
        if self._final_header < 0:
            return ""
        return _join(self.parts[self._final_header :])

    @cached_property
    def response_text(self) -> str:
        """Only the final assistant turn's own words, without any markup."""
        if self._final_header < 0:
            return ""
        return _join(p for p in self.parts[self._final_header :] if p.kind is PartKind.RESPONSE and not p.markup)


class Style(ABC):
    """Base class of every prompt style.

    A subclass sets ``name`` (lowercase) and ``description``, declares the ``special_tokens`` its markup
    uses, and implements :meth:`parts`. Constructor keyword arguments are the style's options
    (``style_options`` in YAML); the base class records them however the style is built. Everything else
    (text, prompt, generation prompt, response extraction) follows from the parts, so a style cannot make
    training and inference disagree.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    special_tokens: ClassVar[tuple[str, ...]] = ()
    path_options: ClassVar[tuple[str, ...]] = ()
    """Options whose values are file paths: a YAML config reads relative ones from its own folder."""
    """Markup strings that a model's tokenizer treats as single special tokens."""
    supports_conversations: ClassVar[bool] = False
    """Whether the style renders multi-turn conversations (instruction records always work)."""
    renders: ClassVar[frozenset[str]] = frozenset()
    """What a style renders beyond text turns: ``"tools"`` (tool definitions, calls and results) and
    ``"reasoning"``. A record that needs more is refused (see ``_renders.py``), never cut down."""
    template_breaks: ClassVar[Mapping[str, str]] = {}
    """Conformance properties (``promptstyles.testing.PROPERTIES``) that the model's own template breaks in records
    with tool calls, each with how: a style that renders such a template exactly names them, and the kit does
    not expect them there (Hermes 3 closes a last tool result without the newline it writes before an answer,
    so its generation prompt there is not a prefix of its training text)."""
    known_deviations: ClassVar[Mapping[str, str]] = {}
    """Cases of ``promptstyles check``'s battery (``promptstyles.check.BATTERY``) in which the style knowingly
    differs from its model's official chat template, each with the reason (e.g. it follows the publisher's
    reference implementation there); documented in the style's docstring too."""
    _options: dict[str, Any]
    _resolved_options: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap a subclass's own ``__init__`` so every instance records the options it was built with.

        However a style is built (by the registry, a config or directly), its options are then known, so
        two instances with different options can never pass for one (in the dataset cache key, say).
        """
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _recording_options(init)  # type: ignore[method-assign]

    def __init__(self) -> None:  # noqa: B027
        """A style without a constructor of its own takes no options (and refuses any by name)."""

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        """Strings that end a generated response; generation stops at the first one found."""
        return ()

    @property
    def options(self) -> dict[str, Any]:
        """The options this instance was built with; enough to rebuild it with ``get_style(name, **options)``."""
        return dict(getattr(self, "_options", {}))

    @property
    def resolved_options(self) -> dict[str, Any]:
        """Every constructor option with defaults applied: equal for instances that render alike."""
        return dict(getattr(self, "_resolved_options", {}))

    @abstractmethod
    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        """Render ``record`` into parts.

        With ``generation=True`` the final assistant message is left out and the parts end with the
        header that opens it, which is what a model is given at inference.
        """

    # -- derived behaviour -------------------------------------------------------------------------

    def render(self, record: Record | Mapping[str, Any]) -> Rendered:
        """Render a training example; a plain dict record is normalised first (see ``to_record``)."""
        record = to_record(record)
        refuse_unrenderable(self, record, Style)
        return Rendered.of(final_turn_only(self.parts(record), record))

    def generation_prompt(self, record: Record | Mapping[str, Any]) -> str:
        """The text a model is given to answer ``record`` (a record or a plain dict, whose output may be left
        out); a prefix of the rendered training text."""
        record = to_record(record, require_output=False)
        refuse_unrenderable(self, record, Style)
        return _join(self.parts(without_final_answer(record), generation=True))

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """The response text in what a model generated: after ``prompt`` if given, cut at the first stop."""
        if prompt is not None and generated.startswith(prompt):
            generated = generated[len(prompt) :]
        cut = len(generated)
        for stop in self.stop_sequences:
            position = generated.find(stop)
            if 0 <= position < cut:
                cut = position
        return generated[:cut].strip()

    def parse_tool_calls(self, response: str) -> tuple[ParsedCall, ...] | None:
        """The tool calls in a response (as :meth:`extract_response` gives it), read back the way this style
        writes them, each parsed or saying why not; None for a style that cannot read its calls back."""
        return None

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self.options.items())
        return f"{type(self).__name__}({options})"


def _named_arguments(arguments: dict[str, Any], signature: inspect.Signature) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for name, value in arguments.items():
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        else:
            named[name] = value
    return named


def _recording_options(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` that refuses unknown options with a :class:`StyleError` and records the options it was given."""
    signature = inspect.signature(init)
    first = next(iter(signature.parameters), None)

    @functools.wraps(init)
    def __init__(self: Style, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            check_options(self.name, type(self), kwargs)
            raise StyleError(f"style {self.name!r} cannot be built with {sorted(kwargs)}: {error}") from error
        init(self, *args, **kwargs)
        # An outer subclass's wrapper runs last, so the options recorded are the ones the caller gave.
        given = {name: value for name, value in bound.arguments.items() if name != first}
        bound.apply_defaults()
        resolved = {name: value for name, value in bound.arguments.items() if name != first}
        self._options = _named_arguments(given, signature)
        self._resolved_options = _named_arguments(resolved, signature)

    return __init__


Style.__init__ = _recording_options(Style.__init__)  # type: ignore[method-assign]


_CONTEXT = {PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END, PartKind.TOOL_CALL, PartKind.REASONING}


def final_turn_only(parts: list[Part], record: Record) -> list[Part]:
    """``parts`` with every assistant turn but the final one made context (``PROMPT``), for a record marked
    ``final_turn_only``: the same text, trained only from the final assistant turn's header on."""
    if not (isinstance(record, Conversation) and record.final_turn_only):
        return parts
    final = max((n for n, part in enumerate(parts) if part.kind is PartKind.RESPONSE_HEADER), default=0)
    return [Part(part.text, PartKind.PROMPT, part.markup) if n < final and part.kind in _CONTEXT else part
            for n, part in enumerate(parts)]


def without_final_answer(record: Record) -> Record:
    """The record as a model sees it before answering: no output, or no final assistant message."""
    if isinstance(record, InstructionRecord):
        return replace(record, output="")
    messages = record.messages
    if messages and messages[-1].role == "assistant":
        messages = messages[:-1]
    return replace(record, messages=messages)


def single_exchange(record: Conversation, style: str) -> tuple[str | None, Message, Message | None]:
    """Split a one-exchange conversation into (system, user, assistant) for styles without multi-turn."""
    messages = list(record.messages)
    system = messages.pop(0).content if messages and messages[0].role == "system" else None
    if not messages or messages[0].role != "user" or len(messages) > 2 or (
        len(messages) == 2 and messages[1].role != "assistant"
    ):
        raise StyleError(
            f"style {style!r} renders one exchange (an optional system message, a user message, an optional"
            " assistant message); this conversation has roles " + ", ".join(m.role for m in record.messages)
        )
    return system, messages[0], messages[1] if len(messages) == 2 else None

