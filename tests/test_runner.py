"""The test runner as `make test` starts it: the tests of one ``xdist_group`` (one Ray cluster, one module's vLLM
engines at a time) run on one worker, one after another, while the others spread over the workers."""

from __future__ import annotations

import os
import subprocess
import sys

GROUPED = """
import os, time
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("cluster")


@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    (Path(os.environ["SEEN"]) / f"grouped-{i}").write_text(os.environ["PYTEST_XDIST_WORKER"])
    time.sleep(0.2)
"""
FREE = """
import os, time
from pathlib import Path

import pytest


@pytest.mark.parametrize("i", range(8))
def test_free(i):
    (Path(os.environ["SEEN"]) / f"free-{i}").write_text(os.environ["PYTEST_XDIST_WORKER"])
    time.sleep(0.2)
"""


def test_the_tests_of_one_group_run_on_one_worker_and_the_others_on_both(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_free.py").write_text(FREE)
    seen_in = tmp_path / "seen"
    seen_in.mkdir()
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", str(tmp_path)]
    env = {**os.environ, "SEEN": str(seen_in)}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen = {p.name: p.read_text() for p in seen_in.iterdir()}
    grouped = {v for k, v in seen.items() if k.startswith("grouped-")}
    free = {v for k, v in seen.items() if k.startswith("free-")}
    assert len([k for k in seen if k.startswith("grouped-")]) == 4 and len(grouped) == 1, seen
    assert free == {"gw0", "gw1"}, seen
