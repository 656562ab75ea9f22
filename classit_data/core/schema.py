"""The rows of the dataset and the passages they are generated from, with their provenance.

``prompt``, ``reply``, ``source`` and ``text`` are exactly the columns of the published
``colinglab/CLASS_IT``; everything else records how the row was made. Provenance columns that do not
apply to a source are null (a Switchboard row has no generating model).
"""

from __future__ import annotations

import hashlib
import itertools
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from classit_data.core.errors import InputError

if TYPE_CHECKING:
    import polars as pl

SOURCES = ("switchboard", "simple_wiki")
Source = Literal["switchboard", "simple_wiki"]

#: the published dataset's columns, in its order
PUBLISHED_COLUMNS = ("prompt", "reply", "source", "text")


def content_id(*parts: object, length: int = 16) -> str:
    """A stable hex id from the parts' text: same content, same id, on every machine and run."""
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


class Item(BaseModel):
    """One instruction row.

    ``doc_id`` is the conversation id (Switchboard) or article id (Wikipedia); ``position`` is the reply
    turn's index in its conversation, or the pair's index within its passage. ``origin`` names the input
    the row came from (file and format, or the passages file). Generated rows also carry the model,
    its revision, the hash of the prompt files, the sampling parameters (JSON) and the seed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=8)
    source: Source
    prompt: str
    reply: str
    text: str
    doc_id: str
    position: int = Field(ge=0)
    origin: str
    passage_id: str | None = None
    model: str | None = None
    model_revision: str | None = None
    prompt_hash: str | None = None
    sampling: str | None = None
    seed: int | None = None

    @staticmethod
    def make_id(source: str, doc_id: str, position: int, prompt: str, reply: str) -> str:
        return content_id(source, doc_id, position, prompt, reply)


#: the columns of an item file and the Python type of their values, in the order used everywhere
ITEM_COLUMNS: dict[str, type] = {
    "id": str,
    "source": str,
    "prompt": str,
    "reply": str,
    "text": str,
    "doc_id": str,
    "position": int,
    "origin": str,
    "passage_id": str,
    "model": str,
    "model_revision": str,
    "prompt_hash": str,
    "sampling": str,
    "seed": int,
}


class Passage(BaseModel):
    """A run of consecutive sentences from one section of one article: the input of QA generation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passage_id: str
    article_id: str
    title: str
    section: str
    text: str
    n_words: int = Field(ge=1)

    @staticmethod
    def make_id(article_id: str, section: str, text: str) -> str:
        return content_id(article_id, section, text)


#: the columns of a passage file (``prepare-wiki``) and the Python type of their values
PASSAGE_COLUMNS: dict[str, type] = {
    "passage_id": str,
    "article_id": str,
    "title": str,
    "section": str,
    "text": str,
    "n_words": int,
}


def polars_schema(columns: dict[str, type]) -> dict:
    """The polars schema of ``ITEM_COLUMNS`` or ``PASSAGE_COLUMNS``."""
    import polars as pl

    return {name: pl.Int64 if kind is int else pl.String for name, kind in columns.items()}


def arrow_table(rows: Sequence[dict], columns: dict[str, type]):
    """``rows`` (every value a ``str``, or an ``int`` where ``columns`` says so) as an Arrow table, strings with
    64-bit offsets as polars writes them.

    The columns are built from their buffers: pyarrow's conversion of Python lists imports pandas where it is
    installed (0.15 s), and polars takes longer to import than pyarrow; a run that only writes rows needs
    neither.
    """
    import pyarrow as pa

    arrays = []
    for name, kind in columns.items():
        values = [row[name] for row in rows]
        if kind is int:
            arrays.append(pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(array("q", values))]))
            continue
        data = [value.encode("utf-8") for value in values]
        offsets = array("q", [0])
        offsets.extend(itertools.accumulate(map(len, data)))
        arrays.append(
            pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(data)))
        )
    return pa.Table.from_arrays(arrays, names=list(columns))


def __getattr__(name: str):
    # ``ITEM_SCHEMA`` and ``PASSAGE_SCHEMA``, the polars schemas, are made on first use: polars takes longer to
    # import than most commands' whole start-up, and the readers and workers of prepare-wiki never need it
    columns = {"ITEM_SCHEMA": ITEM_COLUMNS, "PASSAGE_SCHEMA": PASSAGE_COLUMNS}.get(name)
    if columns is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = schema = polars_schema(columns)
    return schema


#: column order of published files: the published dataset's four columns first, then provenance
COLUMN_ORDER = tuple(PUBLISHED_COLUMNS) + tuple(c for c in ITEM_COLUMNS if c not in PUBLISHED_COLUMNS)


#: what a row may come without: the published dataset's rows, or rows made by another tool, carry only
#: ``PUBLISHED_COLUMNS``; ``id`` is then derived (``derived_ids``) and the rest is null
PROVENANCE_COLUMNS = tuple(c for c in ITEM_COLUMNS if c not in PUBLISHED_COLUMNS)


def derived_ids(df: pl.DataFrame) -> pl.Series:
    """``Item.make_id`` of each row, with null for the columns the frame lacks (doc_id, position): the id
    the pipeline would give a row of the same content and provenance."""
    import polars as pl

    parts = [
        df.get_column(c).to_list() if c in df.columns else [None] * df.height
        for c in ("source", "doc_id", "position", "prompt", "reply")
    ]
    return pl.Series("id", [Item.make_id(*row) for row in zip(*parts)], dtype=pl.String)


def complete_rows(df: pl.DataFrame, path: object = None) -> tuple[pl.DataFrame, list[str]]:
    """Rows with every item column, and the provenance columns they came without (in ``ITEM_COLUMNS`` order).

    The published columns are required (their absence is an ``InputError`` naming ``path``); a missing ``id``
    is derived from the row's content, any other missing column is null.
    """
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (rows need at least {', '.join(PUBLISHED_COLUMNS)})", path
        )
    absent = [c for c in PROVENANCE_COLUMNS if c not in df.columns]
    if not absent:
        return df, []
    import polars as pl

    types = polars_schema(ITEM_COLUMNS)
    filled = df.with_columns(pl.lit(None, dtype=types[c]).alias(c) for c in absent if c != "id")
    if "id" in absent:
        filled = filled.with_columns(derived_ids(filled))
    return filled, absent
