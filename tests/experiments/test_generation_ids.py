"""Train = inference: the ids generation feeds a model are the first ids of that example's training ids."""

from __future__ import annotations

import pytest
import torch
from engine_styles import registered_style
from torch import nn

from promptstyles import available_styles, to_record
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.errors import TokenizerError
from promptstyles.experiments.generate import generate_response
from promptstyles.experiments.runner import generate_responses
from promptstyles.pipeline import prepare_data


class Recorder(nn.Module):
    """Remembers the ids of each call and ends generation at once by predicting end-of-text."""

    def __init__(self, vocab_size: int, eos_id: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.vocab_size, self.eos_id = vocab_size, eos_id
        self.seen: list[list[int]] = []
        self.config = type("Config", (), {"context_length": 4096, "vocab_size": vocab_size})()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        self.seen.append(ids[0].tolist())
        logits = torch.zeros(ids.shape[0], ids.shape[1], self.vocab_size)
        logits[:, -1, self.eos_id] = 1.0
        return logits


@pytest.fixture(scope="module")
def sample(raw_records):
    with_input = [raw for raw in raw_records if raw["input"]][:3]
    without_input = [raw for raw in raw_records if not raw["input"]][:3]
    return [to_record(raw, index=i) for i, raw in enumerate(with_input + without_input)]


@pytest.mark.parametrize("special_tokens", ["text", "extend"])
@pytest.mark.parametrize("name", available_styles())
def test_generation_feeds_the_model_a_prefix_of_the_training_ids(name, special_tokens, sample):
    style = registered_style(name)
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens if special_tokens == "extend" else ())
    dataset = tokenize_records(sample, style, tokenizer, special_tokens=special_tokens)
    for index, record in enumerate(sample):
        model = Recorder(tokenizer.vocab_size, tokenizer.eos_id)
        assert generate_response(model, tokenizer, style, record) == ""  # the mode is the tokenizer's
        [fed] = model.seen
        training = dataset[index].tolist()
        assert fed == training[: len(fed)], (index, fed[-4:], training[len(fed) - 4 : len(fed) + 1])
        assert len(fed) >= dataset.prompt_lengths[index]
        assert tokenizer.decode(fed) == style.generation_prompt(record)


@pytest.mark.parametrize(("built", "given"), [("extend", "text"), ("text", "extend")])
def test_a_mode_that_contradicts_the_tokenizers_is_an_error(built, given, sample):
    style = registered_style("chatml")
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens if built == "extend" else ())
    model = Recorder(tokenizer.vocab_size, tokenizer.eos_id)
    with pytest.raises(TokenizerError, match=f"^special_tokens={given!r} contradicts the tokenizer 'gpt2', which "
                                             f"encodes the markup of style 'chatml' in {built!r} mode; leave "):
        generate_response(model, tokenizer, style, sample[0], special_tokens=given)
    assert model.seen == []
    assert generate_response(model, tokenizer, style, sample[0], special_tokens=built) == ""
    assert (tokenizer.special_id("<|im_start|>") in model.seen[0]) == (built == "extend")


def test_a_comparison_generates_from_the_training_ids_of_llama3_markup(sample):
    config = {"style": "llama3", "tokenizer": {"special_tokens": "extend"},
              "data": {"cache": False, "split": {"train": 0.5, "test": 0.5}}}
    data = prepare_data(config, records=sample)
    model = Recorder(data.tokenizer.vocab_size, data.tokenizer.eos_id)
    _, entries = generate_responses(model, data, 3, 4)  # type: ignore[arg-type]
    test = data.splits["test"]
    assert [entry["record"] for entry in entries] == test.positions[:3].tolist() == [3, 4, 5]
    header = data.tokenizer.special_id("<|start_header_id|>")
    for row, fed in enumerate(model.seen):
        assert fed == test[row].tolist()[: len(fed)]
        assert fed.count(header) == 2  # the user and the assistant header: markup ids, not text
