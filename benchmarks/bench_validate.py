"""Speed of `classit-data validate` (checks + deduplication) and `classit-data stats` (statistics + Figure 1).

For each size, synthetic rows and passages are written once (``make_synthetic_rows.py``, cached in the work
folder); then the real commands run in subprocesses, the way a user runs them, alternating, and the medians of
wall and CPU time are reported with the phases the commands report themselves and the ratio between the sizes
(linear growth: the time ratio matches the row ratio).

    python -m benchmarks validate [--sizes 130000 260000] [--repeat 3] [--work DIR] [--baseline SRC]

``--baseline SRC``: another checkout (``git archive REV | tar -x -C SRC``); ``validate`` of this checkout and
of that one run in turn on the same rows, and the section holds their medians and ratio instead.

Targets: 130,000 rows (the published dataset's size): validate + dedup <= 10 s, stats + figure <= 5 s, on 2
cores; twice the rows take about twice the time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.harness import ROOT, Report, alternate, cli, options, parse
from benchmarks.make_synthetic_rows import rows_folder


def commands(folder: Path, out: Path) -> dict:
    rows, passages, kept = folder / "rows.parquet", folder / "passages.parquet", out / "kept.parquet"
    validate = ["validate", rows, "--passages", passages, "--out", kept, "--quarantine", out / "rejected.parquet"]
    return {
        "validate": cli("classit_data", *validate, "--report", out / "report.json"),
        "stats": cli("classit_data", "stats", kept, "--out", out / "stats"),
    }


def against_baseline(sizes: list[int], args, report: Report) -> None:
    """``validate`` of this checkout and of ``args.baseline`` alternating (each run from its own folder, which
    ``python -m`` puts first on the path)."""
    for n in sizes:
        folder, out = rows_folder(n, args.work), args.work / f"out_{n}"
        variants = {name: commands(folder, out / name)["validate"] for name in ("this checkout", "baseline checkout")}
        for name, src in (("this checkout", ROOT), ("baseline checkout", args.baseline.resolve())):
            variants[name].cwd, variants[name].env = src, {"PYTHONPATH": str(src)}
        runs = alternate(variants, repeat=args.repeat, baseline="baseline checkout")
        report.line(f"{n:,} rows, `validate` with `--passages`:")
        report.comparison(runs)
        for name, measured in runs.runs.items():
            report.line(f"{name}: dedup {measured[-1].output['dedup']}")
    report.write(args.results)


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="rows (default 130000 260000)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "classit-bench-validate")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare validate with")
    args = parse(parser, argv)
    sizes = args.sizes or ([20_000, 40_000] if args.quick else [130_000, 260_000])
    report = Report("validate", "validate / stats: quality gate + deduplication, statistics + Figure 1", argv)
    if args.baseline:
        against_baseline(sizes, args, Report("validate_baseline", "validate against an earlier checkout", argv))
        return
    rows = []
    for n in sizes:
        runs = alternate(commands(rows_folder(n, args.work), args.work / f"out_{n}"), repeat=args.repeat)
        last = {step: measured[-1].output for step, measured in runs.runs.items()}
        for step, measured in runs.runs.items():
            row = {"rows": n, "command": step, "runs": len(measured)}
            row |= {"wall s": runs.median(step), "CPU s": runs.median(step, "cpu_s")}
            row |= {"peak RSS MB": runs.median(step, "peak_rss_mb")}
            row["phases s (last run)"] = ", ".join(f"{k} {v:.2f}" for k, v in last[step]["seconds"].items())
            rows.append(row)
        rows[-2]["kept / quarantined"] = f"{last['validate']['kept']:,} / {last['validate']['quarantined']:,}"
    for step in ("validate", "stats"):
        walls = [r["wall s"] for r in rows if r["command"] == step]
        rows[-1 if step == "stats" else -2]["wall ratio to the smallest size"] = walls[-1] / walls[0]
    report.line("Synthetic rows from `benchmarks/make_synthetic_rows.py` (published mix and lengths, 2% bad rows).")
    report.table(rows)
    first = {r["command"]: r["wall s"] for r in rows if r["rows"] == sizes[0]}
    report.line(f"Median wall at {sizes[0]:,} rows: validate {first['validate']:.2f} s, stats {first['stats']:.2f} s.")
    report.write(args.results)


if __name__ == "__main__":
    main()
