"""The same commands, the same inputs, two revisions of the code: wall-time ratios measured in one run.

Checks that a change which should not alter speed (a refactor) did not: ``--base REV`` is checked out into a
temporary git worktree and run with ``PYTHONPATH`` pointing at it, the working tree runs as it is, both with
this interpreter (same libraries). The runs alternate (base, new, base, new, ...) so that a change in the
machine's load hits both sides alike; each figure is the median of ``--repeat`` runs, and the ratio is
new / base (1.00 = the same speed; below 1 faster).

Commands timed: ``convert-switchboard`` on the BabyLM Switchboard file (the real one under
``../shared/corpora`` when present, else the bundled sample), ``prepare-wiki`` on a synthetic dump
(``make_synthetic_wiki.py``, two workers), ``validate`` and ``stats`` on synthetic rows
(``make_synthetic_rows.py``), and ``build`` on the rows ``validate`` kept.

    .venv/bin/python benchmarks/bench_revisions.py --base HEAD~1 [--rows 130000] [--articles 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REAL_SWITCHBOARD = ROOT.parent / "shared" / "corpora" / "babylm" / "switchboard.train"
SAMPLE_SWITCHBOARD = ROOT / "samples" / "switchboard_sample.train"


def commands(work: Path, side: str, switchboard: Path) -> dict[str, list[str]]:
    """Each timed command's arguments; outputs go to a folder of the side's own."""
    out = work / side
    rows, passages = work / "rows.parquet", work / "passages.parquet"
    return {
        "convert-switchboard": ["convert-switchboard", str(switchboard), "-o", str(out / "sw.parquet")],
        "prepare-wiki": ["prepare-wiki", str(work / "dump.xml.bz2"), "-o", str(out / "wiki.parquet"), "--workers", "2"],
        "validate": [
            "validate",
            str(rows),
            "--passages",
            str(passages),
            "--out",
            str(out / "kept.parquet"),
            "--quarantine",
            str(out / "rejected.parquet"),
            "--report",
            str(out / "report.json"),
        ],
        "stats": ["stats", str(out / "kept.parquet"), "-o", str(out / "stats")],
        "build": [
            "build",
            "--switchboard",
            str(out / "kept.parquet"),
            "--wiki",
            str(out / "kept.parquet"),
            "--passages",
            str(passages),
            "--out",
            str(out / "CLASS_IT"),
            "--val-fraction",
            "0.02",
        ],
    }


def timed(args: list[str], pythonpath: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "classit_data", *args], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args[:1])} failed under {pythonpath}:\n{r.stderr[-2000:]}")
    return elapsed


def measure(trees: dict[str, Path], work: Path, switchboard: Path, repeat: int) -> dict[str, dict[str, list]]:
    times: dict[str, dict[str, list]] = {}
    for _ in range(repeat):
        for side, tree in trees.items():  # alternate: base, new, base, new, ...
            (work / side).mkdir(exist_ok=True)
            for name, args in commands(work, side, switchboard).items():
                times.setdefault(name, {}).setdefault(side, []).append(timed(args, tree))
    return times


def same_outputs(work: Path) -> dict[str, object]:
    """Do both sides write the same data: every Parquet file and figure byte for byte, and the same card?

    The card names the command that built it, whose paths differ by side; they are compared with the side's
    folder written as ``OUT``. Files that record seconds (``report.json``, ``report.md``, ``stats.*``) and the
    SVGs (matplotlib stamps a date in them) are not compared.
    """

    def digest(side: str) -> dict[str, bytes]:
        folder = work / side
        files = {
            str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".parquet", ".png")
        }
        card = folder / "CLASS_IT" / "README.md"
        files["CLASS_IT/README.md"] = card.read_text(encoding="utf-8").replace(str(folder), "OUT").encode()
        return files

    base, new = digest("base"), digest("new")
    return {
        "files compared": len(base),
        "identical data files": base == new,
        "differing files": sorted(k for k in base.keys() | new.keys() if base.get(k) != new.get(k)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision to compare against (e.g. HEAD~1, a commit id)")
    ap.add_argument("--rows", type=int, default=130_000)
    ap.add_argument("--articles", type=int, default=3000, help="articles of the synthetic dump for prepare-wiki")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from make_synthetic_rows import make_rows
    from make_synthetic_wiki import write_synthetic_dump

    from classit_data.core.io import write_rows

    switchboard = REAL_SWITCHBOARD if REAL_SWITCHBOARD.exists() else SAMPLE_SWITCHBOARD
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-revisions-") as tmp:
        work, base_tree = Path(tmp), Path(tmp) / "base-tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.base],
            check=True,
            capture_output=True,
        )
        try:
            rows, passages = make_rows(args.rows)
            write_rows(rows, work / "rows.parquet")
            write_rows(passages, work / "passages.parquet")
            write_synthetic_dump(args.articles, work / "dump.xml.bz2")
            times = measure({"base": base_tree, "new": ROOT}, work, switchboard, args.repeat)
            checks = same_outputs(work)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], check=False)
    figures = {
        name: {
            "base_s": round(statistics.median(t["base"]), 3),
            "new_s": round(statistics.median(t["new"]), 3),
            "ratio": round(statistics.median(t["new"]) / statistics.median(t["base"]), 3),
        }
        for name, t in times.items()
    }
    print(
        json.dumps(
            {
                "base": args.base,
                "rows": args.rows,
                "articles": args.articles,
                "repeat": args.repeat,
                "switchboard_input": str(switchboard),
                "commands": figures,
                **checks,
                "load_average": {
                    "start": [round(x, 2) for x in load_start],
                    "end": [round(x, 2) for x in os.getloadavg()],
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
