"""What the gate reads: item rows typed once per file (wrong types are an ``InputError``) and the passage table."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError, first_line
from classit_data.core.io import read_rows
from classit_data.core.schema import ITEM_SCHEMA, complete_rows

#: the passage text's column in a ``passage_table`` (named apart from an item's ``text``)
PASSAGE_TEXT = "_passage"


def check_schema_types(df: pl.DataFrame, path: str | Path | None = None) -> pl.DataFrame:
    """The item columns with their schema types (extra columns kept after them); wrong types are an InputError.

    An all-null column (JSON lines where a field is always null) takes the schema type; integer columns of
    another width are widened. Anything else (numbers for text, text for numbers) is refused.
    """
    missing = [c for c in ITEM_SCHEMA if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path)
    casts = []
    for col, want in ITEM_SCHEMA.items():
        have = df.schema[col]
        ok = have == want or have == pl.Null or (want == pl.Int64 and have.is_integer())
        if not ok:
            raise InputError(f"column {col} has type {have}, expected {want}", path)
        casts.append(pl.col(col).cast(want, strict=True))
    extras = [c for c in df.columns if c not in ITEM_SCHEMA]
    try:
        return df.select(*casts, *extras)
    except pl.exceptions.PolarsError as exc:  # e.g. a UInt64 seed above Int64's range
        raise InputError(f"cannot read columns as the item schema: {first_line(exc)}", path) from exc


def read_items(inputs: str | Path | Iterable[str | Path]) -> tuple[pl.DataFrame, list[dict]]:
    """All input rows in input order, typed; and per file: path, rows and the columns it came without.

    A file in the published schema (``prompt, reply, source, text``, e.g. ``colinglab/CLASS_IT``) is read with
    a derived ``id`` and null provenance (``core.schema.complete_rows``).
    """
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    if not paths:
        raise InputError("no input files given")
    frames, files = [], []
    for p in paths:
        df, absent = complete_rows(read_rows(p), p)
        df = check_schema_types(df, p)
        frames.append(df)
        files.append({"path": str(p), "rows": df.height, **({"absent_columns": absent} if absent else {})})
    df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return df, files


def absent_columns(files: list[dict]) -> tuple[list[str], list[str]]:
    """The provenance columns some input came without (checks needing them do not run), and those every
    input came without (left out of the outputs again: the rows stay in the schema they came in)."""
    per_file = [set(f.get("absent_columns", ())) for f in files]
    some, every = set().union(*per_file), set.intersection(*per_file) if per_file else set()
    return [c for c in ITEM_SCHEMA if c in some], [c for c in ITEM_SCHEMA if c in every]


def read_passage_table(path: str | Path) -> pl.DataFrame:
    """The ``passage_table`` of a passage file (``PASSAGE_SCHEMA``; other columns ignored)."""
    return passage_table(read_rows(path, required=("passage_id", "text")), path)


def passage_table(df: pl.DataFrame, path: str | Path | None = None) -> pl.DataFrame:
    """passage_id and text (as ``PASSAGE_TEXT``) of a passage frame, first row per id."""
    if PASSAGE_TEXT in df.columns:
        return df
    for col in ("passage_id", "text"):
        if col not in df.columns:
            raise InputError(f"missing column {col}", path)
        if df.schema[col] not in (pl.String, pl.Null):
            raise InputError(f"column {col} has type {df.schema[col]}, expected String", path)
    return (
        df.select(pl.col("passage_id").cast(pl.String), pl.col("text").cast(pl.String).alias(PASSAGE_TEXT))
        .filter(pl.col("passage_id").is_not_null())
        .unique("passage_id", keep="first", maintain_order=True)
    )
