"""``promptstyles cache list|verify|clear``: the cached datasets, shown, checked and removed."""

from __future__ import annotations

import calendar
import os

import pytest

from promptstyles import InstructionRecord, get_style
from promptstyles.cli import main
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.store.entries import save_dataset
from promptstyles.data.tokenizers import get_tokenizer

RECORDS = [InstructionRecord("Add.", "1 2", "3"), InstructionRecord("Hi?", "", "Hello.")]
A, B = "a" * 40, "b" * 40
WHEN = calendar.timegm((2026, 11, 30, 9, 15, 0))


@pytest.fixture
def cache(tmp_path):
    dataset = tokenize_records(RECORDS, get_style("alpaca"), get_tokenizer("gpt2"))
    for key, when, info in ((A, WHEN, {"style": "alpaca", "tokenizer": "gpt2"}), (B, WHEN + 3600, {})):
        path = save_dataset(dataset, key, tmp_path, info)
        os.utime(path / "meta.json", (when, when))
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_shows_every_entry_most_recently_used_first(cache, capsys):
    status, out, _ = run(capsys, "cache", "list", "--cache-dir", str(cache))
    assert status == 0
    assert out == (
        "KEY                                       RECORDS  TOKENS  SIZE     LAST USED             STYLE   TOKENIZER\n"
        f"{B}  2        75      1.3 KiB  2026-11-30 10:15 UTC  -       -\n"
        f"{A}  2        75      1.4 KiB  2026-11-30 09:15 UTC  alpaca  gpt2\n"
    )


def test_list_uses_the_cache_folder_of_the_environment(cache, capsys, monkeypatch):
    monkeypatch.setenv("PROMPTSTYLES_CACHE_DIR", str(cache))
    assert run(capsys, "cache", "list", A)[1].splitlines()[1].startswith(f"{A}  2  ")
    monkeypatch.setenv("PROMPTSTYLES_CACHE_DIR", str(cache / "empty"))
    assert run(capsys, "cache", "list") == (0, f"{cache / 'empty'} ($PROMPTSTYLES_CACHE_DIR) does not exist, so it "
                                               "holds no cached datasets; give --cache-dir the data.cache_dir of your "
                                               "config, or set $PROMPTSTYLES_CACHE_DIR\n", "")
    (cache / "empty").mkdir()
    assert run(capsys, "cache", "list") == (0, f"no cached datasets in {cache / 'empty' / 'datasets'}\n", "")


def test_an_unreadable_entry_is_listed_as_such(cache, capsys):
    meta = cache / "datasets" / A / "meta.json"
    meta.write_text("{")
    os.utime(meta, (WHEN, WHEN))
    out = run(capsys, "cache", "list", "--cache-dir", str(cache))[1]
    assert out.splitlines()[2] == (
        f"{A}  -        -       368 B    2026-11-30 09:15 UTC  "
        "(unreadable: rebuilt on next use)  -")


def test_clear_removes_the_named_entries_or_all(cache, capsys):
    folder = cache / "datasets"
    assert run(capsys, "cache", "clear", B, "--cache-dir", str(cache)) == (
        0, f"removed 1 cached dataset from {folder}\n", "")
    assert sorted(p.name for p in folder.iterdir()) == [A]
    (folder / f".{B}.x1.tmp").mkdir()
    assert run(capsys, "cache", "clear", "--cache-dir", str(cache)) == (
        0, f"removed 1 cached dataset from {folder}\n", "")
    assert list(folder.iterdir()) == []


def test_clear_of_an_unknown_key_removes_nothing_and_says_so(cache, capsys):
    folder = cache / "datasets"
    assert run(capsys, "cache", "clear", A, "c" * 40, "--cache-dir", str(cache)) == (
        1, "", f"promptstyles: error: no cached dataset {'c' * 40} in {folder}; `promptstyles cache list` shows "
               "the keys\n")
    assert sorted(p.name for p in folder.iterdir()) == [A, B]


def test_verify_checks_every_token(cache, capsys):
    assert run(capsys, "cache", "verify", "--cache-dir", str(cache)) == (0, f"{B}: ok\n{A}: ok\n", "")
    tokens = cache / "datasets" / A / "tokens.bin"
    data = bytearray(tokens.read_bytes())
    data[3] ^= 1
    tokens.write_bytes(bytes(data))
    assert run(capsys, "cache", "verify", A, "--cache-dir", str(cache)) == (
        1, f"{A}: damaged (tokens.bin does not match its checksum); rebuilt on next use\n", "")
