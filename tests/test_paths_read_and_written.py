"""No command writes over or inside what it reads, or inside another command's whole output, and a run that
does no useful work replaces nothing: every command, through the real CLI, with an output inside each of its
inputs (``core.outputs.check_paths``), and the cases where data was lost with exit 0."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from classit_data.core.io import write_rows
from tests.helpers import FIXTURES, ROOT, one_error_line, run_cli, switchboard_rows, write_corpus

SWITCHBOARD = ROOT / "samples" / "switchboard_sample.train"
WIKI = ROOT / "samples" / "simplewiki_sample.xml.bz2"


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too: a temporary or lock left behind shows) with its hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """Outputs of earlier runs: item rows and their record, a build, stats, evaluation data, a corpus."""
    ws = tmp_path_factory.mktemp("made")
    (ws / "sb").mkdir()
    shutil.copy(SWITCHBOARD, ws / "sb" / "switchboard.train")
    write_rows(switchboard_rows(n_conversations=4), ws / "items.parquet")
    for args in (
        ["convert-switchboard", ws / "sb" / "switchboard.train", "--out", ws / "sw.parquet"],
        ["build", "--switchboard", ws / "items.parquet", "--out", ws / "CLASS_IT"],
        ["stats", ws / "items.parquet", "--out", ws / "stats"],
    ):
        done = run_cli(*args, env={"HF_HUB_OFFLINE": "1"})
        assert done.returncode == 0, done.stderr
    shutil.copytree(FIXTURES / "eval" / "blimp", ws / "blimp")
    (ws / "corpus").mkdir()
    write_corpus(ws / "corpus" / "c.txt", lines=50)
    return ws


@pytest.fixture
def ws(made, tmp_path) -> Path:
    shutil.copytree(made, tmp_path / "ws")
    return tmp_path / "ws"


#: (program, arguments, what the line says): an output inside (or equal to) each input of every command
INSIDE_INPUTS = {
    "convert into its input folder": (
        "classit_data",
        ["convert-switchboard", "sb", "--out", "sb/x.parquet"],
        "--out is inside an input sb",
    ),
    "prepare-wiki over its input": (
        "classit_data",
        ["prepare-wiki", "items.parquet", "--out", "items.parquet"],
        "--out is an input",
    ),
    "validate's report into the build it reads": (
        "classit_data",
        [
            "validate",
            "CLASS_IT/switchboard/train-00000-of-00001.parquet",
            "--out",
            "k.parquet",
            "--quarantine",
            "q.parquet",
            "--report",
            "CLASS_IT/r.json",
        ],
        "--report is inside",
    ),
    "stats into the build": ("classit_data", ["stats", "items.parquet", "--out", "CLASS_IT/stats"], "is inside"),
    "contamination into --eval": (
        "classit_data",
        ["contamination", "items.parquet", "--eval", "blimp", "--out", "blimp/c.json"],
        "--out is inside --eval blimp",
    ),
    "build into --stats-dir": (
        "classit_data",
        ["build", "--switchboard", "items.parquet", "--stats-dir", "stats", "--out", "stats/ds"],
        "--out is inside --stats-dir stats",
    ),
    "build over a folder holding its input": (
        "classit_data",
        ["build", "--switchboard", "CLASS_IT/switchboard/train-00000-of-00001.parquet", "--out", "CLASS_IT"],
        "CLASS_IT",
    ),
    "report over the dataset's shard": (
        "classit_data",
        ["report", "CLASS_IT", "--out", "CLASS_IT/switchboard/train-00000-of-00001.parquet"],
        "--out is inside the dataset CLASS_IT",
    ),
    "report over the dataset's card": (
        "classit_data",
        ["report", "CLASS_IT", "--out", "CLASS_IT/README.md"],
        "--out is inside the dataset",
    ),
    "report over build_info.json": (
        "classit_data",
        ["report", "CLASS_IT", "--out", "CLASS_IT/build_info.json"],
        "--out is inside the dataset",
    ),
    "report into --previous": (
        "classit_data",
        ["report", "CLASS_IT", "--previous", "CLASS_IT", "--out", "CLASS_IT/README.md"],
        "is inside",
    ),
    "report into --eval": (
        "classit_data",
        ["report", "CLASS_IT", "--eval", "blimp", "--out", "blimp/page.html"],
        "--out is inside --eval blimp",
    ),
    "a record over another output's record": (
        "classit_data",
        [
            "validate",
            "items.parquet",
            "--out",
            "k.parquet",
            "--quarantine",
            "q.parquet",
            "--report",
            "sw.parquet.summary.json",
        ],
        "the step record of sw.parquet",
    ),
    "generate-wiki into a build": (
        "classit_data",
        ["generate-wiki", "--passages", "items.parquet", "--out", "CLASS_IT/gen", "--backend", "transformers"],
        "inside",
    ),
    "run into its dataset": (
        "classit_train",
        ["run", "--dataset", "CLASS_IT", "--base", "corpus", "--out", "CLASS_IT"],
        "--out is --dataset",
    ),
    "run inside its dataset": (
        "classit_train",
        ["run", "--dataset", "CLASS_IT", "--base", "corpus", "--out", "CLASS_IT/run"],
        "--out is inside --dataset CLASS_IT",
    ),
    "pretrain inside its corpus folder": (
        "classit_train",
        ["pretrain", "--corpus", "corpus/c.txt", "--model", "tiny", "--tokenizer", "corpus", "--out", "corpus/run"],
        "--out is inside --tokenizer corpus",
    ),
    "tokenizer over its corpus": (
        "classit_train",
        ["tokenizer", "--corpus", "corpus/c.txt", "--vocab-size", "300", "--out", "corpus"],
        "--out holds --corpus",
    ),
    "eval into its data": (
        "classit_train",
        ["eval", "--model", "smollm2", "--task", "blimp", "--data", "blimp", "--out", "blimp/r.json"],
        "--out is inside --data blimp",
    ),
}


@pytest.mark.parametrize("case", list(INSIDE_INPUTS))
def test_no_command_writes_into_what_it_reads(case, ws):
    module, args, needle = INSIDE_INPUTS[case]
    before = fingerprint(ws)
    one_error_line(run_cli(*args, module=module, cwd=ws, env={"HF_HUB_OFFLINE": "1"}), needle)
    assert fingerprint(ws) == before  # nothing replaced, nothing left behind


def test_report_still_writes_its_page_into_the_build(ws):
    """The one file a build leaves to ``report``: its default output, beside what it reads."""
    done = run_cli("report", "CLASS_IT", cwd=ws, env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert (ws / "CLASS_IT" / "report.html").stat().st_size > 1000


def test_records_are_named_after_the_whole_output_file(ws):
    """Item 3: four outputs with one stem keep four records, and the build records the step of its input."""
    names = ["sw.v1.parquet", "sw.v2.parquet", "sw.jsonl", "sw.csv.parquet"]
    for i, name in enumerate(names):
        done = run_cli("convert-switchboard", "sb/switchboard.train", "--out", name, "--min-words", str(i + 1), cwd=ws)
        assert done.returncode == 0, done.stderr
    for i, name in enumerate(names):
        record = json.loads((ws / f"{name}.summary.json").read_text())
        assert record["out"] == name and record["config"]["min_words"] == i + 1
    done = run_cli("build", "--switchboard", "sw.v1.parquet", "--out", "B", cwd=ws, env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    step = json.loads((ws / "B" / "build_info.json").read_text())["stages"]["steps"]["convert-switchboard"]
    assert [s["file"] for s in step] == ["sw.v1.parquet.summary.json"]


def test_a_refused_pretrain_leaves_no_folder_and_keeps_an_earlier_configuration(ws):
    """Item 4: refused after its checks began (an empty corpus), into a new folder and into an earlier run's."""
    (ws / "empty.txt").write_text("")
    before = fingerprint(ws)
    one_error_line(
        run_cli(
            "pretrain", "--corpus", "empty.txt", "--model", "tiny", "--out", "runs/new", module="classit_train", cwd=ws
        ),
        "empty",
    )
    assert not (ws / "runs").exists() and fingerprint(ws) == before
    (ws / "old").mkdir()
    (ws / "old" / "run_config.yaml").write_text("model: tiny\nseed: 7\n")
    (ws / "old" / "model.safetensors").write_bytes(b"an earlier model")
    before = fingerprint(ws)
    one_error_line(
        run_cli("pretrain", "--corpus", "empty.txt", "--model", "tiny", "--out", "old", module="classit_train", cwd=ws),
        "empty",
    )
    assert fingerprint(ws) == before


def test_an_input_with_nothing_in_it_replaces_no_passage_file(ws):
    """Item 5: a file named .xml.bz2 that is no dump gives no passages: refused, the earlier file kept."""
    done = run_cli("prepare-wiki", WIKI, "--out", "p.parquet", "--workers", "1", cwd=ws)
    assert done.returncode == 0, done.stderr
    (ws / "bad.xml.bz2").write_bytes(b"not bz2 at all, 19b")
    before = fingerprint(ws)
    one_error_line(run_cli("prepare-wiki", "bad.xml.bz2", "--out", "p.parquet", cwd=ws), "bad.xml.bz2", "no passages")
    assert fingerprint(ws) == before
