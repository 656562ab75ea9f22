"""`classit-data prepare-wiki` against wikiextractor, the dump cleaner people use instead: wall time, CPU time and
markup left in the text, on the same inputs, on this machine, measured in one run.

Inputs: the real English Wikipedia export in ../shared/corpora/wiki_real (skipped, with the reason, where it is
absent) and a synthetic dump of 10,000 articles (benchmarks/make_synthetic_wiki.py, cached in the work folder);
with `--scale`, two more that say where the time goes: a dump of 2 small articles (what each tool costs before
any work: start-up, imports, writing its output) and the real export's articles repeated `--copies` times under
fresh page ids and titles (the cost of real articles once start-up no longer counts; each copy is cleaned anew,
nothing is cached between articles by either tool).
Each tool runs as its users run it, in a subprocess, end to end from the .xml.bz2: ours as
`python -m classit_data prepare-wiki DUMP --out X.parquet` (workers: every core), wikiextractor as
`python -m wikiextractor.WikiExtractor DUMP -o DIR --processes N` with the same N. The runs alternate
(ours, theirs, ours, ...) so that both see the same load; medians are printed, with the ratio ours/theirs.

wikiextractor 3.0.6 (the release on PyPI) does not import on Python 3.11 or newer (its regular expressions put
global flags mid-pattern, which 3.11 refuses), so the script makes a virtual environment for it in the work
folder with an older Python: `--wex-python`, else the first of python3.10, python3.9, python3.8 found on PATH or
under ~/.pyenv/versions. Without one (or without PyPI), wikiextractor is skipped with the reason.

Markup left in the text is counted the same way for both outputs (our passages; wikiextractor's documents
without their <doc> lines): occurrences of wiki or HTML markup that a reader would see (`{{`, `}}`, `[[`, `]]`,
`{|`, `|}`, `|-`, `''`, a `==` heading line, an HTML tag or comment, an HTML entity, a bare URL).

Both tools run from compiled bytecode, as installed tools do (pip compiles wikiextractor; our checkout is compiled
with compileall first, since PYTHONDONTWRITEBYTECODE would otherwise make every run compile it again).

    .venv/bin/python benchmarks/bench_wikiextractor.py [--runs 3] [--articles 10000] [--scale] [--work DIR]
"""

from __future__ import annotations

import argparse
import bz2
import compileall
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from make_synthetic_wiki import write_synthetic_dump  # noqa: E402

REAL = ROOT.parent / "shared" / "corpora" / "wiki_real" / "enwiki-special-export-20171220.xml.bz2"
WIKIEXTRACTOR = "wikiextractor==3.0.6"
LEFTOVER = re.compile(
    r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|^\|-|''|^\s*==.*==\s*$|</?[a-zA-Z][^>]*>|<!--|-->|"
    r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d+|#x[0-9A-Fa-f]+);|https?://",
    re.M,
)
_DOC_LINE = re.compile(r"^</?doc\b[^>]*>$", re.M)


def older_python(given: str | None) -> str | None:
    """A Python before 3.11 that runs, for wikiextractor: the one given, else one under ~/.pyenv or on PATH."""
    pyenv = Path.home() / ".pyenv" / "versions"
    found = [str(v / "bin" / "python") for v in sorted(pyenv.glob("3.10.*")) + sorted(pyenv.glob("3.[89].*"))]
    found += [p for p in map(shutil.which, ("python3.10", "python3.9", "python3.8")) if p]
    for python in [given] if given else found:
        probe = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info < (3, 11))"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return python
    return None


_PAGE_ID = re.compile(r"(<page>\s*<title>)(.*?)(</title>.*?<id>)(\d+)(</id>)", re.S)


def write_repeated_dump(source: Path, out: Path, copies: int) -> Path:
    """The export's pages ``copies`` times, each copy under its own page ids and titles."""
    text = bz2.decompress(source.read_bytes()).decode("utf-8")
    head, _, rest = text.partition("<page>")
    body, _, tail = ("<page>" + rest).rpartition("</page>")
    body += "</page>"
    pages = [
        _PAGE_ID.sub(lambda m, k=k: f"{m[1]}{m[2]} ({k}){m[3]}{int(m[4]) + k * 100_000_000}{m[5]}", body)
        for k in range(copies)
    ]
    out.write_bytes(bz2.compress((head + "\n".join(pages) + tail).encode("utf-8")))
    return out


def wikiextractor_env(work: Path, python: str | None) -> tuple[str | None, str]:
    """(the venv's python with wikiextractor installed, or None; why not)."""
    venv = work / "wikiextractor-venv"
    exe = venv / "bin" / "python"
    if (
        exe.exists()
        and subprocess.run([str(exe), "-c", "import wikiextractor.WikiExtractor"], capture_output=True).returncode == 0
    ):
        return str(exe), ""
    if python is None:
        return None, "no Python older than 3.11 found (wikiextractor 3.0.6 does not import on 3.11+): give --wex-python"
    made = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        return None, f"cannot make a venv with {python}: {made.stderr.strip().splitlines()[-1:]}"
    pip = subprocess.run([str(exe), "-m", "pip", "install", "-q", WIKIEXTRACTOR], capture_output=True, text=True)
    if pip.returncode != 0:
        return None, f"pip install {WIKIEXTRACTOR} failed: {(pip.stderr.strip().splitlines() or ['?'])[-1]}"
    return str(exe), ""


