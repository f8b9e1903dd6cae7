"""Output helpers of the command line: aligned tables, and colour when stdout is a terminal."""

from __future__ import annotations

import os
import sys

__all__ = ["DIM", "GREEN", "RESET", "print_table", "use_colour"]

DIM, GREEN, RESET = "\x1b[2m", "\x1b[32m", "\x1b[0m"


def print_table(rows: list[list[str]]) -> None:
    """Columns padded to their widest cell; the last column runs free."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())




def use_colour(choice: str) -> bool:
    """``--color auto`` colours only a terminal, and never when ``NO_COLOR`` is set."""
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
