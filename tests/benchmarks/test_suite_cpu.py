"""``python -m benchmarks suite_cpu``: the accounting records it reads, how it counts each process to a test
module, and its pytest plugin's timeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks.bench_suite_cpu import (
    ACCT_V3,
    BETWEEN_TESTS,
    MAIN,
    ORPHANS,
    OUTSIDE_TESTS,
    ParentWatch,
    Proc,
    attribute,
    comp_t,
    launcher_of,
    read_acct,
    tables,
)
from tests.helpers import ROOT


def record(pid: int, ppid: int, start: int, utime: int, stime: int = 0, version: int = 3, comm: bytes = b"python"):
    """An accounting record of a process that lived 2.5 s (250 ticks)."""
    return ACCT_V3.pack(0, version, 0, 0, 0, 0, pid, ppid, start, 250.0, utime, stime, 0, 0, 0, 0, 0, 0, comm)


def test_comp_t_and_the_records_are_read(tmp_path):
    assert comp_t(5) == 5 and comp_t((1 << 13) | 3) == 24 and comp_t((2 << 13) | 1) == 64
    path = tmp_path / "pacct"
    path.write_bytes(record(7, 1, 1000, 250, 50, comm=b"VLLM::EngineCor") + record(8, 7, 1001, (1 << 13) | 100))
    assert read_acct(path) == [Proc(7, 1, 1000, 3.0, "VLLM::EngineCor", 2.5), Proc(8, 7, 1001, 8.0, "python", 2.5)]
    path.write_bytes(record(7, 1, 1000, 1) + record(8, 7, 1001, 1, version=2))
    with pytest.raises(ValueError, match=r"pacct: record at byte 64 is version 2"):
        read_acct(path)


#: a launcher (10), pytest's main process (11), two workers (12, 13); a.py's tests on 12, b.py's on 13
TIMELINE = [
    {"test": "tests/a.py::t1", "pid": 12, "t0": 100.0, "t1": 110.0, "cpu": 2.0},
    {"test": "tests/a.py::t2", "pid": 12, "t0": 110.0, "t1": 120.0, "cpu": 1.0},
    {"test": "tests/b.py::t[x]", "pid": 13, "t0": 100.0, "t1": 150.0, "cpu": 3.0},
]
PROCS = [
    Proc(11, 10, 99, 1.0, "python", 60),  # pytest's main process
    Proc(12, 11, 99, 10.0, "python", 60),  # a worker: 3 of its 10 s in tests
    Proc(13, 11, 99, 3.0, "python", 60),
    Proc(20, 12, 105, 4.0, "python", 10),  # a.py::t1's command
    Proc(21, 20, 112, 2.0, "python", 2),  # its child, started while a.py::t2 ran: a.py's either way
    Proc(22, 13, 125, 5.0, "python", 10),  # b.py's
    Proc(23, 10, 126, 6.0, "VLLM::EngineCor", 20),  # 22's child, then an orphan adopted by the launcher
    Proc(24, 23, 127, 0.5, "python", 1),  # the orphan's child
    Proc(26, 10, 128, 1.5, "python", 1),  # an orphan whose first parent was not seen
    Proc(20, 13, 140, 0.75, "python", 5),  # pid 20 again, for b.py this time
    Proc(27, 20, 141, 0.25, "python", 1),  # the child of the second 20
    Proc(25, 12, 150, 0.25, "git", 0.1),  # a worker's, after its last test
    Proc(30, 1, 120, 100.0, "cron", 1),  # not the pass's
]
FIRST_PARENTS = {(23, 128): 22, (23, 140): 99}  # the clocks differ by seconds; 140 is another 23


def test_each_process_is_counted_to_the_test_module_that_started_it():
    assert launcher_of(PROCS, TIMELINE) == 10
    found = attribute(PROCS, TIMELINE, launcher=10, parents=FIRST_PARENTS)
    a, b = found["modules"]["tests/a.py"], found["modules"]["tests/b.py"]
    assert a == {"tests": 2, "test_s": 20.0, "own_s": 3.0, "sub_s": 6.0, "processes": 2}
    assert b == {"tests": 1, "test_s": 50.0, "own_s": 3.0, "sub_s": 12.5, "processes": 5}
    assert found["other"] == {MAIN: [1, 1.0], OUTSIDE_TESTS: [2, 7.0], ORPHANS: [1, 1.5], BETWEEN_TESTS: [1, 0.25]}
    totals, rows = tables(found, top=1)
    assert totals[-1] == {"what": "all", "processes": 12, "CPU s": 34.25, "share": "100%"}  # cron's 100 s left out
    assert [r["module"] for r in rows] == ["`tests/b.py`", "the other 1 modules"]
    assert rows[1]["CPU s"] == 9.0 and rows[0]["share"] == "45%"
    # without the first parents, 23 and its child are orphans
    assert attribute(PROCS, TIMELINE, launcher=10)["other"][ORPHANS] == [3, 8.0]


def test_the_watch_sees_who_started_a_process():
    started = time.time()
    child = subprocess.Popen(["sleep", "30"])
    try:
        watch = ParentWatch()
        watch.sample()
        seen = {start: ppid for (pid, start), ppid in watch.parents.items() if pid == child.pid}
        assert list(seen.values()) == [os.getpid()]
        assert abs(next(iter(seen)) - started) <= 2
    finally:
        child.kill()
        child.wait()


def test_the_plugin_writes_a_line_per_test_from_the_process_that_ran_it(tmp_path):
    (tmp_path / "test_two.py").write_text(
        "import time\n\ndef test_a():\n    time.sleep(0.2)\n\ndef test_b():\n    pass\n"
    )
    timeline = tmp_path / "timeline.jsonl"
    env = {**os.environ, "SUITE_TIMELINE": str(timeline), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "benchmarks.suite_timeline",
            "-p",
            "no:cacheprovider",
            "test_two.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in timeline.read_text().splitlines()]
    assert [r["test"] for r in rows] == ["test_two.py::test_a", "test_two.py::test_b"]
    assert rows[0]["t1"] - rows[0]["t0"] >= 0.2 and rows[0]["cpu"] < 0.2  # asleep: wall, not CPU
    assert len({r["pid"] for r in rows}) == 1
