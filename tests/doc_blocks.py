"""The fenced blocks of ``docs/writing-plugins.md``: the example plugin's files, its layout, console examples."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-plugins.md"
EXAMPLE = ROOT / "examples" / "promptstyles-example-plugin"
_BLOCK = re.compile(r'^(```+)(\w*)(?: title="([^"]+)")?\n(.*?)^\1$', re.DOTALL | re.MULTILINE)
"""A fenced block; a file that holds fences of its own is shown inside a longer fence."""


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, the file it shows (``title="..."``, relative to the example) and text."""

    language: str
    title: str | None
    text: str


def blocks() -> list[Block]:
    return [Block(language, title or None, text)
            for _fence, language, title, text in _BLOCK.findall(DOC.read_text("utf-8"))]


def console_examples() -> list[tuple[str, str]]:
    """``(command, output)`` for every ``$ command`` line of the console blocks, output without its last newline."""
    examples: list[tuple[str, list[str]]] = []
    for block in blocks():
        if block.language == "console":
            for line in block.text.splitlines():
                if line.startswith("$ "):
                    examples.append((line[2:], []))
                else:
                    examples[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in examples]
