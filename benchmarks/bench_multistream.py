"""`prepare-wiki` on a multistream dump of real articles: scaling with the workers, against wikiextractor, in one run.

Input: the real English Wikipedia export in ../shared/corpora/wiki_real, its pages repeated `--copies` times under
fresh page ids and titles (`bench_wikiextractor.write_repeated_dump`), written as Wikimedia writes its
multistream dump (header stream, 100 pages a stream, closing stream) with its index beside it; the same pages in
one bz2 stream as well, for the sequential reader. Skipped, with the reason, without the real corpora.

End to end, alternating run by run (medians), each as its users run it in a subprocess: ours at 1 and at N workers
on the multistream dump (read in parallel), ours at N workers on the single-stream file (one reader process), and
wikiextractor 3.0.6 (`bench_wikiextractor`: its own venv on a Python before 3.11) with N processes on the
multistream dump. Markup left is counted in each output as `bench_wikiextractor` counts it; our passages from the
two files must be identical (the run stops otherwise).

Per process, each part in a fresh interpreter (CPU time from `wait4`, less that of the part it follows): the
sequential reader (`read_dump`, one stream after the other), the stream-chunk reader (`read_chunk` over every
chunk) and bz2 decompression alone, in pages/s; cleaning (`process_task`) and writing Parquet, in articles/s.
The projection for more cores uses these rates:
each process has a core of its own at the measured speed, the work divides evenly, disk and memory bandwidth do
not limit, and the main process only writes. One reader (the single-stream file): min(reader, (cores - 1) x
cleaner, writer); parallel reading: min(cores / (1 / chunk reader + 1 / cleaner), writer). A tool with one reader
process, as wikiextractor has, cannot go faster than that process decompresses bz2 (measured alone, same file).

    python -m benchmarks multistream [--copies 30] [--workers N] [--repeat 3] [--work DIR]
"""

from __future__ import annotations

import bz2
import compileall
import importlib
import json
import os
import re
import shutil
from pathlib import Path

from benchmarks.bench_wikiextractor import (
    REAL,
    leftovers,
    older_python,
    ours,
    theirs,
    wikiextractor_env,
    write_repeated_dump,
)
from benchmarks.harness import ROOT, Call, Report, alternate, options, parse
from tests.wiki.export_xml import write_multistream

#: ours / wikiextractor, wall, at the same number of processes on the multistream dump
GOAL = 0.8
_DOC_LINE = r"^</?doc\b[^>]*>$"


def dumps(work: Path, copies: int) -> tuple[Path, Path]:
    """(the pages in one bz2 stream, the same pages as a multistream dump with its index), cached in ``work``."""
    single = work / f"real-x{copies}.xml.bz2"
    multi = work / f"realx{copies}-20171220-pages-articles-multistream.xml.bz2"
    if not single.exists():
        write_repeated_dump(REAL, single, copies)
    if not multi.exists():
        write_multistream(bz2.decompress(single.read_bytes()).decode("utf-8"), multi)
    return single, multi


#: the parts measured per process, each run after the ones before it in one fresh interpreter
PARTS = ("start", "bz2", "stream-chunk reader", "sequential reader", "cleaning", "writing Parquet")


def run_part(single: Path, multi: Path, out: Path, part: str) -> dict:
    """Imports what every part needs (the ``start`` part stops there), then runs ``part``: the multistream dump's
    bz2 decompression alone or its stream-chunk reader; or the sequential reader on the single-stream file, then
    (``cleaning``) its articles cleaned, then (``writing Parquet``) their rows written."""
    from classit_data.wiki.config import PrepareConfig
    from classit_data.wiki.prepare import _batches, _PassageWriter, process_task
    from classit_data.wiki.readers.dump import read_dump
    from classit_data.wiki.readers.multistream import plan_streams, read_chunk
    from classit_data.wiki.sentences import sentence_splitter
    from classit_data.wiki.stats import PrepareStats

    importlib.import_module("pyarrow.parquet")
    sentence_splitter(None)
    if part == "bz2":
        return {"bytes": decompress_only(multi)}
    if part == "stream-chunk reader":
        return {"pages": sum(1 for chunk in plan_streams(multi) for _ in read_chunk(chunk))}
    stats = PrepareStats()
    batches = list(_batches(read_dump(single), stats, None)) if part != "start" else []
    if part in ("cleaning", "writing Parquet"):
        rows = [row for batch in batches for row in process_task(batch, PrepareConfig(), None)[0]]
        if part == "writing Parquet":
            writer = _PassageWriter(out, jsonl=False, stats=PrepareStats())
            writer.add(rows)
            writer.close()
    return {"pages": stats["pages_read"], "articles": stats["articles_read"]}


