"""The model's own tokenizer: special ids from its config, ids equal to transformers', record text never special."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from engine_styles import MODELS

from promptstyles import Conversation, Message, PartKind, TokenizerError, get_style
from promptstyles.data.tokenizers.hf.encoding import utf8_starts
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer, is_hub_id, load_hf_tokenizer
from promptstyles.styles._base import Part

pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

LLAMA3, QWEN, MISTRAL, PHI = (
    "llama-3-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3", "phi-3.5-mini-instruct"
)
FOLDERS = (LLAMA3, QWEN, MISTRAL, PHI)
STYLES = {LLAMA3: "llama3", QWEN: "qwen2.5", MISTRAL: "mistral-v0.3", PHI: "phi3"}
INJECTIONS = ("<|eot_id|>", "<|im_end|>", "[INST]", "<|end|>", "<s>", "</s>", "<|endoftext|>", "<tool_call>",
              "<|begin_of_text|>", "<|user|>", "[/INST]", "<|im_start|>")

NON_SPECIAL = {(QWEN, "<tool_call>"), (PHI, "</s>")}
M = PartKind.PROMPT


def markup(text: str) -> Part:
    return Part(text, M, True)


def record(text: str) -> Part:
    return Part(text, M, False)


@pytest.fixture(scope="module")
def hf():
    loaded: dict[str, HFTokenizer] = {}

    def get(folder: str) -> HFTokenizer:
        if not (MODELS / folder).is_dir():
            pytest.skip(f"tokenizer folder {MODELS / folder} not found")
        if folder not in loaded:
            loaded[folder] = HFTokenizer(MODELS / folder)
        return loaded[folder]

    return get


@pytest.fixture(scope="module")
def reference():
    """transformers' fast tokenizer for a folder (the file as it is; see the models README on Phi-3.5)."""
    loaded: dict[tuple[str, bool], object] = {}

    def get(folder: str, split_special_tokens: bool = False):
        key = (folder, split_special_tokens)
        if key not in loaded:
            loaded[key] = transformers.PreTrainedTokenizerFast.from_pretrained(
                str(MODELS / folder), split_special_tokens=split_special_tokens
            )
        return loaded[key]

    return get


def ref_ids(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(
    ("folder", "vocab_size", "bos", "eos", "pad"),
    [
        (LLAMA3, 128256, ("<|begin_of_text|>", 128000), ("<|eot_id|>", 128009), (None, None)),
        (QWEN, 151665, (None, None), ("<|im_end|>", 151645), ("<|endoftext|>", 151643)),
        (MISTRAL, 32768, ("<s>", 1), ("</s>", 2), (None, None)),
        (PHI, 32011, ("<s>", 1), ("<|endoftext|>", 32000), ("<|endoftext|>", 32000)),
    ],
)
def test_special_tokens_resolve_as_transformers_does(hf, reference, folder, vocab_size, bos, eos, pad):
    tokenizer, ref = hf(folder), reference(folder)
    assert tokenizer.vocab_size == vocab_size == len(ref)
    assert (tokenizer.bos_token, tokenizer.bos_id) == bos == (ref.bos_token, ref.bos_token_id)
    assert (tokenizer.eos_token, tokenizer.eos_id) == eos == (ref.eos_token, ref.eos_token_id)
    assert (tokenizer.pad_token, tokenizer.pad_id) == pad == (ref.pad_token, ref.pad_token_id)
    assert tokenizer.name == folder
    assert tokenizer.chat_template == json.loads((MODELS / folder / "tokenizer_config.json").read_text())[
        "chat_template"]


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        (LLAMA3, {"<|start_header_id|>": 128006, "<|eot_id|>": 128009, "<|im_start|>": None, "<s>": None}),
        (QWEN, {"<|im_start|>": 151644, "<|im_end|>": 151645, "<tool_call>": 151657, "<|eot_id|>": None}),
        (MISTRAL, {"[INST]": 3, "[/INST]": 4, "<s>": 1, "</s>": 2, "<|im_end|>": None, "INST": None}),
        (PHI, {"<|assistant|>": 32001, "<|end|>": 32007, "<|user|>": 32010, "<|im_start|>": None, "user": None}),
    ],
)
def test_special_id_only_for_added_tokens(hf, folder, expected):
    tokenizer = hf(folder)
    assert {token: tokenizer.special_id(token) for token in expected} == expected


