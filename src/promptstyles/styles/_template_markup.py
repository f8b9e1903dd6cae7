"""The markup of a chat template, found by rendering it on probe conversations.

Each probe's messages are sentinel strings, so the rendered text splits into the sentinels and the gaps between
them; the gaps are the markup. Comparing the gaps of a few probes (one exchange, two, three; with a system
prompt; with and without the generation prompt) pins each piece: BOS, system prefix and suffix (or how the system
prompt is folded into a user turn), a default system prompt, the user prefix (first and other turns), the user
suffix, the assistant header (the generation prompt), a lead before the answer, the answer's end markup, and the
closing written once after the last turn. Where a split is ambiguous it never cuts a special token in two.
What does not fit (markup that depends on the turn index beyond first/other, a system prompt that appears only
in some conversations, a generation prompt that is not a prefix of the training text) is a :class:`StyleError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import StyleError
from ._jinja import TemplateRaised

__all__ = ["Render", "TemplateMarkup", "derive_markup", "derive_turn_markup"]

Render = Callable[[Sequence[Mapping[str, str]], bool], str]

SENTINELS = {"system": "QqSYSTEMqQ", "user": "QqUSER{}qQ", "assistant": "QqANSWER{}qQ"}
_ATOM = re.compile(r"<\|[^<>|\s]*\|>|</?[A-Za-z_][\w.-]*>|\[/?[A-Z_]+\]|<</?SYS>>")
"""Markup that looks like one token even where the tokenizer's added tokens are not known."""


@dataclass(frozen=True)
class TemplateMarkup:
    """The pieces of a chat template, as :class:`~promptstyles.ChatStyle` attributes plus two of its own."""

    bos_token: str = ""
    system_prefix: str = ""
    system_suffix: str = ""
    default_system: str | None = None
    system_required: bool = False
    system_turn: str = "own"
    system_note: str = ""
    fold_template: tuple[str, str] = ("", "")
    first_user_prefix: str = ""
    """The markup opening the first user turn, where it differs from the others (Llama-2's missing ``<s>``)."""
    user_prefix: str = ""
    user_suffix: str = ""
    response_header: str = ""
    response_lead: str = ""
    response_end: str = ""
    closing: str = ""
    open_end: str = ""
    """What follows the user suffix when a conversation ends with a user turn and no generation prompt."""
    strip_roles: frozenset[str] = frozenset()
    """Roles whose text the template trims at both ends (``| trim``)."""
    trims: tuple[tuple[str, bool, bool], ...] = ()
    """``(role, left, right)`` for every role whose text the template trims at one end or both (``lstrip()``,
    ``rstrip()``, ``| trim``); a user turn holding a folded system prompt follows ``folded_trim`` instead."""
    folded_trim: tuple[bool, bool] = (False, False)
    """Whether the left and right ends of a user turn holding the folded system prompt are trimmed (Llama-2)."""
    alternate: bool = False


def _sentinel(role: str, number: int) -> str:
    return SENTINELS[role].format(number)


def conversation(exchanges: int, *, system: bool = False, final_user: bool = False) -> list[dict[str, str]]:
    """A probe: optional system prompt, ``exchanges`` user/assistant pairs, optionally one more user turn."""
    messages = [{"role": "system", "content": _sentinel("system", 0)}] if system else []
    for number in range(1, exchanges + 1 + final_user):
        messages.append({"role": "user", "content": _sentinel("user", number)})
        if number <= exchanges:
            messages.append({"role": "assistant", "content": _sentinel("assistant", number)})
    return messages


class _Prober:
    def __init__(self, render: Render, atoms: Sequence[str], origin: str) -> None:
        self.raw, self.atoms, self.origin = render, tuple(a for a in atoms if a), origin

    def render(self, messages: Sequence[Mapping[str, str]], generation: bool) -> str:
        """The template's text for a plain conversation, which it must not refuse."""
        try:
            return self.raw(messages, generation)
        except TemplateRaised as error:
            roles = ", ".join(m["role"] for m in messages)
            raise self.fail(f"it refuses the conversation [{roles}]: {error}") from error

    def fail(self, message: str) -> StyleError:
        return StyleError(f"style 'chat-template': cannot derive the markup of {self.origin}: {message}")

    def gaps(self, messages: list[dict[str, str]], generation: bool = False) -> list[str]:
        """The rendered probe cut at its sentinels; each sentinel must appear once, in order."""
        text = self.render(messages, generation)
        gaps, position = [], 0
        for message in messages:
            found = text.find(message["content"], position)
            if found < 0 or text.count(message["content"]) != 1:
                roles = ", ".join(m["role"] for m in messages)
                raise self.fail(f"rendering [{roles}] does not write the {message['role']} text exactly once in "
                                f"order (got {text!r})")
            gaps.append(text[position:found])
            position = found + len(message["content"])
        return [*gaps, text[position:]]

    def cuts(self, text: str, at: int) -> int:
        """``at`` moved left until it cuts no token-like markup in ``text``."""
        moved = True
        while moved:
            moved = False
            spans = [(m.start(), m.end()) for m in _ATOM.finditer(text)]
            spans += [(i, i + len(a)) for a in self.atoms for i in _find_all(text, a)]
            for start, end in spans:
                if start < at < end:
                    at, moved = start, True
        return at

    def common_prefix(self, first: str, second: str) -> str:
        size = 0
        while size < min(len(first), len(second)) and first[size] == second[size]:
            size += 1
        size = min(self.cuts(first, size), self.cuts(second, size))
        return first[:size]


