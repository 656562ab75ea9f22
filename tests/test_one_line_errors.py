"""Bad input is one line: ``error: FILE:PLACE: message`` (or the flag), exit code 2, no traceback, no output.

Each test runs the real command in a subprocess, the way a user does, and checks that nothing was written.
Nothing here reaches the network: every run has ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.errors import InputError
from classit_data.core.io import write_rows
from classit_data.core.schema import ITEM_SCHEMA
from classit_data.dataset.build import parse_size
from tests.helpers import ROOT, good_rows, items_frame, one_error_line, passages_frame, switchboard_rows

SAMPLE = ROOT / "samples" / "simplewiki_sample.xml.bz2"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
BINARY = bytes(range(128, 256)) * 4  # not UTF-8 from its first byte


def nothing_in(folder: Path, *before: str) -> None:
    """The refused command left no file or folder in ``folder`` but the inputs named in ``before``."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)


@pytest.fixture
def passages(tmp_path) -> Path:
    return write_rows(passages_frame(), tmp_path / "passages.parquet")


@pytest.fixture
def sw_rows(tmp_path) -> Path:
    return write_rows(switchboard_rows(n_conversations=3, turns=4), tmp_path / "sw.parquet")


def binary_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(BINARY)
    return path


# --- 1. generate-wiki: a huge --max-passages; a bad flag value is the flag's, not the --config file's --------


def test_generate_huge_max_passages_is_one_line(cli, tmp_path, passages):
    r = cli(
        "generate-wiki",
        "--passages",
        passages,
        "--out",
        tmp_path / "o",
        "--max-passages",
        "99999999999999999999999",
        env=OFFLINE,
    )
    one_error_line(r, "--max-passages", "less than or equal to")
    nothing_in(tmp_path, "passages.parquet")


def test_generate_blames_the_flag_not_the_config_file(cli, tmp_path, passages):
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("temperature: 0.3\n")
    r = cli(
        "generate-wiki",
        "--passages",
        passages,
        "--out",
        tmp_path / "o",
        "--config",
        cfg,
        "--chunk-size",
        "0",
        env=OFFLINE,
    )
    line = one_error_line(r, "--chunk-size 0", "greater than or equal to 1")
    assert str(cfg) not in line
    # a bad value in the file is still the file's, by its key
    cfg.write_text("temperature: -1\n")
    r = cli("generate-wiki", "--passages", passages, "--out", tmp_path / "o", "--config", cfg, env=OFFLINE)
    one_error_line(r, f"{cfg}: temperature:")
    nothing_in(tmp_path, "passages.parquet", "gen.yaml")


# --- 2. a binary --config, --validate-config or --generation-run file -----------------------------------------


def test_generate_binary_config_is_one_line(cli, tmp_path, passages):
    cfg = binary_file(tmp_path, "gen.yaml")
    r = cli("generate-wiki", "--passages", passages, "--out", tmp_path / "o", "--config", cfg, env=OFFLINE)
    one_error_line(r, f"error: {cfg}: ", "not UTF-8")
    nothing_in(tmp_path, "passages.parquet", "gen.yaml")


def test_validate_binary_config_is_one_line(cli, tmp_path, sw_rows):
    cfg = binary_file(tmp_path, "thresholds.yaml")
    r = cli(
        "validate",
        sw_rows,
        "--out",
        tmp_path / "kept.parquet",
        "--quarantine",
        tmp_path / "q.parquet",
        "--report",
        tmp_path / "report.json",
        "--config",
        cfg,
        env=OFFLINE,
    )
    one_error_line(r, f"error: {cfg}: ", "not UTF-8")
    nothing_in(tmp_path, "sw.parquet", "thresholds.yaml")


@pytest.mark.parametrize("flag", ["--validate-config", "--generation-run"])
def test_build_binary_side_file_is_one_line(cli, tmp_path, sw_rows, flag):
    side = binary_file(tmp_path, "side.json")
    r = cli("build", "--switchboard", sw_rows, "--out", tmp_path / "ds", flag, side, env=OFFLINE)
    one_error_line(r, f"error: {side}: ", "not UTF-8")
    nothing_in(tmp_path, "sw.parquet", "side.json")


# --- 3. a malformed JSON line is named by its number ------------------------------------------------------


