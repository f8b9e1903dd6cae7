"""The conformance kit: every registered style passes it, and each deliberately broken style fails with the
exact line a plugin author would read."""

from __future__ import annotations

import subprocess
import sys

import pytest
from engine_styles import MODEL_STYLES, MODELS, TagChat, registered_style

from promptstyles import Part, PartKind, PromptStylesError, Rendered, Style, StyleError, available_styles, get_style
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.testing import PROPERTIES, ConformanceError, Failure, assert_conforms, check_style

ONE = [{"instruction": "Name a colour.", "output": "Red."}]


@pytest.mark.parametrize("name", available_styles())
def test_every_registered_style_conforms(name):
    assert_conforms(registered_style(name))


@pytest.mark.parametrize("folder", list(MODEL_STYLES))
def test_model_styles_conform_with_their_own_tokenizer(folder):
    pytest.importorskip("tokenizers")
    if not (MODELS / folder).is_dir():
        pytest.skip(f"tokenizer folder {MODELS / folder} not found")
    assert_conforms(get_style(MODEL_STYLES[folder]), get_tokenizer(path=MODELS / folder))


class Good(TagChat):
    """A ChatML-like style that conforms: the base of the broken ones below."""

    name = "good"
    special_tokens = ("<|im_start|>", "<|im_end|>")

    @property
    def stop_sequences(self):
        return ("<|im_end|>",)


class NoConcat(Good):
    name = "noconcat"

    def render(self, record):
        return Rendered.of([*self.parts(record), Part("\n", PartKind.END, True)])


class NotPrefix(Good):
    name = "notprefix"

    def parts(self, record, *, generation=False):
        parts = super().parts(record, generation=generation)
        if generation:
            parts[-1] = Part("<|im_start|>assistant\n\n", PartKind.RESPONSE_HEADER, True)
        return parts


class Undeclared(Good):
    name = "undeclared"
    special_tokens = ("<|im_start|>",)


class Lossy(Good):
    name = "lossy"

    def extract_response(self, generated, *, prompt=None):
        return super().extract_response(generated, prompt=prompt)[:-1]


class Untrained(Good):
    """Labels the end marker of the assistant turn as prompt, so ``assistant`` masking never trains it."""

    name = "untrained"

    def parts(self, record, *, generation=False):
        return [Part(p.text, PartKind.PROMPT, True) if p.kind is PartKind.END else p
                for p in super().parts(record, generation=generation)]


class NoStops(Good):
    name = "nostops"

    @property
    def stop_sequences(self):
        return ()


class SplitsMarkers(Good):
    """Cuts record text at its own marker, as a style matching markup in text would."""

    name = "splitsmarkers"

    def parts(self, record, *, generation=False):
        out = []
        for part in super().parts(record, generation=generation):
            pieces = part.text.split("<|im_end|>") if not part.markup else [part.text]
            for n, piece in enumerate(pieces):
                if n:
                    out.append(Part("<|im_end|>", part.kind, True))
                out.append(Part(piece, part.kind, part.markup))
        return out


class Clocked(Good):
    """Writes a counter into its markup, as a style reading the clock would."""

    name = "clocked"
    calls = 0

    def parts(self, record, *, generation=False):
        Clocked.calls += 1
        return [Part(f"#{Clocked.calls}\n", PartKind.SYSTEM, True), *super().parts(record, generation=generation)]


def failures(style, records=ONE, **options) -> list[str]:
    with pytest.raises(ConformanceError) as caught:
        check_style(style, records=records, **options)
    return [str(failure) for failure in caught.value.failures]


def test_a_conforming_style_passes_the_default_battery():
    check_style(Good())


def test_parts_that_do_not_concatenate():
    assert failures(NoConcat()) == [
        "parts concatenate [record 0]: render().text '<|im_start|>user\\nName a colour...rt|>assistant\\nRed."
        "<|im_end|>\\n\\n' != the joined parts '<|im_start|>user\\nName a colour...art|>assistant\\nRed.<|im_end|>"
        "\\n'"]


