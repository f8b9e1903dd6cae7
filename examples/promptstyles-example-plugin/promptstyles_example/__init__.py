"""promptstyles-example: a style written in Python and a style declared in YAML, registered by one hook."""

from importlib import resources

from promptstyles import ChatStyle, hookimpl
from promptstyles.styles.declarative import build_declarative_style, read_style_file

from .chat import ExampleChatStyle

__all__ = ["ExampleChatStyle", "declared_style", "register_styles"]


def declared_style(filename: str) -> type[ChatStyle]:
    """The style class declared in ``filename``, a YAML file shipped inside this package."""
    with resources.as_file(resources.files(__package__) / filename) as path:
        return type(build_declarative_style(read_style_file(path)))


@hookimpl
def register_styles(register) -> None:
    register(ExampleChatStyle)
    register(declared_style("example-yaml.yaml"))
