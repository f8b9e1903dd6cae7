"""Generation metrics: did the model stop at its end marker, did markup leak, how long were its answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from test_experiments_generate import PROMPT, STYLE, TOKENIZER, scripted
from torch import nn

from promptstyles import get_style
from promptstyles.experiments import sample_data_path
from promptstyles.experiments.generate import generate
from promptstyles.experiments.leaks import MarkupCheck, find_leak, markup_markers
from promptstyles.experiments.metrics import summarise_generations
from promptstyles.experiments.runner import generate_responses
from promptstyles.pipeline import prepare_data


def judged(text: str, *, eos: bool = False, max_new_tokens: int = 60) -> dict:
    """Generate from a scripted alpaca model, judge the continuation and make the runner's entry of it."""
    generation = generate(scripted(text, eos=eos), TOKENIZER, PROMPT, max_new_tokens=max_new_tokens,
                          stop_sequences=STYLE.stop_sequences)
    ended, leak = MarkupCheck.of(STYLE).judge(generation.text, generation.stopped)
    return {"record": len(text), "response": STYLE.extract_response(generation.text), "reference": "Red wine.",
            "stopped": generation.stopped, "ended": ended, "leak": leak}


def test_the_stop_rate_counts_eos_and_end_markers_before_max_new_tokens() -> None:
    entries = [
        judged("Red wine.", eos=True),                       # eos: stopped
        judged("Red. ### Response: Red", eos=True),          # eos after markup inside the answer
        judged("Red red red red", max_new_tokens=6),         # cut at max_new_tokens
        judged("Red.\n\n### Instruction:\nName another."),   # a new turn: not a stop, a leak
    ]
    assert [(e["stopped"], e["ended"], e["leak"]) for e in entries] == [
        ("eos", True, None), ("eos", True, "### Response:"), ("length", False, None),
        ("stop", False, "### Instruction:")]
    scores = summarise_generations(entries)
    assert {key: scores[key] for key in ("n", "stop_rate", "leak_rate", "cut", "empty", "leak_markers")} == {
        "n": 4, "stop_rate": 0.5, "leak_rate": 0.5, "cut": 1, "empty": 0,
        "leak_markers": {"### Response:": 1, "### Instruction:": 1}}
    # words: "Red wine." 2, "Red. ### Response: Red" 4 (1 shared: F1 = 2 * 1/4 * 1/2 / (3/4) = 1/3), "Red re" 2
    # (1 shared: 1/2), "Red." 1 ("red." is not "red"), against 2 reference words each
    assert scores["examples"] == {
        "records": [9, 22, 15, 36], "ended": [1, 1, 0, 0], "leaked": [0, 1, 0, 1],
        "token_f1": [1.0, pytest.approx(1 / 3), 0.5, 0.0], "rouge_l": [1.0, pytest.approx(1 / 3), 0.5, 0.0],
        "words": [2, 4, 2, 1], "reference_words": [2, 2, 2, 2]}
    assert (scores["words_mean"], scores["reference_words_mean"], scores["length_ratio"]) == (2.25, 2.0, 1.125)


def test_no_generations_give_no_rates() -> None:
    scores = summarise_generations([])
    assert (scores["n"], scores["stop_rate"], scores["leak_rate"], scores["length_ratio"]) == (0, None, None, None)


def test_markers_come_from_the_styles_declared_markup() -> None:
    assert markup_markers(get_style("chatml")) == (
        "<|im_start|>assistant", "<|im_start|>system", "<|im_start|>user", "<|endoftext|>", "<|im_start|>",
        "<|im_end|>")
    assert MarkupCheck.of(get_style("chatml")).turn_stops == ("<|im_start|>",)
    assert MarkupCheck.of(get_style("llama3")).turn_stops == ("<|start_header_id|>",)
    assert find_leak("a ### Response: b ### Input:", markup_markers(STYLE)) == "### Response:"
    assert find_leak("no markup here: just [brackets]", markup_markers(STYLE)) is None


@pytest.mark.parametrize(("style", "text", "stopped", "expected"), [
    # chatml: its end marker, a new turn cut by a stop sequence, and a role header inside a response cut by length
    ("chatml", "Paris.<|im_end|>", "stop", (True, None)),
    ("chatml", "Paris.<|im_start|>", "stop", (False, "<|im_start|>")),
    ("chatml", "Paris. assistant said <|im_start|>user", "length", (False, "<|im_start|>user")),
    ("chatml", "Paris.", "eos", (True, None)),
    # llama3: the end-of-turn marker, a header opening a new turn, and a header id leaking mid-answer
    ("llama3", "Paris.<|eot_id|>", "stop", (True, None)),
    ("llama3", "Paris.<|start_header_id|>", "stop", (False, "<|start_header_id|>")),
    ("llama3", "Paris<|end_header_id|> is", "length", (False, "<|end_header_id|>")),
    # alpaca: a section heading inside the answer even though it ended at end-of-text
    ("alpaca", "Paris. ### Response: Rome", "eos", (True, "### Response:")),
    ("alpaca", "Paris.\n\n### Input:\nx", "stop", (False, "### Input:")),
    ("alpaca", "Paris is the capital.", "length", (False, None)),
])
def test_leaks_on_literal_continuations(style: str, text: str, stopped: str, expected: tuple) -> None:
    assert MarkupCheck.of(get_style(style)).judge(text, stopped) == expected  # type: ignore[arg-type]


class Repeats(nn.Module):
    """Answers every prompt with the same ids (then end-of-text): the runner's judgement is known in advance."""

    def __init__(self, script: list[int], vocab_size: int) -> None:
        super().__init__()
        self.config = SimpleNamespace(context_length=1024)
        self.script, self.vocab_size, self.prompt, self.last = script, vocab_size, 0, -1

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] != self.last + 1:  # not one id longer than the last call: a new prompt
            self.prompt = ids.shape[1]
        self.last = ids.shape[1]
        logits = torch.zeros(1, ids.shape[1], self.vocab_size)
        logits[0, -1, self.script[min(ids.shape[1] - self.prompt, len(self.script) - 1)]] = 10.0
        return logits


def test_the_runner_judges_each_response_with_the_styles_markup() -> None:
    data = prepare_data({"style": "alpaca", "data": {"path": str(sample_data_path()),
                                                     "split": {"train": 0.7, "test": 0.1}}})
    tokenizer = data.tokenizer
    turn = Repeats(tokenizer.encode("Paris.\n\n### Instruction:\nMore"), tokenizer.vocab_size)
    scores, entries = generate_responses(turn, data, 2, 20)
    assert [(e["response"], e["stopped"], e["ended"], e["leak"]) for e in entries] == [
        ("Paris.", "stop", False, "### Instruction:")] * 2
    assert (scores["stop_rate"], scores["leak_rate"], scores["leak_markers"]) == (0.0, 1.0, {"### Instruction:": 2})
    done = Repeats([*tokenizer.encode("Paris."), tokenizer.eos_id], tokenizer.vocab_size)
    scores, entries = generate_responses(done, data, 2, 20)
    assert [(e["response"], e["stopped"], e["ended"], e["leak"]) for e in entries] == [
        ("Paris.", "eos", True, None)] * 2
    assert (scores["stop_rate"], scores["leak_rate"], scores["cut"]) == (1.0, 0.0, 0)
