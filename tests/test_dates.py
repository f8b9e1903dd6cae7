"""Dates as the model's template writes them: an ISO date (as every ``--option date=`` is) is formatted as
``26 Jul 2024``, a string in another form is refused, and an exported dated style computes its date when it
renders, as the official template does, with the caller's ``date_string`` first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from promptstyles import StyleError, get_style, load_config, to_record
from promptstyles.cli import main
from promptstyles.styles.export import chat_template

transformers = pytest.importorskip("transformers")
pytest.importorskip("jinja2")

MODELS = Path(__file__).resolve().parent.parent.parent / "shared" / "models"
TEMPLATES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"
OFFICIAL = {"llama3.1": TEMPLATES / "llama-3.1-8b-instruct.jinja",
            "llama3.2": TEMPLATES / "llama-3.2-3b-instruct.jinja"}
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}]
TODAY = f"{dt.date.today():%d %b %Y}"


@pytest.fixture(scope="module")
def reference():
    folder = MODELS / "llama-3-8b-instruct"
    if not folder.is_dir():
        pytest.skip(f"tokenizer folder {folder} not found")
    tokenizer = transformers.PreTrainedTokenizerFast.from_pretrained(str(folder))

    def render(template: str, **options: object) -> str:
        return tokenizer.apply_chat_template(CHAT, chat_template=template, tokenize=False, **options)

    return render


def _ours(style) -> str:
    return style.render(to_record({"messages": CHAT})).text


@pytest.mark.parametrize("name", ["llama3.1", "llama3.2"])
@pytest.mark.parametrize(("given", "written"), [("2024-07-26", "26 Jul 2024"), ("2025-02-02", "02 Feb 2025"),
                                                ("2024-10-03T08:30:00", "03 Oct 2024"), (" 2023-12-31 ", "31 Dec 2023"),
                                                ("5 Mar 2025", "5 Mar 2025"), (dt.date(2024, 1, 9), "09 Jan 2024")])
def test_an_iso_date_is_written_as_the_template_writes_it(name: str, given: object, written: str, reference) -> None:
    official = reference(OFFICIAL[name].read_text(encoding="utf-8"), date_string=written)
    assert f"Today Date: {written}\n\n" in official
    assert _ours(get_style(name, date=given)) == official


@pytest.mark.parametrize("given", ["26/07/2024", "July 26, 2024", "2024-13-01", "2024-02-30", "Jul 2024", "today"])
def test_a_date_in_another_form_is_refused(given: str) -> None:
    with pytest.raises(StyleError) as caught:
        get_style("llama3.1", date=given)
    assert str(caught.value) == (f"style 'llama3.1': option 'date' {given!r} is not a date as its template writes it, "
                                 "such as '26 Jul 2024', or an ISO date such as '2024-07-26'")


def test_the_command_line_option_is_an_iso_string(capsys: pytest.CaptureFixture[str]) -> None:
    record = '{"instruction": "Hi", "output": "Yo"}'
    assert main(["render", "llama3.1", "--json", record, "--option", "date=2024-07-26"]) == 0
    assert "Today Date: 26 Jul 2024\n\n" in capsys.readouterr().out


def test_a_declared_date_takes_an_iso_date_from_yaml_and_from_a_string() -> None:
    declared = {"name": "dated", "system": {"prefix": "Date: {date}\n"}, "assistant": {"header": "A: "},
                "user": {"prefix": "U: "}}
    for date in (dt.date(2024, 7, 26), "2024-07-26"):
        config = load_config({"style": declared, "style_options": {"date": date}})
        assert _ours(config.build_style()).startswith("Date: 26 Jul 2024\nBe brief.")
    text = yaml.safe_dump({"style": declared}) + "style_options: {date: 2024-07-26}\n"
    assert isinstance(yaml.safe_load(text)["style_options"]["date"], dt.date)  # YAML reads it as a date


@pytest.mark.parametrize("name", ["llama3.1", "llama3.2"])
def test_an_export_computes_the_date_as_the_official_template_does(name: str, reference) -> None:
    """Without ``date_string`` both templates write their own default (3.1: 26 Jul 2024; 3.2: today, by
    ``strftime_now`` when rendering); with it, both write it."""
    exported, official = chat_template(get_style(name)), OFFICIAL[name].read_text(encoding="utf-8")
    assert TODAY not in exported  # no date baked in for 3.2; 3.1's fixed default is no day of today's
    assert reference(exported) == reference(official) == _ours(get_style(name))
    for written in ("01 Jan 2030", "3 Mar 1999"):
        assert reference(exported, date_string=written) == reference(official, date_string=written)
        assert f"Today Date: {written}\n\n" in reference(exported, date_string=written)


def test_an_export_of_a_given_date_makes_it_the_default(reference) -> None:
    exported = chat_template(get_style("llama3.2", date="2024-10-03"))
    assert reference(exported) == _ours(get_style("llama3.2", date="2024-10-03"))
    assert "Today Date: 03 Oct 2024\n\n" in reference(exported)
    assert "Today Date: 01 Jan 2030\n\n" in reference(exported, date_string="01 Jan 2030")


def test_an_exported_declared_style_dates_itself_when_it_renders(reference) -> None:
    declared = {"name": "dated", "system": {"prefix": "Date: {date}\n"}, "assistant": {"header": "A: "},
                "user": {"prefix": "U: "}}
    exported = chat_template(load_config({"style": declared}).build_style())
    assert "strftime_now(" in exported and TODAY not in exported
    assert reference(exported).startswith(f"Date: {TODAY}\nBe brief.U: Hi")
    assert reference(exported, date_string="01 Jan 2030").startswith("Date: 01 Jan 2030\n")
    in_bos = chat_template(load_config({"style": {**declared, "bos": "[{date}]"}}).build_style())
    assert reference(in_bos, date_string="01 Jan 2030").startswith("[01 Jan 2030]Date: 01 Jan 2030\n")
    undated = {**declared, "system": {"prefix": "S: "}}
    assert "date_string" not in chat_template(load_config({"style": undated}).build_style())


def test_without_strftime_now_the_export_falls_back_as_the_official_template_does() -> None:
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    environment.globals["raise_exception"] = raise_exception

    def render(template: str) -> str:
        return environment.from_string(template).render(messages=CHAT, bos_token="<|begin_of_text|>",
                                                         add_generation_prompt=False)

    official = render(OFFICIAL["llama3.2"].read_text(encoding="utf-8"))
    assert "Today Date: 26 Jul 2024\n\n" in official
    assert render(chat_template(get_style("llama3.2"))) == official
    declared = {"name": "dated", "system": {"prefix": "Date: {date}\n"}, "assistant": {"header": "A: "},
                "user": {"prefix": "U: "}}
    with pytest.raises(TemplateError, match="^this renderer has no strftime_now: pass date_string$"):
        render(chat_template(load_config({"style": declared}).build_style()))
