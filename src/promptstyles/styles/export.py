"""Exporting a style as a Hugging Face ``chat_template``, so the format a model was tuned on ships with it.

The template is generated from the style's markup (a :class:`~promptstyles.ChatStyle`, a declared style,
or a style that offers a chat equivalent through ``as_chat_style()``, as Alpaca does), with its options
resolved: it renders every conversation the style renders exactly as the style does, and refuses the ones the
style refuses (with ``raise_exception``), and tool lists, tool calls and reasoning, which it cannot write, so
tool data never loses its calls silently. An instruction record is a user message whose optional ``input``
key holds the record's input: ``{"role": "user", "content": instruction, "input": input}``.

With ``generation_tags`` the assistant text and its end marker (what the ``assistant`` mask trains) sit
inside ``{% generation %}`` blocks, so ``apply_chat_template(..., return_assistant_tokens_mask=True,
return_dict=True)`` returns that mask.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .._io import atomic_write_bytes
from ..errors import ConfigError, StyleError
from ._base import Style
from .chat import ChatStyle
from .declarable import undeclarable
from .declarative import DATE_FORMAT, date_text

__all__ = ["chat_template", "write_chat_template"]


def _literal(text: str) -> str:
    """A jinja string literal (jinja reads ``\\n`` and ``\\uXXXX`` escapes, as JSON writes them)."""
    return json.dumps(text, ensure_ascii=False)


_PROBE_DATE = dt.date(1901, 2, 3)
_DATE = _PROBE_DATE.strftime(DATE_FORMAT)
"""Where a dated style's markup writes this, the template writes ``date_string``."""


def _emit(text: str) -> str:
    """Jinja that writes ``text``, with ``date_string`` where a dated style's markup writes the date."""
    pieces = [("{{ " + _literal(piece) + " }}" if piece else "") for piece in text.split(_DATE)]
    return "{{ date_string }}".join(pieces)


def _dated(style: ChatStyle) -> tuple[ChatStyle, str]:
    """``style`` with the probe date in its markup, and the jinja that sets ``date_string`` as the official
    templates do: a caller's ``date_string`` first, else the date the style was given, else the style's fixed
    default (Llama-3.1's), else today's, computed when the template renders (``strftime_now``; where a renderer
    lacks it, the style's ``fallback_date``, or an error asking for ``date_string``). An undated style is as
    it is."""
    if "date" not in style.resolved_options:
        return style, ""
    try:
        probe = type(style)(**{**style.options, "date": _PROBE_DATE})
    except StyleError:  # a declared style without {date} in its markup
        return style, ""
    given = style.options.get("date")
    fixed = given if given is not None else getattr(type(style), "default_date", None)
    if fixed is not None:
        default = "{% set date_string = " + _literal(date_text(style.name, fixed)) + " %}"
    else:
        fallback = getattr(type(style), "fallback_date", None)
        default = ("{% if strftime_now is defined %}{% set date_string = strftime_now(" + _literal(DATE_FORMAT)
                   + ") %}{% else %}" + ("{% set date_string = " + _literal(fallback) + " %}" if fallback else
                   "{{ raise_exception('this renderer has no strftime_now: pass date_string') }}") + "{% endif %}")
    return probe, "{%- if not date_string is defined %}" + default + "{% endif %}"


def _trimmed(expression: str, strip: str) -> str:
    method = {"both": "strip", "left": "lstrip", "right": "rstrip"}.get(strip)
    return f"({expression}).{method}()" if method else expression


def _chat_style(style: Style) -> ChatStyle:
    equivalent = getattr(style, "as_chat_style", None)
    candidate = equivalent() if callable(equivalent) else style
    reason = undeclarable(candidate)
    if reason or not isinstance(candidate, ChatStyle):
        raise StyleError(f"cannot export {reason or style.name}: a chat template is generated from ChatStyle "
                         "markup; declare the format in YAML (see promptstyles.styles.declarative) to export it")
    return candidate


_UNWRITTEN = ("tool_calls", "reasoning_content", "reasoning", "thinking")
"""Message keys a template of text turns would silently drop: it refuses a message that has one."""


