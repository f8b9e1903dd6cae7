"""A conformance kit for style plugins: call it from your own tests to check a style the way the engine uses it.

::

    from promptstyles.testing import assert_conforms
    from my_plugin import MyStyle

    def test_my_style_conforms():
        assert_conforms(MyStyle())

:func:`check_style` renders a battery of records (or yours), checks every property in :data:`PROPERTIES`
and raises one :class:`ConformanceError` listing each failure with the record it failed on. Nothing here
imports pytest: :func:`assert_conforms` raises a plain ``AssertionError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import PromptStylesError, StyleError
from ..records import Record, to_record
from ..styles._base import Part, PartKind, Style
from ._battery import Case, default_records, style_markers
from ._text_checks import TEXT_CHECKS, Rendering, special_token_failures

__all__ = ["PROPERTIES", "ConformanceError", "Failure", "assert_conforms", "check_style", "default_records"]

_TOKEN_PROPERTIES = ("generation ids are a prefix", "part-wise ids equal whole-text ids",
                     "record text never becomes a special token", "end markers are trained")
PROPERTIES: tuple[str, ...] = ("renders", "deterministic", *TEXT_CHECKS, "special tokens declared",
                               *_TOKEN_PROPERTIES)
"""Every property the kit checks, in the order failures are listed; pass some as ``properties=``."""


class Failure(NamedTuple):
    """One failed property: its name, the record it failed on (a battery label or ``record N``), and why."""

    property: str
    record: str
    detail: str

    def __str__(self) -> str:
        return f"{self.property} [{self.record}]: {self.detail}"


class ConformanceError(PromptStylesError):
    """A style fails conformance properties; ``failures`` holds every one, in :data:`PROPERTIES` order."""

    def __init__(self, style: str, failures: Sequence[Failure]) -> None:
        self.style = style
        self.failures = list(failures)
        lines = "\n".join(f"  - {failure}" for failure in self.failures)
        super().__init__(f"style {style!r} fails {len(self.failures)} conformance check(s):\n{lines}")


def check_style(
    style: Style | type[Style] | str,
    tokenizer: Any = None,
    records: Iterable[Record | Mapping[str, Any]] | None = None,
    *,
    properties: Iterable[str] | None = None,
) -> None:
    """Check ``style`` (an instance, a class without required options, or a registered name); raise a
    :class:`ConformanceError` listing every failure, or return None when all properties hold.

    ``tokenizer`` defaults to tiktoken's gpt2 with the style's ``special_tokens`` added (``extend``);
    ``records`` default to :func:`default_records`.
    """
    style = _resolve(style)
    selected = _select(properties)
    cases = default_records(style) if records is None else [
        Case(f"record {index}", to_record(record, index=index)) for index, record in enumerate(records)]
    failures: list[Failure] = []
    renderings = _render_all(style, cases, failures)
    for name, check in TEXT_CHECKS.items():
        if name in selected:
            for rendering in renderings:
                failures += _run(name, rendering.label, functools.partial(check, style, rendering))
    needs_tokens = selected & {"special tokens declared", *_TOKEN_PROPERTIES}
    if needs_tokens:
        tokenizer, extend = _tokenizer(style, tokenizer)
        if "special tokens declared" in selected:
            # Declared tokens are looked for in the battery too: a user's records may never need, say, a system turn.
            seen = renderings if records is None else [*renderings, *_render_all(style, default_records(style), [])]
            failures += _run("special tokens declared", "all records",
                             lambda: special_token_failures(style, seen, _other_specials(style),
                                                            lambda token: tokenizer.special_id(token) is not None))
        failures += _token_failures(style, tokenizer, extend, renderings, selected)
    with_tools = {r.label for r in renderings if any(m.role == "tool" for m in getattr(r.record, "messages", ()))}
    failures = [f for f in failures if f.property in selected
                and not (f.property in style.template_breaks and f.record in with_tools)]
    if failures:
        order = {name: position for position, name in enumerate(PROPERTIES)}
        raise ConformanceError(style.name or type(style).__name__,
                               sorted(failures, key=lambda f: order[f.property]))


def assert_conforms(
    style: Style | type[Style] | str, tokenizer: Any = None,
    records: Iterable[Record | Mapping[str, Any]] | None = None, *, properties: Iterable[str] | None = None,
) -> None:
    """:func:`check_style` for test functions: raises ``AssertionError`` with the same failure lines."""
    try:
        check_style(style, tokenizer, records, properties=properties)
    except ConformanceError as error:
        raise AssertionError(str(error)) from None


def _resolve(style: Style | type[Style] | str) -> Style:
    if isinstance(style, str):
        from ..styles.registry import get_style

        return get_style(style)
    return style() if isinstance(style, type) else style


def _select(properties: Iterable[str] | None) -> set[str]:
    if properties is None:
        return set(PROPERTIES)
    selected = set(properties)
    unknown = selected - set(PROPERTIES)
    if unknown:
        raise StyleError(f"unknown conformance properties {sorted(unknown)}; expected some of {list(PROPERTIES)}")
    return selected


def _run(name: str, label: str, check: Callable[[], list[str]]) -> list[Failure]:
    """The failures of one check; a check that raises is a failure of its property, not a crash of the kit."""
    try:
        return [Failure(name, label, detail) for detail in check()]
    except Exception as error:
        return [Failure(name, label, f"raised {type(error).__name__}: {error}")]


def _render_all(style: Style, cases: Sequence[Case], failures: list[Failure]) -> list[Rendering]:
    """Render every case twice (rendering must be deterministic); cases that fail to render are reported."""
    markers = style_markers(style)
    renderings = []
    for case in cases:
        try:
            parts = tuple(style.parts(case.record))
            generation = style.generation_prompt(case.record)
        except Exception as error:
            if not (case.optional and isinstance(error, StyleError)):  # optional: a clear refusal is fine
                failures.append(Failure("renders", case.label, f"raised {type(error).__name__}: {error}"))
            continue
        if not any(part.kind is PartKind.RESPONSE_HEADER for part in parts):
            failures.append(Failure("renders", case.label, "no RESPONSE_HEADER part: the engine cannot tell what "
                                    "to train, nor where the generation prompt ends"))
            continue
        failures += _run("deterministic", case.label, functools.partial(_rerender, style, case.record, parts,
                                                                        generation))
        renderings.append(Rendering(case.label, case.record, parts, generation, markers))
    return renderings


def _rerender(style: Style, record: Record, parts: tuple[Part, ...], generation: str) -> list[str]:
    """Render again: parts and generation prompt must not change (no clock, randomness or hidden state)."""
    again = (("parts", tuple(style.parts(record)) == parts),
             ("generation prompt", style.generation_prompt(record) == generation))
    return [f"a second rendering differs: {what}" for what, same in again if not same]


@functools.lru_cache(maxsize=64)
def _gpt2(special_tokens: tuple[str, ...]) -> Any:
    from ..data.tokenizers.registry import get_tokenizer

    return get_tokenizer("gpt2", special_tokens=special_tokens)


def _tokenizer(style: Style, tokenizer: Any) -> tuple[Any, bool]:
    """The tokenizer to check with, and whether markup is encoded with special ids (``extend``)."""
    if tokenizer is None:
        return _gpt2(tuple(style.special_tokens)), bool(style.special_tokens)
    extend = bool(tokenizer.own_special_tokens) or (
        bool(style.special_tokens) and all(tokenizer.special_id(token) is not None for token in style.special_tokens))
    return tokenizer, extend


def _other_specials(style: Style) -> list[tuple[str, ...]]:
    from ..styles.registry import default_registry

    return [tuple(info.style.special_tokens) for info in default_registry().infos() if info.style is not type(style)]


def _token_failures(style: Style, tokenizer: Any, extend: bool, renderings: Sequence[Rendering],
                    selected: set[str]) -> list[Failure]:
    from ._token_checks import TOKEN_CHECKS, TokenView

    failures: list[Failure] = []
    for rendering in renderings:
        view = TokenView(style, tokenizer, extend, rendering)
        for name, check in TOKEN_CHECKS.items():
            if name in selected:
                failures += _run(name, rendering.label, functools.partial(check, view))
    return failures
