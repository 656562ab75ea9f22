"""Which inputs are read, and how (``readers.detect``): format detection, folders, ISIP calls, format names."""

from __future__ import annotations

import shutil

import pytest

from classit_data.core.errors import InputError
from classit_data.core.formats import normalize_format
from classit_data.switchboard.readers.detect import FORMAT_ALIASES, FORMATS, detect_format, plan_inputs
from tests.helpers import FIXTURES

FIX = FIXTURES / "switchboard"


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("babylm.train", "babylm"),
        ("pipe/0001.txt", "swda-pipe"),
        ("nltk", "nltk-tagged"),
        ("nltk/switchboard/tagged", "nltk-tagged"),
        ("nltk/switchboard/transcript", "nltk-transcript"),
        ("nltk/switchboard/disfluency", "nltk-disfluency"),
        ("sw_0001_4325.utt.csv", "swda-csv"),
        ("utterances.jsonl", "convokit"),
        ("isip/sw4001A-ms98-a-trans.text", "isip"),
        ("pipe/LICENSE", None),
    ],
)
def test_format_is_detected_from_content(path, fmt):
    assert detect_format(FIX / path) == fmt


def test_mixed_folder_is_read_by_format_and_format_option_filters_it(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(FIX / "babylm.train", folder)
    shutil.copy(FIX / "pipe" / "0001.txt", folder)
    sources, skipped = plan_inputs([folder])
    assert [s.fmt for s in sources] == ["swda-pipe", "babylm"] and not skipped
    sources, skipped = plan_inputs([folder], "babylm")
    assert [s.fmt for s in sources] == ["babylm"] and len(skipped) == 1


@pytest.mark.parametrize(
    ("given", "fmt"),
    [
        (None, None),
        ("babylm", "babylm"),
        (" Pipe ", "swda-pipe"),
        ("nltk", "nltk-tagged"),
        ("ms98", "isip"),
        ("jsonl", "convokit"),
    ],
)
def test_normalize_format_accepts_names_and_aliases(given, fmt):
    assert normalize_format(given, FORMATS, FORMAT_ALIASES) == fmt


def test_normalize_format_refuses_an_unknown_name():
    with pytest.raises(InputError, match="unknown format 'mp3'; choose one of babylm"):
        normalize_format("mp3", FORMATS, FORMAT_ALIASES)
    assert all(normalize_format(f, FORMATS, FORMAT_ALIASES) == f for f in FORMATS)
    with pytest.raises(InputError, match="unknown format 'mp3'; choose one of babylm"):
        plan_inputs([FIX / "babylm.train"], "mp3")


def test_folder_files_in_no_format_and_isip_word_files_are_left_out_with_why():
    sources, skipped = plan_inputs([FIX / "pipe", FIX / "isip"])
    assert [s.fmt for s in sources] == ["swda-pipe", "swda-pipe", "isip"]
    assert skipped == [
        f"{FIX / 'pipe' / 'LICENSE'}: not a Switchboard file",
        f"{FIX / 'isip' / 'sw4001A-ms98-a-word.text'}: ISIP word file (the trans files are read)",
    ]


def test_isip_call_takes_the_place_of_its_first_side():
    side_b, side_a = FIX / "isip" / "sw4001B-ms98-a-trans.text", FIX / "isip" / "sw4001A-ms98-a-trans.text"
    sources, skipped = plan_inputs([side_b, FIX / "pipe" / "0001.txt", side_a])
    assert [s.origin for s in sources] == ["isip:sw4001[A+B]", "swda-pipe:0001.txt"] and not skipped
    assert sources[0].paths == [side_a, side_b]
    with pytest.raises(InputError, match="side A of sw4001 given twice"):
        plan_inputs([side_a, side_a])


def test_a_file_named_directly_must_be_in_a_known_format(tmp_path):
    with pytest.raises(InputError, match="unknown format") as err:
        plan_inputs([FIX / "pipe" / "LICENSE"])
    assert err.value.where == 1
    with pytest.raises(InputError, match="no Switchboard files in this folder"):
        plan_inputs([tmp_path])
    with pytest.raises(InputError, match="no input files given"):
        plan_inputs([])
