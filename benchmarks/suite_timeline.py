"""A pytest plugin for ``python -m benchmarks suite_cpu``: one JSON line per test, written by the process that ran
it (an xdist worker), to the file named by ``SUITE_TIMELINE``: the test's id, the worker's pid, its start and end
(Unix seconds) and the worker's own CPU seconds in between (the test's in-process work; its subprocesses are
counted by process accounting). Taken with ``pytest -p benchmarks.suite_timeline``; without ``SUITE_TIMELINE`` it
writes nothing."""

from __future__ import annotations

import json
import os
import resource
import time

import pytest


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = os.environ.get("SUITE_TIMELINE")
    started, cpu = time.time(), _own_cpu()
    yield
    if path:
        row = {"test": item.nodeid, "pid": os.getpid(), "t0": started, "t1": time.time(), "cpu": _own_cpu() - cpu}
        with open(path, "a", encoding="utf-8") as f:  # one short line per append: the workers' lines never mix
            f.write(json.dumps(row) + "\n")
