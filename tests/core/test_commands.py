"""The CLIs' machinery on a small app of its own: options made from settings, --json, progress, exit codes."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import pytest
import typer
from pydantic import BaseModel, Field

from classit_data.core.commands import command, new_app, run_app
from classit_data.core.console import Summary
from classit_data.core.errors import InputError


class ToySettings(BaseModel):
    size: int = Field(3, description="How many.")
    scale: Literal["log", "linear"] = Field("log", description="Axes.")
    strict: bool = Field(False, description="Refuse doubtful rows.")
    name: str | None = Field(None, description="A label.", json_schema_extra={"flags": ["--label", "-l"]})
    words: list[str] = Field(["a"], description="Not a scalar: no flag.")
    hidden: int = Field(1, description="Files only.", json_schema_extra={"cli": False})


def make_app(calls: list[dict]) -> typer.Typer:
    app = new_app("toy", "A toy app.")

    @command(app, "run", ToySettings, progress=True)
    def run_cmd(src: Annotated[str, typer.Argument(help="Input.")], **options) -> Summary:
        """Run the toy stage."""
        calls.append(options)
        if src == "bad":
            raise InputError("not a toy file", src, 3)
        return Summary({"src": src, **options}, f"run -> {src}", {"rows": 1234})

    @command(app, "quiet", ToySettings, exclude=("size",), json_flag=False)
    def quiet_cmd(**options) -> None:
        """No summary, no --json."""
        calls.append(options)

    return app


def test_only_the_options_given_reach_the_stage_with_progress_and_the_table(capsys):
    calls: list[dict] = []
    assert run_app(make_app(calls), "toy", ["run", "in.txt", "--size", "5", "--no-strict", "-l", "x"]) == 0
    assert calls == [{"size": 5, "strict": False, "name": "x", "progress": True}]
    out, err = capsys.readouterr()
    assert out == ""  # the table goes to stderr, stdout stays clean
    assert "run -> in.txt" in err and "1,234" in err


def test_json_prints_the_whole_summary_on_stdout_and_turns_progress_off(capsys):
    calls: list[dict] = []
    assert run_app(make_app(calls), "toy", ["run", "in.txt", "--scale", "linear", "--json"]) == 0
    assert calls == [{"scale": "linear", "progress": False}]
    out, err = capsys.readouterr()
    assert json.loads(out) == {"src": "in.txt", "scale": "linear", "progress": False}
    assert "run ->" not in err


def test_help_shows_each_default_once_and_leaves_out_non_scalar_and_file_only_settings(capsys):
    assert run_app(make_app([]), "toy", ["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "[default: 3]" in text and "[default: log]" in text and text.count("[default:") == 2
    assert "--strict" in text and "--no-strict" in text and "--label" in text and "--json" in text
    assert "--words" not in text and "--hidden" not in text and "--name" not in text


def test_excluded_settings_and_json_flag_off(capsys):
    calls: list[dict] = []
    app = make_app(calls)
    assert run_app(app, "toy", ["quiet", "--strict"]) == 0
    assert calls == [{"strict": True}]
    assert run_app(app, "toy", ["quiet", "--size", "2"]) == 2  # click's usage error
    assert run_app(app, "toy", ["quiet", "--json"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_an_input_error_is_one_line_with_file_and_place_and_exit_code_2(capsys):
    assert run_app(make_app([]), "toy", ["run", "bad"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "error: bad:3: not a toy file"


@pytest.mark.parametrize("value", ["many", "3.5"])
def test_a_bad_value_is_a_usage_error(value, capsys):
    assert run_app(make_app([]), "toy", ["run", "in.txt", "--size", value]) == 2
    assert "--size" in capsys.readouterr().err


def test_a_run_makes_only_its_command_and_the_help_makes_all_in_their_order(capsys):
    app = make_app([])
    assert run_app(app, "toy", ["quiet", "--strict"]) == 0
    assert run_app(app, "toy", ["quiet"]) == 0
    assert [info.name for info in app.registered_commands] == ["quiet"]
    assert run_app(app, "toy", ["--help"]) == 0
    assert [info.name for info in app.registered_commands] == ["run", "quiet"]
    out = capsys.readouterr().out
    assert out.index("run") < out.index("quiet")