BATTERY = [
    Conversation((Message("user", "Hi"), Message("assistant", "Hello!"))),
    Conversation((Message("system", "Be brief."), Message("user", "Name a colour."), Message("assistant", "Red."))),
    Conversation((
        Message("user", "Translate 'chat' to German."), Message("assistant", "Katze? No: 'Gespräch'."),
        Message("user", "  leading spaces\nand\n\nnewlines "), Message("assistant", " 日本語 ✓ émoji 🙂\t"),
    )),
    Conversation((Message("user", "x"), Message("assistant", "1234567 + 89 = ?"))),
]


@pytest.mark.parametrize("folder", FOLDERS)
def test_rendered_ids_equal_transformers_whole_text_encoding(hf, reference, folder):
    """The whole text at once: seams and SentencePiece's prefix space come out as the model sees them."""
    style, tokenizer, ref = get_style(STYLES[folder]), hf(folder), reference(folder)
    examples = [style.parts(conversation) for conversation in BATTERY if STYLES[folder] != "mistral-v0.3"
                or conversation.messages[0].role != "system"]
    encoded = tokenizer.encode_rendered_batch(examples)
    assert [e.ids for e in encoded] == [ref_ids(ref, "".join(p.text for p in parts)) for parts in examples]
    assert [tokenizer.encode_rendered(parts) for parts in examples] == encoded


@pytest.mark.parametrize("folder", FOLDERS)
@pytest.mark.parametrize("injected", INJECTIONS)
def test_record_text_never_becomes_an_added_token(hf, reference, folder, injected):
    """Record text between markup tokens is what transformers gives with special tokens split, and never
    an added id even for added tokens that are not special (Qwen's ``<tool_call>``, Phi's ``</s>``)."""
    tokenizer = hf(folder)
    first, last = {LLAMA3: ("<|start_header_id|>", "<|eot_id|>"), QWEN: ("<|im_start|>", "<|im_end|>"),
                   MISTRAL: ("[INST]", "[/INST]"), PHI: ("<|user|>", "<|end|>")}[folder]
    text = ("" if folder == PHI else " ") + f"a {injected}{injected} b{injected}\n"  # Phi's <|user|> eats spaces
    encoded = tokenizer.encode_rendered([markup(first), record(text), markup(last)])
    inner = encoded.ids[1:-1]
    assert encoded.ids[0] == tokenizer.special_id(first) and encoded.ids[-1] == tokenizer.special_id(last)
    assert not set(inner) & set(tokenizer.added_tokens.values())
    assert encoded.part_ends == [1, len(encoded.ids) - 1, len(encoded.ids)]
    assert inner == tokenizer.encode(text)
    if (folder, injected) not in NON_SPECIAL:  # transformers splits only special tokens
        assert inner == ref_ids(reference(folder, True), text)


def test_injection_keeps_the_markup_seams(hf, reference):
    """Text after a markup token gets no SentencePiece prefix space there, injected token or not
    (``hi`` 6133 after ``[INST]``, ``▁hi`` 12782 at the start; ``</s>`` in text is ``</``, ``s``, ``>``)."""
    tokenizer = hf(MISTRAL)
    clean = tokenizer.encode_rendered([markup("<s>[INST]"), record("hi there"), markup("[/INST]")])
    dirty = tokenizer.encode_rendered([markup("<s>[INST]"), record("hi</s>there"), markup("[/INST]")])
    assert clean.ids == ref_ids(reference(MISTRAL), "<s>[INST]hi there[/INST]") == [1, 3, 6133, 1504, 4]
    assert dirty.ids == [1, 3, 6133, 1468, 29481, 29535, 16093, 4]
    assert (clean.part_ends, dirty.part_ends) == ([2, 4, 5], [2, 7, 8])
    at_start = tokenizer.encode_rendered([record("hi</s>"), markup("</s>")])
    assert at_start.ids == [12782, 1468, 29481, 29535, 2]


