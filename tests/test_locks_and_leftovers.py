"""One writer at a time, and nothing a killed run left stays: a second ``build`` into the same folder is refused at
once naming the first, a killed run's lock never blocks the next, and its temporaries are removed by the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from classit_data.core.io import write_rows
from tests.helpers import ROOT, one_error_line, run_cli, switchboard_rows, wait_for, wait_gone

pytestmark = pytest.mark.serial  # a second writer started while the first is at work: timing on a busy machine

SWITCHBOARD = ROOT / "samples" / "switchboard_sample.train"


def _start(*args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "classit_data", *map(str, args)],
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


def test_a_second_build_into_the_same_folder_is_refused_at_once_naming_the_first(tmp_path):
    """Item 9: the second starts once the first holds its lock; the first finishes whole, the second touched
    nothing of it."""
    write_rows(switchboard_rows(n_conversations=60), tmp_path / "items.parquet")
    first = _start("build", "--switchboard", "items.parquet", "--out", "CLASS_IT", cwd=tmp_path)
    wait_for(lambda: (tmp_path / ".CLASS_IT.lock").exists() or first.poll() is not None, 120)
    assert first.poll() is None, "the first build ended before the second started"
    tree = psutil.Process(first.pid).children(recursive=True)  # the command under its supervisor
    held = [psutil.Process(first.pid), *tree]
    for proc in held:  # the first holds its lock until the second has tried: no race between the two
        proc.suspend()
    started = time.monotonic()
    try:
        second = run_cli("build", "--switchboard", "items.parquet", "--out", "CLASS_IT", "--json", cwd=tmp_path)
    finally:
        for proc in held:
            proc.resume()
    line = one_error_line(second, f"pid {first.pid}", "CLASS_IT", "being written by another run")
    assert "build --switchboard items.parquet" in line
    assert time.monotonic() - started < 30  # refused, not waiting for the first
    assert first.wait(300) == 0, first.stderr.read()
    assert (tmp_path / "CLASS_IT" / "build_info.json").is_file()
    assert _hidden(tmp_path) == []  # no lock, staging folder or temporary left
    assert tree and wait_gone(tree, 10) == []  # nothing the first build started outlived it


def test_the_lock_of_a_killed_run_does_not_block_the_next(tmp_path):
    """A ``kill -9`` leaves the lock file; the kernel dropped its lock, so the next run takes it and removes it."""
    write_rows(switchboard_rows(n_conversations=12), tmp_path / "items.parquet")
    first = _start("build", "--switchboard", "items.parquet", "--out", "CLASS_IT", cwd=tmp_path)
    wait_for(lambda: (tmp_path / ".CLASS_IT.lock").exists(), 60)
    tree = psutil.Process(first.pid).children(recursive=True)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert wait_gone(tree, 10) == []  # the command died with its supervisor
    assert (tmp_path / ".CLASS_IT.lock").exists()
    done = run_cli("build", "--switchboard", "items.parquet", "--out", "CLASS_IT", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _hidden(tmp_path) == []


def test_temporaries_a_kill_left_inside_a_temporary_are_removed_by_the_next_run(tmp_path):
    """Item 8: ``..NAME.XXXXXXXX.partial.parquet.YYYYYYYY.tmp``, what a kill during the final write leaves."""
    for command in (
        ["convert-switchboard", SWITCHBOARD, "--out", "o.parquet"],
        ["validate", "o.parquet", "--out", "k.parquet", "--quarantine", "q.parquet", "--report", "r.json"],
    ):
        out = command[command.index("--out") + 1]
        stem, suffix = out.split(".")
        left = [
            tmp_path / f"..{stem}.0123abcd.partial.{suffix}.k2j_x9zq.tmp",
            tmp_path / f".{stem}.89abcdef.partial.{suffix}",
        ]
        for path in left:
            path.write_bytes(b"\0" * 4096)
        done = run_cli(*command, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert not any(p.exists() for p in left)
    assert _hidden(tmp_path) == []
