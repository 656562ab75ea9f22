"""What a build reads: the row files given with each source flag, checked against that source, with the record
of each file (path, sha256, rows, bytes, the provenance columns it came without).

A file given with ``--switchboard`` may hold only Switchboard rows, one given with ``--wiki`` only Wikipedia
rows; one given with both (the kept file of ``classit-data validate``) may hold both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError, first_line
from classit_data.core.io import read_rows
from classit_data.core.schema import ITEM_SCHEMA, complete_rows
from classit_data.dataset.record import sha256_file

#: the flag that gives a source's row files, for messages
FLAG_OF_SOURCE = {"switchboard": "--switchboard", "simple_wiki": "--wiki"}


def as_paths(value: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    return [Path(v) for v in value]


@dataclass
class BuildInputs:
    """The rows to build from, and where they came from."""

    switchboard: list[Path]
    wiki: list[Path]
    rows: pl.DataFrame
    #: the distinct input files, in the order given
    files: list[Path]
    #: per flag (``switchboard``, ``wiki``): each file's path, sha256, rows and bytes
    records: dict[str, list[dict]]

    def without_provenance(self) -> dict | None:
        """The input files that came without provenance columns (published schema), their rows and what they lacked."""
        bare = {e["path"]: e for entries in self.records.values() for e in entries if e.get("absent_columns")}
        if not bare:
            return None
        lacking = {c for e in bare.values() for c in e["absent_columns"]}
        return {
            "files": list(bare),
            "input_rows": sum(e["rows"] for e in bare.values()),
            "columns": [c for c in ITEM_SCHEMA if c in lacking],
        }

    def record(self, passages: str | Path | None) -> dict:
        """The inputs' part of the build record: every row file, and the passage file of the grounding check."""
        return {
            **self.records,
            "passages": {"path": os.path.abspath(passages), "sha256": sha256_file(passages)} if passages else None,
        }


def read_inputs(sw_paths: list[Path], wiki_paths: list[Path]) -> BuildInputs:
    """All input rows with the item schema, checked against the sources their flag allows.

    A file given with ``--switchboard`` may hold only Switchboard rows, one given with ``--wiki`` only
    Wikipedia rows; one given with both (the kept file of ``classit-data validate``) may hold both.
    """
    allowed: dict[Path, set[str]] = {}
    for p in sw_paths:
        allowed.setdefault(p, set()).add("switchboard")
    for p in wiki_paths:
        allowed.setdefault(p, set()).add("simple_wiki")
    frames, records, seen = [], {"switchboard": [], "wiki": []}, set()
    for path, sources in allowed.items():
        if path.resolve() in seen:
            raise InputError("given twice", path)
        seen.add(path.resolve())
        df, absent = _read_input_file(path, sources)
        frames.append(df)
        entry = {
            "path": os.path.abspath(path),  # the record names it relative to the build (record.portable)
            "sha256": sha256_file(path),
            "rows": df.height,
            "bytes": path.stat().st_size,
            **({"absent_columns": absent} if absent else {}),
        }
        for source, flag in (("switchboard", "switchboard"), ("simple_wiki", "wiki")):
            if source in sources:
                records[flag].append(entry)
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=ITEM_SCHEMA)
    _check_each_flag_has_rows(
        {
            p: dict(df.get_column("source").value_counts(sort=True).rows())
            for p, df in zip(allowed, frames, strict=True)
        },
        sw_paths,
        wiki_paths,
    )
    return BuildInputs(sw_paths, wiki_paths, rows, list(allowed), records)


def _check_each_flag_has_rows(held: dict[Path, dict[str, int]], sw_paths: list[Path], wiki_paths: list[Path]) -> None:
    """A source flag whose files hold no row of its source is refused, naming the file and what it holds
    (else the validation gate reports it as a failed validation of rows that were never there)."""
    for source, paths in (("switchboard", sw_paths), ("simple_wiki", wiki_paths)):
        if not paths or any(held[p].get(source) for p in paths):
            continue
        flag, path = FLAG_OF_SOURCE[source], paths[0]
        has = ", ".join(f"{n:,} {s} rows" for s, n in held[path].items()) or "no rows"
        others = [FLAG_OF_SOURCE[s] for s in held[path] if s in FLAG_OF_SOURCE and s != source]
        hint = f"; give it with {' and '.join(others)} only" if others else ""
        also = f"; nor do the other {len(paths) - 1} file(s) given with {flag}" if len(paths) > 1 else ""
        raise InputError(f"given with {flag} but holds no {source} rows (it has {has}){also}{hint}", path)


def _read_input_file(path: Path, sources: set[str]) -> tuple[pl.DataFrame, list[str]]:
    """One row file, cast to the item schema, and the provenance columns it came without (rows in the published
    schema: ``core.schema.complete_rows``); an ``InputError`` for a row of a source its flags do not allow."""
    df, absent = complete_rows(read_rows(path), path)
    bad = df.with_row_index("_row").filter(~pl.col("source").is_in(sorted(sources)).fill_null(False))
    if bad.height:
        first = bad.row(0, named=True)
        flags = " and ".join(FLAG_OF_SOURCE[s] for s in sorted(sources))
        raise InputError(
            f"{bad.height:,} row(s) have source {first['source']!r}, which a file given with {flags} may not hold",
            path,
            f"row {first['_row'] + 1}",
        )
    try:
        return df.select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()]), absent
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"columns of the wrong type: {first_line(exc)}", path) from exc
