"""The built-in ``chat-template`` style: any model's own chat template, as labelled parts.

``get_style("chat-template", template="path/to/model")`` reads the template (a ``.jinja`` file, a
``tokenizer_config.json``, or a model folder), renders it the way transformers does on probe conversations,
and turns what it writes around each message into :class:`~promptstyles.ChatStyle` markup. Masks then come
from part boundaries, as for any style, for models no plugin knows. For Llama-3's template the parts are::

    <|begin_of_text|>                                       BOS
    <|start_header_id|>user<|end_header_id|>\\n\\n {user} <|eot_id|>     user prefix | text | suffix
    <|start_header_id|>assistant<|end_header_id|>\\n\\n                  response header
    {answer} <|eot_id|>                                                 response | end

At construction the derived style must reproduce the template on the probes and on check conversations
(unicode, several lines, surrounding whitespace); a template it cannot decompose raises a
:class:`~promptstyles.errors.StyleError` saying what is irregular. Each role's text is trimmed at the ends the
template trims it: both (``| trim``) or one (``lstrip()``, ``rstrip()``). A system prompt may have its own turn
(with a default prompt the template writes when there is none), or be folded into the first or the last user
turn (Llama-2, Gemma-3); a template that refuses or ignores system messages gives a style that refuses them. A
system prompt that is written only while the conversation ends with a user message (Mistral v0.3's template,
which drops it once an answer follows) is refused, with that reason: training on that text would not match
the generation prompt. A template that reads the clock (``strftime_now``, e.g. Llama-3.2's "Today Date") is
rendered once, so the date is the day the style was built.

Conversations with tools, tool calls, tool results or reasoning are rendered by the template itself and labelled
by tracing each field through it (``_template_trace.py``); what the template renders of these is found at
construction by probing (``_template_probes.py``) and is the instance's ``renders``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ..chat_messages import as_chat_messages
from ..errors import StyleError
from ..hookspecs import hookimpl
from ..records import Conversation, InstructionRecord, Message, Record
from ._base import Part, PartKind
from ._jinja import TemplateRaised, compile_template, load_template
from ._template_markup import Render, conversation, derive_markup, derive_turn_markup
from ._template_probes import probe_features
from ._template_trace import TemplateTrace
from .agent import as_conversation, tidy
from .chat import _DEFAULT, ChatStyle, Segment, Turn

__all__ = ["ChatTemplateStyle", "register_styles"]

logger = logging.getLogger(__name__)

_CHECK_TEXTS = {
    "system": " You are a careful assistant.\nAnswer briefly.\n",
    "user": "  Übersetze: «naïve café» — 日本語?\n\nTwo lines.  ",
    "assistant": " Sure:\n- one\n- two ✓ ",
}


class ChatTemplateStyle(ChatStyle):
    """A model's chat template decomposed into markup. Options:

    - ``template``: a ``.jinja`` file, a ``tokenizer_config.json``, or a model folder (required).
    - ``tokens``: special-token variables for the template (``{bos_token: "<s>"}``), over the config's own.
    - ``system``, ``joiner``, ``bos``: as for every chat style.
    - ``trace``: render every conversation with the template itself and label it by tracing, as conversations
      with tools or reasoning always are; for templates whose markup cannot be decomposed (Qwen3, DeepSeek-R1).
    """

    name = "chat-template"
    path_options = ("template",)
    description = "a model's own chat template (option template=PATH), decomposed into parts"

    def __init__(self, *, template: str | Path | None = None, tokens: Mapping[str, str] | None = None,
                 system: str | None = _DEFAULT, joiner: str = "\n", bos: bool = True, trace: bool = False) -> None:
        if template is None:
            raise StyleError("style 'chat-template' needs the option 'template': a .jinja file, a "
                             "tokenizer_config.json or a model folder (--option template=PATH)")
        if tokens is not None and not (isinstance(tokens, Mapping) and all(
                isinstance(v, str) for v in tokens.values())):
            raise StyleError(f"style 'chat-template': option 'tokens' must map names to strings, got {tokens!r}")
        if not isinstance(trace, bool):
            raise StyleError(f"style 'chat-template': option 'trace' must be true or false, got {trace!r}")
        source = load_template(template, tokens)
        render = compile_template(source, now=datetime.now())
        derive = {"bos": source.tokens.get("bos_token", ""), "atoms": source.added_tokens, "origin": source.origin}
        try:
            markup = derive_markup(render, **derive)  # type: ignore[arg-type]
        except StyleError as error:
            if not trace:
                raise StyleError(f"{error}; or render every conversation through the template itself, labelled by "
                                 "tracing (option trace=true)") from error
            markup = derive_turn_markup(render, **derive)  # type: ignore[arg-type]
            logger.info("chat template %s: %s; every conversation is traced", source.origin, error)
        self.trace = trace
        vars(self).update({key: value for key, value in asdict(markup).items()
                           if key not in ("first_user_prefix", "open_end", "folded_trim", "trims")})
        self.markup = markup
        self._trims = {role: (left, right) for role, left, right in markup.trims}
        self.origin = source.origin
        strings = [value for value in asdict(markup).values() if isinstance(value, str)]
        strings += list(markup.fold_template)
        vars(self)["special_tokens"] = tuple(t for t in source.added_tokens if any(t in s for s in strings))
        if not trace:
            super().__init__()  # the template's own defaults, to compare with the template
            self._verify(render)
        super().__init__(system=system, joiner=joiner, bos=bos)
        self._trace = TemplateTrace(render, markup, source.added_tokens, source.origin)
        vars(self)["renders"], self.unrendered = probe_features(self._trace)
        vars(self)["special_tokens"] = tuple(dict.fromkeys((*self.special_tokens, *self._trace.markup_tokens)))
        logger.debug("chat template %s: %s", source.origin, markup)

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        end = self.markup.response_end.strip() or self.markup.closing.strip()
        return (end,) if end else ()

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """As for any style; where the template writes reasoning, the answer after its closer (``</think>``)."""
        response = super().extract_response(generated, prompt=prompt)
        closer = self._trace.reasoning_closer.strip()
        return response.rpartition(closer)[2].strip() if closer else response

    def user_turn_prefix(self, *, first: bool) -> str:
        return self.markup.first_user_prefix if first else self.markup.user_prefix

    def content(self, turn: Turn, *, folded: bool = False) -> tuple[Segment, ...]:
        """The turn's text trimmed at the ends the template trims, one end (``lstrip()``) or both (``| trim``)."""
        if folded:
            left, right = self.markup.folded_trim
        else:
            left, right = self._trims.get(turn.role, (False, False))
        return turn.trimmed(left=left, right=right) if left or right else turn.segments

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        if self.trace:
            return self.agent_parts(as_conversation(record, self.joiner), generation=generation)
        if generation or not _ends_with_user(record):
            return super().parts(record, generation=generation)
        # A conversation that ends with a user turn, without the generation prompt: the template's own ending.
        parts = super().parts(record, generation=True)
        if parts and parts[-1].kind is PartKind.RESPONSE_HEADER:
            parts.pop()
        if self.markup.open_end:
            parts.append(Part(self.markup.open_end, PartKind.PROMPT, markup=True))
        return parts

    def agent_parts(self, record: Conversation, *, generation: bool = False) -> list[Part]:
        """A conversation with tools or reasoning, as the template renders it, labelled by tracing (see
        ``_template_trace.py``); the ``system`` option fills in a system prompt the record does not bring."""
        messages, tools = as_chat_messages(record)
        if (self.system and (not messages or messages[0]["role"] != "system")
                and self.system != self.markup.default_system):
            messages.insert(0, {"role": "system", "content": self.system})
        parts = self._trace.parts(messages, tools, generation=generation)
        bos = self.markup.bos_token
        if not self.bos and bos and parts and parts[0].markup and parts[0].text.startswith(bos):
            parts[0] = parts[0]._replace(text=parts[0].text[len(bos):])
        return tidy(parts)

    def _verify(self, render: Render) -> None:
        """Render probes and check conversations both ways; the first difference is the error."""
        system = self.system_turn != "none"
        shapes = [(n, s, u) for n in (0, 1, 2) for s in ((False, True) if system else (False,)) for u in (False, True)
                  if n or u]
        for exchanges, with_system, final_user in shapes:
            probe = conversation(exchanges, system=with_system, final_user=final_user)
            check = [{"role": m["role"], "content": _CHECK_TEXTS[m["role"]]} for m in probe]
            for messages in (probe, check):
                for generation in (False, True) if final_user else (False,):
                    self._compare(render, messages, generation, plain=messages is probe)

    def _compare(self, render: Render, messages: list[dict[str, str]], generation: bool, *, plain: bool) -> None:
        try:
            expected = render(messages, generation)
        except TemplateRaised as error:
            raise StyleError(f"style 'chat-template': {self.origin} refuses a plain conversation: {error}") from error
        record = Conversation(tuple(Message(m["role"], m["content"]) for m in messages))
        got = "".join(part.text for part in self.parts(record, generation=generation))
        if got != expected:
            pairs = enumerate(zip(got, expected, strict=False))
            at = next((i for i, (x, y) in pairs if x != y), min(len(got), len(expected)))
            roles = ", ".join(m["role"] for m in messages)
            raise StyleError(
                f"style 'chat-template': the markup derived from {self.origin} does not reproduce it on "
                f"[{roles}]{' with the generation prompt' if generation else ''}: at character {at} the template "
                f"writes {expected[max(0, at - 20): at + 20]!r}, the derived style {got[max(0, at - 20): at + 20]!r}; "
                + ("the markup fits plain text, but the template trims the whitespace around this text differently "
                   "from the other turns" if not plain else "the template's markup is irregular")
                + " (write a style plugin for it)")


def _ends_with_user(record: Record) -> bool:
    if isinstance(record, InstructionRecord):
        return not record.output
    return isinstance(record, Conversation) and bool(record.messages) and record.messages[-1].role == "user"


@hookimpl
def register_styles(register: Any) -> None:
    register(ChatTemplateStyle)
