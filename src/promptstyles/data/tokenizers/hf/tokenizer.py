"""A model's own tokenizer: a Hugging Face ``tokenizer.json`` loaded with the ``tokenizers`` library.

The folder is what a model repository holds for its tokenizer: ``tokenizer.json``, ``tokenizer_config.json``
(special tokens, ``chat_template``) and perhaps ``special_tokens_map.json``. BOS, EOS and pad are read the way
``transformers`` resolves them: ``tokenizer_config.json`` first, ``special_tokens_map.json`` where the config
does not name the token (Llama-3's map still says ``<|end_of_text|>``; its config, and transformers, say
``<|eot_id|>``). ``tokenizers`` is an optional extra, imported on first use.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ....errors import TokenizerError
from ..protocol import Encoded
from .encoding import PartIds, PartsEncoder, TextPart
from .fast import FastEncoder, exact_examples

__all__ = ["HFTokenizer", "fetch_from_hub", "is_hub_id", "load_hf_tokenizer", "load_tokenizers_library",
           "missing_folder"]

logger = logging.getLogger(__name__)

_SPECIAL_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token")
_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def load_tokenizers_library() -> Any:
    """The ``tokenizers`` module, or an error that names the extra to install."""
    try:
        import tokenizers
    except ImportError as error:
        raise TokenizerError(
            "Hugging Face tokenizers need the 'tokenizers' package: pip install 'promptstyles[hf]'"
        ) from error
    return tokenizers


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TokenizerError(f"{path}: cannot read it as JSON ({error}); download the file again") from error
    if not isinstance(data, dict):
        raise TokenizerError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _token_content(value: Any) -> str | None:
    """A special token as the config writes it: a string, or an AddedToken object with ``content``."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"] or None
    raise TokenizerError(f"a special token should be a string or an object with 'content', not {value!r}")


def _chat_template(folder: Path, config: dict[str, Any]) -> str | None:
    """The model's chat template: ``chat_template.jinja`` beside the files, else the config's (default) one."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    template = config.get("chat_template")
    if isinstance(template, list):  # several named templates: the default one
        named = {item.get("name"): item.get("template") for item in template if isinstance(item, dict)}
        template = named.get("default")
    return template if isinstance(template, str) else None


class HFTokenizer:
    """A Hugging Face tokenizer from a model folder (or its ``tokenizer.json``).

    Record text is always ordinary text: only markup parts may hold added tokens (see
    :class:`~promptstyles.data.tokenizers.hf.encoding.PartsEncoder`).
    """

    own_special_tokens = True
    """Its special tokens are the model's: a style's markup must be among them, and none are added."""
    encodes_on_all_cores = True
    """``encode_batch`` runs on the Rust thread pool of ``tokenizers``: one process renders while it encodes."""

    def __init__(self, path: str | Path) -> None:
        tokenizers = load_tokenizers_library()
        path = Path(path).expanduser()
        file = path / "tokenizer.json" if path.is_dir() else path
        if not path.exists():
            raise TokenizerError(missing_folder(path))
        if not file.is_file():
            raise TokenizerError(
                f"{path}: no tokenizer.json there; download the model's tokenizer files (tokenizer.json, "
                "tokenizer_config.json, special_tokens_map.json) into a folder and pass its path"
            )
        try:
            raw = file.read_bytes()
            tokenizer = tokenizers.Tokenizer.from_str(raw.decode("utf-8"))
        except Exception as error:  # the Rust side raises plain Exceptions
            raise TokenizerError(f"{file}: not a tokenizer.json the tokenizers library can load ({error})") from error
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.path = path
        self.file = file
        folder = file.parent
        self.name = folder.name if file.name == "tokenizer.json" else file.stem
        self._tokenizer = tokenizer
        added = tokenizer.get_added_tokens_decoder()
        self.added_tokens: dict[str, int] = {token.content: token_id for token_id, token in sorted(added.items())}
        """Every added token's text and id (special or not): the only ids markup may produce."""
        self.vocab_size: int = max(tokenizer.get_vocab_size(with_added_tokens=True), max(added, default=-1) + 1)
        config = _read_json(folder / "tokenizer_config.json")
        token_map = _read_json(folder / "special_tokens_map.json")
        tokens = self._special_tokens(config, token_map, folder)
        self.bos_token, self.eos_token, self.pad_token, self.unk_token = (tokens[key] for key in _SPECIAL_KEYS)
        self.bos_id = self._id(self.bos_token)
        self.pad_id = self._id(self.pad_token)
        eos_id = self._id(self.eos_token)
        if eos_id is None:
            raise TokenizerError(
                f"{folder}: the tokenizer names no EOS token; set 'eos_token' in tokenizer_config.json"
            )
        self.eos_id: int = eos_id
        self.chat_template = _chat_template(folder, config)
        digest = hashlib.blake2b(raw, digest_size=16)
        digest.update(json.dumps([config, token_map, self.chat_template, tokenizers.__version__]).encode())
        self.fingerprint = digest.hexdigest()
        """Changes with the files and the tokenizers version: part of a cached dataset's key (via ``repr``)."""
        self._contents = {i: t.content for i, t in added.items()}
        self._encoder = PartsEncoder(tokenizer, self._contents, self.vocab_size)
        self._fast: FastEncoder | None = None
        self._fast_checked = False
        logger.info("loaded tokenizer %s from %s: %d ids, EOS %r (%d)", self.name, file, self.vocab_size,
                    self.eos_token, self.eos_id)

    def _special_tokens(self, config: dict[str, Any], token_map: dict[str, Any], folder: Path) -> dict[str, Any]:
        tokens: dict[str, str | None] = {}
        for key in _SPECIAL_KEYS:
            source = "tokenizer_config.json" if key in config else "special_tokens_map.json"
            try:
                token = _token_content(config[key] if key in config else token_map.get(key))
            except TokenizerError as error:
                raise TokenizerError(f"{folder / source}: {key}: {error}") from None
            if token is not None and self._tokenizer.token_to_id(token) is None:
                raise TokenizerError(f"{folder / source}: {key} {token!r} is not in the tokenizer's vocabulary")
            tokens[key] = token
        return tokens

    def _id(self, token: str | None) -> int | None:
        return None if token is None else self._tokenizer.token_to_id(token)

    def __reduce__(self) -> tuple[Any, ...]:  # worker processes reload the files
        return (type(self), (self.path,))

    # -- the engine's side ----------------------------------------------------------------------------

    def special_id(self, token: str) -> int | None:
        """The id of ``token`` when it is an added (special) token of this tokenizer, else None."""
        return self.added_tokens.get(token)

    def encode_rendered(self, parts: Sequence[TextPart]) -> PartIds:
        """Ids of a rendered example as its model's chat template encodes it, and where each part ends."""
        return self._encoder.encode(parts)

    def encode_rendered_batch(self, examples: Sequence[Sequence[TextPart]]) -> list[PartIds]:
        """:meth:`encode_rendered` for many examples, encoded in one parallel batch."""
        return self._encoder.encode_batch(examples)

    def encode(self, text: str) -> list[int]:
        """The ids of ``text`` as ordinary text (no added token is ever matched)."""
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, every character ordinary text."""
        encodings = self._encoder.plain().encode_batch(list(texts), add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def encode_examples(self, examples: Sequence[Sequence[TextPart]], *, markup_specials: bool = True) -> Encoded:
        """See :class:`~promptstyles.data.tokenizers.Tokenizer`. The model's special tokens in markup are always
        its ids (``markup_specials`` cannot turn them off: the model knows no other form of its markup)."""
        fast = self.fast_encoder()
        return fast.encode_examples(examples) if fast is not None else exact_examples(self._encoder, examples)

    def fast_encoder(self) -> FastEncoder | None:
        """The fast path of :meth:`encode_examples` where it is proven exact (checked on first use: the check
        costs a tenth of a second, which only a dataset build should pay)."""
        if not self._fast_checked:
            self._fast = FastEncoder.build(self._tokenizer, self._encoder, self._contents, self.vocab_size,
                                           self.name)
            self._fast_checked = True
        return self._fast

    def decode(self, ids: Iterable[int]) -> str:
        return self._tokenizer.decode(list(ids), skip_special_tokens=False)

    def decode_tokens(self, ids: Iterable[int]) -> list[str]:
        """Each id's text on its own (bytes that split a character show as the replacement character)."""
        decode = self._tokenizer.decode
        return [decode([token_id], skip_special_tokens=False) for token_id in ids]

    def __repr__(self) -> str:
        return (f"HFTokenizer({self.name!r}, vocab_size={self.vocab_size}, eos={self.eos_token!r}, "
                f"fingerprint={self.fingerprint[:12]})")


