"""generate-wiki --executor ray on a two-node Ray cluster started on this machine (Ray's cluster utilities),
with an OpenAI-compatible stub server on 127.0.0.1 as the engine: the same outputs as the local executor,
both nodes at work, a replica killed mid-run and a driver killed with ``kill -9`` losing and doubling nothing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

from tests.generate.openai_stub import StubServer  # noqa: E402
from tests.helpers import RAY_ENV as ENV  # noqa: E402
from tests.helpers import STUB_PASSAGES as N  # noqa: E402
from tests.helpers import one_error_line, same_outputs, stub_args, wait_for  # noqa: E402

ACTOR_TITLE = "MapBatches(ChunkMaker)"
#: what Ray's core logs on the driver's stderr for every actor that Ray Data starts with restarts (upstream:
#: ray-project/ray issues 53727 and 57733); Ray's own line, out of Python's reach, left as it is
RAY_NOTICE = re.compile(r"core_worker\.cc:\d+: Actor with class name: .* has constructor arguments in the object store")


# one Ray cluster on the machine at a time: the Ray tests run one after another, on one worker
pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.fresh_interpreter]


def without_ray_notice(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """The run with Ray's notice taken out of its stderr (so the lines left are ours)."""
    kept = [line for line in proc.stderr.splitlines(keepends=True) if not RAY_NOTICE.search(line)]
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, "".join(kept))


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second worker node, one CPU each, so two one-CPU replicas land one on each."""
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        c.add_node(num_cpus=1)
        c.wait_for_nodes()
        yield c
    finally:
        c.shutdown()


def _config(tmp: Path) -> Path:
    cfg = tmp / "ray.yaml"
    cfg.write_text("ray_replica_cpus: 1\nconcurrency: 2\n")
    return cfg


def test_ray_gives_the_local_outputs_on_two_nodes(cluster, many, reference, tmp_path, generate_cli):
    """Two replicas, one per node, each with a server of its own (``--base-url A,B``: replica i takes server i)."""
    # 10 chunks of 0.8 s: time for the second replica to start on a busy machine
    servers = [StubServer(latency=0.8), StubServer(latency=0.8)]
    try:
        out = tmp_path / "out"
        both = SimpleNamespace(url=",".join(srv.url for srv in servers))
        proc = generate_cli(
            *stub_args(
                many,
                out,
                both,
                "--executor",
                "ray",
                "--ray-address",
                cluster.address,
                "--data-parallel-size",
                "2",
                "--config",
                _config(tmp_path),
            ),
            env=ENV,
        )
    finally:
        for srv in servers:
            srv.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = same_outputs(out, reference)
    assert s["passages_generated"] == N and s["rejected_outputs_by_reason"]  # the stub's unparsable replies
    info = json.loads((out / "run.json").read_text())["backend_info"]
    assert info["executor"] == "ray" and sum(info["passages_by_node"].values()) == N
    assert len(info["passages_by_node"]) == 2 and all(info["passages_by_node"].values())  # both nodes worked
    folders = list((out / "chunks").glob("*.ray-*"))
    done = sorted(sum(pl.read_parquet(f).height for f in folder.glob("chunk-*.parquet")) for folder in folders)
    assert len(folders) == 2 and sorted(srv.requests for srv in servers) == done  # each replica its own server


def test_python_api_and_resume(cluster, many, stub, reference, tmp_path):
    from classit_data.generate import GenerationConfig, generate_wiki

    out = tmp_path / "out"
    server = {"backend": "openai", "base_url": stub.url, "chunk_size": 2}
    generate_wiki(many, out, GenerationConfig(**server, max_passages=8), progress=False)
    s = generate_wiki(
        many,
        out,
        GenerationConfig(**server, executor="ray", ray_address=cluster.address, ray_max_replicas=2),
        progress=False,
    )  # autoscaling 1..2
    assert (s.passages_resumed, s.passages_generated) == (8, N - 8)
    same_outputs(out, reference)
    assert not ray.is_initialized()


def _actor_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"]) if ACTOR_TITLE in " ".join(p.info["cmdline"] or [])]


def _replica_waiting_on(stub: StubServer) -> int | None:
    """A replica's pid that holds a connection whose request the stub is answering now, or None."""
    ports = set(stub.waiting)
    for pid in _actor_pids():
        with contextlib.suppress(psutil.Error):
            if any(c.laddr and c.laddr.port in ports for c in psutil.Process(pid).net_connections(kind="tcp")):
                return pid
    return None