def test_generation_prompt_that_is_not_a_prefix():
    assert failures(NotPrefix()) == [
        "generation prompt is a prefix [record 0]: generation prompt is not a prefix of the text: they differ at "
        "character 64: '\\n' vs 'Red.<|im_end|>\\n'",
        "extract_response returns the output [record 0]: extract_response gave '<|im_start|>user\\nName a colour.'"
        ", expected 'Red.'",
        "generation ids are a prefix [record 0]: generation prompt ids are not a prefix of the training ids: from "
        "token 13, [198] '\\n' vs [7738, 13, 50258, 198] 'Red.<|im_end|>\\n'",
    ]


def test_undeclared_special_token_of_a_format_family():
    assert failures(Undeclared()) == [
        "special tokens declared [all records]: markup token '<|im_end|>' is special but not in special_tokens"]


def test_declared_special_token_that_no_markup_uses():
    class Overdeclared(Good):
        name = "overdeclared"
        special_tokens = ("<|im_start|>", "<|im_end|>", "<|im_sep|>")

    assert failures(Overdeclared()) == [
        "special tokens declared [all records]: declared special token '<|im_sep|>' appears in no markup"]


def test_plain_text_markers_of_other_formats_are_not_flagged():
    """TinyLlama writes ``<|user|>`` (special in Phi-3) as plain text and declares no ``<|...|>`` token."""
    check_style("tinyllama", properties=["special tokens declared"])
    check_style("phi3-exercise", properties=["special tokens declared"])


def test_response_extractor_that_loses_text():
    assert failures(Lossy()) == [
        "extract_response returns the output [record 0]: extract_response gave 'Red', expected 'Red.'"]


