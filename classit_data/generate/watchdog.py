"""The engine's processes die with the process that started them, even after a ``kill -9``.

vLLM runs its engine (EngineCore, and workers for tensor parallelism) in child processes, and data-parallel
runs add one replica process per engine. A normal exit, an exception or a Ctrl-C shuts them down, but a
``kill -9`` of the parent (or the OOM killer) runs no code in it: its children are re-parented and live on,
holding gigabytes of RAM (and, on a GPU, its memory) until someone finds them.

:func:`engine_watchdog` starts a small watchdog process (``python -m classit_data.generate.watchdog PID``) for
the length of a ``with`` block. While the parent lives, the watchdog records the parent's descendants every
``poll`` seconds (engines appear well after the block starts); once the parent is gone it SIGKILLs every
recorded process still running. Each one is compared by pid *and* start time, so a recycled pid is never hit.
The watchdog runs in a session of its own, so a Ctrl-C or a kill of the parent's process group does not take
it down before it has done its work; when the block ends it is terminated and kills nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator

#: seconds between two looks at the parent: a process started less than this before the parent died is missed
POLL_SECONDS = 0.5
READY = b"watching\n"


def _alive(proc) -> bool:
    """Whether ``proc`` still runs: the same process (pid and start time) and not a zombie."""
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _record(proc, seen: dict) -> None:
    """Add the descendants of ``proc`` (less this watchdog) to ``seen``, keyed by pid and start time."""
    import psutil

    try:
        descendants = proc.children(recursive=True)
    except psutil.Error:
        return
    for child in descendants:
        try:
            if child.pid != os.getpid():
                seen[child.pid, child.create_time()] = child
        except psutil.Error:
            pass


def _kill_recorded(seen: dict) -> int:
    """SIGKILL every recorded process still running, and any process they started since the last look."""
    import psutil

    for proc in list(seen.values()):
        if _alive(proc):
            _record(proc, seen)
    killed = 0
    for proc in seen.values():
        if _alive(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed += 1
    return killed


def watch(parent_pid: int, poll: float = POLL_SECONDS) -> int:
    """The watchdog's loop: record ``parent_pid``'s descendants while it lives, then kill them; the count.

    The parent counts as gone once this process is no longer its child (it was re-parented: that happens as
    the parent exits, before anyone reaps it) or it no longer runs.
    """
    import psutil

    seen: dict = {}
    try:
        parent = psutil.Process(parent_pid)
    except psutil.NoSuchProcess:
        parent = None
    if parent is not None:
        _record(parent, seen)
    # the parent waits for this line: its block starts only once the watchdog is looking
    with contextlib.suppress(OSError):
        os.write(sys.stdout.fileno(), READY)
        sys.stdout.close()
    while parent is not None and os.getppid() == parent_pid and _alive(parent):
        for key in [k for k, p in seen.items() if not _alive(p)]:  # a long run starts many short-lived ones
            del seen[key]
        _record(parent, seen)
        time.sleep(poll)
    killed = _kill_recorded(seen)
    if killed:
        with contextlib.suppress(OSError):
            print(
                f"classit-data watchdog: process {parent_pid} died; killed {killed} of its engine processes",
                file=sys.stderr,
                flush=True,
            )
    return killed


@contextlib.contextmanager
def engine_watchdog(poll: float = POLL_SECONDS) -> Iterator[subprocess.Popen | None]:
    """Run the block with a watchdog that kills this process's descendants if this process dies in it.

    Yields the watchdog process (None, with a warning, if it could not start: the block then runs unwatched,
    as it would without this). On leaving the block the watchdog is stopped and nothing is killed: shutting
    the engine down in order is the block's job.
    """
    cmd = [sys.executable, "-m", "classit_data.generate.watchdog", str(os.getpid()), str(poll)]
    proc: subprocess.Popen | None = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    proc.stdout.close()
    if ready != READY:
        _stop(proc)
        warnings.warn(
            "the engine watchdog did not start: engine processes may outlive a killed run", RuntimeWarning, stacklevel=3
        )
        proc = None
    try:
        yield proc
    finally:
        if proc is not None:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the watchdog (its default SIGTERM handling kills nothing else) and reap it."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    watch(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else POLL_SECONDS)
