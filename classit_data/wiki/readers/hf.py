"""Hugging Face ``wikimedia/wikipedia`` exports (e.g. ``20231101.simple``): Parquet or JSON lines.

Rows have ``id, url, title, text``; the text is already plain (paragraphs split by blank lines, section
headings on lines of their own). Parquet is read one record batch at a time, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError, first_line
from classit_data.core.io import parse_json_lines
from classit_data.wiki.readers.base import PLAIN, Article, BytesRead, iter_text_lines, plain_skip_reason, sniff

REQUIRED = ("id", "title", "text")
_BATCH_ROWS = 512


def record_article(record: dict, path: Path, where: int | str) -> Article:
    """One exported row as an :class:`Article`; a row without title or text is an ``InputError``."""
    missing = [k for k in ("title", "text") if k not in record]
    if missing:
        raise InputError(f"record without {' and '.join(repr(m) for m in missing)}", path, where)
    title, text = record["title"], record["text"]
    if not isinstance(title, str) or not isinstance(text, (str, type(None))):
        raise InputError("'title' and 'text' must be strings", path, where)
    text = text or ""
    first, sep, rest = text.lstrip("\n").partition("\n")
    if sep and first.strip() == title.strip():
        text = rest.lstrip("\n")  # wikiextractor --json repeats the title as the first line
    article_id = str(record.get("id") or "") or f"row{where}"
    reason = plain_skip_reason(title, text)
    return Article(article_id, title, "" if reason else text, PLAIN, reason)


def read_hf_wikipedia(path: str | Path, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    """Yield the articles of a Parquet or JSON-lines export (Parquet bytes are not counted in ``bytes_read``)."""
    path = Path(path)
    head, _ = sniff(path)
    if head.startswith(b"PAR1"):
        yield from _read_parquet(path)
    else:
        yield from read_json_lines(path, bytes_read)


def read_json_lines(path: Path, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    """Articles from JSON lines (one object a line, blank lines ignored), naming the line of a bad one."""
    for lineno, record in parse_json_lines(iter_text_lines(path, bytes_read), path):
        yield record_article(record, path, lineno)


def _read_parquet(path: Path) -> Iterator[Article]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"cannot read Parquet: {first_line(exc)}", path) from exc
    names = set(pf.schema_arrow.names)
    missing = [c for c in ("title", "text") if c not in names]
    if missing:
        raise InputError(
            f"Parquet file without column(s) {', '.join(missing)}; expected wikimedia/wikipedia's id, url, title, text",
            path,
        )
    columns = [c for c in REQUIRED if c in names]
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
            for record in batch.to_pylist():
                row += 1
                yield record_article(record, path, f"row {row}")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read Parquet: {first_line(exc)}", path, f"row {row + 1}") from exc
