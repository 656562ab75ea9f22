"""One Ctrl-C ends any command within seconds: exit code 130, one line, no traceback, no process left.

A command's work may sit in places a Ctrl-C reaches badly: a vLLM engine starting in child processes (which
print their own tracebacks and may keep the parent waiting), a pool of workers (each printing a
``KeyboardInterrupt`` traceback), a lock a worker held when it died. So the console script runs the command in
a child process, in a process group of its own, and stays as its supervisor (``supervised``):

- a Ctrl-C at the terminal reaches the supervisor alone (the command's group is not the terminal's);
- the supervisor passes it on to the command alone, whose handler (``_interrupted``) silences its output,
  SIGKILLs its own descendants (engines, workers, watchdog, resource tracker), removes the temporaries and
  locks of its outputs (``core.outputs.abandon``, an ``at_interrupt`` hook) and raises ``KeyboardInterrupt``,
  so the command unwinds as on any failure; inside a ``deferred`` block (a commit's renames, a temporary made
  and recorded) the last two wait for the block's end, so no step is left half-done;
- a command still running ``GRACE_SECONDS`` later is killed with its whole group, as ``kill -9`` would;
- then every process the command started that is still there is killed, the supervisor prints one line and
  exits with 130 (143 for SIGTERM).

Outputs are as a kill leaves them: the earlier ones, or the new ones whole (``core.outputs``). The command
dies with its supervisor (``PR_SET_PDEATHSIG``), so ``kill -9`` of the command's pid still stops the work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

#: seconds a command has to end by itself after a Ctrl-C, before it is killed with its group
GRACE_SECONDS = 3.0
_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
_PR_SET_PDEATHSIG = 1
#: the pid a user sees for this command: its supervisor's when it has one
_supervisor: int | None = None


#: what a Ctrl-C does first in the command, before it unwinds (``core.outputs`` adds ``abandon``)
_AT_INTERRUPT: list[Callable[[], None]] = []


def at_interrupt(hook: Callable[[], None]) -> None:
    """Run ``hook`` first when the command is interrupted (in its signal handler: it must be quick)."""
    _AT_INTERRUPT.append(hook)


#: how many ``deferred`` blocks the main thread is in, and whether an interrupt waits for them to end
_deferring = 0
_pending = False


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """An interrupt that arrives inside the block takes effect at its end: for short steps that must not stop
    half-way, such as renaming a set of outputs into place or making a temporary and recording it for removal.
    Other threads run the block as it is (Python runs signal handlers in the main thread only)."""
    global _deferring, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if _pending and not _deferring:
            _pending = False
            _stop()


def _stop() -> None:
    for hook in _AT_INTERRUPT:
        hook()
    raise KeyboardInterrupt


def command_pid() -> int:
    """The pid to name this command by (in a lock): the supervisor's, whose end ends the command."""
    return _supervisor or os.getpid()


def _early(signum: int, frame: object) -> None:
    """A Ctrl-C before the supervisor is up (while Python imports the command): nothing was written yet."""
    if _supervisor is None:  # the command itself says nothing: its supervisor says the line
        os.write(2, b"error: interrupted before the command started; nothing was written\n")
    os._exit(_EXIT.get(signum, 130))


def interruptible() -> None:
    """Called first by a console script: a Ctrl-C while it starts ends it with one line, not a traceback."""
    for signum in _EXIT:
        signal.signal(signum, _early)


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(procs: list) -> None:
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _interrupted(signum: int, frame: object) -> None:
    """The command's handler: nothing more is printed, no child outlives it, and the stack unwinds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    _kill(_descendants(os.getpid()))
    global _pending
    if _deferring:
        _pending = True
        return
    _stop()


def _become_command() -> None:
    """In the child: a process group of its own, death with the supervisor, the interrupt handler."""
    os.setpgid(0, 0)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes  # here, not at the top: a console script's first moments are ones a Ctrl-C may land in

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != _supervisor:  # the supervisor died before the line above
        os._exit(137)
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)


def _command(work: Callable[[], int]) -> int:
    """The child's whole life: ``work``'s exit code, a crash's traceback printed as Python prints it."""
    import traceback

    code = 1
    try:
        _become_command()
        code = work()
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def supervised(work: Callable[[], int]) -> int:
    """Run ``work`` (a console script's whole run) in a child process as described above; its exit code."""
    if not hasattr(os, "fork") or os.environ.get("CLASSIT_NO_SUPERVISOR"):
        return work()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        global _supervisor
        _supervisor = os.getppid()
        os._exit(_command(work))
    with contextlib.suppress(OSError):
        os.setpgid(child, child)  # also here: whichever runs first, the group exists before any signal
    return _supervise(child)


def _supervise(child: int) -> int:
    """Wait for the command; pass a Ctrl-C (or SIGTERM) on, kill it after the grace period, clean up."""
    caught: list[tuple[int, float, list]] = []

    def on_signal(signum: int, frame: object) -> None:
        if not caught:
            caught.append((signum, time.monotonic(), _descendants(child)))
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGINT)

    for signum in _EXIT:
        signal.signal(signum, on_signal)
    while True:
        if caught and time.monotonic() - caught[0][1] > GRACE_SECONDS:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child, signal.SIGKILL)
        with contextlib.suppress(InterruptedError):
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid:
                break
        time.sleep(0.05)
    for signum in _EXIT:  # the command has ended: a late Ctrl-C changes nothing (nor kills this at exit)
        signal.signal(signum, signal.SIG_IGN)
    code = os.waitstatus_to_exitcode(status)
    if code >= 0 and (not caught or code == 0):  # done, or done before the signal reached it
        return code
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child, signal.SIGKILL)  # whatever of the command's group is left
    if caught:
        _kill([p for p in caught[0][2]])
        name = "interrupted" if caught[0][0] == signal.SIGINT else "terminated"
        print(
            f"error: {name}; the outputs are as a kill leaves them (earlier ones, or new ones whole)", file=sys.stderr
        )
        return _EXIT[caught[0][0]]
    return 128 - code  # killed by a signal: as a shell reports it
