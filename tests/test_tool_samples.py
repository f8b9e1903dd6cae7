"""The shipped sample datasets (``examples/data/``): every record renders as each claiming model's template renders
it, and the Qwen2.5 and Mistral v0.3 ids equal ``apply_chat_template(tools=...)``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_template_parity import Case, reference  # noqa: F401  (the fixture)
from test_tool_parity import load, template_ids

from promptstyles import get_style
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.sources.loading import load_records

SAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"
CLAIMS = {
    "tool-calls.jsonl": [Case("qwen2.5", "qwen2.5-7b-instruct"), Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>"),
                         Case("mistral-v0.3", "mistral-7b-instruct-v0.3"),
                         Case("llama3.1", "llama-3.1-8b-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>")],
    "reasoning.jsonl": [Case("qwen3", "qwen3-0.6b.jinja", None, "<|im_end|>")],
}


def raw(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("name", "case"), [(name, case) for name, cases in CLAIMS.items() for case in cases],
                         ids=lambda v: getattr(v, "style", v))
def test_every_sample_renders_as_the_template(reference, name, case):  # noqa: F811
    records = load_records(str(SAMPLES / name)).records
    assert len(records) == {"tool-calls.jsonl": 16, "reasoning.jsonl": 7}[name]
    style = get_style(case.style)
    for record, source in zip(records, raw(name), strict=True):
        assert style.render(record).text == reference(case, source["messages"], tools=source.get("tools"))


@pytest.mark.parametrize(("style", "folder"), [("qwen2.5", "qwen2.5-7b-instruct"),
                                               ("mistral-v0.3", "mistral-7b-instruct-v0.3")])
def test_sample_ids_equal_the_template(style, folder):
    style, tokenizer, reference_tokenizer = load(style, folder)
    dataset = tokenize_records(load_records(str(SAMPLES / "tool-calls.jsonl")).records, style, tokenizer)
    eos = tokenizer.eos_id
    for index, source in enumerate(raw("tool-calls.jsonl")):
        expected = template_ids(reference_tokenizer, source["messages"], source["tools"])
        assert [*dataset[index].tolist(), eos] == (expected if expected[-1] == eos else [*expected, eos])
