"""The data engine, one room per job (``docs/architecture.md`` draws the flow):

- ``sources/``: records from files and URLs, validated;
- ``tokenizers/``: the one ``Tokenizer`` protocol, tiktoken encodings, a model's own ``tokenizer.json``;
- ``build/``: records rendered by a style and tokenized, serially, overlapped, in worker processes or streamed;
- ``store/``: the tokenized dataset on disk, memory-mapped, under a key of everything it depends on;
- ``batches/``: splits, samplers, packing and the collators that turn a dataset into batches.

Beside them, what every room shares: the :class:`~.tokenized.TokenizedDataset`, its mask spans (``masks``), the
mode names (``modes``) and array helpers (``arrays``). Nothing here reads a config: it takes plain arguments.
"""