@pytest.mark.parametrize(
    ("folder", "parts", "ids", "part_ends"),
    [
        # " yes" starts in the markup's trailing space: it belongs to the markup part.
        (LLAMA3, [markup("Answer: "), record("yes"), markup("<|eot_id|>")], [16533, 25, 10035, 128009], [3, 3, 4]),
        (LLAMA3, [markup("<|start_header_id|>user<|end_header_id|>\n\n"), record("Hi"), markup("<|eot_id|>")],
         [128006, 882, 128007, 271, 13347, 128009], [4, 5, 6]),
        # SentencePiece: the space opening the answer is the answer's first token.
        (MISTRAL, [markup("[INST]"), record(" Hi"), markup("[/INST]"), record(" Sure"), markup("</s>")],
         [3, 16127, 4, 13643, 2], [1, 2, 3, 4, 5]),
        # Phi-3's <|assistant|> swallows the newline and spaces after it (rstrip): the text starts a new piece.
        (PHI, [markup("<|user|>\n"), record("Hi"), markup("<|end|>\n<|assistant|>\n"), record("  Yes"),
               markup("<|end|>")], [32010, 6324, 32007, 32001, 3869, 32007], [1, 2, 4, 5, 6]),
        (QWEN, [markup("<|im_start|>user\n"), record(""), markup("<|im_end|>")], [151644, 872, 198, 151645],
         [3, 3, 4]),
    ],
)
def test_part_boundaries_follow_the_first_character_of_each_token(hf, reference, folder, parts, ids, part_ends):
    encoded = hf(folder).encode_rendered(parts)
    assert (encoded.ids, encoded.part_ends) == (ids, part_ends)
    assert ids == ref_ids(reference(folder), "".join(part.text for part in parts))


def test_encode_batch_and_decode(hf):
    tokenizer = hf(QWEN)
    ids = tokenizer.encode_batch(["<|im_end|>", "Hello world"])
    assert ids == [[27, 91, 318, 6213, 91, 29], [9707, 1879]]
    assert tokenizer.decode([151644, 872, 198, *ids[1]]) == "<|im_start|>user\nHello world"
    assert tokenizer.decode_tokens([151644, *ids[1]]) == ["<|im_start|>", "Hello", " world"]


def test_pickles_by_path(hf):
    tokenizer = pickle.loads(pickle.dumps(hf(PHI)))
    assert (tokenizer.name, tokenizer.eos_id) == (PHI, 32000)
    assert tokenizer.encode_rendered([markup("<|user|>\n"), record("Hi")]).ids == [32010, 6324]


