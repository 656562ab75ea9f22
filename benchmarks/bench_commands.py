"""Wall time of five commands of the pipeline, this checkout against an older one, interleaved in one run.

The commands run as a user runs them (a subprocess each: start-up, reading, work, writing), on real data where
``../shared/corpora`` has it: ``convert-switchboard`` on the BabyLM Switchboard file, ``prepare-wiki`` on the
real Wikipedia export, then ``validate``, ``stats`` and ``build`` on the converted rows. Each command runs
REPEAT times for each checkout, old and new alternating, so both see the same load; the table gives the median
wall time of each and the ratio new/old (below 1: the new code is faster). The load average before and after
is printed: figures from a busy machine are not comparable with a quiet one's.

    .venv/bin/python benchmarks/bench_commands.py --compare OLD_CHECKOUT [--repeat 5]

``OLD_CHECKOUT`` is a source tree of the package (e.g. ``git worktree add /tmp/old COMMIT``); both trees run
with this virtual environment, each through ``PYTHONPATH``. The two must take the same command lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))


def _inputs() -> tuple[Path, Path]:
    switchboard = CORPORA / "babylm" / "switchboard.train"
    wiki = CORPORA / "wiki_real" / "enwiki-special-export-20171220.xml.bz2"
    if not (switchboard.is_file() and wiki.is_file()):  # the bundled samples, on a clone without the corpora
        return ROOT / "samples" / "switchboard_sample.train", ROOT / "samples" / "simplewiki_sample.xml.bz2"
    return switchboard, wiki


def commands(work: Path) -> dict[str, list[str]]:
    """The command lines, by name, in pipeline order: each reads what the one before wrote (under ``work``)."""
    switchboard, wiki = _inputs()
    rows, kept = work / "sw.parquet", work / "val" / "kept.parquet"
    return {
        "convert-switchboard": ["convert-switchboard", str(switchboard), "--out", str(rows)],
        "prepare-wiki": ["prepare-wiki", str(wiki), "--out", str(work / "passages.parquet"), "--workers", "2"],
        "validate": [
            "validate",
            str(rows),
            "--out",
            str(kept),
            "--quarantine",
            str(work / "val" / "q.parquet"),
            "--report",
            str(work / "val" / "report.json"),
        ],
        "stats": ["stats", str(kept), "--out", str(work / "stats")],
        "build": ["build", "--switchboard", str(kept), "--out", str(work / "CLASS_IT"), "--force"],
    }


def run_once(code: Path, args: list[str]) -> float:
    """Wall seconds of one command run from the checkout ``code``; a failure stops the benchmark."""
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "classit_data.cli", *args, "--json"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{code}: {' '.join(args[:1])} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return seconds


def measure(new: Path, old: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Seconds of each command for each checkout, runs alternating old/new (a whole pipeline per run)."""
    times: dict[str, dict[str, list[float]]] = {}
    for i in range(repeat):
        for label, code in (("old", old), ("new", new)) if i % 2 == 0 else (("new", new), ("old", old)):
            work = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
            try:
                for name, args in commands(work).items():
                    times.setdefault(name, {"old": [], "new": []})[label].append(run_once(code, args))
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", type=Path, required=True, help="the older checkout to compare with")
    ap.add_argument("--repeat", type=int, default=5, help="runs of the pipeline per checkout")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    times = measure(ROOT, args.compare.resolve(), args.repeat)
    load_after = os.getloadavg()
    switchboard, wiki = _inputs()
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"inputs {switchboard.name}, {wiki.name}; {args.repeat} runs each, alternating"
    )
    print("\n| command | old median (s) | new median (s) | new/old |\n| --- | ---: | ---: | ---: |")
    for name, runs in times.items():
        old, new = statistics.median(runs["old"]), statistics.median(runs["new"])
        print(f"| {name} | {old:.2f} | {new:.2f} | {new / old:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
