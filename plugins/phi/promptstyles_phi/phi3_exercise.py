"""The Phi-3-like prompt of the reference exercise, kept exactly as that exercise measured it::

    <|user|>
    {instruction}
    {input}
    <|assistant|>:
    {output}

The ``\\n{input}`` line only when the input is non-empty. There is no end marker and no system prompt, and
the tags are plain text here (the exercise used the GPT-2 tokenizer, where they are not special tokens).
"""

from promptstyles import ChatStyle

__all__ = ["Phi3ExerciseStyle"]


class Phi3ExerciseStyle(ChatStyle):
    name = "phi3-exercise"
    description = "The reference exercise's Phi-3-like prompt: <|user|>\\n... then \\n<|assistant|>:\\n..."
    supports_conversations = False
    user_prefix = "<|user|>\n"
    response_header = "\n<|assistant|>:\n"
    system_turn = "none"
    one_exchange = True
    stops = ("<|endoftext|>", "<|user|>", "\n<|assistant|>:")
