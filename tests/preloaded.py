"""Commands run in a child forked from an interpreter that has already imported the command-line programs.

A test that runs a command the way a user does pays for a new interpreter and its imports each time: most of a
refused command's cost, and the larger part of the suite's. Here an interpreter, started once per environment,
imports the CLIs and the libraries every data command needs (:data:`PRELOAD`) and then forks a child per
command. The child is a new process, with its own pid, environment, working folder, standard streams and exit
status; it runs ``python -m MODULE ARGS`` as the interpreter would (``runpy``, ``SystemExit``, the exit
handlers), so a test sees what a user sees.

What a child shares with its siblings is what was fixed before the fork: the imports, what they read from the
environment (the interpreter is chosen by the whole environment, so that is the child's own), and the string
hash seed. Tests that compare the bytes of two runs check that the output does not depend on anything of one
process, the hash seed included: they run with a fresh interpreter each time (the ``fresh_interpreter`` marker).

Protocol: the parent sends one JSON request a line on the control pipe; the interpreter forks, answers the
child's pid, waits for it and answers its exit status.
"""

from __future__ import annotations

import io
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

#: what the interpreter imports once: the two programs and the libraries of nearly every data command; not
#: torch, transformers or vLLM, which a command that needs them imports in its child, as a new interpreter does
PRELOAD = ("classit_data.cli", "classit_train.cli", "polars", "pyarrow.parquet", "datasets")
READY = "ready"


class Interpreter:
    """One preloaded interpreter, for commands run with one environment."""

    def __init__(self, env: dict[str, str], cwd: Path):
        to_child, self._requests = os.pipe()
        self._answers, from_child = os.pipe()
        self.log = tempfile.NamedTemporaryFile(prefix="preloaded-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.preloaded", str(to_child), str(from_child), self.log.name],
            pass_fds=(to_child, from_child),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=env,
            cwd=cwd,
        )
        os.close(to_child)
        os.close(from_child)
        self._pending = b""
        self._ready = False

    def _answer(self, timeout: float | None) -> str | None:
        """The next line from the interpreter; None when ``timeout`` seconds pass first."""
        while b"\n" not in self._pending:
            if timeout is not None and not select.select([self._answers], [], [], max(timeout, 0))[0]:
                return None
            data = os.read(self._answers, 4096)
            if not data:
                raise RuntimeError(f"the preloaded interpreter ended: {Path(self.log.name).read_text()[-3000:]}")
            self._pending += data
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode()

    def run(self, module: str, args: list[str], env: dict, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
        """``python -m module *args`` in a forked child, as ``subprocess.run(..., capture_output=True, text=True)``."""
        if not self._ready:
            assert self._answer(None) == READY
            self._ready = True
        cmd = [sys.executable, "-m", module, *args]
        with tempfile.TemporaryDirectory(prefix="preloaded-run-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            request = {
                "module": module,
                "args": args,
                "env": env,
                "cwd": str(cwd),
                "stdout": str(out),
                "stderr": str(err),
            }
            os.write(self._requests, (json.dumps(request) + "\n").encode())
            pid = int(self._answer(None))
            status = self._answer(timeout)
            if status is None:
                os.kill(pid, signal.SIGKILL)
                self._answer(None)
                raise subprocess.TimeoutExpired(cmd, timeout, _text(out), _text(err))
            return subprocess.CompletedProcess(cmd, int(status), _text(out), _text(err))

    def close(self) -> None:
        os.close(self._requests)
        os.close(self._answers)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


def _text(path: Path) -> str:
    """A stream's bytes as ``subprocess.run(text=True)`` gives them: the locale's encoding, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(path.read_bytes()), encoding=locale.getpreferredencoding(False)).read()


# --- the preloaded interpreter ---------------------------------------------------------------------------------


def _child(request: dict, preamble: bytes) -> int:
    """In the forked child: become ``python -m MODULE ARGS`` in its folder, with its streams; its exit status.
    ``preamble`` is what the imports wrote on stderr, which a fresh interpreter would write there first."""
    import runpy
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = request["cwd"]  # as ``python -m`` puts its working folder first
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    os.write(2, preamble)
    sys.argv = [request["module"], *request["args"]]
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        return 1
    return 0


def _serve(requests: int, answers: int, preamble: bytes) -> None:
    with os.fdopen(requests, "r", encoding="utf-8") as lines:
        for line in lines:
            request = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.close(answers)
                lines.close()
                sys.exit(_child(request, preamble))  # the interpreter's own exit: exit handlers, flushed streams
            os.write(answers, f"{pid}\n".encode())
            _, status = os.waitpid(pid, 0)
            os.write(answers, f"{os.waitstatus_to_exitcode(status)}\n".encode())


def main() -> None:
    import gc
    import importlib

    requests, answers, log = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()
    sys.stderr.flush()
    os.write(answers, f"{READY}\n".encode())
    _serve(requests, answers, log.read_bytes())


if __name__ == "__main__":
    main()