def test_malformed_json_line_names_its_line(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    good = items_frame(good_rows()).write_ndjson().splitlines()
    rows.write_text("\n".join(good[:5] + ['{"source": "switchboard", "prompt": "x",}'] + good[5:]) + "\n")
    r = cli(
        "validate",
        rows,
        "--out",
        tmp_path / "kept.parquet",
        "--quarantine",
        tmp_path / "q.parquet",
        "--report",
        tmp_path / "report.json",
        env=OFFLINE,
    )
    one_error_line(r, f"error: {rows}:6: ", "malformed JSON line")
    nothing_in(tmp_path, "rows.jsonl")


# --- 4. a --model that is nowhere: one line at once, not a traceback after the Hub's retries ----------------


@pytest.mark.serial  # a timing check
def test_generate_unavailable_model_is_one_line_and_quick(cli, tmp_path, passages):
    env = {**OFFLINE, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    started = time.perf_counter()
    r = cli("generate-wiki", "--passages", passages, "--out", tmp_path / "o", "--model", "some-org/not-here", env=env)
    one_error_line(r, "--model 'some-org/not-here'", "model not found locally and the Hub is unreachable")
    assert time.perf_counter() - started < 25
    nothing_in(tmp_path, "passages.parquet")
    r = cli(
        "generate-wiki",
        "--passages",
        passages,
        "--out",
        tmp_path / "o",
        "--model",
        str(tmp_path / "no" / "dir"),
        env=env,
    )
    one_error_line(r, "--model", "no such folder")


def test_require_model_accepts_what_loads_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from classit_data.core.models import require_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    require_model(None)
    require_model("smollm2")
    require_model(str(tmp_path))  # a local folder
    snapshot = tmp_path / "hub" / "models--some-org--cached" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    require_model("some-org/cached")  # a Hub id in the local cache
    with pytest.raises(InputError, match="model not found locally and the Hub is unreachable"):
        require_model("some-org/not-cached")


# --- 6. build: --seed, --max-shard-size in bytes, a source flag whose files hold no row of its source -------


def test_build_negative_seed_is_one_line(cli, tmp_path, sw_rows):
    r = cli("build", "--switchboard", sw_rows, "--out", tmp_path / "ds", "--seed", "-1", env=OFFLINE)
    one_error_line(r, "--seed -1", "greater than or equal to 0")
    nothing_in(tmp_path, "sw.parquet")


def test_max_shard_size_in_plain_bytes(cli, tmp_path, sw_rows):
    assert parse_size("1") == 1 and parse_size(" 2048 ") == 2048 and parse_size("2KB") == 2000
    for bad in ("0", "12 apples", "-5"):
        with pytest.raises(InputError, match="--max-shard-size"):
            parse_size(bad)
        r = cli("build", "--switchboard", sw_rows, "--out", tmp_path / "ds", "--max-shard-size", bad, env=OFFLINE)
        one_error_line(r, "--max-shard-size")
    nothing_in(tmp_path, "sw.parquet")


def test_build_refuses_a_wiki_file_without_wiki_rows(cli, tmp_path, sw_rows):
    r = cli("build", "--switchboard", sw_rows, "--wiki", sw_rows, "--out", tmp_path / "ds", env=OFFLINE)
    one_error_line(r, f"error: {sw_rows}: ", "holds no simple_wiki rows", "switchboard rows", "--switchboard only")
    empty = write_rows(pl.DataFrame(schema=ITEM_SCHEMA), tmp_path / "empty.parquet")
    r = cli("build", "--wiki", empty, "--out", tmp_path / "ds", env=OFFLINE)
    one_error_line(r, f"error: {empty}: ", "holds no simple_wiki rows (it has no rows)")
    nothing_in(tmp_path, "sw.parquet", "empty.parquet")


# --- 7. stats on a file of no rows ------------------------------------------------------------------------


def test_stats_on_zero_rows_is_one_line(cli, tmp_path):
    empty = write_rows(pl.DataFrame(schema=ITEM_SCHEMA), tmp_path / "kept.parquet")
    r = cli("stats", empty, "--out", tmp_path / "stats", env=OFFLINE)
    one_error_line(r, f"error: {empty}: no rows to measure")
    nothing_in(tmp_path, "kept.parquet")


# --- 8. prepare-wiki: --workers below 1; the same dump twice ------------------------------------------------


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_prepare_wiki_workers_below_one(cli, tmp_path, workers):
    r = cli("prepare-wiki", SAMPLE, "--out", tmp_path / "p.parquet", "--workers", workers, env=OFFLINE)
    one_error_line(r, f"--workers {workers}", "greater than or equal to 1")
    nothing_in(tmp_path)


def test_prepare_wiki_refuses_the_same_dump_twice(cli, tmp_path):
    again = tmp_path / "again.xml.bz2"
    again.symlink_to(SAMPLE)
    r = cli("prepare-wiki", SAMPLE, again, "--out", tmp_path / "p.parquet", "--workers", "1", env=OFFLINE)
    one_error_line(r, f"error: {again}: given twice")
    nothing_in(tmp_path, "again.xml.bz2")
