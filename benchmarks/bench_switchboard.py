"""Speed and memory of `classit-data convert-switchboard` on the real BabyLM Switchboard file.

Runs the real command in a subprocess (Python start-up, reading, cleaning, pairing, rendering `text`,
writing Parquet: everything a user waits for), on the file and on the file doubled (written to a
temporary folder), REPEAT times each, and prints the median wall time, the converter's own time (from its
JSON summary), the peak RSS of the process (``wait4`` rusage: exact, not sampled) and the time ratio of
doubled to single input. The machine's load average is printed too: other work on it slows the figures.

    .venv/bin/python benchmarks/bench_switchboard.py [--input PATH] [--repeat 3] [--compare OLD_CHECKOUT]

``--compare`` also times an older checkout of the code (``PYTHONPATH`` at it), runs interleaved with this
one's on the single file, and prints old/new wall time: a ratio measured under the same load.

Targets (the converter's budget: a user converts the whole corpus in seconds, on a small machine, in time
linear in the input): <= 5 s wall and <= 500 MB peak RSS for the 199,740-line file on 2 cores; the doubled
input takes <= 2.2x the time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))
DEFAULT_INPUT = CORPORA / "babylm" / "switchboard.train"


def run_once(inputs: list[Path], out: Path, code: Path = ROOT) -> dict:
    cmd = [sys.executable, "-m", "classit_data", "convert-switchboard", *map(str, inputs), "--out", str(out), "--json"]
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"convert-switchboard failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    summary = json.loads(stdout)
    return {
        "wall": wall,
        "convert": summary["seconds"],
        "rss_mb": usage.ru_maxrss / 1024,
        "items": summary["items"],
        "utterances": summary["utterances"],
        "words": summary["words"],
    }


def measure(inputs: list[Path], out: Path, repeat: int) -> dict:
    runs = [run_once(inputs, out) for _ in range(repeat)]
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "convert": statistics.median(r["convert"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "walls": [round(r["wall"], 2) for r in runs],
        "items": runs[0]["items"],
        "utterances": runs[0]["utterances"],
        "words": runs[0]["words"],
    }


def compare(path: Path, old: Path, repeat: int) -> None:
    """Old and new code on the same file, runs interleaved so that both see the same load."""
    walls: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for name, code in (("old", old), ("new", ROOT)):
                walls[name].append(run_once([path], Path(tmp) / f"{name}.parquet", code)["wall"])
    old_s, new_s = statistics.median(walls["old"]), statistics.median(walls["new"])
    print(
        f"old code ({old}): median {old_s:.2f} s {[round(w, 2) for w in walls['old']]}; this code: median "
        f"{new_s:.2f} s {[round(w, 2) for w in walls['new']]}; new/old {new_s / old_s:.2f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compare", type=Path, default=None, help="an older checkout to time against this one")
    args = ap.parse_args()
    if not args.input.is_file():
        raise SystemExit(f"input not found: {args.input}")
    print(f"date {dt.date.today()}, load average at start {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        doubled = Path(tmp) / "switchboard_x2.train"
        data = args.input.read_bytes()
        doubled.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + data)
        single = measure([args.input], Path(tmp) / "single.parquet", args.repeat)
        double = measure([doubled], Path(tmp) / "double.parquet", args.repeat)
    print(
        f"{'input':<22}{'utterances':>11}{'items':>8}{'wall s (median)':>17}{'convert s':>11}{'peak RSS MB':>13}  runs"
    )
    for name, r in (("single", single), ("doubled", double)):
        print(
            f"{name:<22}{r['utterances']:>11,}{r['items']:>8,}{r['wall']:>17.2f}{r['convert']:>11.2f}"
            f"{r['rss_mb']:>13.0f}  {r['walls']}"
        )
    ratio = double["wall"] / single["wall"]
    ratio_convert = double["convert"] / single["convert"]
    print(f"doubled/single wall time: {ratio:.2f}x (converter alone {ratio_convert:.2f}x)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.compare is not None:
        compare(args.input, args.compare, args.repeat)
    ok = single["wall"] <= 5 and single["rss_mb"] <= 500 and ratio <= 2.2
    print("targets (<= 5 s, <= 500 MB, <= 2.2x):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
