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
(ours, theirs, ours, ...) so that both see the same load; medians are reported, with the ratio ours/theirs.

wikiextractor 3.0.6 (the release on PyPI) does not import on Python 3.11 or newer (its regular expressions put
global flags mid-pattern, which 3.11 refuses), so the script makes a virtual environment for it in the work
folder with an older Python: `--wex-python`, else the first of python3.10, python3.9, python3.8 found on PATH or
under ~/.pyenv/versions. Without one (or without PyPI), wikiextractor is skipped with the reason.

Markup left in the text is counted the same way for both outputs (our passages; wikiextractor's documents
without their <doc> lines): occurrences of wiki or HTML markup that a reader would see (`{{`, `}}`, `[[`, `]]`,
`{|`, `|}`, `|-`, `''`, a `==` heading line, an HTML tag or comment, an HTML entity, a bare URL).

Both tools run from compiled bytecode, as installed tools do (pip compiles wikiextractor; our checkout is compiled
with compileall first, since PYTHONDONTWRITEBYTECODE would otherwise make every run compile it again).

    python -m benchmarks wikiextractor [--repeat 3] [--articles 10000] [--scale] [--work DIR] [--ours CHECKOUT]
"""

from __future__ import annotations

import bz2
import compileall
import os
import re
import shutil
import subprocess
from pathlib import Path

from benchmarks.harness import CORPORA, ROOT, Command, Report, alternate, options, parse, python
from benchmarks.make_synthetic_wiki import write_synthetic_dump

REAL = CORPORA / "wiki_real" / "enwiki-special-export-20171220.xml.bz2"
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
    for candidate in [given] if given else found:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info < (3, 11))"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
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


def wikiextractor_env(work: Path, older: str | None) -> tuple[str | None, str]:
    """(the venv's python with wikiextractor installed, or None; why not)."""
    venv = work / "wikiextractor-venv"
    exe = venv / "bin" / "python"
    if (
        exe.exists()
        and subprocess.run([str(exe), "-c", "import wikiextractor.WikiExtractor"], capture_output=True).returncode == 0
    ):
        return str(exe), ""
    if older is None:
        return None, "no Python older than 3.11 found (wikiextractor 3.0.6 does not import on 3.11+): give --wex-python"
    made = subprocess.run([older, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        return None, f"cannot make a venv with {older}: {made.stderr.strip().splitlines()[-1:]}"
    pip = subprocess.run([str(exe), "-m", "pip", "install", "-q", WIKIEXTRACTOR], capture_output=True, text=True)
    if pip.returncode != 0:
        return None, f"pip install {WIKIEXTRACTOR} failed: {(pip.stderr.strip().splitlines() or ['?'])[-1]}"
    return str(exe), ""


def ours(dump: Path, out: Path, workers: int, root: Path) -> Command:
    """prepare-wiki from ``root``, run from the output's folder: ``-m`` puts the working folder first on the
    path, before PYTHONPATH."""
    args = python("-m", "classit_data", "prepare-wiki", dump, "--out", out, "--json", "--workers", workers)
    return Command(args, cwd=out.parent, env={"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)})


def theirs(exe: str, dump: Path, out: Path, processes: int) -> Command:
    return Command([exe, "-m", "wikiextractor.WikiExtractor", dump, "-o", out, "--processes", processes, "-q"])


def texts(work: Path) -> dict[str, str]:
    """The text each tool wrote last: our passages; wikiextractor's documents without their <doc> lines."""
    import polars as pl

    found = {"classit-data": "\n\n".join(pl.read_parquet(work / "ours.parquet", columns=["text"])["text"])}
    theirs = work / "wikiextractor-out"
    if theirs.is_dir():
        found["wikiextractor"] = _DOC_LINE.sub(
            "", "".join(p.read_text("utf-8") for p in sorted(theirs.rglob("wiki_*")))
        )
    return found


def leftovers(text: str) -> tuple[int, int]:
    """(markup leftovers, words) of a tool's output text."""
    return len(LEFTOVER.findall(text)), len(text.split())


def compare(name: str, dump: Path, exe: str | None, work: Path, args) -> list[dict]:
    """Both tools on ``dump``, alternating; a row per tool with its medians, ratio and markup left."""
    variants = {"classit-data": ours(dump, work / "ours.parquet", args.workers, args.ours.resolve())}
    if exe:
        shutil.rmtree(work / "wikiextractor-out", ignore_errors=True)
        variants["wikiextractor"] = theirs(exe, dump, work / "wikiextractor-out", args.workers)
    runs = alternate(variants, repeat=args.repeat, baseline="wikiextractor" if exe else None)
    rows = runs.rows()
    for row, text in zip(rows, texts(work).values()):
        left, words = leftovers(text)
        row |= {"input": name, "markup left": left, "words": words}
        if exe:
            row["CPU / wikiextractor"] = runs.ratio(row["variant"], "cpu_s")
    return rows


def inputs(args) -> list[tuple[str, Path]]:
    found = [(f"real export ({REAL.name})", REAL)] if REAL.exists() else []
    synthetic = args.work / f"synthetic-{args.articles}.xml.bz2"
    if not synthetic.exists():
        write_synthetic_dump(args.articles, synthetic)
    found.append((f"synthetic, {args.articles:,} articles", synthetic))
    if args.scale:
        found.insert(0, ("start-up: 2 small articles", write_synthetic_dump(2, args.work / "tiny.xml.bz2")))
        if REAL.exists():
            repeated = args.work / f"real-x{args.copies}.xml.bz2"
            if not repeated.exists():
                write_repeated_dump(REAL, repeated, args.copies)
            found.append((f"real export x{args.copies} (fresh ids)", repeated))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--articles", type=int, default=None, help="articles of the synthetic dump (10000; 1000)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "wikiextractor")
    parser.add_argument("--wex-python", help="a Python before 3.11 to install wikiextractor with")
    parser.add_argument("--ours", type=Path, default=ROOT, help="the checkout of classit-data to run")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also time a 2-article dump (start-up) and the real export repeated (real articles at scale)",
    )
    parser.add_argument("--copies", type=int, default=30, help="copies of the real export under --scale")
    args = parse(parser, argv)
    args.articles = args.articles or (1_000 if args.quick else 10_000)
    args.work.mkdir(parents=True, exist_ok=True)
    compileall.compile_dir(args.ours / "classit_data", quiet=1)
    exe, why = wikiextractor_env(args.work, older_python(args.wex_python))
    report = Report("wikiextractor", "prepare-wiki against wikiextractor", argv)
    rows = [row for name, dump in inputs(args) for row in compare(name, dump, exe, args.work, args)]
    report.line(
        f"Both end to end from the .xml.bz2, {args.workers} processes each, alternating; markup left = wiki or HTML "
        f"markup a reader would see in the output text; wikiextractor is {WIKIEXTRACTOR} under a Python before 3.11."
    )
    if not exe:
        report.line(f"wikiextractor not run: {why}.")
    if not REAL.exists():
        report.line(f"Real export not run: {REAL} is absent.")
    report.table(rows, ["input", *[k for k in rows[0] if k != "input"]])
    report.write(args.results)


if __name__ == "__main__":
    main()
