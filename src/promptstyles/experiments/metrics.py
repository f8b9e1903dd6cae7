"""Scores of generated responses: against the reference (token F1, ROUGE-L, length) and on their own
(did the model stop at its end marker, did markup leak).

Both compare words after the same light normalisation (lowercase, split on whitespace), so a style is
not rewarded for casing or spacing. Token F1 counts shared words regardless of order (SQuAD's measure);
ROUGE-L rewards words in the same order through their longest common subsequence. Two empty texts
agree perfectly (1.0); an empty text against a non-empty one scores 0.0. Lengths are counted in the
same words, so the length ratio compares like with like for every style and tokenizer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["EXAMPLE_COLUMNS", "normalize", "rouge_l", "score_responses", "summarise_generations", "token_f1"]


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


EXAMPLE_COLUMNS = ("ended", "leaked", "token_f1", "rouge_l", "words", "reference_words")
"""Per-example columns kept in ``generation.examples`` (beside ``records``) for paired comparisons."""


def summarise_generations(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``generation`` results of a run from its scored responses.

    Each entry has ``record``, ``response``, ``reference``, ``stopped`` (``eos``/``stop``/``length``),
    ``ended`` and ``leak`` (see :class:`~promptstyles.experiments.leaks.MarkupCheck`). Returns the means
    of token F1 and ROUGE-L, ``n``, ``empty`` responses, ``stop_rate`` (share that ended at the style's
    end marker), ``leak_rate``, ``cut`` (responses that ran to ``max_new_tokens``), ``leak_markers`` (how
    often each marker leaked), mean response and reference length in words (``words_mean``,
    ``reference_words_mean``) and ``length_ratio`` (their ratio), and ``examples``: every per-example
    column, by record.
    """
    scores: dict[str, Any] = score_responses([str(e["response"]) for e in entries],
                                             [str(e["reference"]) for e in entries])
    count = len(entries)
    columns: dict[str, list[Any]] = {"records": [int(e["record"]) for e in entries]}
    columns["ended"] = [int(bool(e["ended"])) for e in entries]
    columns["leaked"] = [int(e.get("leak") is not None) for e in entries]
    columns["token_f1"] = [token_f1(str(e["response"]), str(e["reference"])) for e in entries]
    columns["rouge_l"] = [rouge_l(str(e["response"]), str(e["reference"])) for e in entries]
    columns["words"] = [len(normalize(str(e["response"]))) for e in entries]
    columns["reference_words"] = [len(normalize(str(e["reference"]))) for e in entries]
    reference_words = sum(columns["reference_words"])
    scores |= {
        "empty": sum(1 for e in entries if not str(e["response"]).strip()),
        "stop_rate": sum(columns["ended"]) / count if count else None,
        "leak_rate": sum(columns["leaked"]) / count if count else None,
        "cut": sum(1 for e in entries if e["stopped"] == "length"),
        "words_mean": sum(columns["words"]) / count if count else None,
        "reference_words_mean": reference_words / count if count else None,
        "length_ratio": sum(columns["words"]) / reference_words if reference_words else None,
        "leak_markers": dict(Counter(str(e["leak"]) for e in entries if e.get("leak") is not None).most_common()),
        "examples": columns,
    }
    return scores
