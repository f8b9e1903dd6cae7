"""Generation: stop at the style's stop sequences or EOS, crop to the context, extract the response."""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from promptstyles import get_style, to_record
from promptstyles.data.tokenizers import Encoded, Tokenizer
from promptstyles.experiments.generate import generate, generate_response
from promptstyles.experiments.model import GPT, GPTConfig

ALPHABET = sorted(set("\n #.,:!?'" + string.ascii_letters + string.digits))


class CharTokenizer:
    """One id per character, and one more for end-of-text: decoding is exact and easy to reason about.

    A complete second implementation of the ``Tokenizer`` protocol, with no special tokens for markup.
    """

    name = "chars"
    eos_id = len(ALPHABET)
    vocab_size = len(ALPHABET) + 1
    bos_id = None
    pad_id = None
    own_special_tokens = False

    def encode(self, text: str) -> list[int]:
        return [ALPHABET.index(c) for c in text]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def encode_examples(self, examples, *, markup_specials: bool = False) -> Encoded:
        ids = [self.encode("".join(part.text for part in parts)) for parts in examples]
        return Encoded(ids, np.concatenate([np.arange(len(i)) for i in ids] or [np.zeros(0, dtype=np.int64)]))

    def special_id(self, token: str) -> int | None:
        return None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(ALPHABET[i] if i < len(ALPHABET) else "<eos>" for i in ids)

    def decode_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.decode([i]) for i in ids]


TOKENIZER = CharTokenizer()
assert isinstance(TOKENIZER, Tokenizer)


class Scripted(nn.Module):
    """Predicts the next id of a fixed script, whatever the prompt: the output is known in advance."""

    def __init__(self, script: list[int], prompt_length: int) -> None:
        super().__init__()
        self.script = script
        self.prompt_length = prompt_length
        self.seen: list[int] = []
        self.generated = 0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        self.seen.append(ids.shape[1])
        logits = torch.zeros(ids.shape[0], ids.shape[1], TOKENIZER.vocab_size)
        logits[:, -1, self.script[self.generated]] = 10.0
        self.generated += 1
        return logits


STYLE = get_style("alpaca")
RECORD = to_record({"instruction": "Name a colour.", "input": "", "output": "Red."})
PROMPT = STYLE.generation_prompt(RECORD)


def scripted(text: str, *, eos: bool = False) -> Scripted:
    return Scripted(TOKENIZER.encode(text) + ([TOKENIZER.eos_id] if eos else []), len(PROMPT))


def test_generation_stops_when_a_stop_sequence_appears_and_the_style_extracts_the_answer() -> None:
    model = scripted("Red.\n\n### Instruction:\nName another colour.")
    generation = generate(model, TOKENIZER, PROMPT, max_new_tokens=60, stop_sequences=STYLE.stop_sequences)
    assert generation.stopped == "stop"
    assert generation.text == "Red.\n\n### Instruction:"
    assert len(generation.ids) == len("Red.\n\n### Instruction:")
    assert STYLE.extract_response(generation.text) == "Red."


def test_generate_response_uses_the_generation_prompt_stops_and_extraction() -> None:
    assert generate_response(scripted("Blue!\n\n### Response:\nGreen"), TOKENIZER, STYLE, RECORD) == "Blue!"


def test_generation_stops_at_eos_without_returning_it() -> None:
    generation = generate(scripted("Green", eos=True), TOKENIZER, PROMPT, max_new_tokens=60)
    assert (generation.text, generation.stopped) == ("Green", "eos")
    assert TOKENIZER.eos_id not in generation.ids


def test_generation_stops_after_max_new_tokens() -> None:
    generation = generate(scripted("Yellow"), TOKENIZER, PROMPT, max_new_tokens=3)
    assert (generation.text, generation.stopped) == ("Yel", "length")


def test_the_input_is_cropped_to_the_context_length() -> None:
    model = scripted("abcdef")
    generate(model, TOKENIZER, "Name", max_new_tokens=5, context_length=6)
    assert model.seen == [4, 5, 6, 6, 6]


def test_sampling_with_top_1_is_greedy_and_a_seed_repeats_a_sample() -> None:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=TOKENIZER.vocab_size, context_length=16, emb_dim=16, n_heads=2, n_layers=1)
    model = GPT(config)
    greedy = generate(model, TOKENIZER, "Name", max_new_tokens=8)
    assert generate(model, TOKENIZER, "Name", max_new_tokens=8, temperature=0.7, top_k=1, seed=1) == greedy
    first = generate(model, TOKENIZER, "Name", max_new_tokens=8, temperature=5.0, seed=3)
    assert generate(model, TOKENIZER, "Name", max_new_tokens=8, temperature=5.0, seed=3) == first
    assert len(greedy.ids) == 8 and greedy.stopped == "length"


def test_a_gpt_uses_its_last_position_head_with_the_same_result() -> None:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=TOKENIZER.vocab_size, context_length=8, emb_dim=16, n_heads=2, n_layers=1)
    model = GPT(config)

    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.inner(ids)

    prompt = TOKENIZER.encode("Name a")
    fast = generate(model, TOKENIZER, prompt, max_new_tokens=10)
    slow = generate(Plain(), TOKENIZER, prompt, max_new_tokens=10, context_length=8)
    assert fast == slow
