"""The tool list of Hermes 3's ``tool_use`` template: each function with a Python-style signature and its
argument descriptions folded into a JSON-looking description, as NousResearch/Hermes-3-Llama-3.1-8B writes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptstyles import PartKind, StyleError
from promptstyles.styles.agent import PartWriter
from promptstyles.tool_records import tojson

__all__ = ["python_type", "write_hermes_tools"]

TOOLS = PartKind.TOOLS
_BASIC = {"string": "str", "number": "float", "integer": "int", "boolean": "bool"}
INTRO = ("<|im_start|>system\nYou are a function calling AI model. You are provided with function signatures within "
         "<tools></tools> XML tags. You may call one or more functions to assist with the user query. Don't make "
         "assumptions about what values to plug into functions. Here are the available tools: <tools> ")
OUTRO = (" </tools>Use the following pydantic model json schema for each tool call you will make: {\"properties\": "
         "{\"name\": {\"title\": \"Name\", \"type\": \"string\"}, \"arguments\": {\"title\": \"Arguments\", \"type\": "
         "\"object\"}}, \"required\": [\"name\", \"arguments\"], \"title\": \"FunctionCall\", \"type\": \"object\"}}\n"
         "For each function call return a json object with function name and arguments within <tool_call></tool_call>"
         " XML tags as follows:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-dict>}\n"
         "</tool_call><|im_end|>\n")


def python_type(spec: Any) -> str:
    """The template's ``json_to_python_type``, as it comes out: an array's item type is lost (it reads
    ``spec|items``, the pairs of the mapping) and a missing type is an empty ``Union[]``. Any other type (a list
    of types, ``null``) sends the template into endless recursion, so it is refused."""
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if isinstance(kind, str) and kind in _BASIC:
        return _BASIC[kind]
    if kind == "array":
        return "list[Union[]]"
    if kind == "object":
        extra = spec.get("additionalProperties")
        return "dict" if extra is None else f"dict[str, {python_type(extra)}]"
    if kind is None:
        return "Union[]"
    raise StyleError(f"style 'hermes3' cannot write a parameter of type {kind!r}: its template recurses without end "
                     "on it; use one of string, number, integer, boolean, array, object")


def _description(function: Mapping[str, Any]) -> str:
    properties = function["parameters"].get("properties", {})
    signature = ", ".join(f"{name}: {python_type(fields)}" for name, fields in properties.items())
    text = f"{function['name']}({signature})"
    returns = function.get("return")
    if returns is not None:
        text += " -> " + python_type(returns)
    text += " - " + function.get("description", "") + "\n\n"
    for number, (name, fields) in enumerate(properties.items()):
        text += ("    Args:\n" if number == 0 else "") + f"        {name}({python_type(fields)}): "
        text += str(fields.get("description", "")).strip()
    if isinstance(returns, Mapping) and "description" in returns:
        text += "\n    Returns:\n        " + str(returns["description"])
    return text


def write_hermes_tools(out: PartWriter, tools: Sequence[Mapping[str, Any]]) -> None:
    """The system turn that declares the tools (the template writes it, empty, even with none)."""
    out.markup(INTRO, TOOLS)
    for number, tool in enumerate(tools):
        function = tool["function"]
        parameters = function["parameters"]
        out.markup('{"type": "function", "function": {"name": "', TOOLS).text(function["name"], TOOLS)
        out.markup('", "description": "', TOOLS).text(_description(function), TOOLS)
        out.markup('", "parameters": ', TOOLS)
        out.text(tojson(parameters) if parameters.get("properties") else "{}", TOOLS)
        out.markup("}" + ("\n" if number < len(tools) - 1 else ""), TOOLS)
    out.markup(OUTRO, TOOLS)
