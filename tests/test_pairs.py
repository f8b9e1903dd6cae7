"""Preference pairs: every record shape, every style, exact pair batches, truncation alike, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference_preference import reference_preference_collate, reference_preference_rows

from promptstyles import (
    Conversation,
    DataError,
    InstructionRecord,
    Message,
    RecordError,
    available_styles,
    get_style,
    get_tokenizer,
)
from promptstyles.data.batches.pairs import PairCollator
from promptstyles.data.build.encoding import encode_generation_prompt
from promptstyles.data.build.pairs import tokenize_labelled, tokenize_pairs
from promptstyles.preferences import LabelledCompletion, PreferencePair, to_labelled_completion, to_preference_pair

ALPACA_PAIRS = [
    {"instruction": "Say hi", "input": "", "chosen": "Hi there", "rejected": "No"},
    {"instruction": "Add", "input": "1+1", "chosen": "2", "rejected": "It is three."},
]


@pytest.fixture(scope="module")
def gpt2():
    return get_tokenizer("gpt2")


def chat(*turns: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, content) for role, content in turns))


# -- record shapes -------------------------------------------------------------------------------------------

def test_alpaca_preference_records_become_two_instruction_records():
    pair = to_preference_pair(ALPACA_PAIRS[1])
    assert pair == PreferencePair(InstructionRecord("Add", "1+1", "2"), InstructionRecord("Add", "1+1", "It is three."))


def test_trl_explicit_prompt_as_text_and_as_messages():
    assert to_preference_pair({"prompt": "Sky?", "chosen": "Blue.", "rejected": "Green."}) == PreferencePair(
        InstructionRecord("Sky?", "", "Blue."), InstructionRecord("Sky?", "", "Green."))
    raw = {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sky?"}],
           "chosen": [{"role": "assistant", "content": "Blue."}],
           "rejected": [{"role": "assistant", "content": "Green."}]}
    prompt = (("system", "Be brief."), ("user", "Sky?"))
    assert to_preference_pair(raw) == PreferencePair(chat(*prompt, ("assistant", "Blue.")),
                                                     chat(*prompt, ("assistant", "Green.")))


def test_trl_implicit_prompt_conversations_whose_last_turn_differs():
    shared = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    raw = {"chosen": [*shared, {"role": "assistant", "content": "good"}],
           "rejected": [*shared, {"role": "assistant", "content": "bad"}]}
    prompt = (("user", "a"), ("assistant", "b"), ("user", "c"))
    assert to_preference_pair(raw) == PreferencePair(chat(*prompt, ("assistant", "good")),
                                                     chat(*prompt, ("assistant", "bad")))


def test_kto_unpaired_completion_with_label():
    assert to_labelled_completion({"prompt": "Sky?", "completion": "Blue.", "label": True}) == LabelledCompletion(
        InstructionRecord("Sky?", "", "Blue."), True)
    raw = {"prompt": [{"role": "user", "content": "Sky?"}], "completion": [{"role": "assistant", "content": "Red."}],
           "label": False}
    assert to_labelled_completion(raw) == LabelledCompletion(chat(("user", "Sky?"), ("assistant", "Red.")), False)


@pytest.mark.parametrize(("raw", "key", "words"), [
    ({"instruction": "x", "chosen": "same", "rejected": "same"}, "rejected", "equals 'chosen'"),
    ({"prompt": "x", "chosen": "same", "rejected": "same"}, "rejected", "equals 'chosen'"),
    ({"instruction": "x", "chosen": "a"}, "rejected", "missing key"),
    ({"prompt": "x", "chosen": "a"}, "rejected", "missing key"),
    ({"prompt": "x", "rejected": "a"}, "chosen", "missing key"),
    ({"prompt": "x", "chosen": "a", "rejected": "  "}, "rejected", "the completion is empty"),
    ({"chosen": "full text a", "rejected": "full text b"}, "prompt", "text completions need a prompt"),
    ({"chosen": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
      "rejected": [{"role": "user", "content": "z"}, {"role": "assistant", "content": "c"}]}, "rejected",
     "differ at message 0"),
    ({"prompt": [{"role": "user", "content": "a"}], "chosen": [{"role": "user", "content": "b"}], "rejected": "c"},
     "chosen", "expected one assistant message"),
])
def test_bad_pairs_are_named_errors(raw, key, words):
    with pytest.raises(RecordError, match=words) as caught:
        to_preference_pair(raw, index=7)
    assert (caught.value.index, caught.value.key) == (7, key)


def test_a_kto_label_must_be_a_bool():
    with pytest.raises(RecordError, match="expected true or false") as caught:
        to_labelled_completion({"prompt": "x", "completion": "y", "label": "yes"}, index=3)
    assert (caught.value.index, caught.value.key) == (3, "label")


# -- every style -------------------------------------------------------------------------------------------------

STYLES = [name for name in available_styles() if name != "chat-template"]
PAIRS = [
    {"instruction": "Name a colour.", "input": "", "chosen": "Red.", "rejected": "I will not."},
    {"prompt": [{"role": "user", "content": "Sky?"}], "chosen": [{"role": "assistant", "content": "Blue, mostly."}],
     "rejected": [{"role": "assistant", "content": "Green."}]},
    {"chosen": [{"role": "user", "content": "Grass?"}, {"role": "assistant", "content": "Green."}],
     "rejected": [{"role": "user", "content": "Grass?"}, {"role": "assistant", "content": "Purple, always."}]},
]


@pytest.mark.parametrize("name", STYLES)
def test_every_style_renders_pairs_with_one_prompt_and_trains_only_completions(name, gpt2):
    style = get_style(name)
    pairs = [*PAIRS, {"instruction": "Repeat: ok", "input": "now", "chosen": "ok", "rejected": "no"}]
    dataset = tokenize_pairs(pairs, style, gpt2)
    batch = PairCollator(pad_token_id=0)(dataset.batch([0, 1, 2, 3]))
    for index, raw in enumerate(pairs):
        pair = to_preference_pair(raw)
        prompt = encode_generation_prompt(style, pair.chosen, gpt2)
        assert int(batch["prompt_length"][index]) == len(prompt)
        for side, record in (("chosen", pair.chosen), ("rejected", pair.rejected)):
            full = [*dataset.examples[2 * index + (side == "rejected")].tolist(), gpt2.eos_id]
            ids = batch[f"{side}_input_ids"][index]
            assert ids[: len(full)].tolist() == full
            assert ids[: len(prompt)].tolist() == prompt  # the generation prompt, as inference sees it
            assert (ids[len(full):] == 0).all()
            labels = batch[f"{side}_labels"][index]
            assert labels.tolist() == [-100] * len(prompt) + full[len(prompt):] + [-100] * (len(ids) - len(full))
            assert batch[f"{side}_attention_mask"][index].tolist() == [1] * len(full) + [0] * (len(ids) - len(full))
            answer = record.output if isinstance(record, InstructionRecord) else record.messages[-1].content
            completion = gpt2.decode(full[len(prompt):-1])  # the style's whole completion: reasoning markup too
            assert completion == style.render(record).text[len(style.generation_prompt(record)):]
            assert answer in completion


# -- exact batches, truncation and overlong pairs -------------------------------------------------------------

def test_keep_start_keeps_the_prompt_and_cuts_each_completion_at_the_limit(gpt2):
    dataset = tokenize_pairs(ALPACA_PAIRS, get_style("alpaca"), gpt2)
    assert dataset.prompt_lengths.tolist() == [32, 40]
    full = PairCollator()(dataset.batch([0]))
    cut = PairCollator(allowed_max_length=33)(dataset.batch([0]))
    assert full["chosen_input_ids"][0, 32:].tolist() == [17250, 612, 50256]  # "Hi there", end-of-text
    assert full["rejected_input_ids"][0, 32:].tolist() == [2949, 50256, 50256]  # "No", end-of-text, pad
    assert cut["chosen_input_ids"].tolist() == full["chosen_input_ids"][:, :33].tolist()
    assert cut["chosen_labels"][0, 31:].tolist() == [-100, 17250]
    assert cut["rejected_labels"][0, 31:].tolist() == [-100, 2949]
    assert cut["prompt_length"].tolist() == [32]


def test_keep_end_keeps_both_completions_and_drops_the_same_prompt_tokens_from_both(gpt2):
    dataset = tokenize_pairs(ALPACA_PAIRS, get_style("alpaca"), gpt2)
    full = PairCollator()(dataset.batch([1]))
    cut = PairCollator(allowed_max_length=40, truncation_mode="keep_end")(dataset.batch([1]))
    # rejected: 40 prompt + 4 answer + end-of-text = 45 tokens, so 5 prompt tokens go from both rows
    assert cut["prompt_length"].tolist() == [35]
    assert cut["rejected_input_ids"].tolist() == full["rejected_input_ids"][:, 5:].tolist()
    assert cut["chosen_input_ids"].tolist() == full["chosen_input_ids"][:, 5:].tolist()
    assert cut["chosen_labels"][0].tolist() == [-100] * 35 + [17, 50256, -100, -100, -100]
    assert cut["rejected_labels"][0, 35:].tolist() == [1026, 318, 1115, 13, 50256]


def test_pairs_that_cannot_fit_are_named_or_dropped_and_counted(gpt2):
    dataset = tokenize_pairs(ALPACA_PAIRS, get_style("alpaca"), gpt2)
    with pytest.raises(DataError, match=r"pair 1: its prompt of 40 tokens .*allowed_max_length=40 .*drop_overlong"):
        dataset.fit(40)
    kept, dropped = dataset.fit(40, drop_overlong=True)
    assert (len(kept), dropped) == (1, 1)
    assert kept[0] == dataset[0]
    with pytest.raises(DataError, match="pair 1 does not fit allowed_max_length=40"):
        PairCollator(allowed_max_length=40)(dataset.batch([0, 1]))
    # keep_end: only a completion that alone fills the limit makes a pair unfit
    assert dataset.fit(6, "keep_end") == (dataset, 0)
    with pytest.raises(DataError, match="pair 1"):
        dataset.fit(5, "keep_end")


def test_labelled_completions_keep_their_labels(gpt2):
    raw = [{"prompt": "a", "completion": "b", "label": True}, {"prompt": "c", "completion": "d", "label": False}]
    dataset, labels = tokenize_labelled(raw, get_style("alpaca"), gpt2)
    assert labels.tolist() == [True, False]
    assert len(dataset) == 2


# -- the reference book's preference collate ----------------------------------------------------------------------

def book_pairs(raw_records: list[dict], count: int) -> list[dict]:
    """Pairs from the shared data: the record's own answer chosen, the next record's answer rejected."""
    return [dict(record, chosen=record["output"], rejected=raw_records[index + 1]["output"])
            for index, record in enumerate(raw_records[:count])]


@pytest.mark.parametrize("limit", [None, 60])
def test_alpaca_pairs_equal_the_books_preference_collate(raw_records, gpt2, limit):
    data = book_pairs(raw_records, 64)
    reference_rows = reference_preference_rows(data, gpt2)
    dataset = tokenize_pairs(data, get_style("alpaca"), gpt2)
    if limit is not None:
        dataset, dropped = dataset.fit(limit, drop_overlong=True)
        assert dropped == 0
    for first in range(0, 64, 8):
        rows = reference_rows[first : first + 8]
        indices = np.arange(first, first + 8)
        book = reference_preference_collate(rows, allowed_max_length=limit, mask_prompt_tokens=False)
        everything = PairCollator(allowed_max_length=limit, mask="none")(dataset.batch(indices))
        masked_book = reference_preference_collate(rows, allowed_max_length=limit)
        instruction = PairCollator(allowed_max_length=limit, mask="instruction")(dataset.batch(indices))
        for side in ("chosen", "rejected"):
            ids = everything[f"{side}_input_ids"]
            assert torch.equal(ids, book[side])
            assert torch.equal(instruction[f"{side}_input_ids"], book[side])
            # The book leaves its rows' end-of-text (its first pad) untrained; we train it, as for SFT.
            lengths = torch.tensor([len(row[side]) for row in rows])
            eos = torch.arange(ids.shape[1]) == lengths[:, None]
            assert torch.equal(everything[f"{side}_labels"] != -100, book[f"{side}_mask"] | eos)
            # With the prompt masked the book also trains the response header but its first 2 tokens
            # ("\n\n", "###"): its "+2" counts them; our parts train the whole header.
            prompt = torch.tensor([len(row["prompt"]) for row in rows])[:, None]
            header_start = (torch.arange(ids.shape[1]) >= prompt) & (torch.arange(ids.shape[1]) < prompt + 2)
            assert torch.equal(instruction[f"{side}_labels"] != -100, masked_book[f"{side}_mask"] | eos | header_start)


def test_a_prompt_token_that_merges_with_the_answer_is_a_named_error(gpt2):
    from engine_styles import CloseParen

    # The header ends in a space, which GPT-2 joins with the next word: " Hi" and " Yo" are single tokens.
    with pytest.raises(DataError, match="pair 1: the chosen and rejected rows tokenize their shared prompt"):
        tokenize_pairs([{"instruction": "x", "chosen": "\nHi", "rejected": "\nYo"},
                        {"instruction": "x", "chosen": "Hi", "rejected": "Yo"}], CloseParen(), gpt2)


def test_pairs_come_from_the_store_the_second_time(gpt2, tmp_path):
    from promptstyles.data.store.pairs import stored_pairs

    built = stored_pairs(ALPACA_PAIRS, get_style("alpaca"), gpt2, directory=tmp_path)
    assert not isinstance(built.examples.tokens, np.memmap)
    loaded = stored_pairs(ALPACA_PAIRS, get_style("alpaca"), gpt2, directory=tmp_path)
    assert isinstance(loaded.examples.tokens, np.memmap)  # mapped, not copied
    assert [loaded[i] for i in range(2)] == [built[i] for i in range(2)]
    first, second = PairCollator()(built.batch([0, 1])), PairCollator()(loaded.batch([0, 1]))
    assert all(torch.equal(first[key], second[key]) for key in first)


WORDS = ["yes", "no", " maybe", "\n", "the sky", "42", "日本", "!!", "  "]


@pytest.mark.parametrize("mode", ["keep_start", "keep_end"])
def test_truncation_cuts_a_pair_alike_and_never_trains_its_prompt(gpt2, mode):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map("".join).filter(str.strip)
    # A completion that opens with whitespace can merge with the header's last token: a named error (tested above).
    answer = text.filter(lambda value: not value[0].isspace())
    style = get_style("alpaca")

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(text, answer, answer), min_size=1, max_size=4), st.integers(30, 60))
    def check(triples, limit):
        raw = [{"instruction": i, "input": "", "chosen": c, "rejected": r} for i, c, r in triples if c != r]
        if not raw:
            return
        dataset = tokenize_pairs(raw, style, gpt2)
        try:
            fitting, _dropped = dataset.fit(limit, mode, drop_overlong=True)
        except DataError:  # every pair too long for the limit
            return
        full = PairCollator()(fitting.batch(range(len(fitting))))
        cut = PairCollator(allowed_max_length=limit, truncation_mode=mode)(fitting.batch(range(len(fitting))))
        assert cut["chosen_input_ids"].shape[1] <= limit
        for row in range(len(fitting)):
            prompt = int(cut["prompt_length"][row])
            drop = int(full["prompt_length"][row]) - prompt
            assert prompt >= 1 and (drop == 0 or mode == "keep_end")
            for side in ("chosen", "rejected"):
                ids, labels = cut[f"{side}_input_ids"][row], cut[f"{side}_labels"][row]
                kept = int(cut[f"{side}_attention_mask"][row].sum())
                assert ids[:kept].tolist() == full[f"{side}_input_ids"][row, drop : drop + kept].tolist()
                assert (labels[:prompt] == -100).all() and (labels[kept:] == -100).all()
                assert (labels[prompt:kept] == ids[prompt:kept]).all()  # every completion token kept is trained
                if mode == "keep_end":  # the whole completion and its end-of-text survive
                    assert kept == int(full[f"{side}_attention_mask"][row].sum()) - drop
            assert torch.equal(cut["chosen_input_ids"][row, :prompt], cut["rejected_input_ids"][row, :prompt])

    check()
