"""YAML output for declarations: key order kept, markup with newlines or edge spaces double-quoted."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["dump_yaml"]


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    quoted = any(c in text for c in "\n\r\t") or text != text.strip()
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"' if quoted else None)


_Dumper.add_representer(str, _string)


def dump_yaml(data: Any) -> str:
    """``data`` as YAML that ``yaml.safe_load`` reads back equal, in the order given."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