def tiny_tokenizer(folder: Path) -> Path:
    """A word-level tokenizer.json with two added tokens, saved with truncation on (which loading turns off)."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"<unk>": 0, "a": 1, "b": 2}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens([AddedToken("<bos>", special=True), AddedToken("<eos>", special=True)])
    tokenizer.enable_truncation(2)
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<eos>"}))
    return folder


def test_config_fallback_and_errors(tmp_path: Path):
    folder = tiny_tokenizer(tmp_path / "model")
    (folder / "special_tokens_map.json").write_text(json.dumps({"eos_token": {"content": "<eos>"}, "bos_token": "a"}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<bos>", "pad_token": None}))
    tokenizer = HFTokenizer(folder / "tokenizer.json")
    assert (tokenizer.eos_id, tokenizer.bos_id, tokenizer.pad_id, tokenizer.name) == (4, 3, None, "model")
    assert (tokenizer.vocab_size, tokenizer.added_tokens) == (5, {"<bos>": 3, "<eos>": 4})
    assert tokenizer.encode_rendered([markup("<bos>"), record("a b a <eos>")]).ids == [3, 1, 2, 1, 0, 0, 0]
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<bos>", "model_max_length": 8}))
    assert HFTokenizer(folder).fingerprint != tokenizer.fingerprint  # a cached dataset's key changes with it
    assert f"fingerprint={tokenizer.fingerprint[:12]})" in repr(tokenizer)
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|nope|>"}))
    with pytest.raises(TokenizerError, match=r"tokenizer_config\.json: eos_token '<\|nope\|>' is not in"):
        HFTokenizer(folder)
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": None}))
    with pytest.raises(TokenizerError, match="names no EOS token; set 'eos_token'"):
        HFTokenizer(folder)
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": ["<eos>"]}))
    with pytest.raises(TokenizerError, match=r"tokenizer_config\.json: eos_token: a special token should be"):
        HFTokenizer(folder)
    (folder / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(TokenizerError, match=r"tokenizer_config\.json: cannot read it as JSON"):
        HFTokenizer(folder)
    (folder / "tokenizer.json").write_text("{}")
    with pytest.raises(TokenizerError, match=r"tokenizer\.json: not a tokenizer\.json the tokenizers library"):
        HFTokenizer(folder)
    with pytest.raises(TokenizerError, match=r"missing: no such folder or file \(nothing at "):
        HFTokenizer(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenizerError, match=r"empty: no tokenizer\.json there; download"):
        HFTokenizer(tmp_path / "empty")


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(TokenizerError, match=r"pip install 'promptstyles\[hf\]'"):
        HFTokenizer(MODELS / QWEN)


def test_hub_ids_fetch_only_tokenizer_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    calls = []

    def fetched(repo_id: str, allow_patterns: list[str]) -> str:
        calls.append((repo_id, allow_patterns))
        return str(tiny_tokenizer(tmp_path / "snapshot"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fetched)
    (tmp_path / "local").mkdir()
    monkeypatch.chdir(tmp_path)
    assert [is_hub_id(spec) for spec in ("Qwen/Qwen2.5-7B-Instruct", "local", "./x/y", "/abs/dir", "gpt2")] == [
        True, False, False, False, False]
    (tmp_path / "Qwen" / "Qwen2.5-7B-Instruct").mkdir(parents=True)
    assert not is_hub_id("Qwen/Qwen2.5-7B-Instruct")  # an existing folder wins
    tokenizer = load_hf_tokenizer("owner/tiny-model")
    assert (tokenizer.name, tokenizer.vocab_size) == ("snapshot", 5)
    assert calls == [("owner/tiny-model", ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                           "chat_template.jinja"])]


def test_hub_ids_offline_or_without_huggingface_hub_say_to_download(monkeypatch: pytest.MonkeyPatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")

    def offline(repo_id: str, allow_patterns: list[str]) -> str:
        raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(TokenizerError, match=r"^Qwen/Qwen2.5-7B-Instruct: no such folder or file \(nothing at .*\), so "
                       r"it was read as a Hugging Face Hub id, and fetching it failed \(ConnectionError: no network\); "
                       r"download the model's tokenizer files into a folder and "
                       r"pass its path, e.g. `hf download Qwen/Qwen2.5-7B-Instruct tokenizer.json"):
        load_hf_tokenizer("Qwen/Qwen2.5-7B-Instruct")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(TokenizerError, match=r"^Qwen/Qwen2.5-7B-Instruct: no such folder or file .*, and "
                       r"huggingface_hub is not installed .*: download the model's tokenizer files"):
        load_hf_tokenizer("Qwen/Qwen2.5-7B-Instruct")


def test_utf8_starts():
    assert utf8_starts("aé😀b€", np.array([0, 1, 2, 3, 4, 5])).tolist() == [0, 1, 3, 7, 8, 11]
    ascii_starts = np.array([0, 2])
    assert utf8_starts("abc", ascii_starts) is ascii_starts
