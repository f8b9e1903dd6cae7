"""Chat styles: the shared machinery of formats built from role-tagged turns (Phi-3, ChatML, Llama, ...).

A chat style renders a conversation turn by turn; an instruction record becomes a one-exchange
conversation first (user: instruction, joiner, input; assistant: output). Each turn is the style's markup
around the message text, kept in separate parts so that record text never becomes markup::

    system      SYSTEM           system_prefix | text | system_suffix
    user        PROMPT           user_prefix   | text | user_suffix
    assistant   RESPONSE_HEADER  response_header
                RESPONSE         response_lead | text
                END              response_end

Most formats only set these strings. Formats without a system turn of their own fold the system prompt
into the first or the last user turn (``system_turn = "first_user"`` or ``"last_user"``, wrapped in
``fold_template``, trimmed as ``fold_strip`` says). Every switch has a key in a declarative style, so a format
set only by these attributes can be written in YAML, frozen and exported as a chat template; a style may still
override :meth:`ChatStyle.system_turn_prefix` or :meth:`ChatStyle.user_turn_prefix` (read off the instance
when frozen), and anything stranger :meth:`ChatStyle.content`, which no declaration can express.
Validation of the role order is shared, and its errors name the turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..errors import StyleError
from ..records import Conversation, InstructionRecord, Record
from ._base import Part, PartKind, Style
from ._instruction_skeleton import skeleton_of
from .agent import SharedParts, tidy

__all__ = ["ChatStyle", "Turn"]

SYSTEM = PartKind.SYSTEM
PROMPT = PartKind.PROMPT
HEADER = PartKind.RESPONSE_HEADER
RESPONSE = PartKind.RESPONSE
END = PartKind.END

Segment = tuple[str, bool]
"""A piece of message text and whether the style wrote it (the joiner between instruction and input)."""


class _Default:
    def __repr__(self) -> str:
        return "<the style's default>"


_DEFAULT: Any = _Default()


@dataclass(frozen=True, slots=True)
class Turn:
    """One message to render: its role, its text in segments, and its 1-based number for error messages."""

    number: int
    role: str
    segments: tuple[Segment, ...]

    def fail(self, message: str) -> StyleError:
        return StyleError(f"turn {self.number} ({self.role}): {message}")

    def trimmed(self, *, left: bool = True, right: bool = True) -> tuple[Segment, ...]:
        """The segments with whitespace stripped from the ends of the whole text, as ``| trim`` does."""
        if len(self.segments) == 1:  # the common case, without building lists
            text, markup = self.segments[0]
            stripped = text.strip() if left and right else text.lstrip() if left else text.rstrip() if right else text
            return self.segments if len(stripped) == len(text) else ((stripped, markup),) if stripped else ()
        pieces = list(self.segments)
        while left and pieces:
            pieces[0] = (pieces[0][0].lstrip(), pieces[0][1])
            if pieces[0][0]:
                break
            pieces.pop(0)
        while right and pieces:
            pieces[-1] = (pieces[-1][0].rstrip(), pieces[-1][1])
            if pieces[-1][0]:
                break
            pieces.pop()
        return tuple(pieces)


def _article(role: str) -> str:
    return "an assistant" if role == "assistant" else f"a {role}"


class ChatStyle(SharedParts, Style):
    """Base class of chat formats; a subclass sets the markup strings and a few switches.

    Options (``style_options``):

    - ``system``: the system prompt used when a record brings none. Defaults to the model's own default
      (``default_system``, often none); ``None`` or ``""`` leaves it out where the format allows.
    - ``joiner``: what joins an instruction record's instruction and non-empty input (default ``"\\n"``).
    - ``bos``: write the BOS text the official template writes (default True); ``False`` for a tokenizer
      that adds BOS itself.
    """

    supports_conversations = True

    system_prefix: ClassVar[str] = ""
    system_suffix: ClassVar[str] = ""
    user_prefix: ClassVar[str] = ""
    user_suffix: ClassVar[str] = ""
    response_header: ClassVar[str] = ""
    response_lead: ClassVar[str] = ""
    """Markup that starts the assistant text but is not in the generation prompt (Llama-2's space)."""
    response_end: ClassVar[str] = ""
    closing: ClassVar[str] = ""
    """Written once after the last turn of a training example (Phi-3's ``eos_token``), never when generating."""
    bos_token: ClassVar[str] = ""
    """The BOS text the official template writes at the start (empty when the tokenizer adds it)."""
    default_system: ClassVar[str | None] = None
    system_turn: ClassVar[Literal["own", "first_user", "last_user", "none"]] = "own"
    """Where a system prompt goes: its own turn, folded into the first or last user turn, or nowhere."""
    system_note: ClassVar[str] = ""
    """Why a format without a system role has none, said when a record brings one."""
    fold_template: ClassVar[tuple[str, str]] = ("", "\n\n")
    """Markup before and after a system prompt folded into a user turn."""
    fold_strip: ClassVar[Literal["both", "left", "right", "none"] | None] = None
    """How the text of the user turn holding a folded system prompt is trimmed (None: as ``strip_roles`` says;
    Llama-2's template trims the folded text as a whole, so the user text only on the right)."""
    later_user_prefix: ClassVar[str | None] = None
    """Markup opening every user turn after the first (None: ``user_prefix``; Llama-2 repeats BOS there)."""
    system_required: ClassVar[bool] = False
    """The official template always writes a system turn: ``system=None`` is refused, ``""`` is kept."""
    alternate: ClassVar[bool] = False
    """User and assistant turns must alternate, starting with the user."""
    one_exchange: ClassVar[bool] = False
    """Only one user message and its answer."""
    strip_roles: ClassVar[frozenset[str]] = frozenset()
    """Roles whose text the official template trims."""
    stops: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, system: str | None = _DEFAULT, joiner: str = "\n", bos: bool = True) -> None:
        if system is _DEFAULT:
            system = self.default_system
        if system is not None and not isinstance(system, str):
            raise StyleError(f"style {self.name!r}: option 'system' must be a string or null, got {system!r}")
        if not isinstance(joiner, str):
            raise StyleError(f"style {self.name!r}: option 'joiner' must be a string, got {joiner!r}")
        if not isinstance(bos, bool):
            raise StyleError(f"style {self.name!r}: option 'bos' must be true or false, got {bos!r}")
        if self.system_turn == "none" and system:
            raise StyleError(f"style {self.name!r} has no system prompt; leave the 'system' option out")
        if system is None and self.system_required:
            raise StyleError(f"style {self.name!r} always writes a system turn (as its official template does); "
                             "use system='' for an empty one")
        if not system and not self.system_required:
            system = None
        self.system = system
        self.joiner = joiner
        self.bos = bos
        SharedParts.__init__(self)

    # -- records to turns ----------------------------------------------------------------------------

    def turns(self, record: Record) -> tuple[Turn | None, list[Turn]]:
        """The record as (system turn or None, other turns), checked against the format's role order."""
        if isinstance(record, InstructionRecord):
            segments: list[Segment] = [(record.instruction, False)]
            if record.input:
                segments += [(self.joiner, True), (record.input, False)]
            turns = [Turn(1, "user", tuple(segments))]
            if record.output:
                turns.append(Turn(2, "assistant", ((record.output, False),)))
            system = None
        elif isinstance(record, Conversation):
            turns = [Turn(n, m.role, ((m.content, False),)) for n, m in enumerate(record.messages, 1)]
            system = turns.pop(0) if turns and turns[0].role == "system" else None
        else:
            raise StyleError(f"style {self.name!r} renders instruction records and conversations, "
                             f"not {type(record).__name__}")
        self.check_order(system, turns)
        if system is None and self.system is not None:
            system = Turn(0, "system", ((self.system, False),))
        return system, turns

    def check_order(self, system: Turn | None, turns: Sequence[Turn]) -> None:
        """Raise a :class:`StyleError` naming the first turn this format cannot render."""
        if system is not None and self.system_turn == "none":
            note = f" ({self.system_note})" if self.system_note else ""
            raise system.fail(f"style {self.name!r} has no system role{note}; leave the system message out")
        for turn in turns:
            if turn.role == "system":
                raise turn.fail("a system message may only come first")
        if not turns:
            raise (system or Turn(1, "system", ())).fail("expected a user message after the system message")
        if not (self.alternate or self.one_exchange):
            return
        previous: Turn | None = None
        for turn in turns:
            expected = "user" if previous is None or previous.role == "assistant" else "assistant"
            if turn.role != expected:
                where = (f"after {_article(previous.role)} message" if previous
                         else "after the system message" if system else "first")
                raise turn.fail(f"expected {_article(expected)} message {where}")
            previous = turn
        if self.one_exchange and len(turns) > 2:
            raise turns[2].fail(f"style {self.name!r} renders one exchange (a user message and its answer)")

    # -- turns to parts ------------------------------------------------------------------------------

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        if type(record) is InstructionRecord and not generation:
            key = (bool(record.input), bool(record.output))
            skeletons = self.__dict__.setdefault("_skeletons", {})
            if key not in skeletons:
                skeletons[key] = skeleton_of(self, ChatStyle, *key, self._general_parts)
            filled = skeletons[key] and skeletons[key].fill(record)
            if filled:
                return filled
        return self._general_parts(record, generation=generation)

    def _general_parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        if self.renders and isinstance(record, Conversation) and record.agentic:
            return self.agent_parts(record, generation=generation)
        system, turns = self.turns(record)
        if generation and turns[-1].role == "assistant":
            turns = turns[:-1]
        parts: list[Part] = []
        fold_at = -1
        if system is not None and self.system_turn == "own":
            parts += [self._markup(self.system_turn_prefix(), SYSTEM), *self.text(system, SYSTEM),
                      self._markup(self.system_suffix, SYSTEM)]
        elif system is not None:
            users = [position for position, turn in enumerate(turns) if turn.role == "user"]
            if not users:
                raise system.fail("expected a user message to fold the system prompt into")
            fold_at = users[0] if self.system_turn == "first_user" else users[-1]
        first_user = True
        for position, turn in enumerate(turns):
            if turn.role == "user":
                parts += self.user_parts(turn, first=first_user, system=system if position == fold_at else None)
                first_user = False
            else:
                parts += [self._markup(self.response_header, HEADER), self._markup(self.response_lead, RESPONSE),
                          *self.text(turn, RESPONSE), self._markup(self.response_end, END)]
        if generation:
            parts.append(self._markup(self.response_header, HEADER))
        elif self.closing:
            parts.append(self._markup(self.closing, END))
        if self.bos and self.bos_token:
            parts.insert(0, self._markup(self.bos_token, parts[0].kind if parts else SYSTEM))
        return tidy(parts)

    def agent_parts(self, record: Conversation, *, generation: bool = False) -> list[Part]:
        """A conversation with tools or reasoning, for a style that ``renders`` them (only those reach it)."""
        raise StyleError(f"style {self.name!r} declares renders={sorted(self.renders)} but no agent_parts")

    def user_parts(self, turn: Turn, *, first: bool, system: Turn | None) -> list[Part]:
        """A user turn, with the system prompt folded in when ``system`` is given."""
        parts = [self._markup(self.user_turn_prefix(first=first), PROMPT)]
        if system is not None:
            before, after = self.fold_template
            parts += [self._markup(before, SYSTEM), *self.text(system, SYSTEM), self._markup(after, SYSTEM)]
        parts += self.text(turn, PROMPT, folded=system is not None)
        parts.append(self._markup(self.user_suffix, PROMPT))
        return parts

    def system_turn_prefix(self) -> str:
        """The markup opening the system turn (Llama-3.1 writes a dated preamble there, set by an option)."""
        return self.system_prefix

    def user_turn_prefix(self, *, first: bool) -> str:
        """The markup opening a user turn (``later_user_prefix`` for every turn but the first, if set)."""
        return self.user_prefix if first or self.later_user_prefix is None else self.later_user_prefix

    def content(self, turn: Turn, *, folded: bool = False) -> tuple[Segment, ...]:
        """The turn's text as the official template writes it (trimmed for the roles in ``strip_roles``, and
        as ``fold_strip`` says for a user turn holding the system prompt)."""
        strip = self.fold_strip if folded and self.fold_strip is not None else (
            "both" if turn.role in self.strip_roles else "none")
        if strip == "none":
            return turn.segments
        return turn.trimmed(left=strip != "right", right=strip != "left")

    def text(self, turn: Turn, kind: PartKind, *, folded: bool = False) -> list[Part]:
        if turn.number == 0:  # the style's own system prompt, the same in every record
            return [self._markup(text, kind, markup) for text, markup in self.content(turn, folded=folded)]
        return [Part(text, kind, markup) for text, markup in self.content(turn, folded=folded)]
