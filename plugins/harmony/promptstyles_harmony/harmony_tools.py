"""The ``functions`` namespace of gpt-oss's developer message: each tool as a TypeScript-like type, as the
template's ``render_tool_namespace`` and ``render_typescript_type`` macros write it, whitespace included::

    ## functions

    namespace functions {

    // Current weather in a city
    type get_weather = (_: {
    // City name
    city: string,
    unit?: "c" | "f", // default: c,
    }) => any;

    } // namespace functions

Only top-level parameters get their description and default as comments; nested objects, arrays, unions
(``oneOf``, a list of types) and enums are folded into the type as the macro folds them, odd line breaks and
all. A schema the template cannot write (a description that is not a string, a missing tool description, an
enum or ``oneOf`` default that is not a string) is refused with its key named: the template fails on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptstyles import PartKind, StyleError
from promptstyles.styles.agent import PartWriter
from promptstyles.tool_records import tojson

__all__ = ["typescript_type", "write_namespace"]

TOOLS = PartKind.TOOLS
_ARRAYS = {"string": "string[]", "number": "number[]", "integer": "number[]", "boolean": "boolean[]"}
_SCALARS = {"number": "number", "integer": "number", "boolean": "boolean"}
_NESTED = "\n" + " " * 16
"""What the template leaves between a nested property's ``": "`` and its type (an untrimmed ``{{``)."""


def _refuse(key: str, why: str) -> StyleError:
    return StyleError(f"key {key!r}: style 'gpt-oss' {why}")


def _comment(spec: Mapping[str, Any], field: str, key: str) -> str:
    """A description or default the template joins to ``"// "`` with ``+``: a string, or the template fails."""
    value = spec[field]
    if not isinstance(value, str):
        raise _refuse(f"{key}.{field}", f"needs a string here (its template adds it to a comment and fails on "
                                        f"{type(value).__name__})")
    return value


def _union(variants: Any, key: str) -> str:
    """``oneOf``: each variant with its comments, objects too (the template means to write ``any`` for several
    variants with an object among them, but sets its flag inside the loop, where Jinja's scoping keeps it)."""
    if not isinstance(variants, Sequence) or isinstance(variants, str):
        raise _refuse(key, "needs a list of schemas in 'oneOf'")
    pieces = []
    for number, variant in enumerate(variants):
        where = f"{key}[{number}]"
        piece = typescript_type(variant, where)
        if isinstance(variant, Mapping) and variant.get("description"):
            piece += "// " + _comment(variant, "description", where)
        if isinstance(variant, Mapping) and "default" in variant:
            piece += " " * 20 + "// default: " + tojson(variant["default"])
        pieces.append(piece)
    return " | \n".join(pieces)


def _object(spec: Mapping[str, Any], key: str) -> str:
    properties = spec.get("properties")
    if not properties:
        return "object"
    if not isinstance(properties, Mapping):
        raise _refuse(f"{key}.properties", "needs a mapping of property schemas")
    required = spec.get("required") or []
    fields = [f"{name}{'' if name in required else '?'}: {_NESTED}{typescript_type(value, f'{key}.properties.{name}')}"
              for name, value in properties.items()]
    return "{\n" + ", ".join(fields) + "}"


def typescript_type(spec: Any, key: str) -> str:
    """The template's ``render_typescript_type`` of one JSON schema (``key`` names it in errors)."""
    spec = spec if isinstance(spec, Mapping) else {}
    kind = spec.get("type")
    null = " | null" if spec.get("nullable") else ""
    if kind == "array":
        items = spec.get("items")
        if not items:
            return "any[]" + null
        item_kind = items.get("type") if isinstance(items, Mapping) else None
        if isinstance(item_kind, str) and item_kind in _ARRAYS:
            return _ARRAYS[item_kind] + null
        inner = typescript_type(items, f"{key}.items")
        return ("any[]" if inner == "object | object" or len(inner) > 50 else inner + "[]") + null
    if isinstance(kind, list) and kind:
        return " | ".join(str(name) for name in kind)
    if spec.get("oneOf"):
        return _union(spec["oneOf"], f"{key}.oneOf")
    if kind == "string":
        return '"' + '" | "'.join(str(value) for value in spec["enum"]) + '"' if spec.get("enum") else "string" + null
    if isinstance(kind, str) and kind in _SCALARS:
        return _SCALARS[kind]
    return _object(spec, key) if kind == "object" else "any"


def _parameter(name: str, spec: Any, required: Any, key: str) -> tuple[str, str]:
    """(the comment line before a parameter, the parameter's line): name, ``?``, type and default comment."""
    spec = spec if isinstance(spec, Mapping) else {}
    comment = "// " + _comment(spec, "description", key) + "\n" if spec.get("description") else ""
    line = f"{name}{'' if name in required else '?'}: {typescript_type(spec, key)}"
    if "default" in spec:
        if spec.get("enum"):
            line += ", // default: " + _comment(spec, "default", key)
        elif spec.get("oneOf"):
            line += "// default: " + _comment(spec, "default", key)
        else:
            line += ", // default: " + tojson(spec["default"])
    return comment, line + ",\n"


def write_namespace(out: PartWriter, tools: Sequence[Mapping[str, Any]]) -> None:
    """The ``functions`` namespace: frame as markup, everything taken from the tool specs as record text."""
    out.markup("## functions\n\nnamespace functions {\n\n", TOOLS)
    for number, tool in enumerate(tools):
        function, key = tool["function"], f"tools[{number}].function"
        if "description" not in function:
            raise _refuse(f"{key}.description", "needs a description for each tool (its template writes it as a "
                                                "comment and fails without one)")
        out.markup("// ", TOOLS).text(_comment(function, "description", key), TOOLS).markup("\ntype ", TOOLS)
        out.text(function["name"], TOOLS).markup(" = ", TOOLS)
        parameters = function.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
        if not properties:
            out.markup("() => any;\n\n", TOOLS)
            continue
        if not isinstance(properties, Mapping):
            raise _refuse(f"{key}.parameters.properties", "needs a mapping of parameter schemas")
        assert isinstance(parameters, Mapping)
        required = parameters.get("required") or []
        out.markup("(_: {\n", TOOLS)
        for name, spec in properties.items():
            comment, line = _parameter(name, spec, required, f"{key}.parameters.properties.{name}")
            out.text(comment, TOOLS).text(line, TOOLS)
        out.markup("}) => any;\n\n", TOOLS)
    out.markup("} // namespace functions", TOOLS)
