"""A model's chat template, loaded from its files and rendered the way transformers renders it.

transformers' ``apply_chat_template`` is the reference a model was trained against, so the environment here
matches it: a sandboxed, immutable jinja2 environment with ``trim_blocks`` and ``lstrip_blocks``, the
``loopcontrols`` extension, ``raise_exception``, ``strftime_now``, a ``tojson`` that does not escape HTML, and the
tokenizer's special tokens (``bos_token``, ``eos_token``, ...) as variables. jinja2 is an optional dependency
(``pip install promptstyles[hf]``), imported on first use.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from ..errors import StyleError

__all__ = ["TemplateRaised", "TemplateSource", "compile_template", "load_template"]

_TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


class TemplateRaised(Exception):
    """The template refused a conversation (its ``raise_exception``), with the template's own message."""


@dataclass(frozen=True)
class TemplateSource:
    """A chat template, the special-token variables it is rendered with, and the tokenizer's added tokens."""

    template: str
    origin: str
    tokens: Mapping[str, str] = field(default_factory=dict)
    added_tokens: tuple[str, ...] = ()


def _token_text(value: Any) -> str | None:
    """A special token as a config writes it: a string, or an AddedToken dict with ``content``."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StyleError(f"chat template: cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise StyleError(f"chat template: {path} is not a JSON object")
    return data


def _config_template(config: Mapping[str, Any], path: Path) -> str | None:
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates (Command-R): the default one renders plain chats
        named = {entry.get("name"): entry.get("template") for entry in template if isinstance(entry, dict)}
        template = named.get("default")
    if template is not None and not isinstance(template, str):
        raise StyleError(f"chat template: {path}: 'chat_template' is neither a string nor a list of named templates")
    return template


def load_template(path: str | Path, tokens: Mapping[str, str] | None = None) -> TemplateSource:
    """The template in a ``.jinja`` file, a ``tokenizer_config.json``, or a model folder holding either.

    A folder's ``chat_template.jinja`` wins over its config's ``chat_template``, as in transformers. ``tokens``
    sets or overrides special-token variables (needed for a bare ``.jinja`` file, which names none).
    """
    path = Path(path)
    config: dict[str, Any] = {}
    template: str | None = None
    if path.is_dir():
        if (path / "tokenizer_config.json").is_file():
            config = _read_json(path / "tokenizer_config.json")
            template = _config_template(config, path / "tokenizer_config.json")
        if (path / "chat_template.jinja").is_file():
            template = (path / "chat_template.jinja").read_text(encoding="utf-8")
        if template is None:
            raise StyleError(f"chat template: {path} holds neither chat_template.jinja nor a tokenizer_config.json "
                             "with a 'chat_template'; pass the model folder that has them")
    elif path.is_file() and path.suffix == ".json":
        config = _read_json(path)
        template = _config_template(config, path)
        if template is None:
            raise StyleError(f"chat template: {path} has no 'chat_template'; pass a file or folder that has one")
    elif path.is_file():
        template = path.read_text(encoding="utf-8")
    else:
        raise StyleError(f"chat template: {path} does not exist; give a .jinja file, a tokenizer_config.json or "
                         "a model folder")
    variables = {key: text for key in _TOKEN_KEYS if (text := _token_text(config.get(key))) is not None}
    variables.update(tokens or {})
    decoder = config.get("added_tokens_decoder") or {}
    added = [text for entry in decoder.values() if (text := _token_text(entry))]
    added += [value for value in variables.values() if value and value not in added]
    return TemplateSource(template, str(path), variables, tuple(added))


def _jinja() -> Any:
    try:
        return importlib.import_module("jinja2")
    except ImportError as error:
        raise StyleError("style 'chat-template' renders chat templates with jinja2, which is not installed; "
                         "install it with: pip install promptstyles[hf]") from error


def compile_template(source: TemplateSource, *, now: datetime | None = None) -> Callable[..., str]:
    """A function rendering ``(messages, add_generation_prompt, tools=None)`` as
    ``apply_chat_template(tokenize=False)``; with ``now``, ``strftime_now`` reads that time instead of the clock
    (so that two renders of one conversation agree, even across midnight)."""
    jinja2 = _jinja()
    sandbox = importlib.import_module("jinja2.sandbox")
    ext = importlib.import_module("jinja2.ext")

    class Generation(ext.Extension):  # type: ignore[misc,name-defined]
        """``{% generation %}`` marks assistant text for transformers' masks; it renders its body unchanged."""

        tags: ClassVar[set[str]] = {"generation"}

        def parse(self, parser: Any) -> Any:
            line = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(line)

        def _body(self, caller: Callable[[], str]) -> str:
            return caller()

    def raise_exception(message: str) -> None:
        raise TemplateRaised(message)

    def tojson(value: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
               sort_keys: bool = False) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format: str) -> str:
        return (now or datetime.now()).strftime(format)

    environment = sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, "jinja2.ext.loopcontrols"])
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = strftime_now
    try:
        compiled = environment.from_string(source.template)
    except jinja2.TemplateError as error:
        raise StyleError(f"chat template {source.origin}: not a valid jinja template: {error}") from error
    variables = dict(source.tokens)

    def render(messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool,
               tools: Sequence[Mapping[str, Any]] | None = None) -> str:
        try:
            return str(compiled.render(messages=[dict(m) for m in messages], tools=tools, documents=None,
                                       add_generation_prompt=add_generation_prompt, **variables))
        except jinja2.TemplateError as error:
            raise TemplateRaised(str(error)) from error
        except (TypeError, AttributeError) as error:  # a template that needs tools (Hermes 3's tool_use) iterates None
            what = "without tools" if tools is None else "on these messages"
            raise TemplateRaised(f"it fails {what} ({type(error).__name__}: {error})") from error

    return render
