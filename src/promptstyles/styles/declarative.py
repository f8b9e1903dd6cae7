"""Declarative styles: a chat format written in YAML (or a dict) instead of a plugin.

A ``style:`` mapping in a config, or a YAML file (``style: {file: my-format.yaml}``, or the file's path
wherever a style name goes), becomes a :class:`~promptstyles.ChatStyle` with the markup it lists, so a new
format can be tried without writing Python. For example, Phi-3's format::

    name: my-phi3
    special_tokens: ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
    system: {prefix: "<|system|>\\n", suffix: "<|end|>\\n"}
    user: {prefix: "<|user|>\\n", suffix: "<|end|>\\n"}
    assistant: {header: "<|assistant|>\\n", end: "<|end|>\\n"}
    stop: ["<|end|>"]

Every switch of :class:`~promptstyles.ChatStyle` has a key: ``bos``, ``closing``, ``default_system``,
``system_turn`` (own, first_user, last_user, none), ``system_required``, ``system_note``, ``fold`` (prefix,
suffix, strip), ``strip`` (roles whose text is trimmed), ``user.later_prefix``, ``alternate``,
``one_exchange``, ``conversations``; ``options`` gives default style options. Markup may use the placeholder
``{date}`` (the ``date`` option: a date, an ISO date string such as ``2024-07-26``, or ``26 Jul 2024`` as
templates write dates; today's when not given); write ``{{`` and ``}}`` for literal braces.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from .._schema import Invalid, from_mapping, read_yaml
from ..errors import ConfigError, StyleError
from ._template_markup import _ATOM
from .chat import _DEFAULT, ChatStyle

__all__ = [
    "AssistantMarkup",
    "DeclarativeStyle",
    "DeclaredChatStyle",
    "FoldMarkup",
    "Provenance",
    "TurnMarkup",
    "UserMarkup",
    "build_declarative_style",
    "read_style_file",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
PLACEHOLDERS = frozenset({"date"})
DATE_FORMAT = "%d %b %Y"
"""How chat templates write a date (``strftime_now("%d %b %Y")``): ``26 Jul 2024``."""
Strip = Literal["both", "left", "right", "none"]


def placeholders(key: str, text: str | None) -> set[str]:
    """The placeholders in a markup string; an unknown one or a lone brace is :class:`Invalid` at ``key``."""
    if text is None:
        return set()
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise Invalid(key, f"{error} in {text!r}; write {{{{ and }}}} for a literal brace") from None
    unknown = names - PLACEHOLDERS
    if unknown:
        raise Invalid(key, f"unknown placeholder {{{sorted(unknown)[0]}}}; known: {{date}} "
                           "(write {{ and }} for literal braces)")
    return names


def _check_markup(markup: Any) -> None:
    for key, value in asdict(markup).items():
        if key != "strip":
            placeholders(key, value)


@dataclass(frozen=True)
class TurnMarkup:
    """Markup around the text of a system turn."""

    prefix: str = ""
    suffix: str = ""

    def __post_init__(self) -> None:
        _check_markup(self)


@dataclass(frozen=True)
class UserMarkup(TurnMarkup):
    """Markup around a user turn; ``later_prefix`` opens every user turn after the first (Llama-2's ``<s>``)."""

    later_prefix: str | None = None


@dataclass(frozen=True)
class AssistantMarkup:
    """Markup of an assistant turn: ``header`` opens it (and ends the generation prompt), ``end`` closes it."""

    header: str = ""
    end: str = ""
    lead: str = ""
    """Markup before the answer that the generation prompt leaves out (e.g. a space after ``[/INST]``)."""

    def __post_init__(self) -> None:
        _check_markup(self)


@dataclass(frozen=True)
class FoldMarkup:
    """Markup around a system prompt folded into a user turn, and how that turn's text is trimmed."""

    prefix: str = ""
    suffix: str = "\n\n"
    strip: Strip | None = None

    def __post_init__(self) -> None:
        _check_markup(self)


@dataclass(frozen=True)
class Provenance:
    """Where a frozen declaration comes from (written by ``promptstyles freeze``; informational)."""

    style: str
    plugin: str | None = None
    distribution: str | None = None
    version: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeclarativeStyle:
    """A chat format described by its markup strings; see the module docstring."""

    name: str
    description: str = ""
    bos: str = ""
    system: TurnMarkup = field(default_factory=TurnMarkup)
    user: UserMarkup = field(default_factory=UserMarkup)
    assistant: AssistantMarkup = field(default_factory=AssistantMarkup)
    closing: str = ""
    default_system: str | None = None
    system_turn: Literal["own", "first_user", "last_user", "none"] = "own"
    system_required: bool = False
    system_note: str = ""
    fold: FoldMarkup = field(default_factory=FoldMarkup)
    strip: tuple[Literal["system", "user", "assistant"], ...] = ()
    alternate: bool = False
    one_exchange: bool = False
    conversations: bool = True
    special_tokens: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    frozen_from: Provenance | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise Invalid("name", f"use lowercase letters, digits, '.', '_' and '-', got {self.name!r}")
        if not self.assistant.header and not self.assistant.lead:
            raise Invalid("assistant", "give assistant.header: the markup that opens an answer")
        placeholders("bos", self.bos)
        placeholders("closing", self.closing)
        unknown = set(self.options) - {"system", "joiner", "bos", "date"}
        if unknown:
            raise Invalid("options", f"unknown option {sorted(unknown)[0]!r}; expected some of bos, date, joiner, "
                                     "system")
        written = "".join(self.markup_texts().values())
        for token in self.special_tokens:
            if token not in written:
                raise Invalid("special_tokens", f"{token!r} is declared, but no markup or stop string of style "
                                                f"{self.name!r} writes it; fix its spelling or remove it")

    def markup_texts(self) -> dict[str, str]:
        """Every markup and stop string, by its key path (``user.prefix``, ``stop[0]``)."""
        texts = {"bos": self.bos, "closing": self.closing, "fold.prefix": self.fold.prefix,
                 "fold.suffix": self.fold.suffix}
        for role in ("system", "user", "assistant"):
            texts.update({f"{role}.{key}": value for key, value in asdict(getattr(self, role)).items()
                          if isinstance(value, str)})
        texts.update({f"stop[{index}]": stop for index, stop in enumerate(self.stop)})
        return texts

    def undeclared_markup(self) -> list[tuple[str, str]]:
        """``(key path, token)`` of each piece of markup that reads as one token (``<|user|>``, ``</s>``,
        ``[INST]``) but is not in ``special_tokens``: plain text where ``extend`` gives declared tokens ids."""
        return [(key, match.group()) for key, text in self.markup_texts().items() if not key.startswith("stop")
                for match in _ATOM.finditer(text) if match.group() not in self.special_tokens]

    def markup(self) -> dict[str, Any]:
        """The :class:`ChatStyle` class attributes this declaration sets."""
        return {
            "bos_token": self.bos, "system_prefix": self.system.prefix, "system_suffix": self.system.suffix,
            "user_prefix": self.user.prefix, "user_suffix": self.user.suffix,
            "later_user_prefix": self.user.later_prefix, "response_header": self.assistant.header,
            "response_lead": self.assistant.lead, "response_end": self.assistant.end, "closing": self.closing,
            "fold_template": (self.fold.prefix, self.fold.suffix),
        }


def date_text(style: str, date: Any) -> str:
    """The ``date`` option as templates write it (``26 Jul 2024``): a date, or an ISO date string as every
    ``--option date=2024-07-26`` is, is formatted; a string already in the template's form is kept as given.
    Any other string is an error, since the model would read a date in a form its template never writes."""
    if date is None:
        return dt.datetime.now().strftime(DATE_FORMAT)
    if isinstance(date, dt.date):
        return date.strftime(DATE_FORMAT)
    hint = "a date as its template writes it, such as '26 Jul 2024', or an ISO date such as '2024-07-26'"
    if not isinstance(date, str) or not date.strip() or "\n" in date:
        raise StyleError(f"style {style!r}: option 'date' must be a one-line string, {hint}; got {date!r}")
    text = date.strip()
    try:
        if re.match(r"\d{4}-\d\d-\d\d", text):
            return dt.datetime.fromisoformat(text).strftime(DATE_FORMAT)
        dt.datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        raise StyleError(f"style {style!r}: option 'date' {date!r} is not {hint}") from None
    return date


class DeclaredChatStyle(ChatStyle):
    """Base of the classes built from declarations: fills the markup's placeholders from the options."""

    declaration: ClassVar[dict[str, Any]] = {}
    markup: ClassVar[dict[str, Any]] = {}
    placeholders: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, system: str | None = _DEFAULT, joiner: str = "\n", bos: bool = True,
                 date: str | dt.date | None = None) -> None:
        super().__init__(system=system, joiner=joiner, bos=bos)
        if date is not None and "date" not in self.placeholders:
            raise StyleError(f"style {self.name!r} has no {{date}} in its markup; leave the 'date' option out")
        values = {"date": date_text(self.name, date) if "date" in self.placeholders else ""}
        for attribute, text in type(self).markup.items():
            if isinstance(text, tuple):
                setattr(self, attribute, tuple(piece.format(**values) for piece in text))
            elif text is not None:
                setattr(self, attribute, text.format(**values))


