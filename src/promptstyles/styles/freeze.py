"""Freezing a style: the resolved format as plain data, so the exact format can be reloaded later.

A chat style freezes to a declaration (see :mod:`.declarative`) read from its markup as built, with its
options resolved: a date taken today, a default system prompt, are written out, so reloading the file with
``style: {file: frozen.yaml}`` renders byte for byte as the style did. A style whose rendering is Python
beyond :class:`~promptstyles.ChatStyle`'s switches freezes to its provenance and options, with its chat
template when it can be exported, and a note saying how to select it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._schema import from_mapping
from ..errors import StyleError
from ._base import Style
from .chat import ChatStyle
from .declarable import undeclarable
from .declarative import DeclarativeStyle
from .registry import StyleInfo

__all__ = ["declare", "freeze", "frozen", "frozen_yaml"]



def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def declare(style: Style) -> dict[str, Any]:
    """The declaration (as YAML-ready data) that renders exactly as ``style`` does, options included."""
    reason = undeclarable(style)
    if reason:
        raise StyleError(reason)
    assert isinstance(style, ChatStyle)
    first, later = style.user_turn_prefix(first=True), style.user_turn_prefix(first=False)
    strip = [role for role in ("system", "user", "assistant") if role in style.strip_roles]
    declared: dict[str, Any] = {
        "name": style.name,
        "description": style.description,
        "bos": _escaped(style.bos_token),
        "system": {"prefix": _escaped(style.system_turn_prefix()), "suffix": _escaped(style.system_suffix)},
        "user": {"prefix": _escaped(first), "suffix": _escaped(style.user_suffix),
                 **({"later_prefix": _escaped(later)} if later != first else {})},
        "assistant": {"header": _escaped(style.response_header), "lead": _escaped(style.response_lead),
                      "end": _escaped(style.response_end)},
        "closing": _escaped(style.closing),
        "default_system": style.default_system,
        "system_turn": style.system_turn,
        "system_required": style.system_required,
        "system_note": style.system_note,
        "fold": {"prefix": _escaped(style.fold_template[0]), "suffix": _escaped(style.fold_template[1]),
                 "strip": style.fold_strip},
        "strip": strip,
        "alternate": style.alternate,
        "one_exchange": style.one_exchange,
        "conversations": style.supports_conversations,
        "stop": list(style.stop_sequences),
        "options": {"system": style.system, "joiner": style.joiner, "bos": style.bos},
    }
    # Tokens only tool or reasoning markup writes (Qwen2.5's <tool_call>) have no place in a declaration: keep
    # those its markup writes, as the declaration itself checks them when it is read.
    written = "".join(from_mapping(DeclarativeStyle, {**declared, "special_tokens": []}).markup_texts().values())
    declared["special_tokens"] = [token for token in style.special_tokens if token in written]
    return declared


def provenance(style: Style, info: StyleInfo | None) -> dict[str, Any]:
    """Which registered style (plugin, distribution, version) and options ``style`` was built from; a style
    reloaded from a frozen file keeps the provenance written there."""
    earlier = getattr(type(style), "declaration", {}).get("frozen_from")
    if info is None and earlier:
        return dict(earlier)
    distribution, _, version = (info.distribution or "").partition(" ") if info else ("", "", "")
    return {"style": info.name if info else style.name, "plugin": info.plugin if info else None,
            "distribution": distribution or None, "version": version or None, "options": style.options}


def freeze(style: Style, info: StyleInfo | None, *, template: str | None = None) -> dict[str, Any]:
    """The frozen document of ``style``: its declaration and provenance, or, for a style that cannot be
    declared, its provenance, options and ``template`` (its exported chat template, if any) with a note."""
    origin = provenance(style, info)
    reason = undeclarable(style)
    if reason is None:
        declared = declare(style)
        return {"name": declared.pop("name"), "frozen_from": origin, **declared}
    document: dict[str, Any] = {"name": style.name, "frozen_from": origin,
                                "note": f"{reason}; select it again by name ({origin['style']!r}) with these "
                                        "options and the same plugin version"}
    if template is not None:
        document["chat_template"] = template
    return document


def frozen(style: Style, info: StyleInfo | None = None, *, plugins: Sequence[str] = ()) -> dict[str, Any]:
    """:func:`freeze` with the registration looked up (when ``info`` is not given) and, for a style that cannot
    be declared, its chat template when it can be exported; what ``compare`` keeps with every run."""
    from .export import chat_template
    from .registry import default_registry

    if info is None:
        registry = default_registry(tuple(plugins))
        found = registry.info(style.name) if style.name in registry else None
        info = found if found is not None and isinstance(style, found.style) else None
    template = None
    if undeclarable(style) is not None:
        try:
            template = chat_template(style)
        except StyleError:
            template = None
    return freeze(style, info, template=template)


def frozen_yaml(style: Style, info: StyleInfo | None = None, *, plugins: Sequence[str] = ()) -> str:
    """:func:`frozen` as YAML, the file that ``style: {file: ...}`` reloads."""
    from ._yaml import dump_yaml

    return dump_yaml(frozen(style, info, plugins=plugins))
