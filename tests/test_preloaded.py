"""``tests/preloaded.py``: a command run in a child of a preloaded interpreter is what a new interpreter gives: the
same exit status and streams, its own pid, folder, arguments and environment, a traceback for an uncaught error,
and a kill at its time limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import ROOT
from tests.preloaded import Interpreter

PROBE = textwrap.dedent(
    """
    import json, os, sys, time
    if sys.argv[1:] == ["sleep"]:
        time.sleep(60)
    if sys.argv[1:] == ["fail"]:
        raise ValueError("no such thing")
    print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:], "probe": os.environ.get("PROBE"), "pid": os.getpid()}))
    print("on stderr\\r\\nnext", file=sys.stderr)
    sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
    """
)


@pytest.fixture(scope="module")
def interpreter():
    preloaded = Interpreter(dict(os.environ), ROOT)
    yield preloaded
    preloaded.close()


def fresh(module: str, args: list[str], env: dict, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, cwd=cwd)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["validate", "no-such.parquet", "--out", "k.parquet"], ["stats", "--no-such-option"]],
    ids=["help", "refused", "usage"],
)
def test_a_command_gives_what_a_new_interpreter_gives(interpreter, args, tmp_path):
    env = {**os.environ, "COLUMNS": "100"}
    got = interpreter.run("classit_data", args, env, tmp_path, timeout=60)
    want = fresh("classit_data", args, env, tmp_path)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    assert got.stdout or got.stderr


def test_the_child_has_its_own_folder_arguments_environment_and_pid(interpreter, tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    env = {**os.environ, "PROBE": "yes", "PROBE_EXIT": "3"}
    runs = [interpreter.run("probe", ["a b", "c"], env, tmp_path, timeout=60) for _ in range(2)]
    want = fresh("probe", ["a b", "c"], env, tmp_path)
    for run in runs:
        assert (run.returncode, run.stderr) == (3, want.stderr) == (want.returncode, "on stderr\nnext\n")
    seen = [json.loads(run.stdout) for run in runs]
    assert [s["cwd"] for s in seen] == [str(tmp_path)] * 2 and {s["probe"] for s in seen} == {"yes"}
    assert [s["argv"] for s in seen] == [["a b", "c"]] * 2
    assert len({s["pid"] for s in seen} | {interpreter.proc.pid, os.getpid()}) == 4


def test_an_uncaught_error_is_a_traceback_and_status_1(interpreter, tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    got = interpreter.run("probe", ["fail"], dict(os.environ), tmp_path, timeout=60)
    assert got.returncode == 1 and got.stdout == ""
    assert got.stderr.startswith("Traceback") and got.stderr.endswith("ValueError: no such thing\n")


def test_a_command_past_its_time_limit_is_killed(interpreter, tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    with pytest.raises(subprocess.TimeoutExpired):
        interpreter.run("probe", ["sleep"], dict(os.environ), tmp_path, timeout=1)
    after = interpreter.run("probe", [], dict(os.environ), tmp_path, timeout=60)  # still serving
    assert after.returncode == 0 and '"argv": []' in after.stdout
