"""LoRA with an optional package peft refuses (an old torchao): an error naming the package and the command."""

from __future__ import annotations

import sys

import pytest

from promptstyles.errors import ModelError
from promptstyles.experiments.hf_model import hf_model_factory
from promptstyles.experiments.model_spec import LoraSpec, ModelSpec

pytest.importorskip("transformers", reason="LoRA needs transformers (the train extra)")
import_utils = pytest.importorskip("peft.import_utils", reason="LoRA needs peft (the train extra)")

TINY_LLAMA = {"model_type": "llama", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
              "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 32}


@pytest.fixture
def old_torchao(plugin_site, monkeypatch):
    """torchao 0.1.0 installed (a stand-in distribution), as peft finds it."""
    monkeypatch.delitem(sys.modules, "torchao", raising=False)
    import_utils.is_torchao_available.cache_clear()
    plugin_site("old-torchao")
    yield
    import_utils.is_torchao_available.cache_clear()


def test_an_old_torchao_is_named_with_the_command_that_upgrades_it(old_torchao):
    spec = ModelSpec(init=TINY_LLAMA, lora=LoraSpec(r=2, target_modules=("q_proj",)))
    with pytest.raises(ModelError) as error:
        hf_model_factory(spec, seed=0)(32)
    assert str(error.value) == (
        "LoRA adapters (peft) cannot load with the installed 'torchao': Found an incompatible version of torchao. "
        "Found version 0.1.0, but only versions above 0.16.0 are supported. Upgrade it: pip install -U torchao, or "
        "install the versions the train extra declares: pip install 'promptstyles[train]'")


def test_without_the_old_torchao_the_adapters_are_added():
    spec = ModelSpec(init=TINY_LLAMA, lora=LoraSpec(r=2, target_modules=("q_proj",)))
    model = hf_model_factory(spec, seed=0)(32)
    trained = sorted(name for name, p in model.named_parameters() if p.requires_grad)
    assert trained == ["model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
                       "model.base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight"]
