"""The settings of ``convert-switchboard`` (``ConvertConfig``): defaults, checks, and how a mistake reads."""

from __future__ import annotations

import pytest

from classit_data.core.errors import InputError
from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.convert import convert_switchboard
from tests.helpers import FIXTURES

FIX = FIXTURES / "switchboard"


def test_defaults():
    config = ConvertConfig.load(None)
    assert config.model_dump() == {
        "fmt": None,
        "context_turns": 0,
        "drop_fillers": False,
        "min_words": 3,
        "max_words": 200,
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"context_turns": -1}, "--context-turns must be 0 or more, not -1"),
        ({"min_words": 5, "max_words": 4}, "need 0 <= --min-words <= --max-words and --max-words >= 1 (got 5 and 4)"),
        ({"min_words": -1}, "need 0 <= --min-words <= --max-words and --max-words >= 1 (got -1 and 200)"),
        ({"max_words": 0, "min_words": 0}, "need 0 <= --min-words <= --max-words and --max-words >= 1 (got 0 and 0)"),
        ({"min_word": 3}, "unknown setting min_word"),
    ],
)
def test_a_bad_setting_is_one_input_error_in_the_command_line_words(options, message):
    with pytest.raises(InputError) as err:
        ConvertConfig.load(None, **options)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"context_turns": -1}, "context-turns"),
        ({"min_words": 5, "max_words": 4}, "min-words"),
        ({"fmt": "wav"}, "unknown format"),
    ],
)
def test_bad_options(tmp_path, kw, msg):
    with pytest.raises(InputError, match=msg):
        convert_switchboard(
            [FIX / "babylm.train"], tmp_path / "o.parquet", ConvertConfig.load(None, **kw), progress=False
        )


def test_help_shows_each_setting_with_its_default(cli):
    res = cli("convert-switchboard", "--help")
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    for flag in ("--format", "--context-turns", "--drop-fillers", "--min-words", "--max-words", "--rejects"):
        assert flag in text
    assert "[default: 3]" in text and "[default: 200]" in text
