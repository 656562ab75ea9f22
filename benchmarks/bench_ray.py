"""generate-wiki on Ray: (1) overhead of ``--executor ray`` against the local executor, same passages, backend
and settings; (2) scaling by simulation with an OpenAI-compatible stub server; (3) a projection to all of
Simple Wikipedia on GPUs.

    .venv/bin/python benchmarks/bench_ray.py [--passages 16] [--max-tokens 48] [--replicas 1,2,4,8,16]

(1) The whole ``generate_wiki`` call on each side (reading, engine load, generation, chunk writing, assembly);
Ray is started before the timed call and its start-up reported apart; the steady ratio counts output
tokens/s between the first and the last chunk file only (engine start-up left out on both sides); one replica, transformers backend on the
embedded SmolLM2-135M, and the openai backend against the stub (latency 0.2 s, 64 output tokens). Ratio =
Ray's output tokens/s over the local executor's.
(2) One threaded stub server with a fixed latency per request stands in for one engine per replica (every
request sleeps on its own, so N replicas see N independent engines); each replica sends one request at a time
(concurrency 1, chunk size 1). Passages/s are counted in the steady state, from the chunk files' times: from the moment every
replica has written a chunk to the last chunk. Efficiency at N = rate(N) / (N * rate(1)).
Prints one JSON object; the figures in RESULTS.md come from it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_passages(path: Path, n: int) -> Path:
    import polars as pl

    from classit_data.core.schema import PASSAGE_SCHEMA
    from tests.generate.conftest import _passage_rows
    pl.DataFrame(_passage_rows(n), schema=PASSAGE_SCHEMA).write_parquet(path)
    return path


def overhead(passages: Path, tmp: Path, settings: dict) -> dict:
    """Output tokens/s of the whole call, local executor then Ray (already started)."""
    import ray

    from classit_data.generate import generate_wiki
    out = {}
    for executor in ("local", "ray"):
        t0 = time.perf_counter()
        s = generate_wiki(passages, tmp / f"{executor}-{time.time_ns()}", progress=False, executor=executor,
                          **settings)
        wall = time.perf_counter() - t0
        out[executor] = {"seconds": round(wall, 2), "output_tokens": s["output_tokens"],
                         "output_tokens_per_s": round(s["output_tokens"] / wall, 1),
                         "steady_output_tokens_per_s": _steady_tokens_per_s(Path(s["out_dir"]))}
    for key in ("output_tokens_per_s", "steady_output_tokens_per_s"):
        out[f"ratio_{key}"] = round(out["ray"][key] / out["local"][key], 3)
    assert ray.is_initialized()
    return out


def _chunk_files(out_dir: Path) -> list[Path]:
    return sorted((out_dir / "chunks").glob("*/chunk-*.parquet"), key=lambda f: f.stat().st_mtime)


def _steady_tokens_per_s(out_dir: Path) -> float:
    """Output tokens/s between the first and the last chunk file written: engine start-up left out."""
    import polars as pl
    files = _chunk_files(out_dir)
    tokens = sum(int(pl.read_parquet(f)["output_tokens"].sum()) for f in files[1:])
    return round(tokens / (files[-1].stat().st_mtime - files[0].stat().st_mtime), 1)


def scaling(passages: Path, tmp: Path, replicas: list[int], latency: float, per_replica: int) -> dict:
    import polars as pl

    from classit_data.generate.config import GenerationConfig
    from classit_data.generate.executors_ray import run_ray
    from classit_data.generate.stats import GenerationStats
    from tests.generate.openai_stub import StubServer
    todo = pl.read_parquet(passages).with_row_index("input_index").with_columns(pl.col("input_index").cast(pl.Int64))
    srv = StubServer(latency=latency)
    rates = {}
    try:
        for n in replicas:
            cfg = GenerationConfig(backend="openai", base_url=srv.url, chunk_size=1, concurrency=1,
                                   data_parallel_size=n, executor="ray", structured=False)
            run_ray("openai", cfg, todo.head(n * per_replica), tmp / f"scale-{n}", GenerationStats(), progress=False)
            times = [f.stat().st_mtime for f in _chunk_files(tmp / f"scale-{n}")]
            steady = times[n - 1:]  # from the moment every replica has returned a chunk
            rates[n] = round((len(steady) - 1) / (steady[-1] - steady[0]), 2)
    finally:
        srv.stop()
    return {"latency_s": latency, "passages_per_replica": per_replica, "passages_per_s": rates,
            "efficiency": {n: round(r / (n * rates[replicas[0]] / replicas[0]), 3) for n, r in rates.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--replicas", default="1,2,4,8,16")
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--per-replica", type=int, default=12)
    a = ap.parse_args()
    import ray

    from tests.generate.openai_stub import StubServer
    replicas = [int(x) for x in a.replicas.split(",")]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        ray.init(num_cpus=max(replicas), logging_level="ERROR", log_to_driver=False)
        result = {"ray_start_seconds": round(time.perf_counter() - t0, 2)}
        try:
            small = write_passages(tmp / "small.parquet", a.passages)
            result["overhead_transformers"] = overhead(small, tmp, {
                "backend": "transformers", "max_tokens": a.max_tokens, "chunk_size": 4, "batch_size": 4,
                "temperature": 0.0})
            srv = StubServer(latency=0.2, output_tokens=64)
            try:
                result["overhead_openai_stub"] = overhead(write_passages(tmp / "mid.parquet", 64), tmp, {
                    "backend": "openai", "base_url": srv.url, "chunk_size": 16})
            finally:
                srv.stop()
            big = write_passages(tmp / "big.parquet", max(replicas) * a.per_replica)
            result["scaling"] = scaling(big, tmp, replicas, a.latency, a.per_replica)
        finally:
            ray.shutdown()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
