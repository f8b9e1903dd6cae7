"""GPT-2's packaged BPE files: the same encoding as tiktoken's, loaded with no network; tiktoken's cache wins."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import pytest
import tiktoken.load
import tiktoken.registry
from shared_paths import TIKTOKEN, require

from promptstyles.data.tokenizers import get_tokenizer, gpt2_files
from promptstyles.experiments import sample_data_path

_LOGGER = "promptstyles.data.tokenizers.gpt2_files"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch):
    """tiktoken can neither download nor reuse an encoding it built before."""

    def no_network(path: str) -> bytes:
        raise ConnectionError(f"no network: {path}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    gpt2_files._packaged_gpt2.cache_clear()
    yield
    gpt2_files._packaged_gpt2.cache_clear()


def test_the_packaged_encoding_equals_tiktokens_own_token_for_token(monkeypatch, raw_records):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(require(TIKTOKEN)))
    theirs = tiktoken.get_encoding("gpt2")
    ours = gpt2_files._packaged_gpt2()
    assert ours._mergeable_ranks == theirs._mergeable_ranks
    assert (ours.n_vocab, ours.eot_token, ours._special_tokens, ours._pat_str) == (
        theirs.n_vocab, theirs.eot_token, theirs._special_tokens, theirs._pat_str)
    texts = [value for record in raw_records for value in record.values()]
    assert ours.encode_ordinary_batch(texts) == theirs.encode_ordinary_batch(texts)
    assert ours.encode("Red.<|endoftext|>", allowed_special="all") == [7738, 13, 50256]


def test_gpt2_loads_offline_from_the_package_when_tiktokens_cache_lacks_it(monkeypatch, tmp_path, offline, caplog):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger=_LOGGER):
        tokenizer = get_tokenizer("gpt2")
    assert tokenizer.encode("Hello world") == [15496, 995]
    assert (tokenizer.vocab_size, tokenizer.eos_id) == (50257, 50256)
    assert caplog.messages == [f"gpt2 BPE files from the package, {gpt2_files.PACKAGED}"]
    assert list(tmp_path.iterdir()) == []  # nothing written into the cache


def test_tiktokens_cache_wins_when_it_holds_the_files(monkeypatch, tmp_path, offline, caplog):
    for cached in require(TIKTOKEN).iterdir():
        shutil.copy(cached, tmp_path / cached.name)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger=_LOGGER):
        assert get_tokenizer("gpt2").encode("Hello world") == [15496, 995]
    assert caplog.messages == [f"gpt2 BPE files from the tiktoken cache {tmp_path}"]
    # a damaged copy is not used (tiktoken would download it again): the packaged files are
    (tmp_path / "6d1cbeee0f20b3d9449abfede4726ed8212e3aee").write_bytes(b"#version: 0.2\n")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=_LOGGER):
        assert get_tokenizer("gpt2").encode("Hello world") == [15496, 995]
    assert caplog.messages == [f"gpt2 BPE files from the package, {gpt2_files.PACKAGED}"]


def test_a_damaged_packaged_file_is_an_error_that_says_to_reinstall(monkeypatch, tmp_path, offline):
    for name in ("vocab.bpe", "encoder.json"):
        shutil.copy(gpt2_files.PACKAGED / name, tmp_path / name)
    (tmp_path / "encoder.json").write_bytes(b"{}")
    monkeypatch.setattr(gpt2_files, "PACKAGED", tmp_path)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    with pytest.raises(gpt2_files.TokenizerError, match=f"the packaged GPT-2 file {tmp_path / 'encoder.json'} is "
                                                        r"damaged \(its sha256 differs\); reinstall promptstyles"):
        get_tokenizer("gpt2")


def test_the_command_line_tokenizes_offline_in_an_empty_folder(tmp_path):
    """A new user's shell: no tiktoken cache anywhere, every download refused by a dead proxy."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    (tmp_path / "config.yaml").write_text(f"style: alpaca\ndata: {{path: {sample_data_path()}}}\n"
                                          "loader: {batch_size: 1, shuffle: false}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "promptstyles", "batch", "config.yaml", "--color", "never"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:4] == [
        "train batch 0: inputs (1, 50), style 'alpaca', mask 'none'", "legend: [[masked]] trained", "",
        "--- row 0 (record 0): 50 tokens, 50 trained targets, 0 padding"]
    assert not (tmp_path / "data-gym-cache").exists()
