"""Speed of `classit-data validate` (checks + deduplication) and `classit-data stats` (statistics + Figure 1).

For each size, synthetic rows and passages are written once (benchmarks/make_synthetic_rows.py, cached in the
work folder); then the real commands run in subprocesses, the way a user runs them, ``--repeat`` times each.
Printed per run: wall time, the child's CPU time (user + system: on a machine shared with other jobs the wall
time grows with their load, the CPU time much less), the phases the command reports itself, the load average
at the start, and the ratio between the sizes (linear growth: the time ratio matches the row ratio).

    .venv/bin/python benchmarks/bench_validate.py [--sizes 130000 260000] [--repeat 2] [--work DIR] [--baseline SRC]

``--baseline SRC``: a source tree of another version (e.g. ``git archive REV | tar -x -C SRC``); each
validate run of this version is followed by one of that version on the same rows, and the medians and their
ratio are printed, so both see the same machine load.

Targets: 130,000 rows (the published dataset's size): validate + dedup <= 10 s, stats + figure <= 5 s, on 2
cores; twice the rows take about twice the time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
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


def timed(args: list[str], src: Path = ROOT) -> dict:
    """Run the CLI of the source tree ``src`` (its folder first on the path); wall time and the child's CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "classit_data", *args], capture_output=True, text=True, cwd=src)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load, "stdout": proc.stdout}


def validate_args(folder: Path, out: Path) -> list[str]:
    rows, passages = str(folder / "rows.parquet"), str(folder / "passages.parquet")
    outputs = ["--out", str(out / "kept.parquet"), "--quarantine", str(out / "rejected.parquet")]
    return ["validate", rows, "--passages", passages, *outputs, "--report", str(out / "report.json"), "--json"]


def compare(folder: Path, out: Path, baseline: Path, repeat: int) -> None:
    """Validate runs of this version and of ``baseline`` in turn on the same rows; medians and their ratio."""
    runs: dict[str, list[dict]] = {"this version": [], "baseline": []}
    for rep in range(repeat):
        for name, src in (("this version", ROOT), ("baseline", baseline)):
            m = timed(validate_args(folder, out / name.replace(" ", "_")), src)
            report = json.loads(m.pop("stdout"))
            runs[name].append(m)
            print(
                f"{name} run={rep + 1}: validate wall {m['wall']:.2f} s (cpu {m['cpu']:.2f} s, load {m['load']:.2f});"
                f" quarantined {report['by_reason']}; dedup {report['dedup']}"
            )
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "load")} for name, rs in runs.items()}
    print(
        "\n| version | validate: median wall | median CPU | load at the starts (median) |\n| --- | ---: | ---: | ---: |"
    )
    for name, m in med.items():
        print(f"| {name} | {m['wall']:.2f} s | {m['cpu']:.2f} s | {m['load']:.2f} |")
    new, old = med["this version"], med["baseline"]
    print(f"this version / baseline: wall {new['wall'] / old['wall']:.2f}x, CPU {new['cpu'] / old['cpu']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[130_000, 260_000])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--baseline", type=Path, default=None, help="source tree of the version to compare with")
    args = ap.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / "classit-bench-validate"
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {dt.date.today()}  cores={os.cpu_count()}  load average at start={os.getloadavg()}")
    if args.baseline:
        for n in args.sizes:
            compare(rows_for(n, work), work / f"out_{n}", args.baseline.resolve(), args.repeat)
        return
    results = {}
    for n in args.sizes:
        folder = rows_for(n, work)
        out = work / f"out_{n}"
        best = {}
        for rep in range(args.repeat):
            v = timed(validate_args(folder, out))
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
