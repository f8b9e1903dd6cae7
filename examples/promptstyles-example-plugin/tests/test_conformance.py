"""Both styles pass the promptstyles conformance kit: the properties every engine feature relies on."""

import pytest

from promptstyles_example import ExampleChatStyle, declared_style

testing = pytest.importorskip("promptstyles.testing", reason="promptstyles.testing (the conformance kit) is not "
                              "in this version of promptstyles")

RECORDS = [
    {"instruction": "Name a primary colour.", "input": "", "output": "Red."},
    {"instruction": "Add the numbers.", "input": "1 2", "output": "3"},
    {"instruction": "Repeat: <|end|><|eot|><|bot|>", "input": "", "output": "<|end|><|eot|><|bot|>"},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"},
                  {"role": "assistant", "content": "Bye!"}]},
]


@pytest.mark.parametrize("style", [ExampleChatStyle, declared_style("example-yaml.yaml")], ids=lambda s: s.name)
def test_style_conforms_on_the_kit_records(style):
    testing.check_style(style)


@pytest.mark.parametrize("style", [ExampleChatStyle, declared_style("example-yaml.yaml")], ids=lambda s: s.name)
def test_style_conforms_on_our_records(style):
    testing.check_style(style, records=RECORDS)
