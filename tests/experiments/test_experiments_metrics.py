"""Token F1 and ROUGE-L against values worked out by hand."""

from __future__ import annotations

import pytest

from promptstyles.experiments.metrics import normalize, rouge_l, score_responses, token_f1


def test_normalize_lowercases_and_splits_on_whitespace() -> None:
    assert normalize("  The CAT\tsat\n on ") == ["the", "cat", "sat", "on"]


def test_token_f1_by_hand() -> None:
    # prediction: the cat sat (3); reference: the cat sat on the mat (6); shared: the, cat, sat -> 3
    # precision 3/3, recall 3/6 -> F1 = 2 * 1 * 0.5 / 1.5 = 2/3
    assert token_f1("The cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)
    # repeated words count as often as both have them: "the the the" vs "the cat": overlap 1
    # precision 1/3, recall 1/2 -> F1 = 2 * (1/6) / (5/6) = 0.4
    assert token_f1("the the the", "the cat") == pytest.approx(0.4)
    assert token_f1("mat on sat cat the the", "the cat sat on the mat") == 1.0


def test_rouge_l_by_hand() -> None:
    # prediction: a b c d (4); reference: a c b d e (5); LCS a b d (or a c d) -> 3
    # precision 3/4, recall 3/5 -> F = 2 * 0.45 / 1.35 = 2/3
    assert rouge_l("a b c d", "a c b d e") == pytest.approx(2 / 3)
    # order matters for ROUGE-L and not for F1: the longest common subsequence is "the cat the" -> 3 of 6
    assert rouge_l("mat the on sat cat the", "the cat sat on the mat") == pytest.approx(0.5)
    assert rouge_l("Red.", "red.") == 1.0


def test_empty_texts() -> None:
    assert token_f1("", "") == 1.0 and rouge_l("", "  ") == 1.0
    assert token_f1("", "red") == 0.0 and rouge_l("red", "") == 0.0
    assert token_f1("blue", "red") == 0.0 and rouge_l("blue", "red") == 0.0


def test_score_responses_averages_pairs() -> None:
    scores = score_responses(["the cat sat", "red"], ["the cat sat on the mat", "red"])
    assert scores == {"token_f1": pytest.approx((2 / 3 + 1) / 2), "rouge_l": pytest.approx((2 / 3 + 1) / 2), "n": 2}
    assert score_responses([], []) == {"token_f1": 0.0, "rouge_l": 0.0, "n": 0}
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        score_responses(["a", "b"], ["a"])
