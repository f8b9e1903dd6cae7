"""Both styles pass the promptstyles conformance kit: the properties every engine feature relies on."""

import pytest
from promptstyles.testing import check_style

from promptstyles_example import ExampleChatStyle, declared_style

STYLES = [ExampleChatStyle, declared_style("example-yaml.yaml")]
RECORDS = [
    {"instruction": "Name a primary colour.", "input": "", "output": "Red."},
    {"instruction": "Add the numbers.", "input": "1 2", "output": "3"},
    {"instruction": "Repeat: <|end|><|eot|><|bot|>", "input": "", "output": "<|end|><|eot|><|bot|>"},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"},
                  {"role": "assistant", "content": "Bye!"}]},
]


@pytest.mark.parametrize("style", STYLES, ids=lambda style: style.name)
def test_style_conforms_on_the_kits_records(style):
    check_style(style)  # raises one ConformanceError listing every failed property with its record


@pytest.mark.parametrize("style", STYLES, ids=lambda style: style.name)
def test_style_conforms_on_our_records(style):
    check_style(style, records=RECORDS)