def decompress_only(dump: Path) -> int:
    """bz2 decompression alone, the whole dump in one process (what any single reader of it pays at least):
    the bytes it gives."""
    decompressor, size = bz2.BZ2Decompressor(), 0
    with open(dump, "rb") as fh:
        while piece := fh.read(1 << 20):
            while piece:
                size += len(decompressor.decompress(piece))
                piece = decompressor.unused_data if decompressor.eof else b""
                if decompressor.eof:
                    decompressor = bz2.BZ2Decompressor()
    return size


def end_to_end(single: Path, multi: Path, exe: str | None, work: Path, args) -> tuple[list[dict], dict]:
    """Every variant end to end, alternating; a row each, and our summary of the parallel run."""
    root, n = args.ours.resolve(), args.workers
    outputs = {
        "ours, 1 worker, multistream": ("one", multi, 1),
        f"ours, {n} workers, multistream": ("par", multi, n),
        f"ours, {n} workers, one stream": ("seq", single, n),
    }
    variants = {}
    for name, (key, dump, workers) in outputs.items():
        (work / key).mkdir(exist_ok=True)
        variants[name] = ours(dump, work / key / "p.parquet", workers, root)
    baseline = f"wikiextractor, {n} processes, multistream" if exe else None
    if exe:
        variants[baseline] = theirs(exe, multi, work / "wex", n)
    runs = alternate(variants, repeat=args.repeat, baseline=baseline)
    texts = _texts(work, exe is not None)
    summary = json.loads(runs.runs[f"ours, {n} workers, multistream"][-1].output)
    rows = runs.rows()
    for row in rows:
        key = outputs[row["variant"]][0] if row["variant"] in outputs else "wex"
        left, words = leftovers(texts[key])
        row |= {"articles/s": summary["articles_read"] / row["wall s"], "markup left": left, "words": words}
        if baseline:
            row["CPU / wikiextractor"] = runs.ratio(row["variant"], "cpu_s")
    return rows, summary


def _texts(work: Path, with_wex: bool) -> dict[str, str]:
    import polars as pl

    found = {k: pl.read_parquet(work / k / "p.parquet") for k in ("one", "par", "seq")}
    if not (found["one"].equals(found["par"]) and found["par"].equals(found["seq"])):
        raise SystemExit("the passages differ between the multistream and the single-stream runs")
    texts = {k: "\n\n".join(df["text"]) for k, df in found.items()}
    if with_wex:
        wex = "".join(p.read_text("utf-8") for p in sorted((work / "wex").rglob("wiki_*")))
        texts["wex"] = re.sub(_DOC_LINE, "", wex, flags=re.M)
    return texts


def per_process(single: Path, work: Path, multi: Path, repeat: int) -> dict[str, float]:
    """Per-process rates: each part's CPU time (``wait4``, medians, alternating) less that of the part it follows.

    Every part runs in a fresh interpreter that first imports what all of them need (``start``); a reader's
    time is its run less ``start``, cleaning's is less the sequential reader's, writing's less cleaning's.
    """
    runs = alternate({part: Call(run_part, single, multi, work / "alone.parquet", part) for part in PARTS}, repeat)
    cpu = {part: runs.median(part, "cpu_s") for part in PARTS}
    done = runs.runs["writing Parquet"][-1].output
    pages, articles = done["pages"], done["articles"]

    def rate(count: int, part: str, before: str) -> float | None:
        spent = cpu[part] - cpu[before]
        return count / spent if spent > 0 else None

    return {
        "sequential reader, pages/s": rate(pages, "sequential reader", "start"),
        "stream-chunk reader, pages/s": rate(pages, "stream-chunk reader", "start"),
        "bz2 decompression alone, pages/s": rate(pages, "bz2", "start"),
        "cleaning, articles/s": rate(articles, "cleaning", "sequential reader"),
        "writing Parquet, articles/s": rate(articles, "writing Parquet", "cleaning"),
        "articles per page": articles / pages,
    }


