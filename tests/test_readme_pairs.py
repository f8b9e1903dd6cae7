"""The README's preference-pair example and its TRL fine-tuning script, run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def blocks(heading: str, language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    section = text[start : text.index("\n## ", start + 1)]
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


def test_the_readme_pair_batch_prints_what_it_shows():
    (code,) = blocks("## Preference pairs", "python")
    (shown,) = blocks("## Preference pairs", "text")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert printed.getvalue() == shown


def test_the_readme_sft_script_trains_on_our_dataset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("trl")
    pytest.importorskip("datasets")
    (code,) = blocks("## Our batches in transformers and TRL", "python")
    monkeypatch.chdir(ROOT)
    if not (ROOT.parent / "shared" / "models" / "qwen2.5-7b-instruct").is_dir():
        pytest.skip("shared model folder not found")

    def tiny_model(path):  # the script as written, on a tiny random model instead of 7B weights
        config = transformers.LlamaConfig(vocab_size=len(transformers.AutoTokenizer.from_pretrained(path)),
                                          hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=2)
        return transformers.LlamaForCausalLM(config)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", tiny_model)
    for old, new in (("max_steps=100", "max_steps=1"), ('output_dir="qwen-sft"', f"output_dir={str(tmp_path)!r}"),
                     ("remove_unused_columns=False)", "remove_unused_columns=False, use_cpu=True, bf16=False)")):
        assert old in code
        code = code.replace(old, new)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["trainer"].state.global_step == 1
    assert len(namespace["dataset"]) == 1100