def build_declarative_style(spec: DeclarativeStyle, **options: Any) -> ChatStyle:
    """A style instance from a declarative description; ``options`` as for any chat style, over the
    declaration's own ``options``."""
    markup = spec.markup()
    used = set().union(*(placeholders(key, text) for key, text in markup.items() if isinstance(text, str)),
                       *(placeholders("fold", text) for text in markup["fold_template"]))
    attributes = {
        **markup,
        "name": spec.name,
        "description": spec.description or f"declarative style {spec.name!r}",
        "special_tokens": tuple(spec.special_tokens),
        "default_system": spec.default_system, "system_turn": spec.system_turn,
        "system_required": spec.system_required, "system_note": spec.system_note,
        "fold_strip": spec.fold.strip, "strip_roles": frozenset(spec.strip), "alternate": spec.alternate,
        "one_exchange": spec.one_exchange, "supports_conversations": spec.conversations,
        "stops": tuple(spec.stop),
        "markup": markup, "placeholders": frozenset(used),
        "declaration": asdict(spec),
        "__module__": __name__,
    }
    style_class = type(f"Declared[{spec.name}]", (DeclaredChatStyle,), attributes)
    return style_class(**{**spec.options, **options})


def is_style_file(name: str) -> bool:
    """Whether a style name is a path to a declarative style file (it ends in ``.yaml`` or ``.yml``)."""
    return name.endswith((".yaml", ".yml"))


