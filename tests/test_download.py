"""Downloads from a URL: a verified cache revalidated on every use, or none at all with ``cache: false``."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from promptstyles import DataError, InstructionRecord
from promptstyles.data.sources.download import fetch_url
from promptstyles.data.sources.loading import load_records
from promptstyles.pipeline import prepare_data

V1 = [{"instruction": "Add.", "input": "1 2", "output": "3"}, {"instruction": "Hi?", "output": "Hello."}]
V2 = [{"instruction": "Add.", "input": "2 2", "output": "4"}]
RECORDS_V1 = [InstructionRecord("Add.", "1 2", "3"), InstructionRecord("Hi?", "", "Hello.")]
RECORDS_V2 = [InstructionRecord("Add.", "2 2", "4")]


def serve(server, records: list[dict], *, mtime: float | None = None) -> str:
    """Put ``records`` at data.json (with the given modification time) and return its URL."""
    path = server.root / "data.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return f"{server.url}/data.json"


def test_the_first_download_is_cached_with_a_checksum_and_validators(server, tmp_path):
    url = serve(server, V1, mtime=1_700_000_000)
    cache = tmp_path / "cache"
    loaded = load_records(url, cache=cache)
    assert loaded.records == RECORDS_V1 and loaded.source == url
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and files[1] == files[0] + ".meta.json"
    meta = json.loads((cache / files[1]).read_text())
    assert meta == {"sha256": hashlib.sha256((cache / files[0]).read_bytes()).hexdigest(), "etag": None,
                    "last_modified": "Tue, 14 Nov 2023 22:13:20 GMT"}
    assert server.log == [(None, None, 200)]

    (cache / files[0]).write_bytes(b'[{"instruction": "tampered", "output": "x"}]')  # fails verification
    assert load_records(url, cache=cache).records == RECORDS_V1
    assert server.log[-1] == (None, None, 200)  # asked afresh, not conditionally


def test_a_file_changed_on_the_server_is_downloaded_again(server, tmp_path):
    url = serve(server, V1, mtime=1_700_000_000)
    cache = tmp_path / "cache"
    assert load_records(url, cache=cache).records == RECORDS_V1
    assert load_records(url, cache=cache).records == RECORDS_V1
    assert server.log[-1] == (None, "Tue, 14 Nov 2023 22:13:20 GMT", 304)  # unchanged: the copy is kept
    serve(server, V2, mtime=1_700_000_100)
    assert load_records(url, cache=cache).records == RECORDS_V2
    assert server.log[-1] == (None, "Tue, 14 Nov 2023 22:13:20 GMT", 200)
    assert load_records(url, cache=cache).records == RECORDS_V2
    assert server.log[-1] == (None, "Tue, 14 Nov 2023 22:15:00 GMT", 304)


def test_an_etag_catches_a_change_that_keeps_the_date(server, tmp_path):
    server.httpd.etags = True
    url = serve(server, V1, mtime=1_700_000_000)
    cache = tmp_path / "cache"
    assert load_records(url, cache=cache).records == RECORDS_V1
    assert load_records(url, cache=cache).records == RECORDS_V1
    etag, _, status = server.log[-1]
    assert etag is not None and status == 304
    serve(server, V2, mtime=1_700_000_000)  # same date, new content
    assert load_records(url, cache=cache).records == RECORDS_V2
    assert server.log[-1] == (etag, "Tue, 14 Nov 2023 22:13:20 GMT", 200)


def test_the_cached_copy_stands_in_only_when_the_server_is_unreachable(server, tmp_path, caplog):
    url = serve(server, V1)
    cache = tmp_path / "cache"
    assert load_records(url, cache=cache).records == RECORDS_V1
    (server.root / "data.json").unlink()
    with pytest.raises(DataError, match="cannot download .*data.json.*HTTP Error 404"):
        load_records(url, cache=cache)  # the server answers: its answer counts
    server.stop()
    assert load_records(url, cache=cache).records == RECORDS_V1
    assert f"cannot reach {url}" in caplog.text and "may be out of date" in caplog.text
    with pytest.raises(DataError, match="cannot download .*Check the network"):
        load_records(url, cache=tmp_path / "empty")


def test_without_the_cache_every_run_downloads_and_nothing_is_kept(server, tmp_path):
    url = serve(server, V1, mtime=1_700_000_000)
    cache = tmp_path / "cache"
    assert load_records(url, cache=cache).records == RECORDS_V1
    serve(server, V2, mtime=1_700_000_000)  # a conditional request would be told "unchanged"
    assert load_records(url, cache=cache, use_cache=False).records == RECORDS_V2
    assert server.log[-1] == (None, None, 200)
    fresh = tmp_path / "fresh"
    prepared = prepare_data({"data": {"url": url, "cache": False, "cache_dir": str(fresh),
                                      "split": {"train": 1.0, "test": 0.0}}})
    assert prepared.records == RECORDS_V2 and server.log[-1] == (None, None, 200)
    assert not fresh.exists()


def test_an_unwritable_download_cache_is_reported_once_and_skipped(server, tmp_path, caplog):
    url = serve(server, V1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    folder = blocker / "cache"
    assert load_records(url, cache=folder).records == RECORDS_V1
    assert load_records(url, cache=folder).records == RECORDS_V1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and f"cannot write to the cache folder {folder}" in warnings[0]


def test_failed_download_leaves_nothing_behind(server, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="cannot download .*missing.json.*set data.path"):
        fetch_url(f"{server.url}/missing.json", directory=cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_interrupted_download_keeps_the_previous_cache(tmp_path: Path):
    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            raise OSError("connection reset")

    with pytest.raises(DataError, match="connection reset"):
        fetch_url("https://example.invalid/data.json", directory=tmp_path, opener=lambda request: Broken())
    assert list(tmp_path.iterdir()) == []


def test_a_download_removes_temporaries_left_by_interrupted_writes(server, tmp_path):
    url = serve(server, V1)
    cache = tmp_path / "cache"
    cache.mkdir()
    abandoned, running = cache / ".old-data.json.abc.tmp", cache / ".new-data.json.def.tmp"
    abandoned.write_bytes(b"partial")
    running.write_bytes(b"partial")
    os.utime(abandoned, (time.time() - 3600,) * 2)
    assert load_records(url, cache=cache).records == RECORDS_V1
    assert not abandoned.exists() and running.exists()
