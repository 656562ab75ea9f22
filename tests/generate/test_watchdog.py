"""The engine watchdog on real process trees: a ``kill -9`` of the parent takes its descendants down (and
without the watchdog they live on); a normal end of the block kills nothing and leaves no watchdog behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from classit_data.generate.watchdog import engine_watchdog
from tests.helpers import kill_all, wait_gone

SLEEPER = "import time; time.sleep(600)"
#: a child that starts a grandchild of its own: the watchdog must reach the whole tree
CHILD = (
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "time.sleep(600)"
)
#: the process to kill: starts the tree inside the watchdog's block (or without one), then sleeps
PARENT = """
import contextlib, subprocess, sys, time
from classit_data.generate.watchdog import engine_watchdog
with engine_watchdog(poll=0.2) if sys.argv[1] == "watched" else contextlib.nullcontext():
    subprocess.Popen([sys.executable, "-c", sys.argv[2]])
    time.sleep(600)
"""


# needs the whole machine (process trees killed and waited for under deadlines): one at a time, after the parallel pass
pytestmark = pytest.mark.serial


def _is_watchdog(proc: psutil.Process) -> bool:
    try:
        return "classit_data.generate.watchdog" in proc.cmdline()
    except psutil.Error:
        return False


def _start_tree(mode: str) -> tuple[subprocess.Popen, list[psutil.Process], list[psutil.Process]]:
    """The parent, then its descendants less the watchdog (once child and grandchild run), then the watchdog."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode, CHILD])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tree = psutil.Process(parent.pid).children(recursive=True)
        engines = [p for p in tree if not _is_watchdog(p)]
        if len(engines) == 2:
            return parent, engines, [p for p in tree if _is_watchdog(p)]
        time.sleep(0.1)
    parent.kill()
    pytest.fail("the parent's process tree did not start in 30 s")


@pytest.mark.parametrize("mode", ["watched", "unwatched"])
def test_kill_9_of_the_parent_kills_its_descendants_only_when_watched(mode):
    parent, tree, watchdog = _start_tree(mode)
    try:
        assert len(watchdog) == (mode == "watched")
        time.sleep(1.0)  # a few of the watchdog's looks at the tree
        parent.kill()  # SIGKILL; not reaped yet: the watchdog must not take a zombie parent for a live one
        alive = wait_gone(tree + watchdog, timeout=3)
        if mode == "watched":
            assert alive == []
        else:  # the problem the watchdog solves: orphans live on
            assert alive == tree
    finally:
        parent.kill()
        parent.wait()
        kill_all(tree + watchdog)
        assert wait_gone(tree + watchdog, timeout=10) == []


def test_leaving_the_block_kills_nothing_and_stops_the_watchdog():
    child = None
    try:
        with engine_watchdog(poll=0.1) as dog:
            assert dog is not None and dog.poll() is None
            assert os.getsid(dog.pid) == dog.pid  # its own session: a Ctrl-C or killpg does not reach it
            child = subprocess.Popen([sys.executable, "-c", SLEEPER])
            time.sleep(0.5)  # the watchdog has seen the child
        assert dog.returncode is not None  # stopped and reaped
        assert not any(_is_watchdog(p) for p in psutil.Process().children(recursive=True))
        time.sleep(0.5)
        assert child.poll() is None
    finally:
        if child is not None:
            child.kill()
            child.wait()


def test_an_error_in_the_block_stops_the_watchdog_and_propagates():
    with pytest.raises(ZeroDivisionError):
        with engine_watchdog() as dog:
            raise ZeroDivisionError
    assert dog is not None and dog.returncode is not None