def test_end_marker_that_is_not_trained():
    conversation = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                 {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
    assert failures(Untrained(), records=[*ONE, conversation]) == [
        "end markers are trained [record 0]: end marker '<|im_end|>' at character 68 is not trained under "
        "'assistant' masking (tokens [15])",
        "end markers are trained [record 1]: end marker '<|im_end|>' at character 52 is not trained under "
        "'assistant' masking (tokens [11])",
        "end markers are trained [record 1]: end marker '<|im_end|>' at character 115 is not trained under "
        "'assistant' masking (tokens [24])",
    ]


def test_response_no_stop_sequence_ends():
    assert failures(NoStops()) == [
        "extract_response returns the output [record 0]: extract_response gave 'Red.<|im_end|>', expected 'Red.'",
        "stop sequences end each response [record 0]: assistant turn 1: no stop sequence ends it (stop_sequences "
        "()); the text after it is '<|im_end|>\\n'",
    ]


def test_record_text_cut_at_the_style_own_marker():
    record = {"instruction": "Why <|im_end|>?", "output": "Because."}
    assert failures(SplitsMarkers(), records=[record]) == [
        "record text stays one part [record 0]: record text 'Why <|im_end|>?' is not whole inside one non-markup "
        "part"]


def test_default_battery_puts_the_style_markers_into_record_text():
    lines = failures(SplitsMarkers(), records=None, properties=["record text stays one part"])
    assert lines == [
        f"record text stays one part [markers in text]: record text {text} is not whole inside one non-markup part"
        for text in ("'Explain <|im_start|> <|im_end|... <|im_start|>assistant please.'",
                     "'<|im_start|> <|im_end|> <|im_s...rt|>user <|im_start|>assistant'",
                     "'They are <|im_start|> <|im_end... <|im_start|>assistant indeed.'")] + [
        f"record text stays one part [markers in conversation]: record text {text} is not whole inside one "
        "non-markup part"
        for text in ("'Explain <|im_start|> <|im_end|... <|im_start|>assistant please.'",
                     "'They are <|im_start|> <|im_end... <|im_start|>assistant indeed.'",
                     "'<|im_start|> <|im_end|> <|im_s...rt|>user <|im_start|>assistant'")]


def test_rendering_that_changes_between_calls():
    assert failures(Clocked(), properties=["deterministic"]) == [
        "deterministic [record 0]: a second rendering differs: parts",
        "deterministic [record 0]: a second rendering differs: generation prompt",
    ]


def test_records_a_style_cannot_render_are_named():
    class NoUnicode(Good):
        name = "nounicode"

        def parts(self, record, *, generation=False):
            if "日本語" in repr(record):
                raise StyleError("ASCII only")
            return super().parts(record, generation=generation)

    lines = failures(NoUnicode(), records=None)
    assert lines == ["renders [unicode]: raised StyleError: ASCII only"]


def test_part_wise_ids_that_differ_from_whole_text_ids_are_reported_per_record():
    class PartByPart:
        """gpt2 encoding every part on its own, as a careless tokenizer plugin might."""

        def __init__(self):
            self._inner = get_tokenizer("gpt2")

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def encode_examples(self, examples, *, markup_specials=False):
            joined = [[Part("".join(p.text for p in parts), PartKind.PROMPT)] for parts in examples]
            encoded = self._inner.encode_examples(joined)
            if len(examples[0]) == 1:
                return encoded
            ids = [[i for p in parts for i in self._inner.encode(p.text)] for parts in examples]
            return type(encoded)(ids, self._inner._token_starts(ids))

    with pytest.raises(ConformanceError) as caught:
        check_style(Good(), PartByPart(), [{"instruction": "Say hi.", "output": "hi"}],
                    properties=["part-wise ids equal whole-text ids"])
    assert [str(f) for f in caught.value.failures] == [
        "part-wise ids equal whole-text ids [record 0]: part-wise ids differ from whole-text ids at token 11: "
        "[13, 27, 91, 320] '.<|im' vs [29847, 91, 320, 62] '.<|im_'"]


def test_one_error_lists_every_failure_and_assert_conforms_says_the_same():
    with pytest.raises(ConformanceError) as caught:
        check_style(Lossy(), records=[*ONE, {"instruction": "Name a number.", "output": "Two."}])
    error = caught.value
    assert isinstance(error, PromptStylesError)
    assert error.style == "lossy"
    assert error.failures == [
        Failure("extract_response returns the output", "record 0", "extract_response gave 'Red', expected 'Red.'"),
        Failure("extract_response returns the output", "record 1", "extract_response gave 'Two', expected 'Two.'"),
    ]
    assert str(error) == (
        "style 'lossy' fails 2 conformance check(s):\n"
        "  - extract_response returns the output [record 0]: extract_response gave 'Red', expected 'Red.'\n"
        "  - extract_response returns the output [record 1]: extract_response gave 'Two', expected 'Two.'")
    with pytest.raises(AssertionError) as asserted:
        assert_conforms(Lossy(), records=[*ONE, {"instruction": "Name a number.", "output": "Two."}])
    assert str(asserted.value) == str(error)


@pytest.mark.parametrize("prop", PROPERTIES)
def test_properties_can_be_checked_one_at_a_time(prop):
    assert_conforms("chatml", properties=[prop])


def test_unknown_property_is_refused():
    with pytest.raises(StyleError, match=r"unknown conformance properties \['speed'\]"):
        check_style("chatml", properties=["speed"])


def test_importing_the_kit_does_not_import_pytest():
    code = "import sys, promptstyles.testing; print('pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"



def test_markup_special_in_the_tokenizer_in_use_must_be_declared():
    """No other style's family covers it: the model's own tokenizer says ``<|eot_id|>`` is special."""
    pytest.importorskip("tokenizers")
    folder = MODELS / "llama-3-8b-instruct"
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")

    class EotPlain(Style):
        name = "eotplain"

        def parts(self, record, *, generation=False):
            parts = [Part(record.instruction, PartKind.PROMPT), Part("\nA:", PartKind.RESPONSE_HEADER, True)]
            if not generation:
                parts += [Part(" ", PartKind.RESPONSE, True), Part(record.output, PartKind.RESPONSE),
                          Part("<|eot_id|>", PartKind.END, True)]
            return parts

    assert failures(EotPlain(), tokenizer=get_tokenizer(path=folder), properties=["special tokens declared"]) == [
        "special tokens declared [all records]: markup token '<|eot_id|>' is special but not in special_tokens"]
    check_style(EotPlain(), properties=["special tokens declared"])  # ordinary text for gpt2


def test_declared_tokens_are_looked_for_in_the_battery_too():
    """A user's records without a system prompt do not make command-r's system token look unused."""
    check_style("command-r", records=ONE, properties=["special tokens declared"])
