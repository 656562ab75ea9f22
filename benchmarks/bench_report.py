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
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def timed(*args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, child CPU s, the finished process) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "classit_data", *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {res.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), res


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
        wall, cpu, res = timed("contamination", str(rows), "--eval", a.blimp, "--json")
        rep = json.loads(res.stdout)
        print(f"contamination: {rep['rows']:,} rows x {rep['tasks']['blimp']['items']:,} BLiMP pairs: "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU, {rep['contaminated_rows']} rows found")
    else:
        print(f"contamination: skipped, no BLiMP at {a.blimp}")
    build = work / "build"
    if not a.skip_build:
        wall, cpu, _ = timed("build", "--switchboard", str(rows), "--wiki", str(rows), "--out", str(build), "--force")
        print(f"build (writes report.html too): {wall:.2f} s wall, {cpu:.2f} s CPU")
    out = work / "report.html"
    wall, cpu, _ = timed("report", str(build), "--out", str(out))
    print(f"report: {a.rows:,}-row build: {wall:.2f} s wall, {cpu:.2f} s CPU, {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
