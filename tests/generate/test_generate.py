"""generate-wiki without vLLM: sharding, row assembly, the transformers backend, resume after ``kill -9``,
data-parallel replicas, several servers behind the openai backend, and input errors. The transformers runs use
the embedded model's tokenizer on a tiny random LLaMA (``tiny_model``): what is checked is the command's own
behaviour; the embedded model itself generates through transformers in the GPU benchmark's dry run
(``tests/benchmarks/test_gpu.py``) and on vLLM in ``test_vllm.py`` and the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from classit_data.core.schema import ITEM_SCHEMA
from classit_data.core.template import render_text
from classit_data.generate.chunks import RECORD_SCHEMA, passage_seed, replica_of, shard_of
from classit_data.generate.config import GenerationConfig
from classit_data.generate.generate import GenerateSummary, assemble, select_passages
from classit_data.generate.projection import project
from classit_data.generate.prompts import PromptSet
from classit_data.generate.stats import GenerationStats
from classit_data.generate.task import QATask
from tests.generate.openai_stub import StubServer
from tests.helpers import RAY_ENV, kill_after_first_chunk, same_outputs, stub_args

pytestmark = pytest.mark.fresh_interpreter  # a resumed run's rows compared with an uninterrupted run's

# one thread: on a shared 2-core machine two OpenMP threads spin against each other (measured 5x slower)
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
#: seeded sampling, one passage per chunk (and so per batch): every passage's text depends only on its seed
HF_ARGS = [
    "--backend",
    "transformers",
    "--chunk-size",
    "1",
    "--seed",
    "3",
    "--temperature",
    "0.8",
    "--max-tokens",
    "24",
    "--max-passages",
    "3",
]
N = 3


@pytest.fixture(scope="module")
def hf_args(tiny_model) -> list[str]:
    return [*HF_ARGS, "--model", tiny_model]


def test_shards_partition_the_passages_deterministically(passage_rows):
    df = pl.DataFrame(passage_rows(30)).with_row_index("input_index")
    seen: list[str] = []
    for i in range(4):
        part = select_passages(df, GenerationConfig(num_shards=4, shard_index=i))
        assert part["passage_id"].to_list() == [p for p in df["passage_id"] if shard_of(p, 4) == i]
        assert part["input_index"].is_sorted()  # input order kept within a shard
        seen += part["passage_id"].to_list()
    assert sorted(seen) == sorted(df["passage_id"].to_list())
    # a passage's shard does not depend on what else is in the file
    assert (
        select_passages(df.reverse(), GenerationConfig(num_shards=4, shard_index=1))["passage_id"].sort().to_list()
        == select_passages(df, GenerationConfig(num_shards=4, shard_index=1))["passage_id"].sort().to_list()
    )
    assert passage_seed(0, "a") == passage_seed(0, "a") != passage_seed(1, "a")


def test_assemble_builds_item_rows_and_rejects(passage_rows):
    task = QATask(PromptSet.load(), num_pairs=2)
    rows = passage_rows(3)
    raws = [
        '```json\n[{"question": "What is the Moon?", "answer": "A satellite."},'
        ' {"question": "What is the Moon?", "answer": "Again."}]\n```',
        '[{"question": "Where do bees live',
        "no json here",
    ]
    finish = ["stop", "length", "stop"]
    records = pl.DataFrame(
        [
            {
                "passage_id": r["passage_id"],
                "article_id": r["article_id"],
                "input_index": i,
                "seed": 7,
                "raw": raw,
                "finish_reason": f,
                "prompt_tokens": 100,
                "output_tokens": 20,
                "model": "m",
                "model_revision": "rev",
                "prompt_hash": task.prompt_hash,
                "sampling": '{"temperature": 0.7}',
                "backend": "vllm",
            }
            for i, (r, raw, f) in enumerate(zip(rows, raws, finish))
        ],
        schema=RECORD_SCHEMA,
    )
    stats = GenerationStats()
    items, rejects = assemble(records, task, "passages.parquet", stats)
    assert items.schema == pl.Schema(ITEM_SCHEMA)
    assert items.height == 1
    row = items.row(0, named=True)
    assert (row["prompt"], row["reply"], row["source"]) == ("What is the Moon?", "A satellite.", "simple_wiki")
    assert row["text"] == render_text(row["prompt"], row["reply"])
    assert (row["doc_id"], row["passage_id"], row["position"]) == (rows[0]["article_id"], rows[0]["passage_id"], 0)
    assert (row["model"], row["model_revision"], row["seed"], row["origin"]) == ("m", "rev", 7, "passages.parquet")
    assert row["prompt_hash"] == task.prompt_hash and json.loads(row["sampling"]) == {"temperature": 0.7}
    assert sorted(rejects["reason"].to_list()) == ["duplicate_question", "no_json", "truncated"]
    totals = stats.totals()
    assert {
        k: totals[k] for k in ("pairs", "passages_with_pairs", "rejected_outputs_by_reason", "dropped_pairs_by_reason")
    } == {
        "pairs": 1,
        "passages_with_pairs": 1,
        "rejected_outputs_by_reason": {"truncated": 1, "no_json": 1},
        "dropped_pairs_by_reason": {"duplicate_question": 1},
    }
    assert rejects.filter(pl.col("reason") == "truncated")["raw"][0] == raws[1]


def _summary(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def full_run(passages, tmp_path_factory, generate_cli, hf_args) -> tuple[Path, dict, str]:
    """An uninterrupted transformers run, the reference for the others."""
    out = tmp_path_factory.mktemp("full") / "out"
    proc = generate_cli("--passages", passages, "--out", out, *hf_args, "--json", env=ENV)
    return out, _summary(proc), proc.stderr


@pytest.mark.slow
def test_transformers_end_to_end(full_run, passage_rows, tiny_model):
    out, s, stderr = full_run
    assert "passages/s" not in stderr  # --json: no progress, not even its one line per chunk off a terminal
    assert (s["backend"], s["model"]) == ("transformers", tiny_model)
    assert s["passages_selected"] == s["passages_done"] == s["passages_generated"] == N
    assert s["passages_missing"] == s["duplicate_records"] == 0
    assert s["this_run"]["chunks"] == N and s["output_tokens"] > 0 and s["prompt_tokens"] > N * 100
    records = pl.read_parquet(list((out / "chunks").glob("*/chunk-*.parquet")))
    assert sorted(records["passage_id"]) == sorted(r["passage_id"] for r in passage_rows(N))
    assert set(records["finish_reason"]) <= {"stop", "length"}
    assert (records["output_tokens"] <= 24).all() and (records["output_tokens"] > 0).all()
    # batch of one: the seed that sampled a passage is the passage's own seed
    assert records["seed"].to_list() == [passage_seed(3, p) for p in records["passage_id"]]
    qa, rejects = pl.read_parquet(out / "qa.parquet"), pl.read_parquet(out / "rejects.parquet")
    assert qa.schema == pl.Schema(ITEM_SCHEMA) and qa.height == s["pairs"]
    whole = rejects.filter(pl.col("position").is_null())
    assert whole.height == sum(s["rejected_outputs_by_reason"].values())
    # every passage ends up as pairs or as a whole-output reject, never both, never neither
    assert set(qa["passage_id"]).isdisjoint(whole["passage_id"])
    assert set(qa["passage_id"]) | set(whole["passage_id"]) == set(records["passage_id"])
    assert (rejects.filter(pl.col("reason") == "truncated")["output_tokens"] == 24).all()
    if qa.height:
        assert (qa["source"] == "simple_wiki").all() and (qa["origin"] == "passages.parquet").all()
        assert json.loads(qa["sampling"][0])["temperature"] == 0.8
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["seed"] == 3 and run["identity"]["prompt_hash"] == s["prompt_hash"]
    assert run["backend_info"]["batch_size"] == 8
    # summary.json names the folder and its files relative to itself
    assert json.loads((out / "summary.json").read_text()) == {
        **s,
        "out_dir": ".",
        "qa": "qa.parquet",
        "rejects": "rejects.parquet",
    }
    rows = GenerateSummary(**s).rows()
    assert (rows["pairs"], rows["generated now"], rows["resumed"]) == (s["pairs"], N, 0)


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(full_run, passages, tmp_path, generate_cli, hf_args):
    ref_out, _, _ = full_run
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "classit_data",
        "generate-wiki",
        "--passages",
        str(passages),
        "--out",
        str(out),
        *hf_args,
        "--json",
    ]
    done_at_kill = kill_after_first_chunk(cmd, out, {**os.environ, **ENV})
    assert 1 <= done_at_kill < N
    assert not (out / "qa.parquet").exists()
    s = _summary(generate_cli("--passages", passages, "--out", out, *hf_args, "--json", env=ENV))
    assert s["passages_resumed"] == done_at_kill and s["passages_generated"] == N - done_at_kill
    assert s["passages_done"] == N and s["duplicate_records"] == 0
    assert not list((out / "chunks").rglob("*.tmp"))  # the killed run's half-written chunk is gone
    records = pl.read_parquet(list((out / "chunks").glob("*/chunk-*.parquet")))
    assert records["passage_id"].n_unique() == records.height == N
    ref = pl.read_parquet(list((ref_out / "chunks").glob("*/chunk-*.parquet")))
    cols = ["passage_id", "seed", "raw", "finish_reason", "output_tokens"]
    assert records.select(cols).sort("passage_id").equals(ref.select(cols).sort("passage_id"))
    assert pl.read_parquet(out / "qa.parquet").equals(pl.read_parquet(ref_out / "qa.parquet"))
    # once complete, a rerun generates nothing and starts no engine
    again = _summary(generate_cli("--passages", passages, "--out", out, *hf_args, "--json", env=ENV))
    assert (again["passages_generated"], again["passages_resumed"], again["pairs"]) == (0, N, s["pairs"])
    assert again["seconds"] < 30


def test_rerun_with_other_settings_is_refused(full_run, passages, generate_cli, hf_args):
    out, _, _ = full_run
    proc = generate_cli("--passages", passages, "--out", out, *hf_args, "--temperature", "0.5", env=ENV)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(f"error: {out}: the folder holds a run made with other settings")
    assert "sampling" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_data_parallel_replicas(passages, passage_rows, tmp_path, monkeypatch, tiny_model):
    from classit_data.generate import generate_wiki

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # read by torch in the spawned replicas
    s = generate_wiki(
        passages,
        tmp_path / "dp",
        GenerationConfig(
            backend="transformers", model=tiny_model, data_parallel_size=2, max_passages=N, max_tokens=4, chunk_size=2
        ),
        progress=False,
    )
    replicas = sorted({replica_of(r["passage_id"], 1, 2) for r in passage_rows(N)})
    dirs = sorted(p.name for p in (tmp_path / "dp" / "chunks").iterdir() if p.is_dir())
    assert dirs == [f"shard-00000-of-00001.dp-{r:03d}-of-002" for r in replicas] and len(dirs) == 2
    assert s.passages_done == s.passages_generated == N and s.duplicate_records == 0
    assert s.rejected_outputs_by_reason == {"truncated": N}  # 4 tokens are too few for any JSON list
    assert not list((tmp_path / "dp" / "chunks").glob(".todo*"))


def test_several_servers_share_the_requests(many, reference, tmp_path, generate_cli):
    """``--base-url A,B``: the requests go round the two servers, and the rows are those of one server."""
    servers = [StubServer(latency=0.01), StubServer(latency=0.01)]
    try:
        out = tmp_path / "out"
        both = SimpleNamespace(url=",".join(srv.url for srv in servers))
        proc = generate_cli(*stub_args(many, out, both), env=RAY_ENV)
        assert proc.returncode == 0, proc.stderr[-3000:]
        same_outputs(out, reference)
        assert [srv.requests for srv in servers] == [10, 10]
    finally:
        for srv in servers:
            srv.stop()


def test_replica_urls():
    from classit_data.generate.executors_ray import replica_urls

    urls = "http://a/v1,http://b/v1,http://c/v1"
    assert [replica_urls(urls, i, 4) for i in range(4)] == ["http://a/v1", "http://b/v1", "http://c/v1", "http://a/v1"]
    assert [replica_urls(urls, i, 2) for i in range(2)] == ["http://a/v1,http://c/v1", "http://b/v1"]
    assert replica_urls(None, 0, 2) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-shards", "2", "--shard-index", "2"], "must be below --num-shards"),
        (["--backend", "tpu"], "unknown backend 'tpu'"),
        (["--backend", "openai"], "needs --base-url"),
    ],
)
def test_bad_options(passages, tmp_path, args, message, generate_cli):
    proc = generate_cli("--passages", passages, "--out", tmp_path / "o", *args, env=ENV)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_bad_inputs(tmp_path, generate_cli):
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"passage_id": ["a"], "text": ["x"]}).write_parquet(bad)
    proc = generate_cli("--passages", bad, "--out", tmp_path / "o", env=ENV)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {bad}: missing column(s) article_id"
    holes = tmp_path / "holes.parquet"
    pl.DataFrame({"passage_id": ["a", None], "article_id": ["1", "2"], "text": ["x", "y"]}).write_parquet(holes)
    proc = generate_cli("--passages", holes, "--out", tmp_path / "o", env=ENV)
    assert proc.returncode == 2 and "(row 2)" in proc.stderr
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("temprature: 0.3\n")
    proc = generate_cli("--passages", holes, "--out", tmp_path / "o", "--config", cfg, env=ENV)
    assert proc.returncode == 2 and "temprature" in proc.stderr and str(cfg) in proc.stderr


def test_command_line_wins_over_the_config_file(tmp_path):
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("backend: transformers\ntemperature: 0.3\nbatch_size: 2\n")
    loaded = GenerationConfig.load(cfg, temperature=0.5, seed=None)
    assert (loaded.backend, loaded.temperature, loaded.batch_size, loaded.seed) == ("transformers", 0.5, 2, 0)


def test_generate_wiki_flags():
    """Every flag the command ever had still works; engine and server settings stay in the --config file."""
    import typer.main

    from classit_data.cli import app

    command = typer.main.get_command(app).commands["generate-wiki"]
    flags = {flag for param in command.params for flag in param.opts}
    assert {
        "--passages",
        "--out",
        "-o",
        "--model",
        "--backend",
        "--base-url",
        "--num-pairs",
        "--chunk-size",
        "--num-shards",
        "--shard-index",
        "--seed",
        "--temperature",
        "--top-p",
        "--max-tokens",
        "--repetition-penalty",
        "--config",
        "--tensor-parallel-size",
        "--data-parallel-size",
        "--max-passages",
        "--prompts",
        "--json",
    } <= flags
    assert not flags & {"--engine", "--batch-size", "--concurrency", "--max-retries", "--request-seeds", "--dtype"}


@pytest.mark.parametrize("as_json", [True, False])
def test_command_passes_what_was_typed(monkeypatch, capsys, as_json):
    """Only the options given reach the stage's settings (so the --config file fills the rest); --json shows no
    progress."""
    import classit_data.generate.generate as runner
    from classit_data.cli import main

    this_run = {
        "chunks": 1,
        "engine_load_seconds": None,
        "engine_close_seconds": None,
        "prompt_tokens": 9,
        "output_tokens": 7,
        "generation_seconds": 1.0,
        "passages_per_s": 1.0,
        "output_tokens_per_s": None,
    }
    summary = GenerateSummary(
        out_dir="o",
        qa="o/qa.parquet",
        rejects="o/rejects.parquet",
        backend="transformers",
        model="m",
        model_revision=None,
        prompt_hash="h",
        num_pairs=3,
        shard="0/1",
        passages_in_file=2,
        duplicate_passage_ids=0,
        passages_selected=2,
        passages_done=2,
        passages_resumed=0,
        passages_generated=2,
        passages_missing=0,
        duplicate_records=0,
        pairs=3,
        passages_with_pairs=2,
        rejected_outputs_by_reason={},
        dropped_pairs_by_reason={"extra_pair": 1},
        prompt_tokens=9,
        output_tokens=7,
        this_run=this_run,
        projection=project(
            {"passages_done": 2, "passages_in_file": 2, "prompt_tokens": 9, "output_tokens": 7}, this_run, None
        ),
        verified={},
        seconds=1.5,
    )
    seen = {}

    def fake_generate_wiki(passages, out, settings, *, progress):
        seen.update(passages=passages, out=out, settings=settings, progress=progress)
        return summary

    monkeypatch.setattr(runner, "generate_wiki", fake_generate_wiki)
    args = ["generate-wiki", "--passages", "p.parquet", "-o", "o", "--temperature", "0.5", "--backend", "vllm"]
    assert main(args + ["--json"] * as_json) == 0
    assert (seen["passages"], seen["out"], seen["progress"]) == ("p.parquet", "o", not as_json)
    assert seen["settings"] == GenerationConfig(temperature=0.5, backend="vllm")
    assert seen["settings"].model_fields_set == {"temperature", "backend"}
    out = capsys.readouterr().out
    assert (json.loads(out) == summary.to_json()) if as_json else out == ""


def test_stats_of_replicas_add_up():
    from collections import Counter

    a, b = GenerationStats(), GenerationStats()
    a.update("pairs", 2)
    a.reject("no_json")
    a.generation_seconds = 3.0
    b.update("pairs", 1)
    b.reject("no_json")
    b.drop("extra_pair")
    b.generation_seconds = 5.0
    a.add(b)
    assert (a["pairs"], a.rejected, a.dropped) == (3, Counter(no_json=2), Counter(extra_pair=1))
    assert a.generation_seconds == 5.0  # replicas run side by side: the longest, not the sum


def test_progress_off_a_terminal_is_one_line_per_chunk(capsys):
    import time

    from classit_data.generate.executors import chunks_bar, show_chunk

    assert chunks_bar("generate-wiki", 4, progress=False) is None
    stats = GenerationStats()
    bar, started = chunks_bar("generate-wiki", 4, progress=True), time.perf_counter()
    for _ in range(2):
        stats.update("passages_generated", 2)
        stats.update("output_tokens_generated", 50)
        show_chunk(bar, "generate-wiki", 4, stats, started)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(", ")[0] for line in lines] == ["generate-wiki: 2/4 passages", "generate-wiki: 4/4 passages"]
    assert all(line.endswith(" tok/s") and " passages/s, " in line for line in lines)


def test_the_executor_setting_picks_the_executor():
    from classit_data.generate.executors import LocalExecutor
    from classit_data.generate.executors_ray import RayExecutor
    from classit_data.generate.generate import executor_for

    assert type(executor_for("openai", GenerationConfig())) is LocalExecutor
    ray = executor_for("openai", GenerationConfig(executor="ray"))
    assert isinstance(ray, RayExecutor) and (ray.kind, ray.cfg.executor) == ("openai", "ray")
