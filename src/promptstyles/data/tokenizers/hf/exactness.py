"""Whether the fast path of :mod:`.fast` is exact for a tokenizer: its configuration, and a probe batch.

The fast path encodes an example's head (up to an added token) apart from the rest and reads token starts
off token byte lengths. Both are exact only where the tokenizer splits its input at added tokens before
anything else, changes no text, and every token stands for fixed bytes: byte-level BPE (Qwen2.5,
Llama-3), and SentencePiece-style BPE (``▁`` for spaces, ``<0xNN>`` for one byte): a ``Metaspace``
pre-tokenizer alone (Mistral v0.3) or a normalizer that prepends ``▁`` to every split (Phi-3.5). A
``Metaspace`` with ``prepend_scheme: first`` adds a ``▁`` the text does not hold where the text does not
start with an added token: those examples' token bytes exceed their text's, so they take the exact path,
and heads are not encoded apart (a rest encoded alone would start a text). Phi-3.5's ``▁`` before each
split and the spaces its added tokens swallow are counted by ``splits.py``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ProbePart", "byte_lengths", "heads_apart", "nodes", "prepend_mode", "probe_examples", "unsupported"]

_PRE_TOKENIZERS = frozenset({"Sequence", "Split", "ByteLevel", "Digits", "Punctuation", "Whitespace",
                             "WhitespaceSplit"})
_NORMALIZERS = frozenset({"Sequence", "NFC"})  # NFC leaves text already in NFC unchanged
_POST_PROCESSORS = frozenset({"Sequence", "ByteLevel", "TemplateProcessing"})
_PREPEND = frozenset({"first", "never", "every"})  # a Metaspace's "always" is not counted (``splits.py``)
_BYTE_TOKEN = re.compile(r"<0x[0-9A-F]{2}>")


def nodes(component: Any) -> list[dict[str, Any]]:
    """Every typed node of a serialized normalizer, pre-tokenizer or post-processor."""
    if component is None:
        return []
    found: list[dict[str, Any]] = []
    stack: list[Any] = [json.loads(component.__getstate__())]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "type" in node:
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _overlapping(contents: Sequence[str]) -> str | None:
    """An added token that could be matched across another one written in markup, or instead of it."""
    prefixes = {content[:end] for content in contents for end in range(1, len(content) + 1)}
    lengths = sorted({len(content) for content in contents})
    known = set(contents)
    for content in contents:
        if any(content[:n] in known for n in lengths if n < len(content)):
            return content  # matched instead of a shorter one that starts it
        for k in range(1, len(content)):
            tail = content[k:]
            if tail in prefixes or any(tail[:n] in known for n in lengths if n <= len(tail)):
                return content
    return None


def prepend_mode(tokenizer: Any) -> str | None:
    """How a SentencePiece-style tokenizer (``▁`` for spaces) puts a ``▁`` before text: a ``Metaspace``
    pre-tokenizer's ``prepend_scheme`` (Mistral: ``first``), or ``every`` for a normalizer that prepends one
    to every split and turns spaces into ``▁`` (Phi-3); None for any other tokenizer."""
    pre = nodes(tokenizer.pre_tokenizer)
    normalizer = nodes(tokenizer.normalizer)
    if len(pre) == 1 and pre[0]["type"] == "Metaspace" and pre[0].get("replacement") == "\u2581" and not normalizer:
        return str(pre[0].get("prepend_scheme"))
    steps = [node for node in normalizer if node["type"] != "Sequence"]
    if not pre and len(steps) == 2 and {node["type"] for node in steps} == {"Prepend", "Replace"}:
        prepend, replace = sorted(steps, key=lambda node: node["type"])
        if prepend.get("prepend") == "\u2581" and replace.get("pattern") == {"String": " "} and replace.get(
                "content") == "\u2581":
            return "every"
    return None


def unsupported(tokenizer: Any) -> str | None:
    """Why the fast path would not be exact for ``tokenizer`` (a ``tokenizers.Tokenizer``), or None."""
    model = tokenizer.model
    if type(model).__name__ != "BPE" or getattr(model, "dropout", None):
        return "the model is not a BPE without dropout"
    mode = prepend_mode(tokenizer)
    if mode is not None:
        if mode not in _PREPEND:
            return f"the Metaspace pre-tokenizer prepends '\u2581' {mode!r}, not first or never"
    else:
        pre = nodes(tokenizer.pre_tokenizer)
        types = {node["type"] for node in pre}
        if "ByteLevel" not in types or types - _PRE_TOKENIZERS:
            return (f"the pre-tokenizer ({', '.join(sorted(types)) or 'none'}) is neither byte-level nor "
                    "SentencePiece-style")
        if any(node["type"] == "ByteLevel" and node.get("add_prefix_space") for node in pre):
            return "the byte-level pre-tokenizer adds a prefix space"
        if {node["type"] for node in nodes(tokenizer.normalizer)} - _NORMALIZERS:
            return "the normalizer may change the text"
    post = nodes(tokenizer.post_processor)
    if {node["type"] for node in post} - _POST_PROCESSORS or any(node.get("trim_offsets") for node in post):
        return "the post-processor trims offsets or is of an unknown kind"
    added = tokenizer.get_added_tokens_decoder().values()
    strips = mode == "every"  # where each split's bytes are counted (``splits.py``), swallowed spaces are too
    if any(token.normalized or token.lstrip or (token.rstrip and not strips) or token.single_word
           for token in added):
        return "an added token is normalized or strips whitespace around it"
    clash = _overlapping([token.content for token in added])
    if clash is not None:
        return f"added token {clash!r} overlaps another added token"
    return None


def heads_apart(tokenizer: Any) -> bool:
    """Whether the text after an added token encodes alone as it does in the whole text: not where a
    ``Metaspace`` prepends its ``▁`` to the first split only, nor after a token that swallows spaces."""
    stripping = any(token.rstrip for token in tokenizer.get_added_tokens_decoder().values())
    return prepend_mode(tokenizer) in (None, "never", "every") and not stripping


def byte_lengths(tokenizer: Any, vocab_size: int) -> np.ndarray | None:
    """Each id's length in bytes of the text it stands for (None when some vocabulary token is not in the
    byte-level alphabet, for a byte-level tokenizer)."""
    lengths = np.zeros(vocab_size, dtype=np.int64)
    vocab = tokenizer.get_vocab(with_added_tokens=False)
    if prepend_mode(tokenizer) is not None:
        fallback = bool(getattr(tokenizer.model, "byte_fallback", False))
        sizes = [1 if fallback and _BYTE_TOKEN.fullmatch(token) else len(token.replace("\u2581", " ").encode())
                 for token in vocab]
    else:
        from tokenizers.pre_tokenizers import ByteLevel

        if not set(ByteLevel.alphabet()).issuperset("".join(vocab)):
            return None
        sizes = list(map(len, vocab))
    lengths[np.fromiter(vocab.values(), dtype=np.int64, count=len(vocab))] = sizes
    for token_id, token in tokenizer.get_added_tokens_decoder().items():
        lengths[token_id] = len(token.content.encode("utf-8"))
    return lengths


class ProbePart:
    """A rendered part of a probe example (text, whether markup, its kind)."""

    __slots__ = ("kind", "markup", "text")

    def __init__(self, text: str, markup: bool, kind: str) -> None:
        self.text, self.markup, self.kind = text, markup, kind


def probe_examples(added: Sequence[str]) -> list[list[ProbePart]]:
    """Examples that exercise seams: whitespace and non-ASCII around added tokens, and an added token in
    record text."""
    a, b = min(added), max(added)
    texts = [" hello  ", "\n\n", "é\u0301 😀x'sé", "  \n a", "12345", "", "\t", "€"]
    examples: list[list[tuple[str, bool, str]]] = []
    for left, right in itertools.product(texts, repeat=2):
        examples.append([(a + "x\n", True, "system"), (left, False, "system"), ("\n" + b + left, True, "prompt"),
                         (right, False, "prompt"), (a, True, "end")])
        examples.append([(left, False, "prompt"), (b, True, "prompt"), (right + a, False, "prompt"),
                         (b + " ", True, "end")])
    for token in added:  # each added token once at every kind of seam
        examples.append([(token + "x\n", True, "system"), (" hi  ", False, "system"),
                         ("\n" + token + " ", True, "prompt"), ("\n a", False, "prompt"), (token, True, "end"),
                         ("é😀", False, "end")])
    return [[ProbePart(*part) for part in example] for example in examples]
