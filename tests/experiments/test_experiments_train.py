"""Losses on chosen targets, token-weighted evaluation, and the training loop on hand-built batches."""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest
import torch
from torch import nn

from promptstyles._schema import from_mapping
from promptstyles.errors import ConfigError
from promptstyles.experiments.model import GPT, GPTConfig
from promptstyles.experiments.train import (
    Progress,
    TrainConfig,
    evaluate,
    lm_loss,
    response_loss,
    train,
    unpack_batch,
)

LN2, LN3 = math.log(2), math.log(3)
# Position 0 is uniform over 3 tokens; position 1 gives token 1 probability 1/2.
LOGITS = torch.tensor([[[0.0, 0.0, 0.0], [0.0, LN2, 0.0]]])


def test_lm_loss_is_the_mean_over_targets_that_are_not_ignored() -> None:
    assert lm_loss(LOGITS, torch.tensor([[2, 1]])).item() == pytest.approx((LN3 + LN2) / 2)
    assert lm_loss(LOGITS, torch.tensor([[2, -100]])).item() == pytest.approx(LN3)


def test_response_loss_scores_only_masked_positions_that_are_not_ignored() -> None:
    targets = torch.tensor([[2, 1]])
    assert response_loss(LOGITS, targets, torch.tensor([[False, True]])).item() == pytest.approx(LN2)
    assert response_loss(LOGITS, targets, torch.tensor([[True, False]])).item() == pytest.approx(LN3)
    ignored = torch.tensor([[-100, 1]])
    assert response_loss(LOGITS, ignored, torch.tensor([[True, True]])).item() == pytest.approx(LN2)


def test_nothing_scored_is_zero_and_keeps_the_graph() -> None:
    logits = LOGITS.clone().requires_grad_(True)
    loss = response_loss(logits, torch.tensor([[2, 1]]), torch.tensor([[False, False]]))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    assert lm_loss(LOGITS, torch.tensor([[-100, -100]])).item() == 0.0


class Bigram(nn.Module):
    """Logits looked up from the current token: a model whose every output is known in advance."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = nn.Parameter(table.clone())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table[ids]


def test_evaluate_weights_tokens_not_batches() -> None:
    model = Bigram(torch.tensor([[0.0, 0.0, 0.0], [0.0, LN2, 0.0], [0.0, 0.0, 0.0]]))
    loader = [
        (torch.tensor([[0]]), torch.tensor([[2]]), torch.tensor([[True]])),
        (torch.tensor([[1, 1, 1]]), torch.tensor([[1, 1, 1]]), torch.tensor([[True, False, False]])),
    ]
    result = evaluate(model, loader)
    assert result.loss == pytest.approx((LN3 + 3 * LN2) / 4)
    assert result.tokens == 4
    assert result.response_loss == pytest.approx((LN3 + LN2) / 2)
    assert result.response_tokens == 2
    assert evaluate(model, loader, max_batches=1).loss == pytest.approx(LN3)
    assert evaluate(model, [batch[:2] for batch in loader]).response_loss is None


class MaskedBatch(NamedTuple):
    inputs: torch.Tensor
    targets: torch.Tensor


def test_unpack_batch_reads_a_response_mask_attribute() -> None:
    class WithMask(MaskedBatch):
        response_mask = torch.tensor([[True]])

    inputs, targets, mask = unpack_batch(WithMask(torch.tensor([[1]]), torch.tensor([[2]])))
    assert (inputs.item(), targets.item(), mask.item()) == (1, 2, True)
    assert unpack_batch((torch.tensor([[1]]), torch.tensor([[2]])))[2] is None


CONFIG = GPTConfig(vocab_size=13, context_length=8, emb_dim=16, n_heads=2, n_layers=1)
INPUTS = torch.tensor([[1, 5, 7, 2, 9, 4], [3, 3, 8, 1, 0, 6]])
TARGETS = torch.tensor([[5, 7, 2, 9, 4, 12], [3, 8, 1, 0, 6, -100]])
MASK = torch.tensor([[False, False, True, True, True, True], [False, False, False, True, True, False]])


def run(steps: int = 30, **options: object) -> tuple[object, list[Progress]]:
    torch.manual_seed(0)
    model = GPT(CONFIG)
    seen: list[Progress] = []
    config = TrainConfig(max_steps=steps, learning_rate=1e-2, eval_every=10, seed=7, **options)  # type: ignore[arg-type]
    result = train(model, [(INPUTS, TARGETS)], [(INPUTS, TARGETS, MASK)], config, progress=seen.append)
    return result, seen


def test_overfitting_one_batch_makes_the_loss_fall_and_the_curve_is_plain_data() -> None:
    result, seen = run()
    curve = result.curve
    assert curve.step == [10, 20, 30]
    assert curve.tokens_seen == [110, 220, 330]
    assert curve.train_loss[0] > curve.train_loss[1] > curve.train_loss[2]
    assert curve.val_loss[-1] < 0.5 * math.log(13)
    assert curve.val_response_loss[-1] < 0.5 * math.log(13)
    assert result.final.tokens == 11 and result.final.response_tokens == 6
    assert result.final.loss == curve.val_loss[-1]
    assert [p.step for p in seen] == list(range(1, 31)) and {p.total_steps for p in seen} == {30}
    assert [p.val_loss is not None for p in seen].count(True) == 3
    assert result.to_dict()["curve"]["step"] == [10, 20, 30]


def test_same_seed_same_numbers() -> None:
    first, _ = run(steps=12)
    second, _ = run(steps=12)
    assert first.curve == second.curve


def test_epoch_budget_evaluates_after_the_last_step() -> None:
    torch.manual_seed(0)
    loader = [(INPUTS, TARGETS)] * 3
    result = train(GPT(CONFIG), loader, None, TrainConfig(epochs=2, eval_every=4))
    assert result.steps == 6
    assert result.curve.step == [4, 6]
    assert result.curve.val_loss == [None, None]
    assert result.final is None


def test_train_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^training\.max_steps: must be at least 1, got 0$"):
        from_mapping(TrainConfig, {"max_steps": 0}, path=("training",))


