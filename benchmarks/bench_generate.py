"""generate-wiki throughput: (1) our overhead over a bare ``LLM.chat`` with the same engine and prompts,
(2) vLLM against the transformers backend, both on the embedded SmolLM2-135M-Instruct.

    python -m benchmarks generate [--passages 16] [--max-tokens 96] [--skip-transformers] [--repeat 3]

Passages come from the bundled sample dump (``prepare_wiki``). Output tokens/s excludes engine start-up
and shut-down on both sides (bare: the ``LLM.chat`` call; ours: the whole ``generate_wiki`` call minus engine
loading and closing, so reading passages, rendering prompts, writing chunks, parsing and writing outputs all
count against us). Each side runs in a child process of its own, alternating.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.harness import ROOT, Call, Report, alternate, options, parse, stopwatch


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
    with stopwatch() as load:
        backend = VLLMBackend(
            embedded_model_dir(), model_id="bench", model_revision=None, seed=seed, **cfg.backend_options("vllm")
        )
    rows = pl.read_parquet(passages).to_dicts()
    messages = [task.messages(r) for r in rows]
    params = backend.sampling_params(cfg.sampling(), None, task.schema)
    with stopwatch() as call:
        outs = backend.llm.chat(messages, params, use_tqdm=False)
    dt = call.seconds
    tokens = sum(len(o.outputs[0].token_ids) for o in outs)
    with stopwatch() as close:
        backend.close()
    return {
        "engine_load_s": round(load.seconds, 1),
        "engine_close_s": round(close.seconds, 1),
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


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--passages", type=int, default=None, help="passages (default 16; --quick 4)")
    parser.add_argument("--max-tokens", type=int, default=None, help="output tokens per request (96; --quick 48)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--hf-threads", type=int, default=None, help="torch threads of the transformers backend")
    args = parse(parser, argv)
    n, max_tokens = args.passages or (4 if args.quick else 16), args.max_tokens or (48 if args.quick else 96)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classit_data.generate.config import GenerationConfig

    sampling = dict(max_tokens=max_tokens, temperature=0.7, top_p=0.9, repetition_penalty=1.1)
    cfg = GenerationConfig(**sampling)
    report = Report("generate", "generate-wiki: overhead over bare vLLM, vLLM against transformers", argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        passages = make_passages(tmp, n)
        variants = {
            "LLM.chat (bare vLLM)": Call(bare_vllm, passages, cfg, args.seed),
            "generate-wiki, vllm": Call(ours, passages, tmp / "vllm", "vllm", args.seed, **sampling),
        }
        if not args.skip_transformers:
            hf = dict(batch_size=8, threads=args.hf_threads, **sampling)
            variants["generate-wiki, transformers"] = Call(ours, passages, tmp / "hf", "transformers", args.seed, **hf)
        runs = alternate(variants, repeat=args.repeat, baseline="LLM.chat (bare vLLM)")
    table = runs.rows("output_tokens", "output_tokens_per_s", "engine_load_s", "engine_close_s")
    for row in table:
        row["tokens/s / LLM.chat"] = runs.ratio(row["variant"], "output_tokens_per_s")
    report.line(
        f"{n} passages of the bundled sample dump, embedded SmolLM2-135M-Instruct, sampling {sampling}. "
        "output_tokens_per_s leaves out engine start-up and shut-down on both sides (bare: the `LLM.chat` call; "
        "ours: the whole `generate_wiki` call minus engine load and close); wall s is the whole run."
    )
    report.table(table)
    report.write(args.results)


if __name__ == "__main__":
    main()
