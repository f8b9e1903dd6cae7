"""A second tokenizer through the one protocol: the engine builds datasets, masks and generation prompts from
whatever ids and token starts it reports, with no engine change."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tiktoken
from engine_styles import TagChat, registered_style, styles_where

from promptstyles import DataError, InstructionRecord, get_style, to_record
from promptstyles.data.build.encoding import encode_generation_prompt
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import Encoded, Tokenizer, get_tokenizer
from promptstyles.data.tokenizers.gpt2_files import load_encoding

SPECIALS = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}


class WordTokenizer:
    """Words, runs of spaces and single other characters; ids in order of first sight, after the specials.

    Its tokens span several bytes and no table of bytes per id exists, so part boundaries can only come
    from the starts it reports, as with a Hugging Face tokenizer's offsets.
    """

    name = "words"
    eos_id = 0
    bos_id = None
    pad_id = None
    own_special_tokens = False
    vocab_size = 1000
    _pattern = re.compile(r"\w+|\s+|.")

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.pieces: dict[int, str] = {i: t for t, i in SPECIALS.items()}

    def _pieces(self, text: str) -> list[str]:
        return self._pattern.findall(text)

    def _id(self, piece: str) -> int:
        if piece not in self.vocab:
            self.vocab[piece] = len(SPECIALS) + len(self.vocab)
            self.pieces[self.vocab[piece]] = piece
        return self.vocab[piece]

    def encode(self, text: str) -> list[int]:
        return [self._id(piece) for piece in self._pieces(text)]

    def encode_batch(self, texts):
        return [self.encode(text) for text in texts]

    def encode_examples(self, examples, *, markup_specials: bool = False) -> Encoded:
        all_ids, starts = [], []
        for parts in examples:
            pieces: list[str | int] = []
            for part in parts:  # text runs join across parts, so a word may straddle a part boundary
                split = re.split("(" + "|".join(map(re.escape, SPECIALS)) + ")", part.text)
                for piece in split if markup_specials and part.markup else [part.text]:
                    if piece in SPECIALS and markup_specials and part.markup:
                        pieces.append(SPECIALS[piece])
                    elif pieces and isinstance(pieces[-1], str):
                        pieces[-1] += piece
                    elif piece:
                        pieces.append(piece)
            ids, position = [], 0
            for piece in pieces:
                if isinstance(piece, int):
                    ids.append(piece)
                    starts.append(position)
                    position += len(self.pieces[piece].encode())
                    continue
                for word in self._pieces(piece):
                    ids.append(self._id(word))
                    starts.append(position)
                    position += len(word.encode())
            all_ids.append(ids)
        return Encoded(all_ids, np.asarray(starts, dtype=np.int64))

    def special_id(self, token: str) -> int | None:
        return SPECIALS.get(token)

    def decode(self, ids) -> str:
        return "".join(self.pieces[i] for i in ids)

    def decode_tokens(self, ids) -> list[str]:
        return [self.pieces[i] for i in ids]


def test_a_second_tokenizer_fits_the_engine_unchanged():
    tokenizer = WordTokenizer()
    assert isinstance(tokenizer, Tokenizer)
    style = TagChat()
    records = [InstructionRecord("Hi <|im_start|>", "", "Yo ünïcode"), InstructionRecord("Add", "1 2", "3")]
    dataset = tokenize_records(records, style, tokenizer, special_tokens="extend")
    words = [tokenizer.decode_tokens(dataset[i].tolist()) for i in range(2)]
    assert words[0] == ["<|im_start|>", "user", "\n", "Hi", " ", "<", "|", "im_start", "|", ">", "<|im_end|>", "\n",
                        "<|im_start|>", "assistant", "\n", "Yo", " ", "ünïcode", "<|im_end|>", "\n"]
    assert dataset[0].tolist().count(1) == 2  # the record's own "<|im_start|>" stayed text
    assert dataset.prompt_lengths.tolist() == [12, 10]
    spans = dataset.spans("assistant")
    assert list(zip(spans.starts.tolist(), spans.ends.tolist(), strict=True)) == [(15, 20), (13, 16)]
    text = dataset.spans("response_text")
    assert list(zip(text.starts.tolist(), text.ends.tolist(), strict=True)) == [(15, 18), (13, 14)]
    for index, record in enumerate(records):
        prompt = encode_generation_prompt(style, record, tokenizer, special_tokens="extend")
        assert prompt == dataset[index].tolist()[: dataset.prompt_lengths[index] + 3]


@pytest.fixture(scope="module")
def records(raw_records):
    return [to_record(raw, index=i) for i, raw in enumerate(raw_records[:40])]


@pytest.mark.parametrize("name", styles_where(lambda style: bool(style.special_tokens)))
def test_extend_mode_ids_equal_tiktoken_s_own_special_token_encoding(name, records):
    style = registered_style(name)
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    gpt2 = load_encoding("gpt2")
    added = [t for t in dict.fromkeys(style.special_tokens) if t not in gpt2._special_tokens]
    reference = tiktoken.Encoding(
        name="reference", pat_str=gpt2._pat_str, mergeable_ranks=gpt2._mergeable_ranks,
        special_tokens={**gpt2._special_tokens, **{t: gpt2.n_vocab + i for i, t in enumerate(added)}},
    )
    dataset = tokenize_records(records, style, tokenizer, special_tokens="extend")
    for index, record in enumerate(records):
        expected = reference.encode(style.render(record).text, allowed_special=set(style.special_tokens))
        if expected[-1] == gpt2.eot_token:
            expected = expected[:-1]  # the collator appends the one end-of-text
        assert dataset[index].tolist() == expected, index


def test_examples_encoded_together_keep_their_boundaries(records):
    style = get_style("phi3")  # closes with its own end-of-text, which the engine drops
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    together = tokenize_records(records[:3], style, tokenizer, special_tokens="extend")
    alone = [tokenize_records([record], style, tokenizer, special_tokens="extend") for record in records[:3]]
    for mode in ("instruction", "assistant", "response_text"):
        spans = together.spans(mode)
        assert spans.ends.tolist() == [int(one.spans(mode).ends[0]) for one in alone]
        assert spans.starts.tolist() == [int(one.spans(mode).starts[0]) for one in alone]
    assert together.prompt_lengths.tolist() == [int(one.prompt_lengths[0]) for one in alone]


def test_an_unknown_special_tokens_mode_is_named():
    with pytest.raises(DataError, match="unknown special_tokens mode 'extnd'; expected one of text, extend"):
        tokenize_records([InstructionRecord("a", "", "b")], TagChat(), get_tokenizer("gpt2"), special_tokens="extnd")