def projection(rates: dict[str, float], cores: tuple[int, ...]) -> list[dict]:
    """Articles/s on more cores from the per-process rates (the assumptions are in the module's docstring)."""
    per_page = rates["articles per page"]
    reader = rates["sequential reader, pages/s"] * per_page
    chunk_reader = rates["stream-chunk reader, pages/s"] * per_page
    cleaner = rates["cleaning, articles/s"]
    writer = rates["writing Parquet, articles/s"] or float("inf")  # None: below what this machine can measure
    rows = []
    for n in cores:
        one_reader = min(reader, (n - 1) * cleaner, writer)
        parallel = min(n / (1 / chunk_reader + 1 / cleaner), writer)
        limit = "writer" if parallel == writer else "cores"
        rows.append(
            {
                "cores": n,
                "one reader, articles/s": one_reader,
                "parallel reading, articles/s": parallel,
                "parallel / one reader": parallel / one_reader,
                "parallel reading limited by": limit,
                "any one-reader tool, at most": rates["bz2 decompression alone, pages/s"] * per_page,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--copies", type=int, default=None, help="copies of the real export (30; --quick 5)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "multistream")
    parser.add_argument("--wex-python", help="a Python before 3.11 to install wikiextractor with")
    parser.add_argument("--ours", type=Path, default=ROOT, help="the checkout of classit-data to run")
    args = parse(parser, argv)
    copies = args.copies or (5 if args.quick else 30)
    report = Report("multistream", "prepare-wiki on a multistream dump of real articles: scaling", argv)
    if not REAL.exists():
        report.line(f"Not run: {REAL} is absent.")
        report.write(args.results)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    compileall.compile_dir(args.ours / "classit_data", quiet=1)
    single, multi = dumps(args.work, copies)
    exe, why = wikiextractor_env(ROOT / ".bench" / "wikiextractor", older_python(args.wex_python))
    shutil.rmtree(args.work / "wex", ignore_errors=True)
    rows, summary = end_to_end(single, multi, exe, args.work, args)
    report.line(
        f"Real export x{copies}: {summary['pages_read']:,} pages, {summary['articles_read']:,} articles, "
        f"{multi.stat().st_size / 2**20:.1f} MB as a multistream dump of 100 pages a stream. End to end, "
        "alternating run by run; articles/s = articles / median wall."
        + ("" if exe else f" wikiextractor not run: {why}.")
    )
    report.table(rows)
    goal = next((r for r in rows if r["variant"] == f"ours, {args.workers} workers, multistream"), {})
    ratio = goal.get(f"wall / wikiextractor, {args.workers} processes, multistream")
    if ratio is not None:
        report.line(
            f"Goal, ours / wikiextractor wall at {args.workers} workers on the multistream dump <= {GOAL}: "
            f"{ratio:.2f}, {'met' if ratio <= GOAL else 'not met'}; markup left in our passages: "
            f"{goal['markup left']}."
        )
    rates = per_process(single, args.work, multi, args.repeat)
    report.table([{"per process (CPU time, medians, less the part before)": k, "rate": v} for k, v in rates.items()])
    report.line(
        "Projection from these rates: each process has a core at the measured speed, the work divides evenly, "
        "disk and memory bandwidth do not limit, the main process only writes Parquet (taking the rows from the "
        "workers is not counted). One reader: "
        "min(reader, (cores - 1) x cleaner, writer); parallel reading: min(cores / (1/chunk reader + 1/cleaner), "
        "writer). A tool with one reader process (wikiextractor) cannot exceed one process's bz2 decompression "
        "rate, measured alone on the same file."
    )
    report.table(projection(rates, (2, 16, 64)))
    report.write(args.results)


if __name__ == "__main__":
    main()
