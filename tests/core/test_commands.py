"""The CLIs' machinery on a small app of its own: options of settings, --json, exit codes, one load of settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer
from pydantic import Field

from classit_data.core.commands import JsonFlag, given, new_app, run_app, setting
from classit_data.core.errors import InputError
from classit_data.core.settings import FILE_ONLY, Flag, Settings
from classit_data.core.summary import Summary


class ToySettings(Settings):
    size: int = Field(3, ge=1, description="How many.")
    scale: Literal["log", "linear"] = Field("log", description="Axes.")
    strict: bool = Field(False, description="Refuse doubtful rows.")
    name: Annotated[str | None, Flag("--label", "-l")] = Field(None, description="A label.")
    words: list[str] = Field(["a"], description="Not a scalar: no flag.")
    tags: Annotated[list[str], Flag("--tag")] = Field([], description="Repeatable.")
    hidden: Annotated[int, FILE_ONLY] = Field(1, description="Files only.")


class ToySummary(Summary):
    src: str
    rows_read: int
    settings: dict

    def title(self) -> str:
        return f"run -> {self.src}"


def make_app(calls: list[ToySettings]) -> typer.Typer:
    app = new_app("toy", "A toy app.")

    @app.command("run")
    def run_cmd(
        src: Annotated[str, typer.Argument(help="Input.")],
        config: Annotated[str | None, typer.Option(help="Settings file.")] = None,
        size: Annotated[int | None, setting(ToySettings, "size")] = None,
        scale: Annotated[str | None, setting(ToySettings, "scale")] = None,
        strict: Annotated[bool | None, setting(ToySettings, "strict")] = None,
        name: Annotated[str | None, setting(ToySettings, "name")] = None,
        tags: Annotated[list[str] | None, setting(ToySettings, "tags")] = None,
        json_summary: JsonFlag = False,
    ) -> None:
        """Run the toy stage."""
        settings = ToySettings.load(config, **given(ToySettings, locals()))
        calls.append(settings)
        if src == "bad":
            raise InputError("not a toy file", src, 3)
        ToySummary(src=src, rows_read=1234, settings=settings.model_dump()).show(json_summary)

    return app


def test_given_options_overrule_the_defaults_and_the_table_goes_to_stderr(capsys):
    calls: list[ToySettings] = []
    assert run_app(make_app(calls), "toy", ["run", "in.txt", "--size", "5", "--no-strict", "-l", "x"]) == 0
    assert calls == [ToySettings(size=5, strict=False, name="x")]
    out, err = capsys.readouterr()
    assert out == ""  # the table goes to stderr, stdout stays clean
    assert "run -> in.txt" in err and "1,234" in err


def test_a_settings_file_sits_between_the_defaults_and_the_flags(tmp_path):
    file = tmp_path / "toy.yaml"
    file.write_text("size: 7\nscale: linear\nhidden: 9\nwords: [b, c]\n")
    calls: list[ToySettings] = []
    assert (
        run_app(
            make_app(calls), "toy", ["run", "in.txt", "--config", str(file), "--size", "2", "--tag", "p", "--tag", "q"]
        )
        == 0
    )
    assert calls == [ToySettings(size=2, scale="linear", hidden=9, words=["b", "c"], tags=["p", "q"])]


def test_json_prints_the_whole_summary_on_stdout(capsys):
    assert run_app(make_app([]), "toy", ["run", "in.txt", "--scale", "linear", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["src"] == "in.txt" and data["rows_read"] == 1234 and data["settings"]["scale"] == "linear"
    assert "run ->" not in err


def test_help_shows_each_default_once_and_flags_as_flags(capsys):
    assert run_app(make_app([]), "toy", ["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "[default: 3]" in text and "[default: log]" in text and text.count("[default:") == 2
    assert "--strict / --no-strict" in text and "--label" in text and "--tag" in text
    assert "--json Print the summary" in text  # a flag takes no value
    assert "--words" not in text and "--hidden" not in text and "--name" not in text


def test_the_options_of_the_settings_follow_the_model():
    specs = ToySettings.flag_specs()
    assert list(specs) == ["size", "scale", "strict", "name", "tags"]
    assert specs["name"].flags == ("--label", "-l") and specs["tags"].multiple
    assert ToySettings.flag_of("name") == "--label" and ToySettings.flag_of("hidden") == "hidden"


def test_an_input_error_is_one_line_with_file_and_place_and_exit_code_2(capsys):
    assert run_app(make_app([]), "toy", ["run", "bad"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "error: bad:3: not a toy file"


@pytest.mark.parametrize("value", ["many", "3.5"])
def test_a_value_of_the_wrong_type_is_a_usage_error(value, capsys):
    assert run_app(make_app([]), "toy", ["run", "in.txt", "--size", value]) == 2
    assert "--size" in capsys.readouterr().err


def test_a_value_out_of_range_is_one_line_naming_its_flag(capsys):
    assert run_app(make_app([]), "toy", ["run", "in.txt", "--size", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --size 0: Input should be greater than or equal to 1"


def test_a_bad_value_in_the_settings_file_names_the_file_and_key(tmp_path, capsys):
    file = tmp_path / "toy.yaml"
    file.write_text("size: 0\n")
    assert run_app(make_app([]), "toy", ["run", "in.txt", "--config", str(file)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {file}: size: Input should be greater than or equal to 1"
    file.write_text("sizes: 2\n")
    assert run_app(make_app([]), "toy", ["run", "in.txt", "--config", str(file)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {file}: sizes: unknown setting"


def test_load_takes_a_mapping_and_skips_what_was_not_given():
    assert ToySettings.load({"size": 4}, size=None, scale="linear") == ToySettings(size=4, scale="linear")
    assert ToySettings.load() == ToySettings()
    with pytest.raises(InputError, match="unknown setting colour"):
        ToySettings.load(None, colour="red")


def test_a_settings_file_that_is_no_mapping_is_one_line(tmp_path):
    file = Path(tmp_path / "toy.yaml")
    file.write_text("- 1\n- 2\n")
    with pytest.raises(InputError) as err:
        ToySettings.load(file)
    assert str(file) in err.value.one_line()


def test_the_commands_keep_the_order_they_were_declared_in(capsys):
    app = make_app([])

    @app.command("quiet")
    def quiet_cmd() -> None:
        """Nothing."""

    assert run_app(app, "toy", ["--help"]) == 0
    out = capsys.readouterr().out
    assert out.index("run") < out.index("quiet")


def test_a_command_reads_the_command_line_that_started_it(capsys):
    from classit_data.core.commands import command_line

    app = new_app("toy", "A toy app.")
    seen: list[str | None] = []

    @app.command("record")
    def record_cmd(ctx: typer.Context, name: Annotated[str, typer.Option(help="A name.")] = "x") -> None:
        """Record the command line."""
        seen.append(command_line(ctx))

    @app.command("other")
    def other_cmd() -> None:
        """Nothing."""

    assert run_app(app, "toy", ["record", "--name", "two words"]) == 0
    assert seen == ["toy record --name 'two words'"]
