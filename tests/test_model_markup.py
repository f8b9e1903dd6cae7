"""A style's markup must be special in the model's tokenizer; otherwise an error suggests the style that fits."""

from __future__ import annotations

import pytest
from engine_styles import MODELS

from promptstyles import TokenizerError
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer
from promptstyles.data.tokenizers.model_markup import markup_ids, matching_styles
from promptstyles.styles.registry import default_registry

pytest.importorskip("tokenizers")



@pytest.fixture(scope="module")
def candidates() -> dict[str, tuple[str, ...]]:
    return {info.name: info.style.special_tokens for info in default_registry().infos()}


def model(folder: str) -> HFTokenizer:
    if not (MODELS / folder).is_dir():
        pytest.skip(f"tokenizer folder {MODELS / folder} not found")
    return HFTokenizer(MODELS / folder)


@pytest.mark.parametrize(
    ("folder", "best"),
    [("llama-3-8b-instruct", "llama3"), ("qwen2.5-7b-instruct", "qwen2.5"),
     ("mistral-7b-instruct-v0.3", "mistral-v0.3"), ("phi-3.5-mini-instruct", "phi3")],
)
def test_the_matching_style_comes_first(candidates, folder, best):
    assert matching_styles(model(folder), candidates)[0] == best


def test_markup_maps_to_the_models_ids(candidates):
    tokenizer = model("llama-3-8b-instruct")
    assert markup_ids("llama3", candidates["llama3"], tokenizer, candidates) == {
        "<|begin_of_text|>": 128000, "<|start_header_id|>": 128006, "<|end_header_id|>": 128007, "<|eot_id|>": 128009}


def test_markup_the_model_lacks_names_token_style_tokenizer_and_the_fitting_style(candidates):
    with pytest.raises(TokenizerError, match=(
        r"^style 'chatml' writes '<\|im_start\|>' as markup, but it is not a special token of tokenizer "
        r"'llama-3-8b-instruct', so the model would read it as plain text: use a style whose markup it has: "
        r"llama3(, |$)"
    )):
        markup_ids("chatml", candidates["chatml"], model("llama-3-8b-instruct"), candidates)
    with pytest.raises(TokenizerError, match=r"'<\|start_header_id\|>'.*'qwen2.5-7b-instruct'.*: qwen2.5(, |$)"):
        markup_ids("llama3", candidates["llama3"][1:], model("qwen2.5-7b-instruct"), candidates)
    with pytest.raises(TokenizerError, match=r"no registered style's markup is special in it; derive one"):
        markup_ids("custom", ["<|nope|>"], model("qwen2.5-7b-instruct"), {"custom": ["<|nope|>"]})


def test_tokens_the_chat_template_writes_rank_before_more_tokens():
    candidates = {
        "unused": ("<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>"),
        "templated": ("<|im_start|>", "<|im_end|>", "<tool_call>"),
        "not-special": ("<|im_start|>", "<|eot_id|>"),
    }
    assert matching_styles(model("qwen2.5-7b-instruct"), candidates) == ["templated", "unused"]
