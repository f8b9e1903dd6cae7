"""``validate`` runs every check a build runs short of tokenizing: where ``stats`` would fail, ``validate``
fails with the same error, and where ``validate`` says valid, ``stats`` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_styles import MODELS

from promptstyles.cli import main

RECORDS = [{"instruction": f"Say {n}.", "input": "", "output": f"{n}"} for n in range(20)]
LLAMA3 = MODELS / "llama-3-8b-instruct"


def _project(tmp_path: Path) -> Path:
    (tmp_path / "data.json").write_text(json.dumps(RECORDS), encoding="utf-8")
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps([*RECORDS[:3], {"instruction": "x"}]), encoding="utf-8")
    shapes = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}] * 3
    shapes.append({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                {"role": "assistant", "content": "c"}]})
    (tmp_path / "turns.json").write_text(json.dumps(shapes), encoding="utf-8")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "tokenizer.json").write_text('{"version": "1.0", "model":', encoding="utf-8")
    if LLAMA3.is_dir():
        (tmp_path / "config-broken").mkdir()
        (tmp_path / "config-broken" / "tokenizer.json").symlink_to(LLAMA3 / "tokenizer.json")
        (tmp_path / "config-broken" / "tokenizer_config.json").write_text("{eos", encoding="utf-8")
    return tmp_path


FAILING = {
    "missing tokenizer folder": "tokenizer: {path: no-such-model}\ndata: {path: data.json}",
    "corrupt tokenizer.json": "tokenizer: {path: broken}\ndata: {path: data.json}",
    "corrupt tokenizer_config.json": "style: llama3\ntokenizer: {path: config-broken}\ndata: {path: data.json}",
    "markup the tokenizer lacks": f"style: chatml\ntokenizer: {{path: {LLAMA3}}}\ndata: {{path: data.json}}",
    "missing data file": "data: {path: no-such-data.json}",
    "a data folder": "data: {path: broken}",
    "an invalid record": "data: {path: bad.json}",
    "a pad id the tokenizer lacks": "data: {path: data.json}\ncollate: {pad_token_id: 50257}",
    "an empty training split": "data: {path: data.json, split: {train: 0.01, test: 0.5}}",
    "a JSON array streamed": "data: {path: data.json, streaming: true}",
    "a style option of the wrong type": "style: llama2\nstyle_options: {system: 3}\ndata: {path: data.json}",
    "a record the style cannot render": "style: gemma\ndata: {path: turns.json}",
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_validate_fails_where_a_build_fails_with_the_same_error(case: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tokenizers")
    if ("config-broken" in FAILING[case] or str(LLAMA3) in FAILING[case]) and not LLAMA3.is_dir():
        pytest.skip(f"tokenizer folder {LLAMA3} not found")
    config = _project(tmp_path) / "config.yaml"
    config.write_text(FAILING[case] + "\n", encoding="utf-8")
    assert main(["stats", str(config)]) == 1
    built = capsys.readouterr().err.splitlines()[-1]  # after the build's progress bars
    assert built.startswith("promptstyles: error: ")
    assert main(["validate", str(config)]) == 1
    assert capsys.readouterr().err == built + "\n"


@pytest.mark.parametrize("text", ["data: {path: data.json}", "data: {path: data.jsonl, streaming: true}",
                                  "style: chatml\ntokenizer: {name: gpt2, special_tokens: extend}\n"
                                  "data: {path: data.json}\ncollate: {pad_token_id: 50258}"])
def test_what_validate_calls_valid_builds(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _project(tmp_path) / "config.yaml"
    config.write_text(text + "\n", encoding="utf-8")
    assert main(["validate", str(config)]) == 0
    out = capsys.readouterr().out
    assert main(["stats", str(config)]) == 0
    streamed = "streaming" in text
    assert out.endswith(f"tokenizer 'gpt2', {50259 if 'extend' in text else 50257} ids; "
                        + (f"records from {tmp_path / 'data.jsonl'} checked as they are read)\n" if streamed else
                           f"20 records from {tmp_path / 'data.json'})\n"))
