"""generate-wiki --executor ray with a Ray of its own (``--ray-address auto`` and no cluster): killed with
``kill -9``, or stopped by a Ctrl-C, it takes that Ray down with it and a rerun completes the folder. A module
of its own, so that no other Ray cluster of these tests runs on the machine meanwhile (a second local Ray
beside one started by ``ray.cluster_utils`` had its actors cancelled here)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

from tests.generate.openai_stub import StubServer  # noqa: E402
from tests.helpers import RAY_ENV as ENV  # noqa: E402
from tests.helpers import same_outputs, stub_args, wait_for  # noqa: E402

# one Ray cluster on the machine at a time: the Ray tests run one after another, on one worker
pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.fresh_interpreter]


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGINT"])
def test_driver_killed_or_interrupted_with_its_own_ray_leaves_no_process(
    signal_name, many, reference, tmp_path, generate_cli
):
    """SIGKILL of the command's process, or a Ctrl-C (SIGINT to its process group, as a terminal sends it):
    for the Ctrl-C, exit 130 within seconds and one line, no traceback."""
    slow = StubServer(latency=0.3)
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    try:
        out = tmp_path / "out"
        cmd = [
            sys.executable,
            "-m",
            "classit_data",
            "generate-wiki",
            *map(str, stub_args(many, out, slow, "--executor", "ray")),
        ]
        # a Ray temp folder of its own: `auto` finds no cluster there (not the module's, nor anyone else's)
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        proc = subprocess.Popen(
            cmd,
            env={**env, **ENV, "RAY_TMPDIR": ray_tmp},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        wait_for(lambda: len(list((out / "chunks").glob("*/chunk-*.parquet"))) >= 2)
        ray_processes = psutil.Process(proc.pid).children(recursive=True)
        assert any("raylet" in " ".join(p.cmdline()) for p in ray_processes)  # a local Ray of its own
        started = time.monotonic()
        if signal_name == "SIGKILL":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGINT)
        stderr = proc.communicate(timeout=60)[1].decode()
        _, alive = psutil.wait_procs(ray_processes, timeout=30)
        assert not alive, [p.cmdline()[:1] for p in alive]
        if signal_name == "SIGINT":
            lines = [line for line in stderr.splitlines() if line.startswith("error:")]
            assert proc.returncode == 130 and time.monotonic() - started < 10, stderr[-3000:]
            assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
        done = generate_cli(*stub_args(many, out, slow), env=ENV)
        assert done.returncode == 0, done.stderr[-3000:]
        assert same_outputs(out, reference)["passages_resumed"] >= 4
    finally:
        slow.stop()
        shutil.rmtree(ray_tmp, ignore_errors=True)
