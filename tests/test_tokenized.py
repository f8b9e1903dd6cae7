"""The tokenized dataset: token ids, part boundaries, special-token safety, storage."""

from __future__ import annotations

import numpy as np
import pytest
from engine_styles import CloseParen, TagChat, conversation, registered_style
from hypothesis import given, settings
from hypothesis import strategies as st

from promptstyles import DataError, InstructionRecord, RecordError, available_styles, get_style, to_record
from promptstyles.data.build import tokenize as tokenize_module
from promptstyles.data.build.encoding import concat_datasets, tokenize_chunk
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.data.tokenizers.gpt2_files import load_encoding

GPT2 = load_encoding("gpt2")


@pytest.fixture(scope="module")
def records(raw_records):
    return [to_record(raw, index=i) for i, raw in enumerate(raw_records)]


@pytest.mark.parametrize("name", available_styles())
def test_token_ids_equal_whole_text_tokenization_in_every_style(name, records):
    style = registered_style(name)
    dataset = tokenize_records(records, style, get_tokenizer("gpt2"))
    assert len(dataset) == 1100
    for index, record in enumerate(records):
        assert dataset[index].tolist() == GPT2.encode_ordinary(style.render(record).text), index


def test_chunks_tokenized_apart_join_into_the_dataset_tokenized_at_once(records, monkeypatch):
    style = registered_style("llama3")
    whole = tokenize_records(records[:300], style, get_tokenizer("gpt2"))
    monkeypatch.setattr(tokenize_module, "CHUNK_SIZE", 7)
    chunked = tokenize_records(records[:300], style, get_tokenizer("gpt2"))
    for name in ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets"):
        assert getattr(chunked, name).tolist() == getattr(whole, name).tolist(), name
    for mode in ("instruction", "assistant"):
        assert chunked.spans(mode).starts.tolist() == whole.spans(mode).starts.tolist()


def test_a_chunk_names_records_by_their_place_in_the_whole_input():
    class Silent(CloseParen):
        def parts(self, record, *, generation=False):
            return [part.__class__("", part.kind) for part in super().parts(record, generation=generation)]

    with pytest.raises(DataError, match="record 12 rendered to no tokens"):
        tokenize_chunk([InstructionRecord("a", "", "b")], Silent(), get_tokenizer("gpt2"), first_index=12)
    with pytest.raises(DataError, match="no tokenized chunks"):
        concat_datasets([])


def test_prompt_boundary_equals_separately_encoded_prompt(records):
    style = get_style("alpaca")
    dataset = tokenize_records(records, style, get_tokenizer("gpt2"))
    expected = [len(GPT2.encode(style.render(r).prompt)) for r in records]
    assert dataset.prompt_lengths.tolist() == expected


def test_token_straddling_a_part_boundary_belongs_to_the_part_it_starts_in():
    record = InstructionRecord("Call f(", "", "done")
    style = CloseParen()
    dataset = tokenize_records([record], style, get_tokenizer("gpt2"))
    pieces = [GPT2.decode([t]) for t in dataset[0].tolist()]
    assert pieces[:4] == ["Call", " f", "()", "\n"]  # "()" starts in the record text, ends in the header
    assert dataset.prompt_lengths.tolist() == [3] == [len(GPT2.encode_ordinary("Call f("))]


def test_stats_match_an_independent_count(records):
    style = get_style("alpaca")
    dataset = tokenize_records(records[:100], style, get_tokenizer("gpt2"))
    totals = [len(GPT2.encode_ordinary(style.render(r).text)) for r in records[:100]]
    prompts = [len(GPT2.encode_ordinary(style.render(r).prompt)) for r in records[:100]]
    stats = dataset.stats()
    assert stats["examples"] == 100
    assert stats["tokens"]["total"] == sum(totals)
    assert stats["tokens"]["max"] == max(totals)
    assert stats["tokens"]["median"] == float(np.median(totals))
    assert stats["prompt_tokens"]["total"] == sum(prompts)
    assert stats["response_tokens"]["total"] == sum(totals) - sum(prompts)


def test_record_text_never_becomes_a_special_token():
    sneaky = InstructionRecord("Print <|endoftext|> then <|im_start|>system", "<|im_end|>", "Done <|endoftext|>")
    for mode in ("text", "extend"):
        style = TagChat()
        tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens if mode == "extend" else ())
        dataset = tokenize_records([sneaky], style, tokenizer, special_tokens=mode)
        ids = dataset[0].tolist()
        assert 50256 not in ids
        if mode == "text":
            assert ids == GPT2.encode_ordinary(style.render(sneaky).text)
        else:
            start, end = tokenizer.special_id("<|im_start|>"), tokenizer.special_id("<|im_end|>")
            assert (start, end) == (50257, 50258)
            assert ids.count(start) == 2 and ids.count(end) == 2  # the markup's, never the record's
            assert tokenizer.decode(ids) == style.render(sneaky).text


def test_extend_mode_gives_markup_new_ids_after_the_base_vocabulary():
    style = TagChat()
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    assert tokenizer.vocab_size == 50257 + 2
    assert tokenizer.special_id("<|endoftext|>") == 50256
    record = InstructionRecord("Hi", "", "Yo")
    dataset = tokenize_records([record], style, tokenizer, special_tokens="extend")
    hi, yo, nl = GPT2.encode_ordinary("Hi"), GPT2.encode_ordinary("Yo"), GPT2.encode_ordinary("\n")
    user, assistant = GPT2.encode_ordinary("user\n"), GPT2.encode_ordinary("assistant\n")
    assert dataset[0].tolist() == [50257, *user, *hi, 50258, *nl, 50257, *assistant, *yo, 50258, *nl]
    assert dataset.vocab_size == 50259


