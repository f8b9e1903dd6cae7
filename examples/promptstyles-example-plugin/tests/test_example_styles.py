"""The plugin's styles render exactly the format their docstring and YAML file show, and its hook registers both."""

from promptstyles import to_record

from promptstyles_example import ExampleChatStyle, declared_style, register_styles

SINGLE = to_record({"instruction": "Name a primary colour.", "input": "", "output": "Red."})
WITH_SYSTEM = to_record({"messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "Bye"},
    {"role": "assistant", "content": "Bye!"},
]})


def test_example_chat_renders_its_documented_format():
    style = ExampleChatStyle()
    assert style.render(SINGLE).text == "<|user|>Name a primary colour.<|end|>\n<|assistant|>Red.<|end|>\n"
    assert style.generation_prompt(SINGLE) == "<|user|>Name a primary colour.<|end|>\n<|assistant|>"
    assert style.render(WITH_SYSTEM).text == (
        "<|system|>Be brief.<|end|>\n<|user|>Hi<|end|>\n<|assistant|>Hello<|end|>\n"
        "<|user|>Bye<|end|>\n<|assistant|>Bye!<|end|>\n"
    )
    assert style.extract_response("Red.<|end|>\n<|user|>More") == "Red."


def test_example_yaml_renders_its_declared_format_with_a_default_system_prompt():
    style_class = declared_style("example-yaml.yaml")
    style = style_class()
    assert style.render(SINGLE).text == (
        "<|sys|>You answer briefly.<|eot|><|human|>Name a primary colour.<|eot|><|bot|>Red.<|eot|>"
    )
    assert style_class(system=None).generation_prompt(SINGLE) == "<|human|>Name a primary colour.<|eot|><|bot|>"
    assert style.render(WITH_SYSTEM).text == (
        "<|sys|>Be brief.<|eot|><|human|>Hi<|eot|><|bot|>Hello<|eot|><|human|>Bye<|eot|><|bot|>Bye!<|eot|>"
    )
    assert style.special_tokens == ("<|sys|>", "<|human|>", "<|bot|>", "<|eot|>")


def test_the_hook_registers_both_styles_by_name():
    registered = []
    register_styles(lambda style, aliases=(): registered.append((style.name, tuple(aliases))))
    assert registered == [("example-chat", ()), ("example-yaml", ())]
