"""Errors name the real cause: a mistyped local tokenizer folder is a missing folder (not a failed Hub download),
a cache folder that does not exist is said to be missing, and a loader without batches says which split, how
many records and which setting."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from engine_styles import MODELS

from promptstyles import TokenizerError
from promptstyles.cli import main
from promptstyles.data.tokenizers.registry import load_tokenizer
from promptstyles.pipeline import build_dataloaders

QWEN = MODELS / "qwen2.5-7b-instruct"
RECORDS = [{"instruction": f"Say {n}.", "input": "", "output": f"{n}"} for n in range(10)]


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hub must not be asked: a call fails the test with a message no error of ours contains."""
    huggingface_hub = pytest.importorskip("huggingface_hub")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("asked the Hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", forbidden)


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("tokenizers")
    if not QWEN.is_dir():
        pytest.skip(f"tokenizer folder {QWEN} not found")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "qwen2.5-7b-instruct").symlink_to(QWEN, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "models"


@pytest.mark.parametrize(("spec", "near"), [
    ("models/qwen2.5-7b-instrcut", "; did you mean models/qwen2.5-7b-instruct?"),
    ("models/qwen2.5-7b", "; did you mean models/qwen2.5-7b-instruct?"),
    ("models/llama", ""),
])
def test_a_typo_in_a_local_folder_is_a_missing_folder(spec: str, near: str, models: Path, no_hub: None) -> None:
    with pytest.raises(TokenizerError) as caught:
        load_tokenizer(spec)
    assert str(caught.value) == (f"{spec}: no such folder or file (nothing at {models.parent / spec}, whose nearest "
                                 f"existing folder is {models}){near}")


def test_check_names_the_missing_folder(models: Path, no_hub: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "qwen2.5", "--tokenizer", "models/qwen2.5-7b-instrcut"]) == 1
    assert capsys.readouterr().err == (
        f"promptstyles: error: models/qwen2.5-7b-instrcut: no such folder or file (nothing at {models}/qwen2.5-7b-"
        f"instrcut, whose nearest existing folder is {models}); did you mean models/qwen2.5-7b-instruct?\n")


def test_a_config_reads_the_folder_beside_itself(models: Path, no_hub: None, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.yaml").write_text("style: qwen2.5\ntokenizer: models/qwen2.5-7b-instrcut\n", encoding="utf-8")
    monkeypatch.chdir(models)  # elsewhere: the path is read from the config's folder
    assert main(["stats", str(tmp_path / "config.yaml")]) == 1
    assert capsys.readouterr().err == (
        f"promptstyles: error: tokenizer.name: {models}/qwen2.5-7b-instrcut: no such folder or file (nothing at "
        f"{models}/qwen2.5-7b-instrcut, whose nearest existing folder is {models}); did you mean "
        f"{models}/qwen2.5-7b-instruct?\n")


def test_a_hub_id_says_first_that_no_folder_has_that_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huggingface_hub = pytest.importorskip("huggingface_hub")
    pytest.importorskip("tokenizers")

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TokenizerError) as caught:
        load_tokenizer("Qwen/Qwen2.5-7B-Instrcut")
    assert str(caught.value).startswith(
        f"Qwen/Qwen2.5-7B-Instrcut: no such folder or file (nothing at {tmp_path}/Qwen/Qwen2.5-7B-Instrcut, whose "
        f"nearest existing folder is {tmp_path}), so it was read as a Hugging Face Hub id, and fetching it failed "
        "(ConnectionError: no network); download")


def test_cache_commands_on_a_folder_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    message = (f"{missing} (--cache-dir) does not exist, so it holds no cached datasets; give --cache-dir the "
               "data.cache_dir of your config, or set $PROMPTSTYLES_CACHE_DIR")
    assert main(["cache", "verify", "--cache-dir", str(missing)]) == 1
    assert capsys.readouterr() == ("", f"promptstyles: error: {message}\n")
    assert main(["cache", "clear", "--cache-dir", str(missing)]) == 1
    assert capsys.readouterr() == ("", f"promptstyles: error: {message}\n")
    assert main(["cache", "list", "--cache-dir", str(missing)]) == 0
    assert capsys.readouterr() == (f"{message}\n", "")
    missing.mkdir()
    assert main(["cache", "verify", "--cache-dir", str(missing)]) == 0
    assert capsys.readouterr() == (f"no cached datasets in {missing / 'datasets'}: nothing to verify\n", "")


def _config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data.json").write_text(json.dumps(RECORDS), encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text("data: {path: data.json, cache: false}\n" + text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "reason"), [
    ("loader: {batch_size: 9}\n", "its 8 examples make fewer than loader.batch_size=9 examples"),
    ("loader: {batch_size: 3, world_size: 3, rank: 1}\n", "its 8 examples make fewer than loader.batch_size=3 "
                                                          "examples for each of loader.world_size=3 ranks"),
    ("loader: {batch_size: 3}\ncollate: {packing: true, allowed_max_length: 1024}\n",
     "its 8 examples make fewer than loader.batch_size=3 rows of collate.allowed_max_length=1024 tokens"),
])
def test_a_training_loader_without_batches_says_why(text: str, reason: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    message = (f"the train loader has no batches: {reason}, and loader.drop_last is true; lower loader.batch_size or "
               "set loader.drop_last: false")
    config = _config(tmp_path, text)
    with caplog.at_level(logging.WARNING, logger="promptstyles.pipeline"):
        assert len(build_dataloaders(config).train) == 0
    assert [record.getMessage() for record in caplog.records] == [message]
    assert main(["batch", str(config)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"promptstyles: error: {message}"
    assert main(["stats", str(config)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"note: {message}"


def test_an_empty_split_says_how_the_records_were_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "loader: {batch_size: 2}\n")
    config.write_text("data: {path: data.json, cache: false, split: {train: 0.8, test: 0.2}}\n", encoding="utf-8")
    assert main(["batch", str(config), "--split", "val"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "promptstyles: error: the val loader has no batches: the val split holds none of the 10 records (data.split: "
        "train 0.8, test 0.2, validation the rest)")
