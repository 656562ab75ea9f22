"""`classit-data convert-switchboard` as a user runs it: summary, bad input, atomic output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import FIXTURES

FIX = FIXTURES / "switchboard"
ERROR_LINE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+): .+$")


def test_cli_converts_and_prints_summary(cli, tmp_path):
    out = tmp_path / "items.parquet"
    res = cli("convert-switchboard", FIX / "babylm.train", FIX / "pipe", "--out", out, "--context-turns", "1")
    assert res.returncode == 0, res.stderr
    for word in ("conversations", "turns", "items", "dropped: prompt_too_short", "words"):
        assert word in res.stderr
    rows = pl.read_parquet(out)
    assert rows.height > 0 and set(rows["source"]) == {"switchboard"}
    assert "left out:" in res.stderr and "LICENSE" in res.stderr


def test_cli_json_summary_matches_the_file(cli, tmp_path):
    out = tmp_path / "items.jsonl"
    res = cli(
        "convert-switchboard",
        FIX / "sw_0001_4325.utt.csv",
        "--out",
        out,
        "--json",
        "--min-words",
        "1",
        "--max-words",
        "50",
        "--drop-fillers",
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["items"] == len(out.read_text().splitlines())
    assert summary["config"] == {
        "format": None,
        "context_turns": 0,
        "drop_fillers": True,
        "min_words": 1,
        "max_words": 50,
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "fmt", "line", "msg"),
    [
        ("unknown.txt", b"hello there\nthis is not switchboard\n", None, 1, "unknown format"),
        ("empty.train", b"", None, None, "empty file"),
        ("blank.train", b"\n\n  \n", None, None, "empty file"),
        ("bad.train", b"A:\tOkay.\nB:\tSure.\nA:\tcaf\xe9 time\n", None, 3, "undecodable"),
        ("bad_line.train", b"A:\tOkay.\nB:\tSure.\nthis line has no speaker\n", None, 3, "malformed line"),
        ("bad.txt", b"A|Okay.|o\nB|Sure|\nB no pipes here\n", None, 3, "malformed line"),
        ("forced.txt", b"A|Okay.|o\n", "babylm", 1, "malformed line"),
        ("bad.utt.csv", b"conversation_no,caller,text\n1,A,hi there\n1,B\n", None, 3, "malformed row"),
        (
            "bad.jsonl",
            b'{"speaker": "A", "conversation_id": "1", "text": "hi"}\n{"speaker": "B", \n',
            None,
            2,
            "malformed JSON",
        ),
        (
            "nl.jsonl",
            b'{"speaker": "A", "conversation_id": "1", "text": "hi"}\n{"speaker": "B", "text": "yo"}\n',
            None,
            2,
            "without conversation_id",
        ),
        ("tagged", b"A.1: Hi/UH ./.\nB.2: Yes/UH ./.\nnot a turn\n", "nltk-tagged", 3, "malformed line"),
        ("swX.text", b"sw4A-ms98-a-0001 0.0 1.0 hi\nsw4A-ms98-a-0002 1.0 oops\n", None, None, "side A"),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line(cli, tmp_path, name, data, fmt, line, msg):
    src = _write(tmp_path / name, data)
    out = tmp_path / "items.parquet"
    args = ["convert-switchboard", src, "--out", out] + (["--format", fmt] if fmt else [])
    res = cli(*args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith(f"error: {src}")
    assert msg in lines[0]
    if line is not None:
        m = ERROR_LINE.match(lines[0])
        assert m and int(m["line"]) == line, lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".items.parquet.*"))  # no temporary file left behind


def test_isip_malformed_segment_names_its_line(cli, tmp_path):
    a = _write(tmp_path / "sw4A.text", b"sw4A-ms98-a-0001 0.0 1.0 hi\nsw4A-ms98-a-0002 1.0 oops\n")
    b = _write(tmp_path / "sw4B.text", b"sw4B-ms98-a-0001 0.5 1.5 hello\n")
    res = cli("convert-switchboard", a, b, "--out", tmp_path / "o.parquet")
    assert res.returncode == 2 and res.stderr.strip().startswith(f"error: {a}:2: malformed line")


def test_failed_run_leaves_earlier_output_untouched(cli, tmp_path):
    out = tmp_path / "items.parquet"
    assert cli("convert-switchboard", FIX / "babylm.train", "--out", out).returncode == 0
    before = out.read_bytes()
    # a good file first, then a bad one: nothing is written, the old file stays
    bad = _write(tmp_path / "bad.train", b"A:\tfine\n\xff\xfe\n")
    res = cli("convert-switchboard", FIX / "pipe", bad, "--out", out)
    assert res.returncode == 2 and f"{bad}:2:" in res.stderr
    assert out.read_bytes() == before


def test_missing_input_and_unknown_format_option(cli, tmp_path):
    res = cli("convert-switchboard", tmp_path / "nope.train", "--out", tmp_path / "o.parquet")
    assert res.returncode == 2 and "no such file" in res.stderr
    res = cli("convert-switchboard", FIX / "babylm.train", "--out", tmp_path / "o.parquet", "--format", "mp3")
    assert res.returncode == 2 and "unknown format 'mp3'" in res.stderr
    assert not (tmp_path / "o.parquet").exists()