def test_storage_is_compact_and_splits_share_the_buffer(records):
    dataset = tokenize_records(records, get_style("alpaca"), get_tokenizer("gpt2"))
    assert dataset.tokens.dtype == np.uint16
    total_tokens = int(dataset.lengths.sum())
    assert dataset.nbytes / total_tokens <= 3.0
    subset = dataset.select([5, 2])
    assert np.shares_memory(subset.tokens, dataset.tokens)
    assert subset[0].tolist() == dataset[5].tolist() and subset[1].tolist() == dataset[2].tolist()
    assert subset.positions.tolist() == [5, 2]
    assert subset.prompt_lengths.tolist() == dataset.prompt_lengths[[5, 2]].tolist()


def test_multi_turn_runs_give_assistant_spans():
    convo = conversation(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Bye"),
                         ("assistant", "Later"))
    style = TagChat()
    dataset = tokenize_records([convo], style, get_tokenizer("gpt2"))
    parts = style.parts(convo)
    _, offsets = GPT2.decode_with_offsets(dataset[0].tolist())
    char_ends = np.cumsum([len(p.text) for p in parts]).tolist()

    def token_at(char: int) -> int:  # tokens that start before a character offset
        return sum(1 for offset in offsets if offset < char)

    boundaries = [token_at(c) for c in char_ends]
    # parts: system (3), user (3), header, response, end, user (3), header, response, end
    first = (boundaries[6], boundaries[8])
    second = (boundaries[12], boundaries[14])
    spans = dataset.spans("assistant")
    assert list(zip(spans.starts.tolist(), spans.ends.tolist(), strict=True)) == [first, second]
    last = dataset.spans("last_assistant")
    assert list(zip(last.starts.tolist(), last.ends.tolist(), strict=True)) == [second]
    text = dataset.spans("response_text")
    assert list(zip(text.starts.tolist(), text.ends.tolist(), strict=True)) == [(boundaries[12], boundaries[13])]
    instruction = dataset.spans("instruction")
    assert (instruction.starts.tolist(), instruction.single_to_end) == ([boundaries[11]], True)


def test_errors_name_the_record():
    style = get_style("alpaca")
    with pytest.raises(DataError, match="no records"):
        tokenize_records([], style, get_tokenizer("gpt2"))
    multi = conversation(("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d"))
    with pytest.raises(RecordError, match="record 1: style 'alpaca' from plugin 'alpaca' .*: .*one exchange"):
        tokenize_records([InstructionRecord("x", "", "y"), multi], style, get_tokenizer("gpt2"))
    with pytest.raises(RecordError, match="record 0: style 'tagchat' rendered no assistant response"):
        tokenize_records([conversation(("user", "only a question"))], TagChat(), get_tokenizer("gpt2"))


def test_a_style_closing_with_end_of_text_gets_exactly_one(records):
    style = get_style("phi3")
    record = InstructionRecord("Hi", "", "Yo")
    assert style.render(record).text.endswith("<|end|>\n<|endoftext|>")
    text_mode = tokenize_records([record], style, get_tokenizer("gpt2"))
    assert text_mode[0].tolist() == GPT2.encode_ordinary(style.render(record).text)
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    extended = tokenize_records([record], style, tokenizer, special_tokens="extend")
    ids = extended[0].tolist()
    assert 50256 not in ids  # the collator appends the one end-of-text
    assert tokenizer.decode([*ids, 50256]) == style.render(record).text
    end = tokenizer.special_id("<|end|>")
    assert ids[-2:] == [end, GPT2.encode_ordinary("\n")[0]]
    spans = extended.spans("assistant")
    assert (spans.ends.tolist(), spans.single_to_end) == ([len(ids)], True)


_ALPHABET = "ab Z9.:#'\n\t\r\u00a0\u2028\u3000é😀-"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=40), min_size=1, max_size=6))
def test_segment_cached_encoding_equals_whole_text_encoding(texts):
    tokenizer = get_tokenizer("gpt2")
    assert tokenizer.encode_ordinary_batch(texts + texts) == [GPT2.encode_ordinary(t) for t in texts + texts]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=_ALPHABET, max_size=12), min_size=1, max_size=8), min_size=1, max_size=4))
def test_part_wise_encoding_equals_whole_text_encoding(records):
    tokenizer = get_tokenizer("gpt2")
    for parts in records + records:
        assert tokenizer.encode_parts(parts) == GPT2.encode_ordinary("".join(parts))


@pytest.mark.parametrize("special_tokens", ["text", "extend"])
@pytest.mark.parametrize("name", available_styles())
def test_generation_prompt_ids_are_a_prefix_of_the_training_ids(name, special_tokens, records):
    from promptstyles.data.build.encoding import encode_generation_prompt

    style = registered_style(name)
    extend = special_tokens == "extend"
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens if extend else ())
    sample = records[:60]
    dataset = tokenize_records(sample, style, tokenizer, special_tokens=special_tokens)
    for index, record in enumerate(sample):
        prompt = encode_generation_prompt(style, record, tokenizer, special_tokens=special_tokens)
        ids = dataset[index].tolist()
        assert ids[: len(prompt)] == prompt, index
        assert tokenizer.decode(prompt) == style.generation_prompt(record)
        assert len(prompt) >= dataset.prompt_lengths[index]
