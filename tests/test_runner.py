"""The test runner as `make test` starts it (``tests/scheduling.py``): the tests of one ``xdist_group`` (one Ray
cluster, one module's vLLM engines at a time) run on one worker, one after another; every other module runs
whole on one worker, so a module-scoped fixture is made once; the groups and the slow modules start first."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.helpers import ROOT

GROUPED = """
import os, time
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("cluster")


@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    (Path(os.environ["SEEN"]) / f"grouped-{i}").write_text(f"{os.environ['PYTEST_XDIST_WORKER']} {time.time()}")
    time.sleep(0.2)
"""
#: a module with a module-scoped fixture, which writes a file each time it is made
MODULE = """
import os, time, uuid
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def made():
    (Path(os.environ["SEEN"]) / f"fixture-{NAME}-{uuid.uuid4().hex}").write_text("")


@pytest.mark.parametrize("i", range(6))
def test_free(i, made):
    (Path(os.environ["SEEN"]) / f"{NAME}-{i}").write_text(f"{os.environ['PYTEST_XDIST_WORKER']} {time.time()}")
    time.sleep(0.1)
"""
SLOW = """
@pytest.mark.slow
def test_slow():
    (Path(os.environ["SEEN"]) / f"{NAME}-slow").write_text(f"{os.environ['PYTEST_XDIST_WORKER']} {time.time()}")
"""


def test_groups_and_modules_run_whole_on_one_worker_and_the_long_ones_first(tmp_path):
    (tmp_path / "test_a_grouped.py").write_text(GROUPED)
    for name in ("b_free", "c_free", "d_free"):
        (tmp_path / f"test_{name}.py").write_text(f"NAME = {name!r}\n{MODULE}")
    (tmp_path / "test_e_slow.py").write_text(f"NAME = 'e_slow'\n{MODULE}{SLOW}")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: takes more than a few seconds\n")
    seen_in = tmp_path / "seen"
    seen_in.mkdir()
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.scheduling", "-n", "2"]
    args += ["--dist", "loadgroup", "--no-loadscope-reorder", str(tmp_path)]
    env = {**os.environ, "SEEN": str(seen_in), "PYTHONPATH": str(ROOT)}
    started = time.time()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen = {p.name: p.read_text().split() for p in seen_in.iterdir() if not p.name.startswith("fixture-")}
    assert len(seen) == 4 + 3 * 6 + 7, sorted(seen)
    for unit in ("grouped", "b_free", "c_free", "d_free", "e_slow"):
        workers = {worker for name, (worker, _) in seen.items() if name.startswith(unit)}
        assert len(workers) == 1, (unit, seen)
    assert {worker for worker, _ in seen.values()} == {"gw0", "gw1"}, seen
    fixtures = sorted(p.name.rsplit("-", 1)[0] for p in seen_in.glob("fixture-*"))
    assert fixtures == ["fixture-b_free", "fixture-c_free", "fixture-d_free", "fixture-e_slow"]  # once each
    # the group and the slow module are the first two units: each starts its worker's work
    first = {}
    for name, (worker, t) in seen.items():
        if worker not in first or float(t) < first[worker][1]:
            first[worker] = (name, float(t))
    assert sorted(name.split("-")[0] for name, _ in first.values()) == ["e_slow", "grouped"], first
    assert min(t for _, t in first.values()) > started
