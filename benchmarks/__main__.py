"""``python -m benchmarks NAME [ARGS...]`` runs one benchmark; ``python -m benchmarks all [--quick]`` runs all.

Each benchmark is a module of this folder with a ``main(argv)`` that measures with :mod:`benchmarks.harness`
and replaces its own section of ``benchmarks/RESULTS.md``. ``all`` runs them one after the other, each in its
own process (a benchmark that fails does not stop the others), and ends with a line per benchmark; the GPU
benchmark is left out of ``all`` where ``nvidia-smi`` finds no GPU, the test suite's (``suite``, which runs ``make
test``, and ``suite_cpu``, which runs its parallel pass) always. ``python -m benchmarks list`` names them.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys

from benchmarks.harness import stopwatch

# name -> module: the name is the module's without its ``bench_``
BENCHMARKS = {
    "switchboard": "benchmarks.bench_switchboard",
    "switchboard_defects": "benchmarks.switchboard_defects",
    "wiki": "benchmarks.bench_wiki",
    "wiki_defects": "benchmarks.wiki_defects",
    "wikiextractor": "benchmarks.bench_wikiextractor",
    "multistream": "benchmarks.bench_multistream",
    "generate": "benchmarks.bench_generate",
    "determinism": "benchmarks.bench_determinism",
    "dedup": "benchmarks.bench_dedup",
    "judge": "benchmarks.bench_judge",
    "ray": "benchmarks.bench_ray",
    "validate": "benchmarks.bench_validate",
    "dedup_answer_key": "benchmarks.dedup_answer_key",
    "build": "benchmarks.bench_build",
    "report": "benchmarks.bench_report",
    "revisions": "benchmarks.bench_revisions",
    "train": "benchmarks.bench_train",
    "step_memory": "benchmarks.bench_step_memory",
    "eval": "benchmarks.bench_eval",
    "reading": "benchmarks.bench_reading",
    "finetune": "benchmarks.bench_finetune",
    "fault_injection": "benchmarks.fault_injection",
    "gpu": "benchmarks.gpu",
    "suite": "benchmarks.bench_suite",
    "suite_cpu": "benchmarks.bench_suite_cpu",
}
#: left out of ``all``: the test suite's benchmarks run every test, far longer than a quick benchmark
NOT_IN_ALL = ("suite", "suite_cpu")


def run_all(argv: list[str]) -> int:
    """Runs every benchmark with ``argv`` (``--quick``, ``--results``...) in its own process; 1 if any failed."""
    names = [n for n in BENCHMARKS if n not in NOT_IN_ALL and (n != "gpu" or shutil.which("nvidia-smi"))]
    done = []
    for name in names:
        print(f"== {name}", flush=True)
        with stopwatch() as took:
            code = subprocess.run([sys.executable, "-m", "benchmarks", name, *argv]).returncode
        done.append((name, code, took.seconds))
    for name, code, seconds in done:
        print(f"{name:<20} {'ok' if code == 0 else f'failed ({code})':<12} {seconds:7.1f} s")
    return int(any(code for _, code, _ in done))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(__doc__)
        print("benchmarks: " + ", ".join(BENCHMARKS))
        return 0
    name, rest = argv[0], argv[1:]
    if name == "all":
        return run_all(rest)
    if name not in BENCHMARKS:
        print(f"error: no benchmark named {name!r}; one of: all, {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    return importlib.import_module(BENCHMARKS[name]).main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
