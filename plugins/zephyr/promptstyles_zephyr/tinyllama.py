"""TinyLlama-1.1B-Chat-v1.0, whose ``chat_template`` is Zephyr's, byte for byte (see :mod:`.zephyr`)."""

from .zephyr import ZephyrStyle

__all__ = ["TinyLlamaStyle"]


class TinyLlamaStyle(ZephyrStyle):
    name = "tinyllama"
    description = "TinyLlama-1.1B-Chat: the Zephyr format"
