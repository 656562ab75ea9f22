"""The test suite: ``make test`` (lint, documentation build, the parallel pass, the serial pass) timed whole, on
this tree and, with ``--base REV``, on another revision of the code, with the same interpreter and libraries.

The base revision is checked out beside this one (so that its tests find ``../shared/corpora`` as this tree's
do) with this tree's ``.venv`` linked into it; ``make -o .venv/.installed-stamp test`` runs there without
reinstalling anything. Each pass's wall time and counts are read from pytest's last line; CPU time is the
whole ``make`` process tree's that was waited for (``wait4``). A failed suite is reported, not hidden.

    python -m benchmarks suite [--base REV] [--repeat 1] [--jobs auto]

One run of each tree unless ``--repeat`` asks for more (the other benchmarks' default is 3).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from benchmarks.harness import ROOT, Command, Report, alternate, options, parse, ratio

#: pytest's last line: "958 passed, 1 skipped in 407.03s (0:06:47)"
_LAST_LINE = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+(?:, )?)+) in (?P<seconds>[\d.]+)s", re.M)


def make_test(tree: Path, jobs: str) -> Command:
    """``make test`` in ``tree``, its code first on the path, nothing reinstalled."""
    env = {"PYTHONPATH": str(tree), "JOBS": jobs}
    return Command(["make", "-o", ".venv/.installed-stamp", "test"], cwd=tree, env=env, check=False, timeout=7200)


def passes(output: str) -> list[dict[str, float]]:
    """Each pytest pass's counts and seconds, in the order they ran: ``[{"passed": 958, ..., "seconds": 407.0}]``."""
    found = []
    for match in _LAST_LINE.finditer(output):
        counts = {word: float(n) for n, word in re.findall(r"(\d+) (\w+)", match["counts"])}
        found.append({**counts, "seconds": float(match["seconds"])})
    return found


#: pytest's short summary (``-ra``): "FAILED tests/test_x.py::test_y - AssertionError: ..."
_NOT_PASSED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def not_passed(output: str) -> list[str]:
    """The ids of the tests that failed or errored, as pytest's short summary names them."""
    return _NOT_PASSED.findall(output)


def not_passed_line(output: str, where: str) -> str | None:
    """A report's line naming the tests of ``output`` that did not pass (``where``: which run), or None."""
    failed = not_passed(output)
    return f"Not passed {where}: " + ", ".join(f"`{t}`" for t in failed) + "." if failed else None


def last_output(side: str, runs) -> str:
    """What the last run of one side printed, stdout then stderr."""
    m = runs.runs[side][-1]
    return f"{m.output}\n{m.error}"


def row(side: str, runs) -> dict:
    """A table row of one side: median wall and CPU; of its last run, each pass's seconds and the tests that
    passed, failed and were skipped."""
    m = runs.runs[side][-1]
    wall, cpu = runs.median(side), runs.median(side, "cpu_s")
    found = passes(last_output(side, runs))
    total = {k: sum(p.get(k, 0) for p in found) for k in ("passed", "failed", "error", "errors", "skipped")}
    return {
        "code": side,
        "runs": len(runs.runs[side]),
        "exit": m.returncode,
        "wall s": wall,
        "CPU s": cpu,
        "cores used": cpu / wall if wall else None,
        "pass seconds": ", ".join(f"{p['seconds']:.0f}" for p in found),
        "passed": int(total["passed"]),
        "failed": int(total["failed"] + total["error"] + total["errors"]),
        "skipped": int(total["skipped"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--base", default=None, help="git revision to time beside this tree (default: none)")
    parser.add_argument("--jobs", default="auto", help="pytest-xdist workers, as `make test JOBS=` (default auto)")
    parser.set_defaults(repeat=1)  # a run of the whole suite takes minutes: one each unless --repeat says more
    args = parse(parser, argv)
    report = Report("suite", "The test suite: `make test`", argv)
    trees = {"this tree": ROOT}
    base_tree = ROOT.parent / f".suite-base-{args.base}" if args.base else None
    git = ["git", "-C", str(ROOT), "worktree"]
    if base_tree:
        subprocess.run([*git, "add", "--detach", str(base_tree), args.base], check=True, capture_output=True)
        (base_tree / ".venv").symlink_to(ROOT / ".venv")
        trees = {args.base: base_tree, **trees}
    try:
        runs = alternate({side: make_test(tree, args.jobs) for side, tree in trees.items()}, repeat=args.repeat)
    finally:
        if base_tree:
            subprocess.run([*git, "remove", "--force", str(base_tree)], check=False, capture_output=True)
    table = [row(side, runs) for side in trees]
    if base_tree:
        for line in table:
            line["wall / base"] = ratio(runs.median(line["code"]), runs.median(args.base))
    report.line(
        "`make test` from start to end (lint, `mkdocs build --strict`, the parallel pytest pass, the serial pass); "
        "wall and CPU s: medians; the pass seconds and counts are pytest's, of the last run; CPU s counts the "
        "processes `make` waited for (a Ray or vLLM process that a test started and ended is among them)."
    )
    report.table(table)
    for side in trees:
        line = not_passed_line(last_output(side, runs), f"in the last run of {side}")
        if line:
            report.line(line)
    report.write(args.results)


if __name__ == "__main__":
    main()
