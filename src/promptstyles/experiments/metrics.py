"""Scores of a generated response against the reference: token F1 and ROUGE-L.

Both compare words after the same light normalisation (lowercase, split on whitespace), so a style is
not rewarded for casing or spacing. Token F1 counts shared words regardless of order (SQuAD's measure);
ROUGE-L rewards words in the same order through their longest common subsequence. Two empty texts
agree perfectly (1.0); an empty text against a non-empty one scores 0.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["normalize", "rouge_l", "score_responses", "token_f1"]


def normalize(text: str) -> list[str]:
    """The words that are compared: lowercased, split on any whitespace."""
    return text.lower().split()


def _f_measure(overlap: int, predicted: int, reference: int) -> float:
    if predicted == 0 or reference == 0:
        return float(predicted == reference)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / reference
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of word precision and recall, counting each shared word as often as both have it."""
    predicted, expected = normalize(prediction), normalize(reference)
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    return _f_measure(overlap, len(predicted), len(expected))


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if word == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1: precision and recall of the longest common word subsequence, weighted equally."""
    predicted, expected = normalize(prediction), normalize(reference)
    return _f_measure(_lcs_length(predicted, expected), len(predicted), len(expected))


def score_responses(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean token F1 and ROUGE-L over pairs, and how many pairs (``n``); means are 0.0 for no pairs."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    count = len(predictions)
    pairs = list(zip(predictions, references, strict=True))
    return {
        "token_f1": sum(token_f1(p, r) for p, r in pairs) / count if count else 0.0,
        "rouge_l": sum(rouge_l(p, r) for p, r in pairs) / count if count else 0.0,
        "n": count,
    }
