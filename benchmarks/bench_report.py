"""Speed of `classit-data contamination` (130k rows against all of BLiMP) and `classit-data report` (the HTML
build report of a 130k-row build), run as a user runs them, in subprocesses.

    .venv/bin/python benchmarks/bench_report.py [--rows 130000] [--blimp ../shared/corpora/blimp] [--work DIR]

Targets on this machine: contamination <= 30 s, report <= 10 s. Printed: wall time, the child's CPU time, the
load average at the start, the report's file size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_validate import timed  # noqa: E402 - a sibling script: one way to time a command


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=130_000)
    corpora = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--blimp", default=str(corpora / "blimp"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--skip-build", action="store_true", help="reuse WORK/build")
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="bench_report_"))
    rows = work / "rows.parquet"
    if not rows.exists():
        subprocess.run([sys.executable, str(HERE / "make_synthetic_rows.py"), str(a.rows), str(work)], check=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    if Path(a.blimp).is_dir():
        run = timed(["contamination", str(rows), "--eval", a.blimp, "--json"])
        wall, cpu, rep = run["wall"], run["cpu"], json.loads(run["stdout"])
        print(
            f"contamination: {rep['rows']:,} rows x {rep['tasks']['blimp']['items']:,} BLiMP pairs: "
            f"{wall:.2f} s wall, {cpu:.2f} s CPU, {rep['contaminated_rows']} rows found"
        )
    else:
        print(f"contamination: skipped, no BLiMP at {a.blimp}")
    build = work / "build"
    if not a.skip_build:
        run = timed(["build", "--switchboard", str(rows), "--wiki", str(rows), "--out", str(build), "--force"])
        print(f"build (writes report.html too): {run['wall']:.2f} s wall, {run['cpu']:.2f} s CPU")
    out = work / "report.html"
    run = timed(["report", str(build), "--out", str(out)])
    print(
        f"report: {a.rows:,}-row build: {run['wall']:.2f} s wall, {run['cpu']:.2f} s CPU, "
        f"{out.stat().st_size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
