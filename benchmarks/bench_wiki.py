"""Throughput, scaling and memory of `classit-data prepare-wiki`, end to end from .xml.bz2.

For each size, a synthetic dump is written (benchmarks/make_synthetic_wiki.py, cached in the work folder),
then the real command runs in a subprocess while the summed RSS of its process tree (main process and
workers; RSS and PSS) is sampled every 100 ms. Printed: wall time, articles/s, passages, peak RSS, the time ratio
between the sizes against their article ratio (linear growth means they match), and the machine's load
average at the start (other work on the machine slows the figures down).

    .venv/bin/python benchmarks/bench_wiki.py [--sizes 10000 40000] [--workers N] [--work DIR]

Targets: >= 400 articles/s on 2 cores, time linear in the dump size, peak RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_synthetic_wiki import write_synthetic_dump  # noqa: E402


def tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """(summed RSS, summed PSS) of a process and its children.

    RSS counts the libraries the workers share with each other once per process, so its sum overstates
    the memory in use; PSS splits shared pages between the processes that share them.
    """
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss, pss


def run_once(dump: Path, out: Path, workers: int | None) -> dict:
    cmd = [sys.executable, "-m", "classit_data", "prepare-wiki", str(dump), "--out", str(out), "--json"]
    if workers:
        cmd += ["--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    ps = psutil.Process(proc.pid)
    peak = peak_pss = 0
    while proc.poll() is None:
        try:
            rss, pss = tree_memory(ps)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"prepare-wiki failed: {stderr}")
    summary = json.loads(stdout)
    return {
        "wall_s": wall,
        "articles": summary["articles_read"],
        "pages": summary["pages_read"],
        "passages": summary["passages"],
        "words": summary["words"],
        "peak_rss_mb": peak / 2**20,
        "peak_pss_mb": peak_pss / 2**20,
        "inner_s": summary["seconds"],
        "workers": summary["config"]["workers"],
        "dump_mb": dump.stat().st_size / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "classit-bench-wiki")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    load = os.getloadavg()
    print(
        f"# prepare-wiki benchmark, {dt.datetime.now().isoformat(timespec='minutes')}, "
        f"{psutil.cpu_count()} cores, load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )
    results = []
    for n in args.sizes:
        dump = args.work / f"synthetic-{n}.xml.bz2"
        if not dump.exists():
            t = time.perf_counter()
            write_synthetic_dump(n, dump, seed=n)
            print(f"generated {dump.name} ({dump.stat().st_size / 2**20:.1f} MB) in {time.perf_counter() - t:.1f} s")
        r = run_once(dump, args.work / f"passages-{n}.parquet", args.workers)
        r["size"] = n
        results.append(r)
        print(
            f"{n:>7,} articles ({r['pages']:,} pages, {r['dump_mb']:.1f} MB bz2): {r['wall_s']:.1f} s wall, "
            f"{r['articles'] / r['wall_s']:.0f} articles/s end to end ({r['articles'] / r['inner_s']:.0f}/s "
            f"without start-up), {r['passages']:,} passages, {r['words']:,} words, workers {r['workers']}, "
            f"peak memory of the process tree: RSS {r['peak_rss_mb']:.0f} MB summed, PSS {r['peak_pss_mb']:.0f} MB"
        )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(
            f"scaling: {b['size'] / a['size']:.2f}x articles took {b['wall_s'] / a['wall_s']:.2f}x wall time "
            f"({b['inner_s'] / a['inner_s']:.2f}x without start-up); peak RSS {a['peak_rss_mb']:.0f} -> "
            f"{b['peak_rss_mb']:.0f} MB"
        )
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
