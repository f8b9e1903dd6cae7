"""Shared test set-up: the shared dataset beside the repository, a private cache, a loopback server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared_paths import DATASET, require

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Downloads and tokenized datasets go to a folder of this test session, never the user's cache."""
    os.environ["PROMPTSTYLES_CACHE_DIR"] = str(tmp_path_factory.mktemp("promptstyles-cache"))


@pytest.fixture(scope="session")
def dataset_path() -> Path:
    return require(DATASET)


@pytest.fixture(scope="session")
def raw_records(dataset_path: Path) -> list[dict]:
    return json.loads(dataset_path.read_text(encoding="utf-8"))


@pytest.fixture
def plugin_site(monkeypatch: pytest.MonkeyPatch):
    """Put one of the fixture plugin distributions (module + .dist-info) on the path."""

    def add(name: str) -> Path:
        site = FIXTURES / "sites" / name
        monkeypatch.syspath_prepend(str(site))
        return site

    return add


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder with ``Last-Modified`` (the standard handler) and, when the server asks, an ``ETag``."""

    timeout = 10
    _etag: str | None = None

    def log_message(self, *args) -> None:
        pass

    def log_request(self, code="-", size="-") -> None:
        self.server.log.append((self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), int(code)))

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if self.server.etags and path.is_file():
            self._etag = '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == self._etag:
                self.send_response(304)
                self.end_headers()
                return None
        return super().send_head()

    def end_headers(self) -> None:
        if self._etag:
            self.send_header("ETag", self._etag)
        super().end_headers()


@dataclass
class LoopbackServer:
    """A folder served on 127.0.0.1; ``log`` holds (If-None-Match, If-Modified-Since, status) per request."""

    root: Path
    url: str
    log: list[tuple[str | None, str | None, int]]
    httpd: http.server.ThreadingHTTPServer

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path):
    """A loopback HTTP server over a fresh folder, so downloads are real requests (``server.httpd.etags``)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_Handler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.log = []  # type: ignore[attr-defined]
    httpd.etags = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    served = LoopbackServer(root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.log, httpd)  # type: ignore[attr-defined]
    yield served
    if thread.is_alive():
        served.stop()
    thread.join(timeout=10)
