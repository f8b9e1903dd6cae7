"""Rendering the next chunk while the tokenizer encodes this one, for tokenizers that encode outside the GIL.

Hugging Face ``tokenizers`` release the GIL while a batch is encoded on their Rust thread pool, so Python
work can run at the same time. A serial build would otherwise leave a core idle while it renders (pure
Python, one core) and keep Python waiting while Rust encodes. Here one helper thread renders chunk ``k + 1``
while this thread encodes chunk ``k``: the same datasets in the same order, with rendering mostly hidden
behind encoding. The input itself is read in this thread, so a consumer's generator (the streaming reader)
is never driven from two threads. A chunk the style cannot render raises its :class:`RecordError` when that
chunk's turn comes, as in the serial build.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .encoding import encode_rendered
from .rendering import RenderedChunk, render_chunk

if TYPE_CHECKING:
    from ..tokenized import TokenizedDataset

__all__ = ["tokenize_chunks_overlapped"]


def tokenize_chunks_overlapped(
    chunks: Iterable[Sequence[Record]],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    source: str | None = None,
    first_index: int = 0,
) -> Iterator[TokenizedDataset]:
    """:func:`~promptstyles.data.build.encoding.tokenize_chunks` with each next chunk rendered on a helper thread."""
    pending = (records for records in chunks if len(records))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="render") as renderer:

        def submit(first: int) -> tuple[int, int, Future[RenderedChunk]] | None:
            records = next(pending, None)
            if records is None:
                return None
            return first, len(records), renderer.submit(render_chunk, style, records, first, source)

        current = submit(first_index)
        while current is not None:
            first, count, rendering = current
            rendered = rendering.result()  # a record error surfaces at its chunk's turn
            current = submit(first + count)  # rendered while this chunk is encoded
            yield encode_rendered(rendered, tokenizer, special_tokens=special_tokens, first_index=first).dataset()
