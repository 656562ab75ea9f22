"""Speed of `classit-data validate` (checks + deduplication) and `classit-data stats` (statistics + Figure 1).

For each size, synthetic rows and passages are written once (benchmarks/make_synthetic_rows.py, cached in the
work folder); then the real commands run in subprocesses, the way a user runs them, ``--repeat`` times each.
Printed per run: wall time, the child's CPU time (user + system: on a machine shared with other jobs the wall
time grows with their load, the CPU time much less), the phases the command reports itself, the load average
at the start, and the ratio between the sizes (linear growth: the time ratio matches the row ratio).

    .venv/bin/python benchmarks/bench_validate.py [--sizes 130000 260000] [--repeat 2] [--work DIR]

Targets: 130,000 rows (the published dataset's size): validate + dedup <= 10 s, stats + figure <= 5 s, on 2
cores; twice the rows take about twice the time.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
sys.path.insert(0, str(HERE))


def rows_for(n: int, work: Path) -> Path:
    folder = work / f"rows_{n}"
    if not (folder / "rows.parquet").exists():
        from make_synthetic_rows import make_rows

        from classit_data.core.io import write_rows

        rows, passages = make_rows(n, seed=0)
        write_rows(rows, folder / "rows.parquet")
        write_rows(passages, folder / "passages.parquet")
    return folder


def timed(args: list[str]) -> dict:
    """Run the CLI; wall time and the child's CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "classit_data", *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load, "stdout": proc.stdout}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[130_000, 260_000])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / "classit-bench-validate"
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {dt.date.today()}  cores={os.cpu_count()}  load average at start={os.getloadavg()}")
    results = {}
    for n in args.sizes:
        folder = rows_for(n, work)
        out = work / f"out_{n}"
        best = {}
        for rep in range(args.repeat):
            v = timed(
                [
                    "validate",
                    str(folder / "rows.parquet"),
                    "--passages",
                    str(folder / "passages.parquet"),
                    "--out",
                    str(out / "kept.parquet"),
                    "--quarantine",
                    str(out / "rejected.parquet"),
                    "--report",
                    str(out / "report.json"),
                    "--json",
                ]
            )
            report = json.loads(v.pop("stdout"))
            s = timed(["stats", str(out / "kept.parquet"), "--out", str(out / "stats"), "--json"])
            stats = json.loads(s.pop("stdout"))
            print(
                f"rows={n:,} run={rep + 1}: validate wall {v['wall']:.2f} s (cpu {v['cpu']:.2f} s, load "
                f"{v['load']:.2f}; phases {report['seconds']}); kept {report['kept']:,}, quarantined "
                f"{report['quarantined']:,} {report['by_reason']}; dedup {report['dedup']}"
            )
            print(
                f"rows={n:,} run={rep + 1}: stats wall {s['wall']:.2f} s (cpu {s['cpu']:.2f} s, load "
                f"{s['load']:.2f}; phases {stats['seconds']})"
            )
            for key, m in (("validate", v), ("stats", s)):
                if key not in best or m["wall"] < best[key]["wall"]:
                    best[key] = m
        results[n] = best
    print("\n| rows | validate + dedup: wall (cpu) | stats + figure: wall (cpu) |\n| ---: | ---: | ---: |")
    for n, b in results.items():
        print(
            f"| {n:,} | {b['validate']['wall']:.2f} s ({b['validate']['cpu']:.2f} s) | "
            f"{b['stats']['wall']:.2f} s ({b['stats']['cpu']:.2f} s) |"
        )
    if len(results) >= 2:
        (n0, b0), (n1, b1) = list(results.items())[0], list(results.items())[-1]
        for key in ("validate", "stats"):
            print(
                f"{key}: {n1 / n0:.1f}x the rows took {b1[key]['wall'] / b0[key]['wall']:.2f}x the wall time, "
                f"{b1[key]['cpu'] / b0[key]['cpu']:.2f}x the CPU time"
            )
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
