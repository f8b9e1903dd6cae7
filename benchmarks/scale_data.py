"""Synthetic instruction records drawn from the shared dataset's distribution, for the scale benchmark.

Repeating the 1,100 shared records would flatter any tokenizer that caches text it has seen (ours caches
repeated segments), so each generated record is new text with the source's statistics:

- its three field lengths, in words, are those of one source record drawn at random: the joint distribution
  of the lengths, the share of records without an input (about 70%) and the correlations between fields stay;
- each field is filled by a word-bigram chain over that field's own words in the source (a chain starts at a
  word that starts a field there, and restarts at such a word after a word with no successor).

Words are split on whitespace and joined with one space, so the source's few line breaks do not survive.
Everything is seeded (``numpy.random.default_rng``) and written in chunks, never holding all records.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FIELDS", "GENERATOR_VERSION", "FieldModel", "SourceModel", "ensure_jsonl", "generate_records",
           "source_model", "write_jsonl"]

FIELDS = ("instruction", "input", "output")
GENERATOR_VERSION = 1
CHUNK = 10_000


@dataclass(frozen=True)
class FieldModel:
    """One field's word bigrams in compressed rows: the successors of word ``w`` (with multiplicity) are
    ``successors[offsets[w]:offsets[w + 1]]``."""

    words: np.ndarray  # object array of str
    starts: np.ndarray  # ids of the words that begin a non-empty field, with multiplicity
    offsets: np.ndarray
    successors: np.ndarray

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> FieldModel:
        vocabulary: dict[str, int] = {}
        firsts: list[int] = []
        pairs: list[tuple[int, int]] = []
        for text in texts:
            ids = [vocabulary.setdefault(word, len(vocabulary)) for word in text.split()]
            if ids:
                firsts.append(ids[0])
                pairs.extend(itertools.pairwise(ids))
        pair_array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        order = np.argsort(pair_array[:, 0], kind="stable")
        counts = np.bincount(pair_array[:, 0], minlength=len(vocabulary))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        words = np.empty(len(vocabulary), dtype=object)
        words[:] = list(vocabulary)
        return cls(words, np.array(firsts, dtype=np.int64), offsets, pair_array[order, 1])

    def sample(self, lengths: np.ndarray, rng: np.random.Generator) -> list[str]:
        """One text per entry of ``lengths`` (in words); all chains advance together, one word per step."""
        count, width = len(lengths), int(lengths.max(initial=0))
        if width == 0:
            return [""] * count
        ids = np.empty((count, width), dtype=np.int64)
        current = self.starts[rng.integers(0, len(self.starts), count)]
        ids[:, 0] = current
        for step in range(1, width):
            low, high = self.offsets[current], self.offsets[current + 1]
            picked = self.successors[np.minimum(low + (rng.random(count) * (high - low)).astype(np.int64),
                                                len(self.successors) - 1)]
            restart = self.starts[rng.integers(0, len(self.starts), count)]
            current = np.where(high > low, picked, restart)
            ids[:, step] = current
        words = self.words[ids]
        return [" ".join(row[:length]) for row, length in zip(words.tolist(), lengths.tolist(), strict=True)]


@dataclass(frozen=True)
class SourceModel:
    """Per-record word counts of the source (rows: records, columns: :data:`FIELDS`) and a model per field."""

    lengths: np.ndarray
    fields: dict[str, FieldModel]
    digest: str


def source_model(path: str | os.PathLike[str]) -> SourceModel:
    data = Path(path).read_bytes()
    raw = json.loads(data)
    lengths = np.array([[len(record.get(name, "").split()) for name in FIELDS] for record in raw], dtype=np.int64)
    fields = {name: FieldModel.from_texts([record.get(name, "") for record in raw]) for name in FIELDS}
    return SourceModel(lengths, fields, hashlib.blake2b(data, digest_size=16).hexdigest())


def generate_records(model: SourceModel, count: int, seed: int = 0, chunk: int = CHUNK) -> Iterator[list[dict]]:
    """``count`` records in lists of at most ``chunk``; the same seed and chunk give the same records."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        lengths = model.lengths[rng.integers(0, len(model.lengths), size)]
        columns = [model.fields[name].sample(lengths[:, column], rng) for column, name in enumerate(FIELDS)]
        yield [dict(zip(FIELDS, values, strict=True)) for values in zip(*columns, strict=True)]


def write_jsonl(path: Path, model: SourceModel, count: int, seed: int) -> None:
    """Write the records as JSON Lines through a temporary file renamed at the end (readers never see half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            for records in generate_records(model, count, seed):
                handle.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def ensure_jsonl(path: Path, source: str | os.PathLike[str], count: int, seed: int) -> bool:
    """Generate ``path`` unless it exists with the same parameters (recorded beside it); True if written."""
    model = source_model(source)
    parameters = {"records": count, "seed": seed, "source": model.digest, "version": GENERATOR_VERSION,
                  "chunk": CHUNK}
    meta = path.with_name(path.name + ".meta.json")
    if path.is_file() and meta.is_file():
        try:
            if json.loads(meta.read_text(encoding="utf-8")) == parameters:
                return False
        except (OSError, ValueError):
            pass
    meta.unlink(missing_ok=True)
    write_jsonl(path, model, count, seed)
    meta.write_text(json.dumps(parameters), encoding="utf-8")
    return True
