"""Re-uploads that dedupe: the share of a rebuilt Parquet shard's bytes that a content-defined chunker (FastCDC,
as the Hub's Xet storage cuts files, ~64 KiB chunks) finds unchanged after 1% of the rows changed, with the
build's Parquet pages cut by content (``use_content_defined_chunking``) and without.

    python -m benchmarks dedup [--rows 60000] [--changed 0.01]

Rows: ``make_synthetic_rows`` (both sources, published length distributions); a rebuild rewrites the reply of a
random 1% of them; both versions written by ``build``'s own ``write_split``. No time is compared: the figure is
the share of bytes an upload of the rebuild can skip.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from benchmarks.harness import Report, options, parse


def chunks(path: Path) -> list[tuple[str, int]]:
    """(sha256, length) of each FastCDC chunk of the file (average 64 KiB, as Xet storage uses)."""
    from fastcdc import fastcdc

    return [(c.hash, c.length) for c in fastcdc(str(path), avg_size=64 << 10, fat=True, hf=hashlib.sha256)]


def rebuilt(rows, share: float, seed: int = 1):
    """``rows`` with the reply (and text) of a random ``share`` of them rewritten."""
    import polars as pl

    from classit_data.core.template import render_text

    n = max(1, round(rows.height * share))
    picked = rows.sample(n, seed=seed)["id"]
    changed = pl.col("id").is_in(picked.implode())
    out = rows.with_columns(pl.when(changed).then(pl.col("reply") + " (revised)").otherwise(pl.col("reply")))
    text = pl.struct("prompt", "reply").map_elements(lambda r: render_text(r["prompt"], r["reply"]), pl.String)
    return out.with_columns(text.alias("text")), n


def inserted(rows, share: float):
    """``rows`` with a block of ``share`` new rows (copies of the last ones, new ids) inserted in the middle."""
    import polars as pl

    n = max(1, round(rows.height * share))
    block = rows.tail(n).with_columns(pl.col("id") + "-new")
    mid = rows.height // 2
    return pl.concat([rows.head(mid), block, rows.slice(mid)]), n


def unchanged_share(rows, again, tmp: Path, content_defined: bool, rebuild: str) -> dict:
    from classit_data.dataset.build import write_split

    names = []
    for label, frame in (("before", rows), ("after", again)):
        where = tmp / f"{rebuild}-{label}-{content_defined}"
        info = write_split(frame, where, "merged", "train", 1 << 40, content_defined)
        names.append(where / info["files"][0])
    old = {h for h, _ in chunks(names[0])}
    new = chunks(names[1])
    same = sum(n for h, n in new if h in old)
    total = sum(n for _, n in new)
    return {
        "rebuild": rebuild,
        "content-defined pages": "yes" if content_defined else "no (before)",
        "file MB": round(names[1].stat().st_size / 1e6, 2),
        "chunks": len(new),
        "chunks unchanged": sum(1 for h, _ in new if h in old),
        "bytes unchanged %": round(100 * same / total, 1),
        "MB to upload": round((total - same) / 1e6, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--rows", type=int, default=None, help="rows (default 60000; --quick 10000)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of rows the rebuild changes")
    args = parse(parser, argv)
    n = args.rows or (10_000 if args.quick else 60_000)
    from benchmarks.make_synthetic_rows import make_rows
    from classit_data.core.schema import COLUMN_ORDER

    report = Report("dedup", "Published Parquet: bytes a 1%-changed rebuild leaves unchanged (FastCDC)", argv)
    rows, _ = make_rows(n, seed=0, bad_share=0.0)
    rows = rows.select(c for c in COLUMN_ORDER if c in rows.columns)
    (edited, changed), (grown, added) = rebuilt(rows, args.changed), inserted(rows, args.changed)
    rebuilds = {f"{changed:,} scattered rows edited": edited, f"{added:,} rows inserted in one place": grown}
    with tempfile.TemporaryDirectory() as tmp:
        table = [
            unchanged_share(rows, again, Path(tmp), cdc, name)
            for name, again in rebuilds.items()
            for cdc in (False, True)
        ]
    report.line(
        f"{n:,} synthetic rows (`make_synthetic_rows`); a rebuild either rewrites the reply of a random "
        f"{args.changed:.0%} of them, or inserts {args.changed:.0%} new rows in the middle. One shard written by "
        "`build`'s `write_split` (zstd, row groups of 10,000); FastCDC chunks (fastcdc 1.7.0, average 64 KiB) of "
        "the rebuilt file found among those of the first one."
    )
    report.table(table)
    report.write(args.results)


if __name__ == "__main__":
    main()
