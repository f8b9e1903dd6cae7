"""GPT-2's encoding without a download: the BPE files ship in the package (``gpt2/``, OpenAI's Modified MIT License).

tiktoken fetches ``vocab.bpe`` and ``encoder.json`` on first use and keeps them in its cache
(``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else ``<tmp>/data-gym-cache``). When that cache holds
them, tiktoken loads them as it always does; otherwise the packaged copies are read, so the default tokenizer
works on a fresh install with no network. Other encodings are tiktoken's alone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import TokenizerError

if TYPE_CHECKING:
    import tiktoken

__all__ = ["GPT2_PATTERN", "PACKAGED", "load_encoding"]

logger = logging.getLogger(__name__)

# The pre-tokenizer pattern of gpt2, r50k_base and p50k_base (tiktoken's ``r50k_pat_str``).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
PACKAGED = Path(__file__).with_name("gpt2")
_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"
_SHA256 = {
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
}
_ENDOFTEXT = "<|endoftext|>"


def load_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken's encoding ``name``; ``gpt2`` from the packaged files when tiktoken's cache lacks them."""
    import tiktoken

    cached = _tiktoken_cache()
    if name != "gpt2" or cached is not None:
        if name == "gpt2":
            logger.debug("gpt2 BPE files from the tiktoken cache %s", cached)
        return tiktoken.get_encoding(name)
    logger.debug("gpt2 BPE files from the package, %s", PACKAGED)
    return _packaged_gpt2()


def _tiktoken_cache() -> Path | None:
    """The folder of tiktoken's cache when it holds both GPT-2 files intact (as ``read_file_cached`` checks)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        folder = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        folder = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        folder = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not folder:  # an empty TIKTOKEN_CACHE_DIR turns tiktoken's cache off
        return None
    for file, digest in _SHA256.items():
        path = Path(folder) / hashlib.sha1((_URL + file).encode()).hexdigest()
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return None
    return Path(folder)


@functools.lru_cache(maxsize=1)
def _packaged_gpt2() -> tiktoken.Encoding:
    import tiktoken

    files = {}
    for file, digest in _SHA256.items():
        data = (PACKAGED / file).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise TokenizerError(f"the packaged GPT-2 file {PACKAGED / file} is damaged (its sha256 differs); "
                                 "reinstall promptstyles")
        files[file] = data
    return tiktoken.Encoding(name="gpt2", pat_str=GPT2_PATTERN, explicit_n_vocab=50257,
                             mergeable_ranks=_ranks(files["vocab.bpe"], files["encoder.json"]),
                             special_tokens={_ENDOFTEXT: 50256})


def _ranks(vocab_bpe: bytes, encoder_json: bytes) -> dict[bytes, int]:
    """The mergeable ranks of GPT-2's data-gym files, as tiktoken's ``data_gym_to_mergeable_bpe_ranks`` reads them.

    The files spell each byte as one printable character: printable Latin-1 bytes (but the space) as
    themselves, the other bytes as ``chr(256 + n)`` in byte order. Single bytes rank first in that order,
    then each merge of ``vocab.bpe`` in its line order; ``encoder.json`` must give every token the same id.
    """
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    others = [b for b in range(256) if b not in printable]
    to_byte = {chr(b): b for b in printable} | {chr(256 + n): b for n, b in enumerate(others)}

    def decode(text: str) -> bytes:
        return bytes(to_byte[char] for char in text)

    ranks = {bytes([b]): rank for rank, b in enumerate(printable + others)}
    merges = vocab_bpe.decode().split("\n")[1:-1]  # a version line first, an empty line last
    for rank, line in enumerate(merges, start=len(ranks)):
        first, second = line.split()
        ranks[decode(first) + decode(second)] = rank
    encoder = {decode(token): rank for token, rank in json.loads(encoder_json).items() if token != _ENDOFTEXT}
    if ranks != encoder:
        raise TokenizerError(f"the packaged GPT-2 files in {PACKAGED} disagree (vocab.bpe vs encoder.json); "
                             "reinstall promptstyles")
    return ranks
