"""Records to a :class:`TokenizedDataset` in one call: chunks tokenized here or in worker processes, in order.

The entry point of whole-list builds; streamed builds (:mod:`.streaming`) feed the same chunk seam.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ...errors import DataError
from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .encoding import CHUNK_SIZE, ProgressCallback, concat_datasets
from .parallel import NumProc, tokenize_chunks_parallel

if TYPE_CHECKING:
    from ..tokenized import TokenizedDataset

__all__ = ["tokenize_records"]


def tokenize_records(
    records: Sequence[Record],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    source: str | None = None,
    progress: ProgressCallback | None = None,
    num_proc: NumProc = 1,
    chunk_size: int | None = None,
    engine: Callable[..., Iterable[TokenizedDataset]] | None = None,
) -> TokenizedDataset:
    """Render and tokenize every record once into a :class:`TokenizedDataset`.

    ``progress(done, total)`` is called after each chunk of ``chunk_size`` records (default ``CHUNK_SIZE``).
    ``special_tokens="extend"`` encodes the style's declared markup tokens as special ids; the tokenizer must
    have been built with them (``get_tokenizer(name, special_tokens=style.special_tokens)``). A model's own
    tokenizer (``own_special_tokens``) always encodes markup with the model's special ids. ``num_proc`` > 1
    (or ``"auto"``) tokenizes chunks in worker processes as well (see :mod:`promptstyles.data.build.parallel`): the
    same dataset, sooner. ``engine`` replaces those processes with another chunk tokenizer of the same
    contract (e.g. :func:`~promptstyles.data.build.cluster.tokenize_chunks_ray`).
    """
    if not len(records):
        raise DataError(f"{source or 'dataset'}: no records to tokenize")
    chunk_size = CHUNK_SIZE if chunk_size is None else chunk_size
    if chunk_size < 1:
        raise DataError(f"chunk_size must be at least 1, got {chunk_size}")
    pieces = (records[first : first + chunk_size] for first in range(0, len(records), chunk_size))
    chunks = []
    done = 0
    engine = engine or functools.partial(tokenize_chunks_parallel, num_proc=num_proc)
    for chunk in engine(pieces, style, tokenizer, special_tokens=special_tokens, source=source):
        chunks.append(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, len(records))
    return concat_datasets(chunks)
