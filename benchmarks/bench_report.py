"""Speed of `classit-data contamination` (synthetic rows against all of BLiMP) and `classit-data report` (the
HTML build report), run as a user runs them, in subprocesses.

    python -m benchmarks report [--rows 130000] [--blimp ../shared/corpora/blimp] [--work DIR]

Targets on a 2-core machine, 130,000 rows: contamination <= 30 s, report <= 10 s. Reported: medians of wall
time, CPU and peak RSS, rows found contaminated, the report's size. Without BLiMP, contamination is left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.harness import CORPORA, Report, alternate, cli, options, parse
from benchmarks.make_synthetic_rows import rows_folder


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--rows", type=int, default=None, help="synthetic rows (default 130000; --quick 20000)")
    parser.add_argument("--blimp", type=Path, default=CORPORA / "blimp")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "classit-bench-report")
    args = parse(parser, argv)
    n = args.rows or (20_000 if args.quick else 130_000)
    rows = rows_folder(n, args.work) / "rows.parquet"
    report = Report("report", "contamination and the HTML build report", argv)
    build, html = args.work / f"build_{n}", args.work / f"report_{n}.html"
    cli("classit_data", "build", "--switchboard", rows, "--wiki", rows, "--out", build, "--force").measure()
    steps = {"report": cli("classit_data", "report", build, "--out", html, summary=False)}
    if args.blimp.is_dir():
        steps["contamination"] = cli("classit_data", "contamination", rows, "--eval", args.blimp)
    runs = alternate(steps, repeat=args.repeat)
    report.line(f"{n:,} synthetic rows (`make_synthetic_rows.py`); the report of the build made from them.")
    report.comparison(runs)
    facts = {"report size MB": html.stat().st_size / 1e6}
    if "contamination" in steps:
        found = runs.runs["contamination"][-1].output
        facts |= {"BLiMP pairs": found["tasks"]["blimp"]["items"], "contaminated rows": found["contaminated_rows"]}
    report.table([facts])
    report.write(args.results)


if __name__ == "__main__":
    main()