def _find_all(text: str, piece: str) -> list[int]:
    found, start = [], text.find(piece)
    while start >= 0:
        found.append(start)
        start = text.find(piece, start + 1)
    return found


def _raises(render: Render, messages: list[dict[str, str]], generation: bool = False) -> bool:
    try:
        render(messages, generation)
    except TemplateRaised:
        return True
    return False


def derive_markup(render: Render, *, bos: str, atoms: Sequence[str], origin: str) -> TemplateMarkup:
    """The markup of the template behind ``render``; ``bos`` is the BOS text, ``atoms`` its added tokens."""
    probe = _Prober(render, atoms, origin)
    c0, c1, c2 = probe.gaps(conversation(1))
    d = probe.gaps(conversation(2))
    t = probe.gaps(conversation(3))
    if d[0] != c0 or t[0] != c0:
        raise probe.fail(f"the markup before the first user message depends on the number of turns ({c0!r}, {d[0]!r})")
    for gaps in (d, t):
        if gaps[1:-1:2] != [c1] * (len(gaps) // 2):
            raise probe.fail(f"the markup between a user message and its answer depends on the turn index: "
                             f"{gaps[1:-1:2]!r}")
        if gaps[-1] != c2:
            raise probe.fail(f"the markup after the last answer depends on the number of turns ({c2!r}, {gaps[-1]!r})")
    if t[2] != d[2] or t[4] != d[2]:
        raise probe.fail(f"the markup between turns depends on the turn index beyond first/other: {t[2:-1:2]!r}")
    response_end = probe.common_prefix(c2, d[2])
    closing, user_prefix = c2[len(response_end):], d[2][len(response_end):]

    a0, a1 = probe.gaps(conversation(0, final_user=True))
    b0, b1 = probe.gaps(conversation(0, final_user=True), True)
    if a0 != c0 or b0 != c0:
        raise probe.fail("the generation prompt changes the markup before the user message")
    if not c1.startswith(b1):
        raise probe.fail(f"the generation prompt is not a prefix of the training text: after the user message it "
                         f"writes {b1!r}, where an answer follows {c1!r}")
    user_suffix = probe.common_prefix(a1, b1)
    if user_suffix == b1:  # the markup after a user turn is written with or without an answer (Llama-2's [/INST])
        user_suffix = ""
    response_header, response_lead, open_end = b1[len(user_suffix):], c1[len(b1):], a1[len(user_suffix):]
    if not response_header:
        raise probe.fail("no markup opens an answer (the generation prompt adds nothing)")

    if not bos or not c0.startswith(bos):
        bos = ""
    first = c0[len(bos):]
    system = _system_markup(probe, bos=bos, first=first, user_prefix=user_prefix, after_user=c1, end=c2)
    first_user_prefix = system.pop("first_user_prefix", first)
    return TemplateMarkup(
        bos_token=bos, first_user_prefix=str(first_user_prefix), user_prefix=user_prefix, user_suffix=user_suffix,
        response_header=response_header, response_lead=response_lead, response_end=response_end, closing=closing,
        open_end=open_end, **_trims(probe.render, str(system.get("system_turn", "own"))),  # type: ignore[arg-type]
        alternate=_raises(render, [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
        **system,  # type: ignore[arg-type]
    )


def derive_turn_markup(render: Render, *, bos: str, atoms: Sequence[str], origin: str) -> TemplateMarkup:
    """Only what tracing a template needs (``_template_trace.py``), for a template whose markup is irregular
    (Qwen3 opens its last answer differently from earlier ones): the generation prompt's header, the markup
    closing an answer, the user suffix, BOS and trims."""
    probe = _Prober(render, atoms, origin)
    _, a1 = probe.gaps(conversation(0, final_user=True))
    _, b1 = probe.gaps(conversation(0, final_user=True), True)
    c0, _, c2 = probe.gaps(conversation(1))
    d = probe.gaps(conversation(2))
    user_suffix = probe.common_prefix(a1, b1)
    if user_suffix == b1:
        user_suffix = ""
    if not b1[len(user_suffix):]:
        raise probe.fail("no markup opens an answer (the generation prompt adds nothing)")
    system_turn = "none" if _raises(render, conversation(1, system=True)) else "own"
    return TemplateMarkup(
        bos_token=bos if bos and c0.startswith(bos) else "", user_suffix=user_suffix,
        response_header=b1[len(user_suffix):], response_end=probe.common_prefix(c2, d[2]),
        system_turn=system_turn, **_trims(probe.render, system_turn))  # type: ignore[arg-type]


def _system_markup(probe: _Prober, *, bos: str, first: str, user_prefix: str, after_user: str,
                   end: str) -> dict[str, object]:
    """How a system prompt is written: its own turn (with any default prompt), folded into a user turn, or not."""
    with_system = conversation(1, system=True)
    if _raises(probe.raw, with_system):
        return {"system_turn": "none"}  # the style refuses system messages, as the template does
    text = probe.render(with_system, False)
    if _sentinel("system", 0) not in text:
        if _sentinel("system", 0) in probe.render(conversation(0, system=True, final_user=True), True):
            return {"system_turn": "none", "system_note": (
                f"{probe.origin} writes a system prompt only when the conversation ends with a user message and "
                "drops it once an answer follows, so its generation prompt would not be a prefix of the training "
                "text; for Mistral v0.3 use the style 'mistral-v0.3', which keeps it as mistral-common does")}
        if text == probe.render(conversation(1), False):
            return {"system_turn": "none"}  # ignored by the template: refused by the style
    e0, e1, e2, e3 = probe.gaps(with_system)
    if e2 != after_user or e3 != end:
        raise probe.fail("a system prompt changes the markup of the user and assistant turns")
    if not e0.startswith(bos):
        raise probe.fail("with a system prompt the text does not start with BOS")
    opening = e0[len(bos):]
    for prefix in dict.fromkeys((first, user_prefix)):
        if prefix and e1.endswith(prefix):
            suffix = e1[: len(e1) - len(prefix)]
            markup: dict[str, object] = {"system_prefix": opening, "system_suffix": suffix, "first_user_prefix": prefix}
            if first == prefix:
                return markup
            default = first[: len(first) - len(prefix)] if first.endswith(prefix) else None
            if default is None or not (default.startswith(opening) and default.endswith(suffix)):
                raise probe.fail(f"the markup before the first user message ({first!r}) is neither the user prefix "
                                 "nor a default system turn")
            markup.update(default_system=default[len(opening): len(default) - len(suffix)], system_required=True)
            return markup
    if opening.startswith(first):
        two = probe.render(conversation(2, system=True), False)
        later = two.find(_sentinel("system", 0)) > two.find(_sentinel("assistant", 1)) >= 0
        return {"system_turn": "last_user" if later else "first_user", "fold_template": (opening[len(first):], e1)}
    raise probe.fail(f"the system prompt is neither its own turn nor folded into a user turn ({e0!r} before it, "
                     f"{e1!r} after it)")


def _trimmed(render: Render, roles: Sequence[str], padded: int) -> tuple[bool, bool]:
    """Whether the template trims the left and the right end of message ``padded`` (text padded with whitespace)."""
    word = SENTINELS[roles[padded]].format(1)
    messages = [{"role": role, "content": SENTINELS[role].format(1)} for role in roles]
    messages[padded]["content"] = f" \n {word} \n "
    text = render(messages, False)
    return f" \n {word}" not in text, f"{word} \n " not in text


def _trims(render: Render, system_turn: str) -> dict[str, object]:
    """Which end of each role's text the template trims, and how it trims a user turn with a folded system."""
    trims = [(role, *_trimmed(render, ("user", "assistant"), position))
             for position, role in enumerate(("user", "assistant"))]
    if system_turn != "none":
        trims.append(("system", *_trimmed(render, ("system", "user", "assistant"), 0)))
    found: dict[str, object] = {
        "trims": tuple((role, left, right) for role, left, right in trims if left or right),
        "strip_roles": frozenset(role for role, left, right in trims if left and right)}
    if system_turn in ("first_user", "last_user"):
        found["folded_trim"] = _trimmed(render, ("system", "user", "assistant"), 1)
    return found