def chat_template(style: Style, *, generation_tags: bool = False) -> str:
    """``style`` as a jinja ``chat_template`` (see the module docstring); raises :class:`StyleError` for a
    style whose rendering is Python that markup cannot say."""
    s, dating = _dated(_chat_style(style))

    def strip_for(role: str) -> str:
        return "both" if role in s.strip_roles else "none"

    opening, closing = ("{% generation %}", "{% endgeneration %}") if generation_tags else ("", "")
    lines = [
        dating,
        "{%- if messages and messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
        "{% set turns = messages[1:] %}"
        f"{{% else %}}{{% set system = {_literal(s.system) if s.system is not None else 'none'} %}}"
        "{% set turns = messages %}{% endif %}",
    ]
    if s.system_turn == "none":
        note = f" ({s.system_note})" if s.system_note else ""
        lines.append("{%- if messages and messages[0]['role'] == 'system' %}{{ raise_exception("
                     + _literal(f"style {s.name!r} has no system role{note}; leave the system message out")
                     + ") }}{% endif %}")
    lines.append("{%- if not turns %}{{ raise_exception('expected a user message') }}{% endif %}")
    lines.append("{%- if tools is defined and tools %}{{ raise_exception("
                 + _literal(f"this template of style {s.name!r} writes text turns only, no tool list; "
                            "use the style itself for tool data") + ") }}{% endif %}")
    lines.append("{%- for message in turns %}"
                 "{% if message['role'] not in ['user', 'assistant'] %}{{ raise_exception("
                 "'a message of role ' ~ message['role'] ~ ' may not come here') }}{% endif %}")
    lines.append("{% for key in " + json.dumps(_UNWRITTEN) + " %}{% if message[key] is defined and message[key] "
                 "%}{{ raise_exception(" + _literal(f"this template of style {s.name!r} writes text turns only: ")
                 + " ~ key ~ ' in a message would be left out') }}{% endif %}{% endfor %}")
    if s.alternate or s.one_exchange:
        lines.append("{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception("
                     "'user and assistant messages must alternate, starting with the user') }}{% endif %}")
    if s.one_exchange:
        lines.append("{% if loop.index0 > 1 %}{{ raise_exception("
                     + _literal(f"style {s.name!r} renders one exchange (a user message and its answer)")
                     + ") }}{% endif %}")
    lines.append("{%- endfor %}")
    users = "(turns | selectattr('role', 'equalto', 'user') | list)"
    fold = {"first_user": f"{users}[0]", "last_user": f"{users}[-1]"}.get(s.system_turn)
    lines.append("{%- set fold_into = " + (f"{fold} if system is not none and {users} else none" if fold
                                           else "none") + " %}")
    if s.bos and s.bos_token:
        lines.append(_emit(s.bos_token))
    system_text = _trimmed("system", strip_for("system"))
    if s.system_turn == "own":
        lines.append("{%- if system is not none %}" + _emit(s.system_turn_prefix()) + "{{ " + system_text + " }}"
                     + _emit(s.system_suffix) + "{% endif %}")
    first, later = s.user_turn_prefix(first=True), s.user_turn_prefix(first=False)
    joined = ("message['content'] ~ ((" + _literal(s.joiner) + " ~ message['input']) "
              "if message['input'] is defined and message['input'] else '')")
    folded_strip = s.fold_strip if s.fold_strip is not None else strip_for("user")
    lines += [
        "{%- set seen = namespace(users=0) %}{% for message in turns %}{% if message['role'] == 'user' %}",
        ("{%- if seen.users == 0 %}" + _emit(first) + "{% else %}" + _emit(later) + "{% endif %}"
         "{% set seen.users = seen.users + 1 %}") if first != later else _emit(first),
        "{%- if message is sameas fold_into %}" + _emit(s.fold_template[0]) + "{{ " + system_text + " }}"
        + _emit(s.fold_template[1]) + "{{ " + _trimmed(joined, folded_strip) + " }}{% else %}{{ "
        + _trimmed(joined, strip_for("user")) + " }}{% endif %}" + _emit(s.user_suffix),
        "{%- else %}" + _emit(s.response_header) + opening + _emit(s.response_lead) + "{{ "
        + _trimmed("message['content']", strip_for("assistant")) + " }}" + _emit(s.response_end) + closing,
        "{%- endif %}{% endfor %}",
        "{%- if add_generation_prompt %}" + _emit(s.response_header)
        + ("{% else %}" + opening + _emit(s.closing) + closing if s.closing else "") + "{% endif %}",
    ]
    # Every line opens with a whitespace-eating tag, so the newlines between them are never output.
    return "\n".join(line.replace("{{ ", "{{- ", 1) if line.startswith("{{ ") else
                     line.replace("{% ", "{%- ", 1) if line.startswith("{% ") else line for line in lines if line)


def write_chat_template(path: str | Path, template: str) -> None:
    """Set ``chat_template`` in a ``tokenizer_config.json`` in place, atomically; other keys are kept."""
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found; give an existing tokenizer_config.json", source=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"cannot read it as JSON: {error}", source=str(path)) from error
    if not isinstance(config, dict):
        raise ConfigError(f"expected a JSON object, got {type(config).__name__}", source=str(path))
    config["chat_template"] = template
    atomic_write_bytes(path, (json.dumps(config, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
