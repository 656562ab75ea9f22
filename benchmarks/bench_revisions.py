"""The same commands, the same inputs, two revisions of the code: wall-time ratios measured in one run.

Checks that a change which should not alter speed (a refactor) did not: ``--base REV`` is checked out into a
temporary folder and run with ``PYTHONPATH`` pointing at it, the working tree runs as it is, both with this
interpreter (same libraries). The runs alternate (base, new, base, new, ...) so that a change in the
machine's load hits both sides alike; each figure is the median of ``--repeat`` runs, and the ratio is
new / base (1.00 = the same speed; below 1 faster).

Commands timed: ``convert-switchboard`` on the BabyLM Switchboard file (the real one under
``../shared/corpora`` when present, else the bundled sample), ``prepare-wiki`` on a synthetic dump
(``make_synthetic_wiki.py``, two workers), ``validate`` and ``stats`` on synthetic rows
(``make_synthetic_rows.py``), and ``build`` on the rows ``validate`` kept.

    python -m benchmarks revisions [--base HEAD~1] [--rows 130000] [--articles 3000] [--repeat 3]

Without ``--base``, the working tree is compared with its last commit (HEAD).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from benchmarks.harness import ROOT, Command, Report, alternate, options, parse, python, ratio
from benchmarks.make_synthetic_rows import rows_folder
from benchmarks.make_synthetic_wiki import write_synthetic_dump

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


def variants(trees: dict[str, Path], work: Path, switchboard: Path) -> dict[str, Command]:
    """``"SIDE COMMAND"`` -> the command run with that side's code, in the order a round runs them: each side's
    commands in pipeline order (``stats`` and ``build`` read what its ``validate`` wrote), then the other side's."""
    found = {}
    for side, tree in trees.items():
        (work / side).mkdir(exist_ok=True)
        for name, args in commands(work, side, switchboard).items():
            env = {"PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
            found[f"{side} {name}"] = Command(python("-m", "classit_data", *args), env=env)
    return found


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


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--base", default="HEAD", help="git revision to compare against (default: HEAD)")
    parser.add_argument("--rows", type=int, default=None, help="synthetic rows (default 130000; --quick 20000)")
    parser.add_argument("--articles", type=int, default=None, help="articles of the synthetic dump (3000; 500)")
    args = parse(parser, argv)
    rows, articles = args.rows or (20_000 if args.quick else 130_000), args.articles or (500 if args.quick else 3000)
    switchboard = REAL_SWITCHBOARD if REAL_SWITCHBOARD.exists() else SAMPLE_SWITCHBOARD
    report = Report("revisions", f"The code against {args.base}: same speed, same data", argv)
    with tempfile.TemporaryDirectory(prefix="bench-revisions-") as tmp:
        work, base_tree = Path(tmp), Path(tmp) / "base-tree"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", str(base_tree), args.base], check=True, capture_output=True)
        try:
            folder = rows_folder(rows, work)
            for name in ("rows.parquet", "passages.parquet"):
                (work / name).symlink_to(folder / name)
            write_synthetic_dump(articles, work / "dump.xml.bz2")
            runs = alternate(variants({"base": base_tree, "new": ROOT}, work, switchboard), repeat=args.repeat)
            checks = same_outputs(work)
        finally:
            subprocess.run([*git, "remove", "--force", str(base_tree)], check=False)
    table = []
    for name in commands(work, "new", switchboard):
        base, new = runs.median(f"base {name}"), runs.median(f"new {name}")
        table.append({"command": name, "runs": args.repeat, f"{args.base} s": base, "this code s": new})
        table[-1]["ratio"] = ratio(new, base)
    report.line(
        f"Inputs: `{switchboard.name}`, a synthetic dump of {articles:,} articles (two workers), {rows:,} synthetic "
        "rows; medians of alternating runs; ratio = this code / base (below 1: faster)."
    )
    report.table(table)
    report.table([{k: ", ".join(v) if isinstance(v, list) else v for k, v in checks.items()}])
    report.write(args.results)


if __name__ == "__main__":
    main()
