"""Provenance that survives a move and leaks nothing: the pipeline (convert-switchboard, prepare-wiki,
generate-wiki against an OpenAI-compatible stub on 127.0.0.1, validate, build) run through the CLI on the
bundled samples, its folder moved elsewhere and built again there: the build finds every step's record, writes
the same bytes, and no file of either built folder names the folders or the user of the machine."""

from __future__ import annotations

import getpass
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.generate.openai_stub import StubServer
from tests.helpers import ROOT

pytestmark = pytest.mark.fresh_interpreter  # two runs' bytes compared

SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, cli) -> Path:
    """The pipeline's folder, every step's outputs in it (the build's too)."""
    out = tmp_path_factory.mktemp("first") / "pipeline"
    out.mkdir()
    srv = StubServer()
    steps = [
        ("convert-switchboard", SAMPLES / "switchboard_sample.train", "--out", out / "switchboard.parquet"),
        ("prepare-wiki", SAMPLES / "simplewiki_sample.xml.bz2", "--out", out / "passages.parquet"),
        ("generate-wiki", "--passages", out / "passages.parquet", "--out", out / "generate"),
        ("validate", out / "switchboard.parquet", out / "generate" / "qa.parquet", "--out", out / "v" / "kept.parquet"),
    ]
    steps[2] += ("--backend", "openai", "--base-url", srv.url, "--max-passages", "6")
    steps[3] += ("--quarantine", out / "v" / "quarantine.parquet", "--report", out / "v" / "report.json")
    steps[3] += ("--passages", out / "passages.parquet")
    try:
        for step in steps:
            proc = cli(*step)
            assert proc.returncode == 0, proc.stderr[-2000:]
    finally:
        srv.stop()
    _build(cli, out)
    return out


def _build(cli, out: Path) -> dict:
    proc = cli(
        "build",
        "--switchboard",
        out / "v" / "kept.parquet",
        "--passages",
        out / "passages.parquet",
        "--generation-run",
        out / "generate",
        "--out",
        out / "CLASS_IT",
        "--force",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((out / "CLASS_IT" / "build_info.json").read_text())


def _leaks(folder: Path, needles: list[str]) -> list[str]:
    return [f"{p.name}: {n}" for p in folder.rglob("*") if p.is_file() for n in needles if n.encode() in p.read_bytes()]


def test_a_moved_pipeline_builds_its_full_chain_and_the_same_bytes(pipeline, tmp_path, cli):
    first = json.loads((pipeline / "CLASS_IT" / "build_info.json").read_text())
    assert first["stages"]["missing"] == []
    run = json.loads((pipeline / "generate" / "run.json").read_text())
    assert run["passages"] == "../passages.parquet" and run["prompts"]["source"] == "package:prompts/qa.yaml"
    moved = tmp_path / "elsewhere" / "pipeline"
    shutil.copytree(pipeline, moved)
    shutil.rmtree(moved / "CLASS_IT")
    info = _build(cli, moved)
    assert info["stages"]["missing"] == []
    assert set(info["stages"]["steps"]) == {"convert-switchboard", "prepare-wiki", "generate-wiki", "validate"}
    for name in ("build_info.json", "README.md"):
        assert (moved / "CLASS_IT" / name).read_bytes() == (pipeline / "CLASS_IT" / name).read_bytes(), name


def test_no_built_file_names_the_machine_folders_or_user(pipeline):
    home, user = os.path.expanduser("~"), getpass.getuser()
    needles = [str(pipeline.parent), str(pipeline.parent.parent), home + "/", str(ROOT), f"/{user}/"]
    assert _leaks(pipeline / "CLASS_IT", needles) == []
    # the check itself finds a path where one is
    probe = pipeline / "CLASS_IT" / "probe.txt"
    probe.write_text(f"made in {pipeline}\n")
    try:
        found = _leaks(pipeline / "CLASS_IT", needles)
        assert found and all(f.startswith("probe.txt: ") for f in found)
    finally:
        probe.unlink()


def test_card_yaml_says_how_the_rows_were_made(pipeline):
    from huggingface_hub import DatasetCard

    data = DatasetCard.load(pipeline / "CLASS_IT" / "README.md").data
    assert data.annotations_creators == ["machine-generated"]
    assert data.multilinguality == ["monolingual"]
    assert data.language_creators[0] == "found"
