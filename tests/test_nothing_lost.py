"""Every command, as a user runs it: an output that is an input or another output is refused before any
work, an unwritable output fails at once, and in every failure no earlier output is replaced."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from classit_data.core.io import write_rows
from tests.helpers import FIXTURES, ROOT, one_error_line, switchboard_rows

SWITCHBOARD = ROOT / "samples" / "switchboard_sample.train"
WIKI = ROOT / "samples" / "simplewiki_sample.xml.bz2"


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content's hash: what must not change when a command fails."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def items(tmp_path) -> Path:
    return write_rows(switchboard_rows(n_conversations=4), tmp_path / "items.parquet")


@pytest.fixture
def validated(tmp_path, items, cli) -> Path:
    """An earlier good validate run in ``tmp_path``: kept.parquet, q.parquet, r.json, r.md."""
    result = cli(
        "validate",
        items,
        "--out",
        tmp_path / "kept.parquet",
        "--quarantine",
        tmp_path / "q.parquet",
        "--report",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stderr
    return tmp_path


VALIDATE_COLLISIONS = {
    "out is report": (
        ["--out", "k.parquet", "--quarantine", "q.parquet", "--report", "k.parquet"],
        "--out and --report are the same file",
    ),
    "out is quarantine": (
        ["--out", "k.parquet", "--quarantine", "./k.parquet", "--report", "r.json"],
        "--out and --quarantine are the same file",
    ),
    "out is the input": (
        ["--out", "items.parquet", "--quarantine", "q.parquet", "--report", "r.json"],
        "--out is an input",
    ),
    "quarantine is the input": (
        ["--out", "k.parquet", "--quarantine", "items.parquet", "--report", "r.json"],
        "--quarantine is an input",
    ),
    "report's markdown is the quarantine": (
        ["--out", "k.parquet", "--quarantine", "r.md", "--report", "r.json"],
        "--quarantine must end in .parquet or .jsonl",  # refused for its name before it could collide
    ),
}


@pytest.mark.parametrize("case", list(VALIDATE_COLLISIONS))
def test_validate_refuses_colliding_paths_and_touches_nothing(case, tmp_path, items, cli):
    flags, message = VALIDATE_COLLISIONS[case]
    before = _fingerprint(tmp_path)
    result = cli("validate", "items.parquet", *flags, cwd=tmp_path)
    one_error_line(result, message)
    assert _fingerprint(tmp_path) == before


@pytest.mark.parametrize("flag", ["--out", "--quarantine", "--report"])
@pytest.mark.parametrize("place", ["/proc/x.parquet", "a_folder", "a_file/x.parquet"])
def test_validate_with_one_unwritable_output_replaces_none(flag, place, validated, items, cli):
    (validated / "a_folder").mkdir()
    (validated / "a_file").write_text("a file, not a folder")
    before = _fingerprint(validated)
    paths = {"--out": "kept.parquet", "--quarantine": "q.parquet", "--report": "r.json", flag: place}
    result = cli("validate", items, *[x for pair in paths.items() for x in pair], "--no-dedup", cwd=validated)
    one_error_line(result, flag)
    assert _fingerprint(validated) == before  # the earlier kept rows, quarantine and report are all intact
    assert not [p for p in validated.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp")]


def test_convert_switchboard_refuses_colliding_paths(tmp_path, cli):
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "switchboard.train"
    source.write_bytes(SWITCHBOARD.read_bytes())
    before = _fingerprint(tmp_path)
    one_error_line(
        cli("convert-switchboard", source, "--out", tmp_path / "o.parquet", "--rejects", tmp_path / "o.parquet"),
        "--out and --rejects are the same file",
    )
    one_error_line(cli("convert-switchboard", source, "--out", source), "--out must end in .parquet or .jsonl")
    one_error_line(cli("convert-switchboard", tmp_path / "in", "--out", tmp_path / "in" / "x.parquet"), "is inside")
    one_error_line(
        cli("convert-switchboard", tmp_path / "in", "--out", tmp_path / "x.parquet", "--rejects", source),
        "--rejects must end in .parquet or .jsonl",
    )
    assert _fingerprint(tmp_path) == before


def test_convert_switchboard_with_unwritable_rejects_keeps_the_earlier_items(tmp_path, cli):
    out = tmp_path / "o.parquet"
    assert cli("convert-switchboard", SWITCHBOARD, "--out", out).returncode == 0
    before = _fingerprint(tmp_path)
    one_error_line(
        cli("convert-switchboard", SWITCHBOARD, "--out", out, "--context-turns", "1", "--rejects", "/proc/r.parquet"),
        "--rejects",
    )
    assert _fingerprint(tmp_path) == before


def test_prepare_wiki_refuses_its_input_as_output(tmp_path, cli):
    dump = tmp_path / "dump.jsonl"
    assert cli("prepare-wiki", WIKI, "--out", dump, "--workers", "1").returncode == 0
    before = _fingerprint(tmp_path)
    one_error_line(cli("prepare-wiki", dump, "--out", dump, "--workers", "1"), "--out is an input")
    one_error_line(cli("prepare-wiki", WIKI, "--out", "/proc/p.parquet", "--workers", "1"), "--out")
    assert _fingerprint(tmp_path) == before


def test_stats_with_an_unwritable_folder_keeps_the_earlier_files(tmp_path, items, cli):
    out = tmp_path / "stats"
    assert cli("stats", items, "--out", out).returncode == 0
    (out / "figure1.svg").unlink()
    (out / "figure1.svg").mkdir()  # a folder where stats writes a file: the last of its outputs fails
    before = _fingerprint(tmp_path)
    one_error_line(cli("stats", items, "--out", out), "figure1.svg")
    assert _fingerprint(tmp_path) == before
    one_error_line(cli("stats", items, "--out", items), "not a folder")


def test_eval_refuses_data_as_output(tmp_path, cli):
    data = FIXTURES / "eval"
    blimp = next(p for p in sorted(data.rglob("*.jsonl")))
    copy = tmp_path / blimp.name
    copy.write_bytes(blimp.read_bytes())
    result = cli(
        "eval", "--model", "embedded", "--task", "blimp", "--data", copy, "--out", copy, module="classit_train"
    )
    one_error_line(result, "--out is --data")
    assert copy.read_bytes() == blimp.read_bytes()
