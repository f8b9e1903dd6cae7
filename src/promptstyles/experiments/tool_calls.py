"""Tool calls in a comparison's generated responses: the share that parse, and that name a declared tool.

A style fine-tuned on tool data should write calls a program can run, in its own format. Each style reads
its responses back itself (:meth:`~promptstyles.styles.Style.parse_tool_calls`, the inverse of how it writes
calls), strictly: a call is parsed when its JSON loads whole with a name and object arguments, and names a
declared tool when that name is one of the record's ``tools``. Only responses to records that declare tools
count, and the results live in each style's ``tool_calls`` section (absent when no such record was answered).
A share over no generated call measured nothing, so it is None and the report says so in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..records import Conversation, Record
from ..styles import Style
from .paired import bootstrap_interval

__all__ = ["tool_call_results", "tool_call_section", "with_tool_calls"]

SHARES = {"parsed": "parsed", "declared": "names a declared tool"}
NOTHING = "no tool calls generated"
NO_PARSER = "cannot read its tool calls back"


def _expected(record: Conversation) -> int:
    """The calls of the reference answer: the final assistant message's."""
    last = record.messages[-1]
    return len(last.tool_calls) if last.role == "assistant" else 0


def tool_call_results(style: Style, records: Sequence[Record], entries: Sequence[Mapping[str, Any]]
                      ) -> dict[str, Any] | None:
    """A run's ``tool_calls`` section from its response entries (``record``: a position in ``records``, and the
    ``response``), or None when none of those records declares tools. ``readable`` is false for a style that
    cannot read its calls back; otherwise counts, shares (None over no generated call), each share's bootstrap
    interval over the records, and per-record columns in ``examples`` for the paired differences."""
    answered: list[tuple[Mapping[str, Any], Conversation]] = []
    for entry in entries:
        record = records[int(entry["record"])]
        if isinstance(record, Conversation) and record.tools:
            answered.append((entry, record))
    if not answered:
        return None
    columns: dict[str, list[int]] = {"records": [], "expected": [], "generated": [], "parsed": [], "declared": []}
    for entry, record in answered:
        calls = style.parse_tool_calls(str(entry["response"]))
        if calls is None:
            return {"readable": False, "records": len(answered), "expected": sum(_expected(r) for _, r in answered)}
        for key, value in (("records", int(entry["record"])), ("expected", _expected(record)),
                           ("generated", len(calls)), ("parsed", sum(call.parsed for call in calls)),
                           ("declared", sum(call.names(record.tools) for call in calls))):
            columns[key].append(value)
    result: dict[str, Any] = {"readable": True, "records": len(answered)}
    result |= {key: sum(columns[key]) for key in ("expected", "generated", "parsed", "declared")}
    for key in SHARES:
        result[f"{key}_share"] = result[key] / result["generated"] if result["generated"] else None
        interval = bootstrap_interval(columns[key], columns["generated"])
        result[f"{key}_share_low"], result[f"{key}_share_high"] = interval or (None, None)
    return result | {"examples": columns}


def with_tool_calls(results: Mapping[str, Any], style: Style, records: Sequence[Record],
                    entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A run's results with its ``tool_calls`` section added when its answered records declare tools (derived
    from the stored responses, so a resumed run gets it too)."""
    section = tool_call_results(style, records, entries)
    return dict(results) if section is None else {**results, "tool_calls": section}


def _share(section: Mapping[str, Any], key: str) -> str:
    if not section.get("readable"):
        return NO_PARSER
    if not section.get("generated"):
        return NOTHING
    cell = f"{section[f'{key}_share']:.0%} ({section[key]}/{section['generated']})"
    low, high = section.get(f"{key}_share_low"), section.get(f"{key}_share_high")
    return cell if low is None or high is None else f"{cell} [{low:.0%}, {high:.0%}]"


def tool_call_section(results: Mapping[str, Any]) -> list[str]:
    """The report's tool-call table, one row per style, and a plain sentence for every share that measured
    nothing; no lines when no style answered a record that declares tools."""
    sections = {style: values["tool_calls"] for style, values in results.get("styles", {}).items()
                if isinstance(values.get("tool_calls"), Mapping)}
    if not sections:
        return []
    lines = ["## Tool calls", "",
             "Calls in the generated responses to test records that declare tools, read back the way each style"
             " writes them: parsed when the call's JSON loads whole with a name and object arguments; naming a"
             " declared tool when that name is one of the record's tools. Brackets hold a 95% bootstrap interval"
             " over the records.", "",
             "| style | records | calls expected | calls generated | " + " | ".join(SHARES.values()) + " |",
             "|---|---:|---:|---:|---:|---:|"]
    for style, section in sections.items():
        generated = str(section["generated"]) if section.get("readable") else ""
        cells = [style, str(section["records"]), str(section["expected"]), generated,
                 *(_share(section, key) for key in SHARES)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    silent = [style for style, section in sections.items() if section.get("readable") and not section["generated"]]
    if silent:
        lines += [f"No tool calls generated by {', '.join(silent)}: {'its' if len(silent) == 1 else 'their'}"
                  " shares measured nothing (not 0% success).", ""]
    blind = [style for style, section in sections.items() if not section.get("readable")]
    if blind:
        lines += [f"{', '.join(blind)} cannot read {'its' if len(blind) == 1 else 'their'} tool calls back, so"
                  " nothing was measured.", ""]
    if not any(section["expected"] for section in sections.values()):
        lines += ["No reference answer among these records holds a tool call (each answers after the tool results;"
                  " `data.turns: per_assistant` makes each call turn a record of its own).", ""]
    return lines
