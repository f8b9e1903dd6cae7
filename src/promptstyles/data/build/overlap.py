"""Rendering the next chunk while the tokenizer encodes this one, for tokenizers that encode outside the GIL.

Hugging Face ``tokenizers`` release the GIL while a batch is encoded on their Rust thread pool, so Python
work can run at the same time. A serial build would otherwise leave a core idle while it renders (pure
Python, one core) and keep Python waiting while Rust encodes. Here one helper thread renders chunk ``k + 1``
while this thread encodes chunk ``k``: the same datasets in the same order, with rendering mostly hidden
behind encoding. The input is read on the helper thread too (the streaming reader parses and validates
JSON there), so this thread only encodes; the input's iterator is driven by that one thread, one chunk at a
time, and must not write anything a consumer reads as chunks come out (the streaming build queues each
chunk's line offsets and writes them as its tokens arrive). A chunk that cannot be read or rendered raises
its error when that chunk's turn comes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    """:func:`~promptstyles.data.build.encoding.tokenize_chunks` with each next chunk read and rendered on a
    helper thread."""
    pending = iter(chunks)

    def read_and_render(first: int) -> RenderedChunk | None:
        for records in pending:  # only ever driven here, one call at a time
            if len(records):
                return render_chunk(style, records, first, source)
        return None

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="render") as renderer:
        first = first_index
        rendering = renderer.submit(read_and_render, first)
        while (rendered := rendering.result()) is not None:  # a read or record error surfaces at its turn
            count = len(rendered.parts)
            rendering = renderer.submit(read_and_render, first + count)  # while this chunk is encoded
            yield encode_rendered(rendered, tokenizer, special_tokens=special_tokens, first_index=first).dataset()
            first += count