def timed(
    cmd: list[str],
    env: dict | None = None,
    cwd: Path | None = None,
) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s of the command and every process it waited for, the finished process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def run_ours(dump: Path, out: Path, workers: int, root: Path) -> tuple[float, float, str]:
    cmd = [
        sys.executable,
        "-m",
        "classit_data",
        "prepare-wiki",
        str(dump),
        "--out",
        str(out),
        "--json",
        "--workers",
        str(workers),
    ]
    # run from the output's folder: `-m` puts the working folder first on the path, before PYTHONPATH
    wall, cpu, _ = timed(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)}, cwd=out.parent)
    import polars as pl

    return wall, cpu, "\n\n".join(pl.read_parquet(out, columns=["text"])["text"].to_list())


def run_theirs(python: str, dump: Path, out: Path, processes: int) -> tuple[float, float, str]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [python, "-m", "wikiextractor.WikiExtractor", str(dump), "-o", str(out), "--processes", str(processes), "-q"]
    wall, cpu, _ = timed(cmd)
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("wiki_*")))
    return wall, cpu, _DOC_LINE.sub("", text)


def leftovers(text: str) -> tuple[int, int]:
    """(markup leftovers, words) of a tool's output text."""
    return len(LEFTOVER.findall(text)), len(text.split())


def compare(name: str, dump: Path, python: str | None, work: Path, runs: int, workers: int, root: Path) -> dict:
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(runs):
        wall, cpu, ours_text = run_ours(dump, work / "ours.parquet", workers, root)
        ours.append((wall, cpu))
        if python:
            wall, cpu, their_text = run_theirs(python, dump, work / "wikiextractor-out", workers)
            theirs.append((wall, cpu))
    row = {
        "input": name,
        "ours_wall_s": statistics.median(w for w, _ in ours),
        "ours_cpu_s": statistics.median(c for _, c in ours),
        "ours_leftovers_words": leftovers(ours_text),
    }
    if theirs:
        row |= {
            "wex_wall_s": statistics.median(w for w, _ in theirs),
            "wex_cpu_s": statistics.median(c for _, c in theirs),
            "wex_leftovers_words": leftovers(their_text),
        }
        row["ratio_wall"] = row["ours_wall_s"] / row["wex_wall_s"]
        row["ratio_cpu"] = row["ours_cpu_s"] / row["wex_cpu_s"]
    return row


def show(row: dict) -> None:
    ours_left, ours_words = row["ours_leftovers_words"]
    line = (
        f"{row['input']}: ours {row['ours_wall_s']:.2f} s wall, {row['ours_cpu_s']:.2f} s CPU, "
        f"{ours_left} leftovers in {ours_words:,} words"
    )
    if "wex_wall_s" in row:
        wex_left, wex_words = row["wex_leftovers_words"]
        line += (
            f" | wikiextractor {row['wex_wall_s']:.2f} s wall, {row['wex_cpu_s']:.2f} s CPU, {wex_left} "
            f"leftovers in {wex_words:,} words | ours/wikiextractor wall {row['ratio_wall']:.2f}, "
            f"CPU {row['ratio_cpu']:.2f}"
        )
    print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--articles", type=int, default=10_000, help="articles of the synthetic dump")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--work", type=Path, default=ROOT / ".bench" / "wikiextractor")
    ap.add_argument("--wex-python", help="a Python before 3.11 to install wikiextractor with")
    ap.add_argument(
        "--ours",
        type=Path,
        default=ROOT,
        help="the checkout of classit-data to run (another one "
        "gives its figures: `git worktree add /tmp/before COMMIT`)",
    )
    ap.add_argument(
        "--scale",
        action="store_true",
        help="also time a 2-article dump (start-up) and the real export repeated (real articles at scale)",
    )
    ap.add_argument("--copies", type=int, default=30, help="copies of the real export under --scale")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    compileall.compile_dir(args.ours / "classit_data", quiet=1)
    python, why = wikiextractor_env(args.work, older_python(args.wex_python))
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.2f} at the start, "
        f"{os.cpu_count()} CPUs, {args.workers} processes each, {args.runs} runs each (medians); "
        f"ours from {args.ours}"
    )
    if not python:
        print(f"wikiextractor skipped: {why}")
    inputs = []
    if REAL.exists():
        inputs.append((f"real export ({REAL.name})", REAL))
    else:
        print(f"real export skipped: {REAL} is absent (../shared/corpora is not on this machine)")
    synthetic = args.work / f"synthetic-{args.articles}.xml.bz2"
    if not synthetic.exists():
        write_synthetic_dump(args.articles, synthetic)
    inputs.append((f"synthetic, {args.articles:,} articles", synthetic))
    if args.scale:
        inputs.insert(0, ("start-up: 2 small articles", write_synthetic_dump(2, args.work / "tiny.xml.bz2")))
        if REAL.exists():
            repeated = args.work / f"real-x{args.copies}.xml.bz2"
            if not repeated.exists():
                write_repeated_dump(REAL, repeated, args.copies)
            inputs.append((f"real export x{args.copies} (fresh ids)", repeated))
    rows = []
    for name, dump in inputs:
        rows.append(compare(name, dump, python, args.work, args.runs, args.workers, args.ours.resolve()))
        show(rows[-1])
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
