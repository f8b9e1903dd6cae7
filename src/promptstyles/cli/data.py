"""The commands that look at a config's data: ``stats`` (token counts per split) and ``batch`` (one batch decoded,
with masked targets marked, packed rows shown as laid out)."""

from __future__ import annotations

import argparse
from typing import Any

from .._config_checks import no_batches
from ..config import load_config
from ..errors import PromptStylesError
from ..progress import ProgressBars
from .output import DIM, GREEN, RESET, print_table, use_colour

__all__ = ["cmd_batch", "cmd_stats"]


def cmd_batch(args: argparse.Namespace) -> int:
    from ..data.batches.collate import Batch
    from ..data.batches.inspect import view_batch
    from ..pipeline import build_dataloaders

    config = load_config(args.config)  # read once: it also says how the build reports progress
    loaders = build_dataloaders(config, progress=ProgressBars().for_build(config))
    collator = loaders.example_collator  # preference pairs: an error naming data.kind
    dataset = loaders.datasets[args.split]
    batches = loaders.batch_indices(args.split)
    if not batches:
        raise PromptStylesError(no_batches(config, args.split, len(dataset), len(loaders.data.dataset)))
    if not -len(batches) <= args.index < len(batches):
        raise PromptStylesError(
            f"--index {args.index} is out of range: the {args.split} loader has {len(batches)} batches"
        )
    indices = batches[args.index]
    batch = loaders.batch(args.split, indices)
    assert isinstance(batch, Batch)  # instruction data, as example_collator checked
    packed = indices.ndim == 2  # (row, example) pairs: each example is shown as the padded collator builds it
    views = view_batch(dataset, indices[:, 1] if packed else indices, collator, loaders.tokenizer,
                       None if packed else batch)
    colour = use_colour(args.color)
    print(f"{args.split} batch {args.index % len(batches)}: inputs {tuple(batch.inputs.shape)}, "
          f"style {loaders.style.name!r}, mask {loaders.collator.mask!r}")
    print("legend: " + (f"{GREEN}trained{RESET} {DIM}masked{RESET}" if colour else "[[masked]] trained"))
    if packed:
        _print_packed_rows(indices, views, batch.position_ids, colour)
        return 0
    for row, view in enumerate(views):
        print(f"\n--- row {row} (record {view.record}): {_notes(view)}, {view.padding} padding")
        print(_coloured(view, colour))
    return 0


def _notes(view: Any) -> str:
    notes = f"{view.tokens} tokens, {view.trained} trained targets"
    return notes + (f", {view.truncated} cut by truncation" if view.truncated else "")


def _coloured(view: Any, colour: bool) -> str:
    return "".join(
        (f"{GREEN if trained else DIM}{piece}{RESET}" if colour else (piece if trained else f"[[{piece}]]"))
        for piece, trained in view.segments
    )


def _print_packed_rows(pairs: Any, views: list[Any], positions: Any, colour: bool) -> None:
    """Packed rows as the batch lays them out: each row, then its examples where their position ids restart."""
    width = positions.shape[1]
    members_of: dict[int, list[int]] = {}
    for member, row in enumerate(pairs[:, 0].tolist()):
        members_of.setdefault(row, []).append(member)
    for number, members in enumerate(members_of.values()):
        bounds = [*(positions[number] == 0).nonzero().flatten().tolist(), width]
        used = bounds[len(members)]
        print(f"\n=== row {number}: {len(members)} examples, {used} of {width} positions, {width - used} padding")
        for member, start, end in zip(members, bounds, bounds[1:], strict=False):
            view = views[member]
            print(f"--- positions {start}-{end - 1} (record {view.record}): {_notes(view)}")
            print(_coloured(view, colour))


def _tokenizer_label(config: Any, loaded: str) -> str:
    """The tokenizer as the config selected it (a plugin's name, a path), with what it loaded when that differs."""
    name, path = config.tokenizer.source
    selected = name if name is not None else path
    return repr(selected) if selected == loaded else f"{selected!r} ({loaded})"


def cmd_stats(args: argparse.Namespace) -> int:
    from ..pipeline import build_dataloaders, padding_share, prepare_data

    config = load_config(args.config)  # read once: it also says how the build reports progress
    data = prepare_data(config, progress=ProgressBars().for_build(config))
    loaders = build_dataloaders(config, data=data)
    limit = config.collate.allowed_max_length
    print(f"style {data.style.name!r}, tokenizer {_tokenizer_label(config, data.tokenizer.name)}, "
          f"mask {config.collate.mask!r}, "
          f"{len(data.records)} records" + (f", {len(data.skipped)} skipped" if data.skipped else ""))
    rows = [["SPLIT", "EXAMPLES", "TOKENS MEAN", "MEDIAN", "P95", "MAX", "PROMPT MEAN", "RESPONSE MEAN", "TRAINED",
             "OVER LIMIT", "PADDING"]]
    for name, dataset in data.splits.items():
        if not len(dataset):
            rows.append([name, "0", *["-"] * 9])
            continue
        stats = dataset.stats()
        tokens = stats["tokens"]
        targets = int(dataset.lengths.sum())  # one target per token: the shifted ids plus the end-of-text
        trained = int(dataset.trained_targets(loaders.collator.mask).sum())  # pairs: the pair collator's mask
        over = "-" if limit is None else str(int((dataset.lengths > limit).sum()))
        rows.append([name, str(len(dataset)), f"{tokens['mean']:.1f}", f"{tokens['median']:.0f}",
                     f"{tokens['p95']:.0f}", str(tokens["max"]), f"{stats['prompt_tokens']['mean']:.1f}",
                     f"{stats['response_tokens']['mean']:.1f}", f"{trained / targets:.1%}", over,
                     f"{padding_share(loaders.batch_shapes(name)):.1%}"])
    print_table(rows)
    if not len(loaders.train):
        print(f"note: {no_batches(config, 'train', len(data.splits['train']), len(data.dataset))}")
    return 0