def read_style_file(path: str | Path, *, extend: bool = False) -> DeclarativeStyle:
    """A declaration from a YAML file; errors name the key path, the line and the file. With ``extend``
    (``tokenizer.special_tokens: extend``), markup that reads as a token must be declared (see
    :meth:`DeclarativeStyle.undeclared_markup`)."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"a style file holds a mapping (name, user, assistant, ...), got {type(data).__name__}",
                          source=str(path), line=lines.get(()))
    if "assistant" not in data and ("chat_template" in data or "note" in data):
        origin: dict[str, Any] = data["frozen_from"] if isinstance(data.get("frozen_from"), dict) else {}
        raise ConfigError(f"style {data.get('name')!r} was frozen without a declaration (its rendering is Python); "
                          f"select it by name ({origin.get('style', data.get('name'))!r}) with the frozen options",
                          source=str(path), line=lines.get(()))
    spec = from_mapping(DeclarativeStyle, data, lines=lines, source=str(path))
    if extend:
        try:
            check_declared(spec)
        except Invalid as error:
            key = tuple(error.key.replace("[", ".").rstrip("]").split("."))
            raise ConfigError(str(error), path=error.key, line=lines.get(key), source=str(path)) from None
    return spec



def check_declared(spec: DeclarativeStyle) -> None:
    """:class:`Invalid` at the first markup ``spec`` writes as a token but does not declare, for a build whose
    ``extend`` mode gives only declared tokens ids (the rest would silently be plain text)."""
    for key, token in spec.undeclared_markup():
        raise Invalid(key, f"writes {token!r}, which special_tokens does not declare, so tokenizer.special_tokens: "
                           "extend would encode it as plain text; add it to special_tokens (or set "
                           "tokenizer.special_tokens: text)")
