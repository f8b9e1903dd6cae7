"""Rendering a chunk of records: the collector paused while its objects are built, and restored after."""

from __future__ import annotations

import gc

import pytest
from engine_styles import Picky

from promptstyles import RecordError, to_record
from promptstyles.data.build.rendering import render_chunk


class Watching(Picky):
    """Picky, noting whether the cyclic garbage collector was on at each record."""

    name = "watching"

    def __init__(self) -> None:
        super().__init__()
        self.collector_on: list[bool] = []

    def parts(self, record, *, generation=False):
        self.collector_on.append(gc.isenabled())
        return super().parts(record, generation=generation)


def records(*instructions):
    return [to_record({"instruction": text, "input": "", "output": "ok"}, index=i)
            for i, text in enumerate(instructions)]


def test_the_collector_is_off_while_a_chunk_renders_and_on_again_after():
    style = Watching()
    chunk = render_chunk(style, records("a", "b", "c"), 0, None)
    assert style.collector_on == [False, False, False] and gc.isenabled()
    assert chunk.run_counts == [4, 4, 4]
    assert [part.text for part in chunk.parts[1]][1:] == ["b", "\n\n### Response:\n", "ok"]


def test_a_record_error_leaves_the_collector_on():
    style = Watching()
    with pytest.raises(RecordError, match="record 11"):
        render_chunk(style, records("a", "boom"), 10, None)
    assert style.collector_on == [False, False] and gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off():
    gc.disable()
    try:
        render_chunk(Watching(), records("a"), 0, None)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_encoding_a_chunk_never_runs_the_collector_over_its_parts():
    """Back on before the parts are dropped, the collector would walk every one of them at once."""
    from promptstyles import get_style
    from promptstyles.data.build.encoding import encode_chunk
    from promptstyles.data.tokenizers import get_tokenizer

    chunk = records(*["the same instruction"] * 3000)  # nothing new for the tokenizer to cache
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    runs: list[str] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            runs.append(f"generation {info['generation']}")

    gc.collect()
    gc.callbacks.append(note)
    try:
        arrays = encode_chunk(chunk, style, tokenizer)
    finally:
        gc.callbacks.remove(note)
    assert runs == [] and gc.isenabled()
    assert len(arrays.lengths) == 3000
