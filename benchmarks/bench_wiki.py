"""Throughput, scaling and memory of `classit-data prepare-wiki`, end to end from .xml.bz2.

For each size, a synthetic dump is written (``make_synthetic_wiki.py``, cached in the work folder), then the
real command runs in a subprocess, the sizes alternating. Reported: medians of wall time, CPU and peak RSS
(of the largest process of the tree: the main process or one worker), articles/s end to end and without
start-up (the command's own time), passages, and the time ratio between the sizes (linear growth: it matches
the article ratio).

    python -m benchmarks wiki [--sizes 10000 40000] [--workers N] [--work DIR]

Targets: >= 400 articles/s on 2 cores, time linear in the dump size, peak RSS < 1 GB.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.harness import Report, alternate, cli, options, parse
from benchmarks.make_synthetic_wiki import write_synthetic_dump


def prepare(dump: Path, out: Path, workers: int | None):
    extra = ["--workers", str(workers)] if workers else []
    return cli("classit_data", "prepare-wiki", dump, "--out", out, *extra, env={"HF_HUB_OFFLINE": "1"})


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="articles (10000 40000; --quick 1000 4000)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "classit-bench-wiki")
    args = parse(parser, argv)
    sizes = args.sizes or ([1_000, 4_000] if args.quick else [10_000, 40_000])
    args.work.mkdir(parents=True, exist_ok=True)
    report = Report("wiki", "prepare-wiki: Simple English Wikipedia -> passages", argv)
    dumps = {n: args.work / f"synthetic-{n}.xml.bz2" for n in sizes}
    for n, dump in dumps.items():
        if not dump.exists():
            write_synthetic_dump(n, dump, seed=n)
    variants = {
        f"{n:,} articles": prepare(d, args.work / f"passages-{n}.parquet", args.workers) for n, d in dumps.items()
    }
    runs = alternate(variants, repeat=args.repeat, baseline=f"{sizes[0]:,} articles")
    table = runs.rows("articles_read", "passages", "seconds")
    for row, n in zip(table, sizes):
        summary = runs.runs[row["variant"]][-1].output
        row |= {"dump MB": dumps[n].stat().st_size / 2**20, "workers": summary["config"]["workers"]}
        row["articles/s"] = summary["articles_read"] / row["wall s"]
        row["articles/s without start-up"] = summary["articles_read"] / row["seconds"]
    report.line(
        "Synthetic dumps (`make_synthetic_wiki.py`: articles, redirects, talk pages, long-tailed sizes); "
        "`seconds` is the command's own time; the ratio column divides by the smallest size."
    )
    report.table(table)
    report.write(args.results)


if __name__ == "__main__":
    main()
