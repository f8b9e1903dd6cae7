"""ChatML prompt styles: generic ChatML, Qwen2 and Qwen2.5 (ChatML with a default system prompt), Qwen3, Hermes 3."""

from promptstyles import hookimpl

from .chatml import ChatMLStyle
from .hermes3 import Hermes3Style
from .qwen2 import Qwen2Style
from .qwen3 import Qwen3Style
from .qwen25 import Qwen25Style

__all__ = ["ChatMLStyle", "Hermes3Style", "Qwen25Style", "Qwen2Style", "Qwen3Style", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(ChatMLStyle, aliases=("im_start",))
    register(Qwen2Style, aliases=("qwen-2",))
    register(Qwen25Style, aliases=("qwen-2.5", "qwen25"))
    register(Qwen3Style, aliases=("qwen-3",))
    register(Hermes3Style, aliases=("hermes-3",))
