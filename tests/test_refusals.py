"""Inputs that gave a traceback, or were accepted when they should not be: each is now one line on stderr and
exit 2, through the real CLI, with every earlier file as it was and nothing left behind (items 10 to 18)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.io import write_rows
from tests.helpers import ROOT, one_error_line, run_cli, switchboard_rows, write_corpus

OFFLINE = {"HF_HUB_OFFLINE": "1"}


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def refused(ws: Path, *args, needles=(), module: str = "classit_data") -> str:
    """Run a command in ``ws`` that must be refused: one line, exit 2, every file of ``ws`` as it was."""
    before = fingerprint(ws)
    line = one_error_line(run_cli(*args, module=module, cwd=ws, env=OFFLINE), *needles)
    assert fingerprint(ws) == before
    return line


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("built")
    write_rows(switchboard_rows(n_conversations=4), folder / "items.parquet")
    for args in (
        ["build", "--switchboard", "items.parquet", "--out", "CLASS_IT"],
        ["stats", "items.parquet", "--out", "stats"],
    ):
        done = run_cli(*args, cwd=folder, env=OFFLINE)
        assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def ws(built, tmp_path) -> Path:
    shutil.copytree(built, tmp_path / "ws")
    return tmp_path / "ws"


# --- 10. a Switchboard file with a lone CR, CR-only line ends, random bytes ----------------------------------


@pytest.mark.parametrize(
    "content, line",
    [
        (b"A:\tHello there how are you\nB:\tFine thanks\ra lot\n", 2),
        (b"A:\tHello there how are you\rB:\tFine thanks a lot\r", 1),
        (b"A:\tHello there how are you\r\nB:\tFine thanks a lot\r\nA:\tGood to hear\rthat\r\n", 3),
    ],
)
def test_a_carriage_return_inside_a_line_is_one_line(ws, content, line):
    (ws / "cr.train").write_bytes(content)
    refused(
        ws, "convert-switchboard", "cr.train", "--out", "o.parquet", needles=(f"cr.train:{line}", "carriage return")
    )


def test_random_bytes_are_one_line(ws):
    (ws / "noise.train").write_bytes(bytes(range(256)) * 12 + os.urandom(1000))
    refused(ws, "convert-switchboard", "noise.train", "--out", "o.parquet", needles=("noise.train",))


# --- 11. contamination's settings out of range ------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value", [("--ngram", "0"), ("--ngram", "1000000"), ("--min-sentence-words", "-1"), ("--examples", "-1")]
)
def test_contamination_settings_out_of_range(ws, flag, value):
    evals = ROOT / "tests" / "fixtures" / "eval" / "blimp"
    refused(
        ws,
        "contamination",
        "items.parquet",
        "--eval",
        evals,
        "--out",
        "c.json",
        flag,
        value,
        needles=(f"{flag} {value}",),
    )


# --- 12. report: --samples -1, a damaged build or --previous ----------------------------------------------------


def test_report_samples_below_zero(ws):
    refused(ws, "report", "CLASS_IT", "--samples", "-1", "--out", "page.html", needles=("--samples -1",))


@pytest.mark.parametrize("damage", ["non-UTF-8 record", "non-UTF-8 --previous", "deleted shard", "truncated shard"])
def test_report_on_a_damaged_build(ws, damage):
    shutil.copytree(ws / "CLASS_IT", ws / "D")
    shard = next((ws / "D" / "switchboard").glob("*.parquet"))
    args = ["report", "D", "--out", "page.html"]
    if damage.startswith("non-UTF-8"):
        (ws / "D" / "build_info.json").write_bytes(b"\xff\xfe{}")
        needles = ("build_info.json", "not UTF-8")
        if "previous" in damage:
            args = ["report", "CLASS_IT", "--previous", "D", "--out", "page.html"]
    elif damage == "deleted shard":
        shard.unlink()
        needles = (shard.name, "missing")
    else:
        shard.write_bytes(shard.read_bytes()[:100])
        needles = (shard.name, "damaged shard")
    refused(ws, *args, needles=needles)


# --- 13. build --stats-dir with a stats.json that is no record --------------------------------------------------


@pytest.mark.parametrize("content", [b"{bad", b"\xff\xfe{}", b"[]", b"{}"])
def test_build_with_a_stats_json_that_is_no_record(ws, content):
    (ws / "stats" / "stats.json").write_bytes(content)
    refused(
        ws,
        "build",
        "--switchboard",
        "items.parquet",
        "--stats-dir",
        "stats",
        "--out",
        "B",
        "--json",
        needles=("stats.json",),
    )
    assert not (ws / "B").exists()


# --- 14. click's usage errors, and a first line too long to quote ----------------------------------------------


@pytest.mark.parametrize(
    "args, needle",
    [
        (
            ["convert-switchboard", "x.train", "--out", "o.parquet", "--min-words", "abc"],
            "--min-words abc: not a whole number",
        ),
        (
            [
                "validate",
                "items.parquet",
                "--out",
                "k.parquet",
                "--quarantine",
                "q.parquet",
                "--report",
                "r.json",
                "--max-token-run",
                "1.5",
            ],
            "--max-token-run 1.5",
        ),
        (
            ["convert-switchboard", "x.train", "--out", "o.parquet", "--min-words", "40", "--max-words", "-5"],
            "--max-words",
        ),
        (["convert-switchboard"], "Missing argument"),
        (["no-such-command"], "No such command"),
    ],
)
def test_usage_errors_are_one_line_naming_the_flag(ws, args, needle):
    line = refused(ws, *args, needles=(needle,))
    assert "min_words=" not in line and "Usage:" not in line


def test_a_first_line_too_long_to_read_whole_is_quoted_by_its_start(ws):
    (ws / "long.train").write_text("x" * 200_000 + "\n")
    line = refused(ws, "convert-switchboard", "long.train", "--out", "o.parquet", needles=("unknown format",))
    assert "'xxxxxxxx" in line and "''" not in line


# --- 15-17: accepted when they should not be ---------------------------------------------------------------------


def test_a_shard_size_below_one_row_is_refused(ws):
    refused(
        ws,
        "build",
        "--switchboard",
        "items.parquet",
        "--out",
        "B",
        "--max-shard-size",
        "1",
        "--json",
        needles=("--max-shard-size", "one row"),
    )
    assert not (ws / "B").exists()


def test_passages_whose_text_is_a_number_are_refused(ws):
    pl.DataFrame({"passage_id": ["a", "b"], "article_id": ["1", "2"], "text": [5, 6]}).write_parquet(ws / "p.parquet")
    args = [
        "generate-wiki",
        "--passages",
        "p.parquet",
        "--out",
        "gen",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
    ]
    refused(ws, *args, needles=("p.parquet", "column text"))
    assert not (ws / "gen").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["convert-switchboard", ROOT / "samples" / "switchboard_sample.train", "--out", "o.csv"],
        [
            "convert-switchboard",
            ROOT / "samples" / "switchboard_sample.train",
            "--out",
            "o.parquet",
            "--rejects",
            "r.txt",
        ],
        ["validate", "items.parquet", "--out", "k.csv", "--quarantine", "q.parquet", "--report", "r.json"],
        ["validate", "items.parquet", "--out", "k.parquet", "--quarantine", "q.tsv", "--report", "r.json"],
    ],
)
def test_row_files_named_for_another_format_are_refused(ws, args):
    refused(ws, *args, needles=("must end in .parquet or .jsonl",))


# --- 18. the model is as readable as everything else ------------------------------------------------------------


def test_a_run_folder_is_written_as_the_umask_says(tmp_path):
    write_corpus(tmp_path / "c.txt", lines=120)
    args = ["pretrain", "--corpus", "c.txt", "--model", "tiny", "--max-steps", "1", "--out", "run"]
    old = os.umask(0o022)
    try:
        done = run_cli(*args, module="classit_train", cwd=tmp_path, env=OFFLINE)
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr[-3000:]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert modes["model.safetensors"] == 0o644
    assert set(modes.values()) == {0o644}, modes


def test_a_nul_byte_is_named_by_its_line_and_offset(ws):
    (ws / "nul.txt").write_bytes(b"= = = Title = = =\nSome prose here\x00 and more words.\n\n")
    refused(ws, "prepare-wiki", "nul.txt", "--out", "p.parquet", needles=("nul.txt:2", "NUL byte at offset 33"))
