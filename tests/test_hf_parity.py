"""Ids equal the model's own template: each shared model's tokenizer with its matching style against
``apply_chat_template`` (transformers, the reference renderer), on the shared dataset and a battery.

The engine stores each example without a closing EOS of the style's own and the collator appends the
model's EOS, so what a model trains on is the stored ids plus that EOS: the template's ids, plus the EOS
where the template does not end with it (Qwen2.5's ``<|im_end|>\n``)."""

from __future__ import annotations

import pytest
from engine_styles import MODEL_STYLES, MODELS

from promptstyles import PartKind, get_style, to_record
from promptstyles.data.build.encoding import encode_generation_prompt
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

BATTERY = {
    "single": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    "system": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."},
               {"role": "assistant", "content": "Red."}],
    "multi-turn": [{"role": "user", "content": "Translate 'chat'."}, {"role": "assistant", "content": "Gespräch."},
                   {"role": "user", "content": "  leading\n\nspaces "},
                   {"role": "assistant", "content": " 日本語 ✓ 🙂\t"}],
    "system multi-turn": [{"role": "system", "content": "S"}, {"role": "user", "content": "a"},
                          {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
                          {"role": "assistant", "content": "d"}],
    "empty user": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}],
    "digits": [{"role": "user", "content": "12345+678"}, {"role": "assistant", "content": " = 13023"}],
    "unicode": [{"role": "user", "content": "Cafe\u0301 vs café, 👩\u200d💻\r\n\ttab  "},
                {"role": "assistant", "content": "Ça va: ½ ≠ ², 日本語\u00a0ok"}],
}


@pytest.fixture(scope="module", params=list(MODEL_STYLES))
def pair(request):
    folder = MODELS / request.param
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")
    reference = transformers.PreTrainedTokenizerFast.from_pretrained(str(folder))
    return request.param, HFTokenizer(folder), reference, get_style(MODEL_STYLES[request.param])


def template_ids(reference, conversations, **options) -> list[list[int]]:
    """``apply_chat_template(..., tokenize=True)`` as lists of ids, whatever transformers returns."""
    out = reference.apply_chat_template(conversations, tokenize=True, **options)
    out = out["input_ids"] if not isinstance(out, list) else out
    return [list(ids) for ids in out]


def as_chat(record: dict) -> list[dict]:
    user = record["instruction"] + ("\n" + record["input"] if record.get("input") else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]


def trained(dataset, eos: int) -> list[list[int]]:
    """What the model trains on: each stored example and the EOS the collator appends."""
    return [[*dataset[index].tolist(), eos] for index in range(len(dataset))]


def with_eos(expected: list[list[int]], eos: int) -> list[list[int]]:
    return [ids if ids[-1] == eos else [*ids, eos] for ids in expected]


def test_every_dataset_example_equals_the_template(pair, raw_records):
    _name, tokenizer, reference, style = pair
    conversations = [as_chat(record) for record in raw_records]
    dataset = tokenize_records([to_record({"messages": c}) for c in conversations], style, tokenizer)
    ours, expected = trained(dataset, tokenizer.eos_id), with_eos(template_ids(reference, conversations),
                                                                  tokenizer.eos_id)
    assert len(ours) == 1100
    assert [index for index, (a, b) in enumerate(zip(ours, expected, strict=True)) if a != b] == []


def mistral_common(conversation: list[dict]) -> list[dict]:
    """Mistral v0.3 as mistral-common renders it: the system prompt opens the last user message."""
    system, *rest = conversation
    last_user = max(index for index, message in enumerate(rest) if message["role"] == "user")
    rest[last_user] = {"role": "user", "content": system["content"] + "\n\n" + rest[last_user]["content"]}
    return rest


@pytest.mark.parametrize("case", list(BATTERY))
def test_battery_and_generation_prompts_equal_the_template(pair, case):
    name, tokenizer, reference, style = pair
    conversation = BATTERY[case]
    record = to_record({"messages": conversation})
    expected_conversation = conversation
    if name.startswith("mistral") and conversation[0]["role"] == "system":
        # The documented deviation: the official template drops this system prompt, mistral-common keeps it.
        assert template_ids(reference, [conversation]) != template_ids(reference, [mistral_common(conversation)])
        expected_conversation = mistral_common(conversation)
    dataset = tokenize_records([record], style, tokenizer)
    eos = tokenizer.eos_id
    assert trained(dataset, eos) == with_eos(template_ids(reference, [expected_conversation]), eos)
    prompt = encode_generation_prompt(style, record, tokenizer)
    assert prompt == template_ids(reference, [conversation[:-1]], add_generation_prompt=True)[0]
    assert dataset[0].tolist()[: len(prompt)] == prompt


END_IDS = {
    "llama-3-8b-instruct": [128009],
    "qwen2.5-7b-instruct": [151645, 198],
    "mistral-7b-instruct-v0.3": [2],
    "phi-3.5-mini-instruct": [32007, 32000],
}


def test_response_and_end_marker_sit_in_their_parts(pair):
    """The tokens of the final response part decode to the answer; the end part holds the model's end ids."""
    name, tokenizer, _reference, style = pair
    parts = style.parts(to_record({"messages": BATTERY["single"]}))
    encoded = tokenizer.encode_rendered(parts)
    starts = [0, *encoded.part_ends[:-1]]
    runs = {kind: [i for part, s, e in zip(parts, starts, encoded.part_ends, strict=True) if part.kind is kind
                   for i in encoded.ids[s:e]] for kind in PartKind}
    assert tokenizer.decode(runs[PartKind.RESPONSE]).strip() == "Hello!"
    assert runs[PartKind.END] == END_IDS[name]
