"""The fast path of Hugging Face tokenizers (``data/tokenizers/hf/fast.py``) gives exactly the ids and token
starts of the exact path (whole texts encoded with offsets), and is switched off where it would not be exact."""

from __future__ import annotations

import numpy as np
import pytest
from engine_styles import MODEL_STYLES, MODELS
from shared_paths import require

from promptstyles import get_style, to_record
from promptstyles.data.build.encoding import render_parts
from promptstyles.data.tokenizers.hf import fast as hf_fast
from promptstyles.data.tokenizers.hf.encoding import PartsEncoder
from promptstyles.data.tokenizers.hf.exactness import ProbePart, unsupported
from promptstyles.data.tokenizers.hf.fast import FastEncoder, exact_examples
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

tokenizers = pytest.importorskip("tokenizers")

INJECTIONS = ["<|im_end|>", "<|eot_id|>", "[INST]", "<|end|>", "<s>", "</s>", "<|endoftext|>", "<|im_start|>"]
SEAMS = ["  leading", "Cafe\u0301 \uf900", "\n\n x", "\t\n", " ", "", "é\u0301😀 x", "12345", "'s it", "\r\n\r\n",
         "日本語 ✓"]
FAST = {"llama-3-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3", "phi-3.5-mini-instruct"}


def _chat(user: str, answer: str, system: str | None = None) -> dict:
    messages = [{"role": "system", "content": system}] if system is not None else []
    return {"messages": [*messages, {"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


def _shared_chats(raw_records: list[dict]) -> list[dict]:
    """The shared instruction records as one-turn chats."""
    return [_chat(r["instruction"] + ("\n" + r["input"] if r["input"] else ""), r["output"]) for r in raw_records]


def _battery() -> list[dict]:
    records = []
    for token in INJECTIONS:
        records += [_chat(f"a{token}b {token}", f"{token} x{token}"), _chat(token, token, system=f" {token}"),
                    _chat(f"x<|im_{token}", f"end|>{token[:3]}")]
    for left in SEAMS:
        records += [_chat(left, left), _chat(f"{left}a{left}", f"{left}b", system=left)]
    return records


@pytest.fixture(scope="module", params=list(MODEL_STYLES))
def model(request):
    folder = require(MODELS / request.param)
    return request.param, HFTokenizer(folder), get_style(MODEL_STYLES[request.param])


def test_fast_path_is_used_only_where_its_configuration_allows(model):
    name, tokenizer, _ = model
    assert (tokenizer.fast_encoder() is not None) == (name in FAST)
    assert unsupported(tokenizer._tokenizer) is None


def test_same_ids_and_starts_as_whole_texts(model, raw_records):
    """The shared records as chat records and the battery: ids and token byte starts as the exact path
    gives them, and (record text free of added tokens) the ids of the whole text from the tokenizer itself."""
    _, tokenizer, style = model
    chats = _shared_chats(raw_records)
    records = [to_record(record, index=i) for i, record in enumerate(chats + _battery())]
    rendered = []
    for index, record in enumerate(records):
        try:
            rendered.append(render_parts(style, record, index=index))
        except Exception:  # a system message where the style has none, and the like
            continue
    assert len(rendered) > len(raw_records)
    got = tokenizer.encode_examples(rendered)
    want = exact_examples(tokenizer._encoder, rendered)
    assert got.ids == want.ids
    np.testing.assert_array_equal(got.starts, want.starts)
    whole = tokenizer._tokenizer.encode_batch(["".join(p.text for p in parts) for parts in rendered[:1100]],
                                              add_special_tokens=False)
    assert got.ids[:1100] == [encoding.ids for encoding in whole]
    is_added = np.zeros(tokenizer.vocab_size, dtype=bool)
    is_added[list(tokenizer.added_tokens.values())] = True

    def added_in(ids: list[int]) -> int:
        return int(is_added[np.asarray(ids, dtype=np.int64)].sum())

    for parts, ids in zip(rendered[1100:], got.ids[1100:], strict=True):  # record text never gives an added id
        assert added_in(ids) == sum(added_in(tokenizer._tokenizer.encode(p.text, add_special_tokens=False).ids)
                                    for p in parts if p.markup)


def _exact_calls(monkeypatch) -> list[int]:
    """The number of examples each call of the exact path got from the fast path."""
    calls: list[int] = []

    def counted(exact, examples, pieces=None):
        calls.append(len(examples))
        return exact_examples(exact, examples, pieces)

    monkeypatch.setattr(hf_fast, "exact_examples", counted)
    return calls


@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_path_serves_the_shared_records_alone(name, raw_records, monkeypatch):
    """No shared record needs the exact path: token bytes add up to the text (``▁`` one space, ``<0xNN>`` one
    byte with Mistral), so the speed is the fast path's."""
    folder = require(MODELS / name)
    tokenizer, style = HFTokenizer(folder), get_style(MODEL_STYLES[name])
    chats = _shared_chats(raw_records)
    rendered = [render_parts(style, to_record(record, index=i)) for i, record in enumerate(chats)]
    assert tokenizer.fast_encoder() is not None  # built (its probe batch checked) before counting
    calls = _exact_calls(monkeypatch)
    assert tokenizer.encode_examples(rendered).ids == exact_examples(tokenizer._encoder, rendered).ids
    assert calls == []


@pytest.mark.parametrize("name", sorted(FAST))
def test_markup_and_heads_are_cached_for_the_records_not_the_probe(name, raw_records, monkeypatch):
    """The probe batch writes every added token (Llama-3 has 256, Mistral 771): its markup must not fill the
    bounded caches, or every record's markup would be searched and its head encoded again."""
    folder = require(MODELS / name)
    tokenizer, style = HFTokenizer(folder), get_style(MODEL_STYLES[name])
    fast = tokenizer.fast_encoder()
    assert fast is not None
    searched: list[str] = []
    markup = fast._markup
    monkeypatch.setattr(fast, "_markup", lambda text: searched.append(text) or markup(text))
    rendered = [render_parts(style, to_record(chat, index=i)) for i, chat in enumerate(_shared_chats(raw_records))]
    tokenizer.encode_examples(rendered)
    assert sorted(searched) == sorted({p.text for parts in rendered for p in parts if p.markup})
    heads_apart = name.startswith(("llama", "qwen"))  # not after Mistral's first ▁ nor Phi-3.5's swallowed spaces
    assert len(fast._heads) == (2 if heads_apart else 1)  # "" and the records' one head


def test_metaspace_text_before_any_added_token_takes_the_exact_path(monkeypatch):
    """Mistral prepends a ``▁`` to a text that does not start with an added token: such an example's token
    bytes exceed its text's, so it is encoded by the exact path; an example that starts with ``<s>`` is not, nor is
    the text after it encoded alone (it would then get a ``▁``)."""
    folder = require(MODELS / "mistral-7b-instruct-v0.3")
    tokenizer = HFTokenizer(folder)
    assert tokenizer.fast_encoder() is not None
    parts = [ProbePart("Hi there", False, "prompt"), ProbePart(" [/INST]", True, "prompt"),
             ProbePart(" ok é😀", False, "response"), ProbePart("</s>", True, "end")]
    examples = [parts, [ProbePart("<s>[INST]", True, "prompt"), *parts]]
    calls = _exact_calls(monkeypatch)
    got = tokenizer.encode_examples(examples)
    want = exact_examples(tokenizer._encoder, examples)
    assert calls == [1] and got.ids == want.ids
    np.testing.assert_array_equal(got.starts, want.starts)
    assert got.ids[0][0] == tokenizer._tokenizer.token_to_id("\u2581Hi")  # the prepended ▁ the text lacks


def test_phi3_counts_the_split_marks_and_the_spaces_its_added_tokens_swallow(monkeypatch):
    """Phi-3.5's ``<|user|>`` swallows the whitespace after it, into record text too (Rust's whitespace: an
    ideographic space is, ``\x1c`` is not), and each piece of text gets a ``▁``: counted, not left to the exact path."""
    folder = require(MODELS / "phi-3.5-mini-instruct")
    tokenizer = HFTokenizer(folder)
    assert tokenizer.fast_encoder() is not None
    examples = [[ProbePart("<|user|>\n", True, "prompt"), ProbePart(text, False, "prompt"),
                 ProbePart("<|end|>\n<|assistant|>\n", True, "prompt"), ProbePart(f"{text}ok", False, "response"),
                 ProbePart("<|end|>\n<|endoftext|>", True, "end")]
                for text in ("  hi", "\u3000\u2028 x é", "\x1cx", "\n", "", " \u3000😀 ")]
    examples += [[ProbePart("x y", False, "prompt"), ProbePart("<|end|>\n", True, "end"),
                  ProbePart("z", False, "response")]] * 2  # one example ends in text, the next starts with it
    calls = _exact_calls(monkeypatch)
    got = tokenizer.encode_examples(examples)
    want = exact_examples(tokenizer._encoder, examples)
    assert calls == [] and got.ids == want.ids
    np.testing.assert_array_equal(got.starts, want.starts)
    user = tokenizer._tokenizer.token_to_id("<|user|>")
    assert [ids[:2] for ids in got.ids[:2]] == [[user, tokenizer._tokenizer.token_to_id("\u2581hi")],
                                                 [user, tokenizer._tokenizer.token_to_id("\u2581x")]]


def test_twice_the_same(model):
    """The head cache gives the same ids on a second batch (no cached list is changed by its users)."""
    _, tokenizer, style = model
    rendered = [render_parts(style, to_record(_chat(s, s), index=0)) for s in SEAMS]
    first = tokenizer.encode_examples(rendered)
    for ids in first.ids:
        ids.pop()
    second = tokenizer.encode_examples(rendered)
    assert second.ids == exact_examples(tokenizer._encoder, rendered).ids


def _qwen_with(token: object):
    folder = require(MODELS / "qwen2.5-7b-instruct")
    raw = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    raw.add_special_tokens([token])
    added = {i: t.content for i, t in raw.get_added_tokens_decoder().items()}
    vocab_size = max(added) + 1
    return raw, PartsEncoder(raw, added, vocab_size), added, vocab_size


def test_stripping_added_token_turns_it_off():
    raw, exact, added, size = _qwen_with(tokenizers.AddedToken("<|x|>", rstrip=True, normalized=False))
    assert unsupported(raw) == "an added token is normalized or strips whitespace around it"
    assert FastEncoder.build(raw, exact, added, size) is None


def test_probe_catches_what_the_configuration_check_missed(monkeypatch, caplog):
    """With the configuration checks blind, the probe batch still refuses a token that swallows spaces."""
    raw, exact, added, size = _qwen_with(tokenizers.AddedToken("<|x|>", rstrip=True, normalized=False))
    monkeypatch.setattr(hf_fast, "unsupported", lambda tokenizer: None)
    monkeypatch.setattr(hf_fast, "heads_apart", lambda tokenizer: True)
    with caplog.at_level("WARNING", logger="promptstyles.data.tokenizers.hf.fast"):
        assert FastEncoder.build(raw, exact, added, size) is None
    assert "a probe batch encodes differently with it" in caplog.text


def test_overlapping_added_tokens_turn_it_off():
    """A token that could be matched across ``<|im_end|>`` (its tail starts ``d|><|im_``), or instead of it."""
    for clash in ("d|><|im_", "<|im_end|>x"):
        raw, exact, added, size = _qwen_with(tokenizers.AddedToken(clash, normalized=False))
        assert unsupported(raw) in {f"added token {clash!r} overlaps another added token",
                                    "added token '<|im_end|>' overlaps another added token"}
        assert FastEncoder.build(raw, exact, added, size) is None


def test_split_bytes_leaves_an_example_whose_added_tokens_do_not_line_up_to_the_exact_path():
    """Where the text shows fewer added tokens than the ids hold (one the pattern does not know), that example
    is flagged and the others are still corrected: ``▁`` before each piece, swallowed spaces counted."""
    from promptstyles.data.tokenizers.hf.splits import SplitBytes

    splits = SplitBytes(["<|user|>", "<s>"], stripping=["<|user|>"])
    texts = ["<|user|>\n hi", "<s>x<|end|>y"]  # ids: [<|user|>, ▁hi] and [<s>, ▁x, <|end|>, ▁y]
    lengths = np.array([8, 3, 3, 2, 7, 2])
    is_added = np.array([True, False, True, False, True, False])
    example, firsts, held = np.array([0, 0, 1, 1, 1, 1]), np.array([0, 2]), np.array([1, 2])
    corrected, misaligned = splits.correct(lengths, is_added, example, firsts, held, texts)
    assert misaligned.tolist() == [False, True]
    assert corrected[:2].tolist() == [10, 2]  # "<|user|>\n " and "hi"
