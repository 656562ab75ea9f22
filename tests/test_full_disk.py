"""A full disk while a command writes: one line naming the output and "no space left", exit 2, the earlier
outputs as they were, no temporary file and no partial run folder (a 200 KB tmpfs, nearly filled; root only)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from classit_data.core.io import write_rows
from tests.generate.openai_stub import StubServer
from tests.helpers import FIXTURES, ROOT, one_error_line, run_cli, switchboard_rows, write_corpus

SAMPLES = ROOT / "samples"


def _everything(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def disk(tmp_path):
    """A 200 KB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def _fill(disk: Path, leave_kb: int = 4) -> None:
    """Fill the disk but ``leave_kb``: an earlier output fits, a new one does not."""
    free = shutil.disk_usage(disk).free // 1024
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave_kb) * 1024)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    write_rows(switchboard_rows(n_conversations=4), folder / "items.parquet")
    done = run_cli("build", "--switchboard", folder / "items.parquet", "--out", folder / "CLASS_IT")
    assert done.returncode == 0, done.stderr
    write_corpus(folder / "corpus.txt", lines=200)
    return folder


#: command -> (program, arguments, the output the line names); ``IN`` is the inputs' folder, ``D`` the disk
COMMANDS = {
    "convert-switchboard": (
        "classit_data",
        ["convert-switchboard", SAMPLES / "switchboard_sample.train", "--out", "D/sw.parquet"],
        "D/sw.parquet",
    ),
    "validate": (
        "classit_data",
        ["validate", "IN/items.parquet", "--out", "D/k.parquet", "--quarantine", "D/q.parquet", "--report", "D/r.json"],
        "D/",
    ),
    "prepare-wiki": (
        "classit_data",
        ["prepare-wiki", SAMPLES / "simplewiki_sample.xml.bz2", "--out", "D/p.parquet", "--workers", "1"],
        "D/p.parquet",
    ),
    "build": ("classit_data", ["build", "--switchboard", "IN/items.parquet", "--out", "D/B", "--json"], "D/B"),
    "stats": ("classit_data", ["stats", "IN/items.parquet", "--out", "D/stats"], "D/stats"),
    "report": ("classit_data", ["report", "IN/CLASS_IT", "--out", "D/page.html"], "D/page.html"),
    "contamination": (
        "classit_data",
        ["contamination", "IN/items.parquet", "--eval", FIXTURES / "eval" / "blimp", "--out", "D/c.json"],
        "D/c.json",
    ),
    "pretrain": (
        "classit_train",
        ["pretrain", "--corpus", "IN/corpus.txt", "--model", "tiny", "--max-steps", "2", "--out", "D/run"],
        "D/run",
    ),
}


def _args(args: list, inputs: Path, disk: Path) -> list[str]:
    return [str(a).replace("IN/", f"{inputs}/").replace("D/", f"{disk}/") for a in args]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_full_disk_is_one_line_naming_the_output(command, disk, inputs):
    module, args, named = COMMANDS[command]
    (disk / "earlier.parquet").write_bytes(b"an earlier output")
    _fill(disk)
    before = _everything(disk)
    done = run_cli(*_args(args, inputs, disk), module=module, env={"HF_HUB_OFFLINE": "1"})
    one_error_line(done, "no space left", named.replace("D/", f"{disk}/"))
    assert _everything(disk) == before  # nothing replaced, no temporary, lock or partial run folder left
    assert sorted(p.name for p in disk.iterdir()) == ["earlier.parquet", "filler"]


def test_generate_wiki_on_a_full_disk_keeps_its_earlier_rows(disk, tmp_path):
    from tests.helpers import _passage_rows

    passages = write_rows(_passage_rows(), tmp_path / "passages.parquet")
    stub = StubServer(latency=0.0)
    try:
        args = [
            "generate-wiki",
            "--passages",
            passages,
            "--out",
            disk / "gen",
            "--backend",
            "openai",
            "--base-url",
            stub.url,
        ]
        first = run_cli(*args, "--max-passages", "1")
        assert first.returncode == 0, first.stderr
        _fill(disk, leave_kb=1)
        before = _everything(disk)
        one_error_line(run_cli(*args), "no space left", str(disk / "gen"))
    finally:
        stub.stop()
    assert _everything(disk) == before
