"""The Ray-on-Slurm recipe, ``examples/slurm/generate_wiki.sbatch``, run for real on a one-node Slurm cluster
(Debian's ``slurm-wlm`` and ``munge``, which ``make install`` installs as root where apt is; the test is skipped,
saying why, where they or root are missing). ``test_recipes.py`` checks the script statically (bash, shellcheck,
its options).

The cluster (munged, slurmctld, slurmd, a minimal ``slurm.conf`` in a temporary folder, all as root) runs in
PID, network and mount namespaces of its own (``unshare``): the script's fixed Ray port 6379 and its ``ray
stop``, which stops every Ray process it can see, then reach only the cluster's own processes, not other Ray
clusters on the machine; and killing the namespace's first process takes every process of the cluster down.
The script runs as shipped, its inputs given the way it documents (``PASSAGES``, ``OUT``, ``MODEL``: three
passages, the embedded model), except for its generate line, which gets the transformers backend, short
answers and one replica instead of 32; the cluster's shape (one node, its real CPUs, no GPUs) is given on
``sbatch``'s command line, which overrides the script's ``#SBATCH`` lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import ROOT, wait_for, wait_gone

pytestmark = pytest.mark.fresh_interpreter  # a cluster's jobs, each its own interpreter

#: what the cluster needs on PATH, besides root
SLURM_TOOLS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol", "unshare", "nsenter", "ip")
N_PASSAGES = 3


@pytest.fixture(scope="module")
def script() -> Path:
    """The recipe as shipped (``docs/cluster.md`` includes it from this file)."""
    return ROOT / "examples" / "slurm" / "generate_wiki.sbatch"


# --- the script run on a one-node Slurm cluster ------------------------------------------------------------------


def why_no_cluster() -> str | None:
    """Why a Slurm cluster cannot be brought up here, or None."""
    if os.geteuid() != 0:
        return "a one-node Slurm cluster needs root (munged, slurmctld and slurmd run as root)"
    missing = [tool for tool in SLURM_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (Debian: apt-get install slurm-wlm munge; make install does it)"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "the script starts Ray: install the ray extra"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(folder: Path, host: str, cpus: int) -> str:
    """A minimal one-node configuration: everything as root, state and logs in ``folder``, munge on its own
    socket, no accounting."""
    return "\n".join(
        [
            "ClusterName=classit",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={folder}/munge.socket",
            f"StateSaveLocation={folder}/state",
            f"SlurmdSpoolDir={folder}/spool",
            f"SlurmctldPidFile={folder}/slurmctld.pid",
            f"SlurmdPidFile={folder}/slurmd.pid",
            f"SlurmctldLogFile={folder}/slurmctld.log",
            f"SlurmdLogFile={folder}/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "MpiDefault=none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN",
            f"PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@contextlib.contextmanager
def slurm_cluster(folder: Path):
    """A one-node cluster in namespaces of its own; yields ``(run, conf)``: ``run(args, **kw)`` runs a command
    inside them. On exit the namespace's first process is killed, which ends every process in it (``unshare``
    itself ignores SIGTERM while it waits)."""
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True)
    folder.chmod(0o700)  # munged refuses a key or socket in a folder others can write to
    host, conf = socket.gethostname().split(".")[0], folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, host, os.cpu_count() or 1))
    key = folder / "munge.key"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
    munged = (
        f"munged --force --socket={folder}/munge.socket --key-file={key} --log-file={folder}/munged.log "
        f"--pid-file={folder}/munged.pid --seed-file={folder}/munged.seed"
    )
    # an address besides 127.0.0.1: Slurm looks its listening address up with AI_ADDRCONFIG, which finds none in a
    # network namespace with loopback alone (192.0.2.1: a documentation address, seen by nothing outside)
    network = "ip link set lo up && ip addr add 192.0.2.1/32 dev lo"
    start = f"{network} && {munged} && slurmctld -f {conf} && slurmd -f {conf} && exec sleep infinity"
    env = {**os.environ, "SLURM_CONF": str(conf)}
    ns = ["unshare", "--pid", "--net", "--mount", "--fork", "--mount-proc", "--kill-child", "--", "sh", "-c", start]
    outer = subprocess.Popen(ns, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import psutil

    wait_for(lambda: psutil.Process(outer.pid).children(), 30)
    first = psutil.Process(outer.pid).children()[0].pid  # the namespace's PID 1, seen from outside

    def run(args: list[str], **kw) -> subprocess.CompletedProcess:
        inside = ["nsenter", f"--target={first}", "--net", "--mount", "--pid", "--", *args]
        return subprocess.run(inside, env={**env, **kw.pop("env", {})}, capture_output=True, text=True, **kw)

    try:
        wait_for(lambda: run(["sinfo", "-h", "-o", "%T"]).stdout.strip() == "idle", 60)
        yield run, conf
    finally:
        everything = psutil.Process(outer.pid).children(recursive=True)
        run(["scontrol", "shutdown"], timeout=30)
        os.kill(first, signal.SIGKILL)  # the namespace's PID 1: the kernel ends every other process in it
        outer.wait(30)
        folder.joinpath("left.json").write_text(json.dumps([p.pid for p in wait_gone(everything, 30)]))


def recipe_for_this_machine(script: Path) -> str:
    """The script with its generate line given the transformers backend, short answers and one replica."""
    text = script.read_text()
    found = re.search(r"^classit-data generate-wiki .*?(?<!\\)\n", text, re.S | re.M)
    assert found, "the script has no generate-wiki line"
    words = shlex.split(found.group(0).replace("\\\n", " "), posix=False)
    line = ["1" if k and words[k - 1] == "--data-parallel-size" else w for k, w in enumerate(words)]
    line += ["--backend", "transformers", "--max-tokens", "16", "--chunk-size", "1", "--seed", "3"]
    return text[: found.start()] + " ".join(line) + "\n" + text[found.end() :]


@pytest.mark.slurm
@pytest.mark.xdist_group("ray")  # a Slurm cluster and a Ray cluster: one Ray cluster at a time
def test_the_recipe_runs_on_a_one_node_slurm_cluster(script, tmp_path, write_passages, passage_rows):
    reason = why_no_cluster()
    if reason:
        pytest.skip(reason)
    passages = write_passages(tmp_path / "passages.parquet", N_PASSAGES)
    out, job = tmp_path / "qa", tmp_path / "generate.sbatch"
    job.write_text(recipe_for_this_machine(script))
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "PASSAGES": str(passages),
        "OUT": str(out),
        "MODEL": "smollm2",
        "RAY_TMPDIR": ray_tmp,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    shape = ["--nodes=1", "--gpus-per-node=0", f"--cpus-per-task={os.cpu_count() or 1}"]
    folder = Path(tempfile.mkdtemp(prefix="slurm", dir="/tmp"))  # short: munge's socket path too
    try:
        with slurm_cluster(folder) as (run, _):
            done = run(["sbatch", "--wait", *shape, f"--output={tmp_path}/job.out", str(job)], env=env, timeout=900)
        left = json.loads((folder / "left.json").read_text())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    log = (tmp_path / "job.out").read_text() if (tmp_path / "job.out").exists() else ""
    assert done.returncode == 0, (done.stdout + done.stderr + log)[-4000:]
    assert "Ray runtime started" in log  # the script's own `ray start --head`
    records = pl.read_parquet(list((out / "chunks").glob("*/chunk-*.parquet")))
    assert records["passage_id"].sort().to_list() == sorted(r["passage_id"] for r in passage_rows(N_PASSAGES))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passages_done"] == N_PASSAGES and summary["duplicate_records"] == 0
    assert json.loads((out / "run.json").read_text())["backend_info"]["executor"] == "ray"
    assert left == [], f"processes of the cluster still running: {left}"
