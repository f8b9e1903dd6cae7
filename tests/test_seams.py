"""One contract per seam: layers, public loader methods, plain dict records, the tokenizer shorthand, errors
that name the style at fault, and a command line that stops quietly when its reader goes away."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import promptstyles
from promptstyles import ConfigError, Conversation, InstructionRecord, Message, RecordError, Style, get_style
from promptstyles.config import TokenizerConfig, load_config
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import build_dataloaders
from promptstyles.styles._base import Part, PartKind

DATA = Path(promptstyles.__file__).parent / "data"


FORBIDDEN = ("promptstyles", "promptstyles.config", "promptstyles.pipeline")


def _upward_imports(path: Path) -> list[str]:
    """The imports of the package face, the config or the pipeline in ``path``, relative ones resolved."""
    package = ["promptstyles", *path.relative_to(DATA.parent).parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*anchor, node.module] if node.module else anchor)
            named = [f"{target}.{alias.name}" for alias in node.names]
            found += [name for name in (target, *named) if name in FORBIDDEN]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name in FORBIDDEN]
    return found


def test_nothing_under_data_imports_the_config_or_the_package_face():
    modules = sorted(DATA.rglob("*.py"))
    names = {path.relative_to(DATA).as_posix() for path in modules}
    assert {"store/cache.py", "build/encoding.py", "batches/loaders.py", "sources/loading.py", "tokenized.py",
            "tokenizers/protocol.py", "tokenizers/hf/tokenizer.py"} <= names
    assert {path.name: _upward_imports(path) for path in modules} == {path.name: [] for path in modules}


RECORDS = [{"instruction": f"Say {word}.", "input": "", "output": word.title()} for word in
           ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven")]


def test_loaders_collate_chosen_examples_as_their_loader_does():
    config = {"data": {"cache": False, "split": {"train": 0.8, "test": 0.0}},
              "loader": {"batch_size": 3, "seed": 7}, "collate": {"mask": "instruction"}}
    loaders = build_dataloaders(config, records=[promptstyles.to_record(r) for r in RECORDS])
    assert [indices.tolist() for indices in loaders.batch_indices("val")] == [[0, 1, 2]]
    train = loaders.batch_indices("train")
    assert [len(indices) for indices in train] == [3, 3]  # 8 training examples, the last 2 dropped
    order = [i for indices in train for i in indices.tolist()]
    assert order != sorted(order) and len(set(order)) == 6  # shuffled, as the loader is
    for indices, batch in zip(train, loaders.train, strict=True):
        built = loaders.batch("train", indices)
        assert torch.equal(built.inputs, batch.inputs) and torch.equal(built.targets, batch.targets)
    first = loaders.batch("val", [1])
    ids = loaders.datasets["val"][1].tolist()
    assert first.inputs.tolist() == [ids]
    prompt = int(loaders.datasets["val"].prompt_lengths[1])
    assert first.targets.tolist() == [[-100] * (prompt - 1) + ids[prompt:] + [50256]]


def test_a_style_renders_plain_dict_records():
    style = get_style("alpaca", system="Be exact.")
    raw = {"instruction": "Add.", "input": "1 2", "output": "3"}
    assert style.render(raw).text == "Be exact.\n\n### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:\n3"
    prompt = "Be exact.\n\n### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:\n"
    assert style.generation_prompt({"instruction": "Add.", "input": "1 2"}) == prompt
    chat = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}
    expected = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n"
    assert get_style("chatml").render(chat).text == expected
    with pytest.raises(RecordError, match="key 'instruction': missing key"):
        style.render({"prompt": "Add."})


def test_a_tokenizer_name_alone_is_short_for_its_section(tmp_path):
    assert load_config({"tokenizer": "r50k_base"}).tokenizer == TokenizerConfig(name="r50k_base")
    path = tmp_path / "config.yaml"
    path.write_text("tokenizer: p50k_base\n", encoding="utf-8")
    assert load_config(path).tokenizer == TokenizerConfig(name="p50k_base", special_tokens="text")
    with pytest.raises(ConfigError, match=r"tokenizer \(line 1\): expected a mapping, got int 3"):
        path.write_text("tokenizer: 3\n", encoding="utf-8")
        load_config(path)


class Exploding(Style):
    name = "exploding"

    def parts(self, record, *, generation=False):
        if record.instruction == "bad":
            raise KeyError("field")
        return [Part(record.instruction, PartKind.PROMPT), Part("\n", PartKind.RESPONSE_HEADER, markup=True),
                Part(record.output, PartKind.RESPONSE)]


def test_any_failure_inside_a_style_names_the_record_the_style_and_where_it_comes_from():
    records = [InstructionRecord("good", "", "x"), InstructionRecord("bad", "", "y")]
    with pytest.raises(RecordError, match=r"^record 1: style 'exploding' from module 'test_seams' cannot render "
                                          r"it: KeyError: 'field'$") as caught:
        tokenize_records(records, Exploding(), get_tokenizer("gpt2"))
    assert isinstance(caught.value.__cause__, KeyError)


def test_a_failing_plugin_style_is_named_with_its_plugin(monkeypatch):
    style = get_style("chatml")

    def broken(record, *, generation=False):
        raise ValueError("no role")

    monkeypatch.setattr(style, "parts", broken)
    with pytest.raises(RecordError, match=r"^src.json, record 0: style 'chatml' from plugin 'chatml' "
                                          r"\(promptstyles-chatml [0-9.]+\) cannot render it: ValueError: no role$"):
        tokenize_records([InstructionRecord("a", "", "b")], style, get_tokenizer("gpt2"), source="src.json")


class Terse(Style):
    """The README's example: instruction records only."""

    name = "terse"

    def parts(self, record, *, generation=False):
        parts = [Part(record.instruction, PartKind.PROMPT), Part("\n", PartKind.RESPONSE_HEADER, markup=True)]
        if not generation:
            parts.append(Part(record.output, PartKind.RESPONSE))
        return parts


def test_an_instruction_only_style_given_a_conversation_says_so():
    chat = Conversation((Message("user", "Hi"), Message("assistant", "Yo")))
    with pytest.raises(RecordError, match=r"^record 1: style 'terse' from module 'test_seams' cannot render it: "
                       r"AttributeError: .*; style 'terse' is instruction-only \(supports_conversations is False\)"):
        tokenize_records([InstructionRecord("a", "", "b"), chat], Terse(), get_tokenizer("gpt2"))


@pytest.mark.parametrize("command", ["stats", "list"])
def test_output_into_a_closed_pipe_exits_quietly(command, tmp_path):
    (tmp_path / "data.json").write_text(json.dumps(RECORDS), encoding="utf-8")
    (tmp_path / "config.yaml").write_text("data: {path: data.json, cache: false}\n", encoding="utf-8")
    arguments = [command, str(tmp_path / "config.yaml")] if command == "stats" else [command]
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written, as with ``| head -0``
    try:
        result = subprocess.run([sys.executable, "-m", "promptstyles", *arguments], stdout=write,
                                stderr=subprocess.PIPE, env=environment, timeout=300, check=False)
    finally:
        os.close(write)
    noise = [line for line in result.stderr.decode().splitlines()
             if "BrokenPipe" in line or "Exception ignored" in line or line.startswith("promptstyles:")]
    assert (result.returncode, noise) == (1, [])  # no traceback, no error line (plugin warnings may remain)