def _start(many, out, stub, cluster, tmp_path, *extra) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "classit_data",
        "generate-wiki",
        *map(
            str,
            stub_args(
                many,
                out,
                stub,
                "--executor",
                "ray",
                "--ray-address",
                cluster.address,
                "--config",
                _config(tmp_path),
                *extra,
            ),
        ),
    ]
    return subprocess.Popen(cmd, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_replica_killed_mid_batch_is_replaced(cluster, many, reference, tmp_path):
    slow = StubServer(latency=0.4)
    try:
        out = tmp_path / "out"
        proc = _start(many, out, slow, cluster, tmp_path, "--data-parallel-size", "2")
        # the victim is a replica waiting for an answer: its chunk is unfinished, so it must be asked for again
        deadline, victim = time.monotonic() + 120, None
        while victim is None:
            assert time.monotonic() < deadline and proc.poll() is None, "no replica was seen waiting for an answer"
            time.sleep(0.02)
            victim = _replica_waiting_on(slow) if slow.requests >= 3 else None
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        assert json.loads(stdout)["passages_done"] == N, stdout[:3000]  # --json: the summary alone on stdout
        s = same_outputs(out, reference)
        assert s["passages_done"] == N and s["duplicate_records"] == 0
        assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == psutil.STATUS_ZOMBIE
        assert slow.requests > N  # the killed replica's chunk was asked for again, by another replica
    finally:
        slow.stop()


@pytest.mark.parametrize("rerun", ["ray", "local"])
def test_driver_killed_then_rerun_completes_once(cluster, many, reference, tmp_path, generate_cli, rerun):
    slow = StubServer(latency=0.3)
    try:
        out = tmp_path / "out"
        proc = _start(many, out, slow, cluster, tmp_path)
        wait_for(lambda: len(list((out / "chunks").glob("*/chunk-*.parquet"))) >= 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (out / "qa.parquet").exists()
        extra = ["--executor", "ray", "--ray-address", cluster.address] if rerun == "ray" else []
        done = generate_cli(*stub_args(many, out, slow, *extra), env=ENV)
        assert done.returncode == 0, done.stderr[-3000:]
        s = same_outputs(out, reference)
        assert s["passages_resumed"] >= 4 and s["passages_resumed"] + s["passages_generated"] >= N
    finally:
        slow.stop()


def test_a_replica_failing_mid_run_is_one_line_and_the_folder_resumes(cluster, many, reference, tmp_path, generate_cli):
    """A server that refuses every request after the 6th (the replica's error, raised in its Ray actor): one line
    naming it, exit 2, nothing else written; the chunk files finished before stay, and a rerun completes it."""
    failing = StubServer(latency=0.05, fail_after=6)
    try:
        out = tmp_path / "out"
        args = stub_args(many, out, failing, "--executor", "ray", "--ray-address", cluster.address)
        line = one_error_line(
            without_ray_notice(generate_cli(*args, env=ENV)), "--executor ray: a replica failed:", "server answered 400"
        )
        assert failing.url in line
        finished = list((out / "chunks").glob("*/chunk-*.parquet"))
        assert len(finished) == 3 and sorted(f.name for f in out.iterdir()) == ["chunks", "run.json"]
        failing.fail_after = None  # the server is mended: the rerun generates only what is missing
        done = generate_cli(*args, env=ENV)
        assert done.returncode == 0, done.stderr[-3000:]
        s = same_outputs(out, reference)
        assert (s["passages_resumed"], s["passages_generated"]) == (6, N - 6)
    finally:
        failing.stop()


def test_a_replica_that_keeps_dying_is_one_line(cluster, many, tmp_path):
    """Every replica process killed as soon as it is up, once the first chunk is written: Ray restarts it
    ``RESTARTS`` times, then the run ends with one line, exit 2, and the finished chunk files kept."""
    from classit_data.generate.executors_ray import RESTARTS

    slow = StubServer(latency=0.3)
    try:
        out = tmp_path / "out"
        proc = _start(many, out, slow, cluster, tmp_path)
        wait_for(lambda: list((out / "chunks").glob("*/chunk-*.parquet")))
        killed: set[int] = set()
        while proc.poll() is None:
            for pid in set(_actor_pids()) - killed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        slow.stop()
    one_error_line(
        without_ray_notice(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)),
        f"error: --executor ray: the Ray run failed: a replica died {RESTARTS + 1} times",
        "ActorDiedError",
    )
    assert len(killed) == RESTARTS + 1
    assert list((out / "chunks").glob("*/chunk-*.parquet"))
    assert sorted(f.name for f in out.iterdir()) == ["chunks", "run.json"]  # no rows, not even half-written


def test_unreachable_address_is_one_line_and_writes_nothing(many, stub, tmp_path, generate_cli):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    proc = generate_cli(*stub_args(many, out, stub, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"), env=ENV)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(f"error: --ray-address: cannot reach the Ray cluster at '127.0.0.1:{port}'")
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_without_ray_installed_says_how_to_install(many, stub, tmp_path, generate_cli):
    fake = tmp_path / "noray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    path = os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])
    proc = generate_cli(*stub_args(many, tmp_path / "o", stub, "--executor", "ray"), env={**ENV, "PYTHONPATH": path})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "pip install 'classit-data[ray]'" in proc.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ray-address", "10.0.0.1:6379"], "--ray-address needs --executor ray"),
        (["--executor", "spark"], "--executor must be local or ray"),
        (["--ray-max-replicas", "2"], "--ray-max-replicas needs --executor ray"),
        (
            ["--executor", "ray", "--data-parallel-size", "3", "--ray-max-replicas", "2"],
            "is below --data-parallel-size",
        ),
    ],
)
def test_conflicting_flags(many, stub, tmp_path, generate_cli, args, message):
    proc = generate_cli(*stub_args(many, tmp_path / "o", stub, *args), env=ENV)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_what_ray_prints_on_stdout_goes_to_the_debug_log(caplog):
    """The raylet's notes (a replica died, a task is retried) are printed by Ray on stdout, where ``--json`` puts
    the summary: during a run they are lines of the debug log."""
    from classit_data.generate.executors_ray import _DebugLog

    with (
        caplog.at_level("DEBUG", logger="classit_data.generate.executors_ray"),
        contextlib.redirect_stdout(_DebugLog()),
    ):
        print("(raylet) A worker died", end="")
        print(" or was killed\n(raylet) Task retried")
    assert [r.getMessage() for r in caplog.records] == [
        "ray: (raylet) A worker died or was killed",
        "ray: (raylet) Task retried",
    ]
