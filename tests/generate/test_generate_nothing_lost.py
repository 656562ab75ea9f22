"""A ``generate-wiki`` rerun that would make fewer rows than its folder's chunk files hold replaces nothing, and
a second run into the same files is refused while the first is alive."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.generate.openai_stub import StubServer
from tests.helpers import RAY_ENV, ROOT, kill_all, one_error_line, stub_args, wait_for


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_smaller_max_passages_is_refused_and_replaces_nothing(reference, many, stub, tmp_path, generate_cli):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    before = _fingerprint(out)
    proc = generate_cli(*stub_args(many, out, stub, "--max-passages", "3"), env=RAY_ENV)
    one_error_line(proc, "--max-passages 3 leaves out", "nothing was replaced")
    assert _fingerprint(out) == before


def test_a_second_writer_of_the_same_folder_is_refused_naming_the_first(many, tmp_path, generate_cli):
    """Item 9 for generate-wiki: the lock is taken before any engine starts; a slow server keeps the first alive."""
    stub = StubServer(latency=0.5)
    out = tmp_path / "out"
    slow = [
        sys.executable,
        "-m",
        "classit_data",
        "generate-wiki",
        *map(str, stub_args(many, out, stub, "--chunk-size", "1")),
    ]
    first = subprocess.Popen(
        slow, cwd=ROOT, env={**__import__("os").environ, **RAY_ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: (out / ".qa.parquet.lock").exists(), 60)
        time.sleep(0.5)
        second = generate_cli(*stub_args(many, out, stub), env=RAY_ENV)
        one_error_line(second, f"pid {first.pid}", "being written by another run")
        assert first.wait(240) == 0, first.stderr.read()[-2000:] if first.stderr else ""
    finally:
        kill_all([psutil.Process(first.pid)] if first.poll() is None else [])
        stub.stop()
    assert not list(out.glob(".*.lock")) and not list(out.glob("*.tmp"))
