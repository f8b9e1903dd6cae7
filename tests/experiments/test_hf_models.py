"""Hugging Face causal LMs in a comparison, with no download: tiny random Llama and Qwen2 models built from a
config, with the vocabulary of the shared Llama-3 and Qwen2.5 tokenizers."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from shared_paths import MODELS, require

from promptstyles import UnknownMarkupError, build_dataloaders, prepare_data
from promptstyles.errors import ConfigError, ModelError
from promptstyles.experiments import TrainConfig, compare, evaluate, load_experiment, sample_data_path, train
from promptstyles.experiments.hf_model import HFCausalLM
from promptstyles.experiments.model_spec import LoraSpec, ModelSpec
from promptstyles.experiments.runner import fine_tune, generate_responses, model_factory

pytest.importorskip("transformers", reason="the Hugging Face model path needs transformers (the train extra)")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "compare-llama.yaml"
LLAMA_TOKENIZER = MODELS / "llama-3-8b-instruct"
QWEN_TOKENIZER = MODELS / "qwen2.5-7b-instruct"
TINY = {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 1, "max_position_embeddings": 128, "tie_word_embeddings": True}
LLAMA = {"model_type": "llama", **TINY}
QWEN = {"model_type": "qwen2", **TINY}
CHATML_UNKNOWN = ("style 'chatml' writes '<|im_start|>' as markup, but it is not a special token of tokenizer "
                  "'llama-3-8b-instruct', so the model would read it as plain text: use a style whose markup it "
                  "has: llama3, llama3.1, llama3.2")
EOT, START_HEADER = 128009, 128006  # Llama-3's <|eot_id|> (its EOS) and <|start_header_id|>


@pytest.fixture(autouse=True)
def _shared_tokenizers() -> None:
    """Every test here runs the shared Llama-3 or Qwen2.5 tokenizer."""
    require(LLAMA_TOKENIZER)
    require(QWEN_TOKENIZER)


def experiment(output: Path, styles: list[str], **changes: Any) -> dict[str, Any]:
    """Two or three styles on the sample data, a one-layer Llama, a few steps: seconds on a CPU."""
    require(LLAMA_TOKENIZER)
    spec: dict[str, Any] = {
        "styles": styles,
        "base": {"data": {"path": str(sample_data_path()), "split": {"train": 0.85, "test": 0.05}},
                 "collate": {"mask": "prompt", "allowed_max_length": 40}, "loader": {"batch_size": 2}},
        "model": {"init": LLAMA, "tokenizer": str(LLAMA_TOKENIZER)},
        "training": {"max_steps": 2, "eval_every": 2, "eval_batches": 1},
        "generation": {"records": 1, "max_new_tokens": 3},
        "output": str(output),
    }
    spec.update(changes)
    return spec


def loaders_for(style: str, tokenizer: Path, spec: ModelSpec | None = None, **collate: Any) -> Any:
    config = {"style": style, "tokenizer": {"path": str(tokenizer)},
              "data": {"path": str(sample_data_path()), "split": {"train": 0.75, "test": 0.1}},
              "collate": {"mask": "prompt", "allowed_max_length": 48, "attention_mask": True, **collate},
              "loader": {"batch_size": 4, "shuffle": False}}
    data = prepare_data(config)
    return data, build_dataloaders(data.config, data=data, response_mask=True)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("hf-compare")
    spec = experiment(folder, ["llama3", "alpaca", "chatml"], on_unknown_markup="skip")
    return compare(spec), compare(spec)


def test_a_tiny_llama_compares_two_styles_and_skips_the_one_its_tokenizer_lacks(compared: Any) -> None:
    first, _ = compared
    assert list(first["styles"]) == ["llama3", "alpaca"]
    assert first["skipped"] == {"chatml": CHATML_UNKNOWN}
    assert f"Skipped chatml: {CHATML_UNKNOWN}." in first["notes"]
    report = Path(first["files"]["markdown"]).read_text(encoding="utf-8")
    assert f"Skipped chatml: {CHATML_UNKNOWN}." in report
    llama3, alpaca = (first["styles"][name]["training"] for name in ("llama3", "alpaca"))
    assert llama3["val_response_tokens"] > 0 and alpaca["val_response_tokens"] > 0
    assert llama3["steps"] == alpaca["steps"] == 2
    assert llama3["val_response_loss"] != alpaca["val_response_loss"]


def test_the_results_record_the_tokenizer_and_model_that_ran(compared: Any) -> None:
    settings = compared[0]["settings"]
    assert settings["base"]["tokenizer"] == {"name": "llama-3-8b-instruct", "path": str(LLAMA_TOKENIZER),
                                             "special_tokens": "text"}
    assert settings["model"] == {"path": None, "init": LLAMA, "tokenizer": str(LLAMA_TOKENIZER),
                                 "dtype": "float32", "lora": None}


def test_a_second_run_resumes_every_finished_run(compared: Any) -> None:
    first, second = compared
    assert first["resumed"] == []
    assert second["resumed"] == ["llama3", "alpaca"]
    assert second["styles"] == json.loads(json.dumps(first["styles"]))


def test_an_unknown_markup_is_an_error_by_default_before_anything_is_written(tmp_path: Path) -> None:
    output = tmp_path / "out"
    with pytest.raises(UnknownMarkupError) as error:
        compare(experiment(output, ["alpaca", "chatml"]))
    assert str(error.value) == f"{CHATML_UNKNOWN}; or set on_unknown_markup: skip to leave the style out"
    assert not output.exists()
    with pytest.raises(ConfigError, match="styles: no style's markup is known to the tokenizer"):
        compare(experiment(output, ["chatml"], on_unknown_markup="skip"))


def test_the_llama_example_builds_every_run_with_the_shared_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the chat-template option is read relative to the current directory
    loaded = load_experiment(EXAMPLE)
    assert Path(loaded.model.tokenizer_path).resolve() == LLAMA_TOKENIZER.resolve()  # type: ignore[arg-type]
    runs = loaded.runs()
    assert [run.label for run in runs] == ["llama3", "llama3.1", "llama-3-template", "alpaca"]
    ids = {}
    for run in runs:  # every style's markup is special in the Llama-3 tokenizer: none is skipped
        data = prepare_data(run.config)
        assert data.tokenizer.name == "llama-3-8b-instruct" and len(data.records) == 1100
        ids[run.label] = data.dataset.tokens[: data.dataset.lengths[0]].tolist()
    assert ids["llama-3-template"] == ids["llama3"] and ids["llama3"][:2] == [128000, 128006]


def test_the_model_sets_the_tokenizer_and_attention_masks_of_every_run(tmp_path: Path) -> None:
    loaded = load_experiment(experiment(tmp_path, ["llama3"]))
    (run,) = loaded.runs()
    assert run.config.tokenizer.source == (None, str(LLAMA_TOKENIZER))
    assert run.config.collate.attention_mask is True
    gpt = load_experiment({**experiment(tmp_path, ["llama3"]), "model": {"preset": "tiny"}})
    assert gpt.runs()[0].config.collate.attention_mask is False


@pytest.mark.parametrize(("model", "message"), [
    ({"init": LLAMA, "path": "x"}, "model.init: give either model.path"),
    ({"init": {"hidden_size": 8}}, "model.init: needs model_type"),
    ({"lora": {"r": 4}}, "model.lora: needs a Hugging Face model"),
    ({"init": LLAMA, "config": {"emb_dim": 8}}, "model.config: belongs to the GPT model"),
    ({"init": LLAMA, "lora": {"r": 0}}, "model.lora.r: must be at least 1"),
])
def test_model_settings_that_cannot_work_name_their_key(tmp_path: Path, model: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_experiment({**experiment(tmp_path, ["llama3"]), "model": model})


def test_a_base_tokenizer_beside_the_models_own_is_an_error(tmp_path: Path) -> None:
    spec = experiment(tmp_path, ["llama3"])
    spec["base"]["tokenizer"] = "gpt2-other"
    with pytest.raises(ConfigError, match=r"base\.tokenizer: the model sets the tokenizer \(model\.tokenizer\)"):
        load_experiment(spec)


def test_a_model_folder_loads_its_weights_and_its_own_tokenizer(tmp_path: Path) -> None:
    made = model_factory(ModelSpec(init=LLAMA), seed=7)(128256)
    made.model.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(LLAMA_TOKENIZER / name, tmp_path / name)
    loaded = load_experiment(experiment(tmp_path / "out", ["llama3"], model={"path": str(tmp_path)}))
    assert loaded.runs()[0].config.tokenizer.source == (None, str(tmp_path))
    again = model_factory(loaded.model, seed=0)(128256)
    assert again.config.vocab_size == 128256 and again.config.context_length == 128
    for (name, ours), (_, theirs) in zip(made.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs), name


def test_qwen2_overfits_one_batch_and_the_attention_mask_reaches_the_model() -> None:
    data, loaders = loaders_for("qwen2.5", QWEN_TOKENIZER)
    model = model_factory(ModelSpec(init=QWEN), seed=3)(data.tokenizer.vocab_size)
    assert type(model.model).__name__ == "Qwen2ForCausalLM" and model.config.vocab_size == 151665
    lengths = loaders.datasets["train"].lengths  # the shortest example beside the longest: padding
    batch = loaders.batch("train", [int(lengths.argmin()), int(lengths.argmax())])
    assert batch.attention_mask.tolist()[0] == [1] * int(lengths.min() + 1) + [0] * (47 - int(lengths.min()))
    seen: list[torch.Tensor] = []
    model.model.register_forward_pre_hook(lambda _, args, kwargs: seen.append(kwargs["attention_mask"]),
                                          with_kwargs=True)
    before = evaluate(model, [batch], ignore_index=-100).loss
    assert len(seen) == 1 and torch.equal(seen[0], batch.attention_mask)
    train(model, [batch] * 8, None, TrainConfig(max_steps=8, learning_rate=0.05, eval_every=8))
    after = evaluate(model, [batch], ignore_index=-100).loss
    assert after < before * 0.6


def script_logits(model: HFCausalLM, tokens: list[int]) -> None:
    """Make the model say ``tokens`` one by one, whatever its input (a bias far above any logit)."""
    said = iter(tokens)

    def bias(_: Any, __: Any, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        output[:, -1, next(said)] += 1e4
        return output

    model.model.lm_head.register_forward_hook(bias)


@pytest.mark.parametrize(("style", "script", "response", "stopped"), [
    ("llama3", ["Hi", " there", EOT, "junk"], "Hi there", "eos"),
    ("llama3", ["Hi", START_HEADER, "junk"], "Hi", "stop"),
    ("alpaca", ["Hi", EOT, "junk"], "Hi", "eos"),
])
def test_generation_stops_at_the_styles_end(style: str, script: list, response: str, stopped: str) -> None:
    data, _ = loaders_for(style, LLAMA_TOKENIZER)
    model = model_factory(ModelSpec(init=LLAMA), seed=0)(data.tokenizer.vocab_size)
    ids = [data.tokenizer.encode(t)[0] if isinstance(t, str) else t for t in script]
    script_logits(model, ids)
    _, (entry,) = generate_responses(model, data, 1, max_new_tokens=8)
    assert (entry["response"], entry["stopped"]) == (response, stopped)


def test_lora_trains_only_the_adapters() -> None:
    pytest.importorskip("peft", reason="LoRA needs peft (pip install 'promptstyles[train]')")
    data, loaders = loaders_for("llama3", LLAMA_TOKENIZER)
    spec = ModelSpec(init=LLAMA, lora=LoraSpec(r=2, alpha=4, target_modules=("q_proj", "v_proj")))
    model = model_factory(spec, seed=0)(data.tokenizer.vocab_size)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    fine_tune(model, loaders, TrainConfig(max_steps=2, eval_every=2, eval_batches=1))
    changed = sorted(name for name, p in model.named_parameters() if not torch.equal(before[name], p))
    trainable = sorted(name for name, p in model.named_parameters() if p.requires_grad)
    assert trainable == [f"model.base_model.model.model.layers.0.self_attn.{m}_proj.lora_{ab}.default.weight"
                         for m in ("q", "v") for ab in ("A", "B")]
    assert changed == trainable


def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)
    spec = ModelSpec(init=LLAMA, lora=LoraSpec())
    with pytest.raises(ModelError, match=r"needs the 'peft' package .*pip install 'promptstyles\[train\]'"):
        model_factory(spec, seed=0)(1000)


def test_bf16_autocast_runs_on_cpu_only_when_asked_and_fp16_needs_a_gpu() -> None:
    data, loaders = loaders_for("llama3", LLAMA_TOKENIZER)
    make = model_factory(ModelSpec(init=LLAMA), seed=0)
    batch = next(iter(loaders.train))

    def loss(precision: str) -> float:
        model = make(data.tokenizer.vocab_size)
        train(model, [batch], None, TrainConfig(max_steps=1, precision=precision))  # type: ignore[arg-type]
        return evaluate(model, [batch], precision=precision).loss  # type: ignore[arg-type]

    fp32, bf16 = loss("fp32"), loss("bf16")
    assert fp32 == loss("fp32")
    assert bf16 != fp32 and abs(bf16 - fp32) < 0.05
    with pytest.raises(ConfigError, match="training.precision: fp16 needs a GPU"):
        loss("fp16")


def test_a_configured_dtype_holds_the_weights_and_the_model_still_trains() -> None:
    data, loaders = loaders_for("llama3", LLAMA_TOKENIZER)
    model = model_factory(ModelSpec(init=LLAMA, dtype="bfloat16"), seed=0)(data.tokenizer.vocab_size)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    batch = next(iter(loaders.train))
    before = evaluate(model, [batch]).loss
    train(model, [batch] * 3, None, TrainConfig(max_steps=3, learning_rate=0.05, eval_every=3))
    assert evaluate(model, [batch]).loss < before


def test_compile_trains_and_evaluates_through_the_compiled_module(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[torch.nn.Module] = []

    def record(model: torch.nn.Module) -> torch.nn.Module:  # torch.compile itself needs a C compiler here
        compiled.append(model)
        return model

    monkeypatch.setattr(torch, "compile", record)
    data, loaders = loaders_for("llama3", LLAMA_TOKENIZER)
    model = model_factory(ModelSpec(init=LLAMA), seed=0)(data.tokenizer.vocab_size)
    batch = next(iter(loaders.train))
    train(model, [batch], None, TrainConfig(max_steps=1, compile=True))
    assert compiled == [model]
    train(model, [batch], None, TrainConfig(max_steps=1))
    assert compiled == [model]
