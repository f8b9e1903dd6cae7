"""promptstyles-example: a style written in Python and a style declared in YAML, registered by one hook."""

from importlib import resources

import yaml
from promptstyles import ChatStyle, hookimpl, load_config
from promptstyles.styles.declarative import build_declarative_style

from .chat import ExampleChatStyle

__all__ = ["ExampleChatStyle", "declared_style", "register_styles"]


def declared_style(filename: str) -> type[ChatStyle]:
    """The style class declared in ``filename``, a YAML file shipped inside this package."""
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    spec = load_config({"style": yaml.safe_load(text)}).style
    return type(build_declarative_style(spec))


@hookimpl
def register_styles(register) -> None:
    register(ExampleChatStyle)
    register(declared_style("example-yaml.yaml"))