def missing_folder(path: Path) -> str:
    """Why a tokenizer path is not there: the nearest folder that exists, and its closest entries."""
    found = path.absolute().parent
    while not found.is_dir():
        found = found.parent
    near = ""
    if found == path.absolute().parent:
        names = [entry.name for entry in found.iterdir() if not entry.name.startswith(".")]
        close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
        near = f"; did you mean {', '.join(str(path.parent / name) for name in close)}?" if close else ""
    return (f"{path}: no such folder or file (nothing at {path.absolute()}, whose nearest existing folder is "
            f"{found}){near}")


def is_hub_id(spec: str) -> bool:
    """Whether ``spec`` reads as a Hugging Face Hub repository id (``owner/name``) and is no local path."""
    return bool(_HUB_ID.match(spec)) and not Path(spec).expanduser().exists()


def _download_hint(repo_id: str) -> str:
    return (f"download the model's tokenizer files into a folder and pass its path, e.g. `hf download {repo_id} "
            f"{' '.join(_FILES[:3])} --local-dir DIR`")


def fetch_from_hub(repo_id: str) -> Path:
    """The folder of ``repo_id``'s tokenizer files, fetched (and cached) with ``huggingface_hub``."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as error:
        raise TokenizerError(f"{missing_folder(Path(repo_id))}, and huggingface_hub is not installed to fetch it "
                             f"from the Hugging Face Hub as a repository id: {_download_hint(repo_id)}") from error
    try:
        return Path(snapshot_download(repo_id, allow_patterns=list(_FILES)))
    except Exception as error:  # offline, unknown or gated repository: the hub raises many kinds
        raise TokenizerError(f"{missing_folder(Path(repo_id))}, so it was read as a Hugging Face Hub id, and "
                             f"fetching it failed ({type(error).__name__}: {error}); {_download_hint(repo_id)}"
                             ) from error


def load_hf_tokenizer(spec: str | Path) -> HFTokenizer:
    """A tokenizer from a model folder, a ``tokenizer.json``, or a Hub id such as ``Qwen/Qwen2.5-7B-Instruct``."""
    if isinstance(spec, str) and is_hub_id(spec):
        if Path(spec.partition("/")[0]).expanduser().is_dir():  # models/qwen-instrcut: a local folder's typo
            raise TokenizerError(missing_folder(Path(spec).expanduser()))
        return HFTokenizer(fetch_from_hub(spec))
    return HFTokenizer(spec)
