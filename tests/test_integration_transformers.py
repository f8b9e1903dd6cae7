"""Our batches in ``transformers.Trainer`` and TRL's ``SFTTrainer``: same loss as our loop, nothing re-tokenized."""

from __future__ import annotations

import copy

import pytest
import torch
from engine_styles import MODELS

from promptstyles import DataError, get_style, get_tokenizer, to_record
from promptstyles.data.batches.collate import Collator
from promptstyles.data.batches.loaders import make_loader
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.experiments.hf_model import HFCausalLM
from promptstyles.experiments.train import TrainConfig, train
from promptstyles.integrations.transformers import TrainerCollator, hf_inputs, index_dataset

transformers = pytest.importorskip("transformers")


def tiny_llama(vocab_size: int):
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512)
    return transformers.LlamaForCausalLM(config)


class Recording:
    """A trainer mixin that keeps each step's loss and the inputs it was given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list = []

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        tensors = {key: value.clone() for key, value in inputs.items() if isinstance(value, torch.Tensor)}
        self.seen.append((tensors, float(loss.detach())))
        return loss


@pytest.fixture(scope="module")
def gpt2_data(raw_records):
    tokenizer = get_tokenizer("gpt2")
    dataset = tokenize_records([to_record(r) for r in raw_records[:12]], get_style("alpaca"), tokenizer)
    collator = Collator(pad_token_id=tokenizer.eos_id, mask="prompt", attention_mask=True)
    return tokenizer, dataset, collator


def test_hf_inputs_shift_back_exactly():
    from promptstyles.data.batches.collate import Batch

    batch = Batch(torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([[-100, 7, 1], [9, 1, -100]]),
                  attention_mask=torch.tensor([[1, 1, 1], [1, 1, 1]]))
    out = hf_inputs(batch, pad_token_id=0)
    assert out["input_ids"].tolist() == [[5, 6, 7, 1], [8, 9, 0, 0]]
    assert out["labels"].tolist() == [[-100, -100, 7, 1], [-100, 9, 1, -100]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 1]]


def test_hf_inputs_of_a_packed_batch_carry_position_ids():
    from promptstyles.data.batches.collate import Batch

    batch = Batch(torch.tensor([[5, 6, 7, 8]]), torch.tensor([[6, 0, 8, 0]]),
                  position_ids=torch.tensor([[0, 1, 0, 1]]))
    out = hf_inputs(batch, pad_token_id=0)
    assert out["input_ids"].tolist() == [[5, 6, 7, 8, 0]]
    assert out["labels"].tolist() == [[-100, 6, 0, 8, 0]]
    assert out["position_ids"].tolist() == [[0, 1, 0, 1, 2]]
    assert "attention_mask" not in out


def test_trainer_first_step_loss_equals_our_loop(gpt2_data, tmp_path):
    tokenizer, dataset, collator = gpt2_data
    model = tiny_llama(tokenizer.vocab_size)
    ours = copy.deepcopy(model)
    losses = []
    loader = make_loader(dataset, collator, batch_size=4)
    train(HFCausalLM(ours), loader, config=TrainConfig(max_steps=1, eval_every=1, learning_rate=1e-3),
          progress=lambda p: losses.append(p.loss))

    class RecordingTrainer(Recording, transformers.Trainer):
        pass

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-3, use_cpu=True,
        report_to=[], save_strategy="no", train_sampling_strategy="sequential", logging_steps=1)
    trainer = RecordingTrainer(model=model, args=args, train_dataset=dataset, data_collator=TrainerCollator(collator))
    trainer.train()
    assert len(trainer.seen) == 3
    first_inputs, first_loss = trainer.seen[0]
    assert first_inputs["input_ids"].tolist() == hf_inputs(collator(dataset.batch([0, 1, 2, 3])),
                                                           pad_token_id=tokenizer.eos_id)["input_ids"].tolist()
    assert first_loss == pytest.approx(losses[0], rel=1e-5)
    assert trainer.seen[1][1] != pytest.approx(first_loss, rel=1e-3)  # the next batch, after a step


def test_the_collator_refuses_features_a_trainer_tokenized(gpt2_data):
    _tokenizer, dataset, collator = gpt2_data
    with pytest.raises(DataError, match="re-tokenizes it"):
        TrainerCollator(collator, dataset)([{"input_ids": [1, 2]}])
    with pytest.raises(DataError, match="no dataset"):
        TrainerCollator(collator)([{"index": 0}])


def test_sft_trainer_trains_on_our_batches_without_re_tokenizing(raw_records, tmp_path):
    trl = pytest.importorskip("trl")
    pytest.importorskip("datasets")
    folder = MODELS / "qwen2.5-7b-instruct"
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    tokenizer = HFTokenizer(folder)
    reference = transformers.AutoTokenizer.from_pretrained(str(folder))
    dataset = tokenize_records([to_record(r) for r in raw_records[:8]], get_style("qwen2.5"), tokenizer)
    collator = Collator(pad_token_id=reference.pad_token_id, eos_token_id=tokenizer.eos_id, mask="prompt",
                        attention_mask=True)

    class RecordingSFT(Recording, trl.SFTTrainer):
        pass

    args = trl.SFTConfig(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, use_cpu=True, bf16=False, report_to=[],
        save_strategy="no", train_sampling_strategy="sequential", dataset_kwargs={"skip_prepare_dataset": True},
        remove_unused_columns=False, max_length=None)
    trainer = RecordingSFT(model=tiny_llama(len(reference)), args=args, train_dataset=index_dataset(dataset),
                           data_collator=TrainerCollator(collator, dataset), processing_class=reference)
    trainer.train()
    assert len(trainer.seen) == 2
    for step, (inputs, _loss) in enumerate(trainer.seen):
        expected = hf_inputs(collator(dataset.batch(range(4 * step, 4 * step + 4))), pad_token_id=collator.pad_token_id)
        assert sorted(inputs) == sorted(expected)
        for key, value in expected.items():
            assert torch.equal(inputs[key], value), key
    assert trainer.train_dataset.column_names == ["index"]
