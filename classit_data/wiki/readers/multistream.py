"""Multistream dumps (``*-pages-articles-multistream.xml.bz2``) read in parallel, a run of bz2 streams per task.

Wikimedia writes the multistream dump as independent bz2 streams: the first holds the ``<mediawiki>`` header
and ``<siteinfo>``, each of the next holds 100 whole ``<page>`` elements, and the last closes ``</mediawiki>``.
Its index (``*-multistream-index.txt.bz2``, lines ``offset:page_id:title``) gives the byte offset of each page
stream. Any process can decompress and parse a stream on its own, so the reading scales with the workers.

:func:`plan_streams` decides, in the main process, whether a file has this layout and cuts it into
:class:`StreamChunk` tasks: from the index (given, or found beside the dump under its standard name), else by
scanning the file for bz2 stream headers. It decompresses only the header stream. Every other check is made
where the stream is read (:func:`read_chunk`, in a worker): each chunk must decompress to whole streams ending
exactly where the next chunk starts, hold whole pages, and (with an index) hold the pages the index lists for
it. A file whose first stream is not the header alone (a single stream, or streams cut mid-page as ``pbzip2``
writes them) is not planned: it is read by :func:`~classit_data.wiki.readers.dump.read_dump`, in one process.
"""

from __future__ import annotations

import bz2
import mmap
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.wiki.readers.base import Article
from classit_data.wiki.readers.dump import page_from_element

#: a bz2 stream header (``BZh`` and the block size) followed by the magic of its first block
_STREAM_START = re.compile(rb"BZh[1-9]1AY&SY")
#: a task holds consecutive streams up to this many compressed bytes (a Wikimedia stream is 100 pages)
CHUNK_BYTES = 1 << 17
_HEADER_END = b"</siteinfo>"
_PIECE = 1 << 16
_CLOSE = b"</mediawiki>"


@dataclass(frozen=True)
class StreamChunk:
    """Consecutive bz2 streams of a dump, ``[start, end)`` in compressed bytes: one task for a worker.

    ``page_ids``: the pages the index lists in these streams (None without an index); ``last``: the chunk
    runs to the end of the file and closes ``</mediawiki>``.
    """

    path: str
    start: int
    end: int
    namespaces: tuple[tuple[str, int], ...]
    page_ids: tuple[str, ...] | None
    last: bool
    index: str | None


def standard_index_path(dump: Path) -> Path | None:
    """``X-multistream.xml.bz2`` -> ``X-multistream-index.txt.bz2``, Wikimedia's name for its index."""
    name = dump.name
    if not name.endswith(".xml.bz2"):
        return None
    return dump.with_name(name.removesuffix(".xml.bz2") + "-index.txt.bz2")


def read_index(index: Path) -> list[tuple[int, list[str]]]:
    """(offset, page ids) of each stream the index lists, in file order; a bad line is an ``InputError``."""
    try:
        raw = index.read_bytes()
        data = bz2.decompress(raw) if raw[:3] == b"BZh" else raw
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read the multistream index: {exc}", index) from exc
    streams: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        offset, _, rest = line.partition(":")
        page_id, sep, _ = rest.partition(":")
        if not (sep and offset.isdigit() and page_id.isdigit()):
            raise InputError("not a multistream index line (expected offset:page_id:title)", index, lineno)
        at = int(offset)
        if streams and at == streams[-1][0]:
            streams[-1][1].append(page_id)
            continue
        if streams and at < streams[-1][0]:
            raise InputError(f"offset {at:,} comes after offset {streams[-1][0]:,}: not in file order", index, lineno)
        streams.append((at, [page_id]))
    if not streams:
        raise InputError("the multistream index is empty", index)
    return streams


def scan_streams(data: mmap.mmap | bytes, start: int = 1) -> list[int]:
    """Byte offsets from ``start`` on where a bz2 stream starts (the stream header and its first block's magic)."""
    return [m.start() for m in _STREAM_START.finditer(data, start)]


def plan_streams(path: Path, index: Path | None = None) -> list[StreamChunk] | None:
    """The chunks to read ``path`` in parallel, or None when it is not a multistream dump of Wikimedia's layout.

    ``index``: the index file given (a wrong one is an ``InputError``); when None, the index beside the dump
    under its standard name is used if present, else the streams are found by scanning.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None  # its reader says what is wrong
    index = index or standard_index_path(path)
    given = index is not None and index.exists()
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data[:3] != b"BZh":
            return None
        listed = read_index(index) if given else None
        if listed:
            _check_index(path, data, listed, index)
        header = _header_stream(data)
        if listed and (header is None or header[0] != listed[0][0]):
            raise InputError(
                f"the index does not match the dump: the dump's first stream, its <siteinfo> header alone, does "
                f"not end at byte {listed[0][0]:,}, where the index puts the first pages",
                index,
            )
        if header is None:
            return None
        starts = [at for at, _ in listed] if listed else [header[0], *scan_streams(data, header[0] + 1)]
        size = len(data)
    ids = [ids for _, ids in listed] if listed else None
    named = str(index) if given else None
    chunks = []
    first = 0
    for i in range(1, len(starts) + 1):
        if i < len(starts) and starts[i] - starts[first] < CHUNK_BYTES:
            continue
        end = starts[i] if i < len(starts) else size
        chunk_ids = tuple(p for k in range(first, i) for p in ids[k]) if ids else None
        chunks.append(StreamChunk(str(path), starts[first], end, header[1], chunk_ids, i == len(starts), named))
        first = i
    return chunks


def _check_index(path: Path, data: mmap.mmap, listed: list[tuple[int, list[str]]], index: Path) -> None:
    """Every stream the index lists lies in the dump and starts with a bz2 stream header."""
    if listed[-1][0] >= len(data):
        raise InputError(
            f"ends at byte {len(data):,}, before the stream at byte {listed[-1][0]:,} that {index.name} lists "
            "(a truncated download, or another dump's index)",
            path,
        )
    for at, ids in listed:
        if not _STREAM_START.match(data, at):
            raise InputError(
                f"the index does not match the dump: no bz2 stream starts at byte {at:,} (page {ids[0]})", index
            )


def _header_stream(data: mmap.mmap) -> tuple[int, tuple[tuple[str, int], ...]] | None:
    """(where the first bz2 stream ends, the namespaces it declares) when it holds the header alone, else None.

    It is decompressed piece by piece and given up at the first page, so a dump in one stream costs its first
    block, not a scan of the whole file.
    """
    decompressor = bz2.BZ2Decompressor()
    head = b""
    at = 0
    try:
        while not decompressor.eof and at < len(data) and b"<page" not in head:
            head += decompressor.decompress(data[at : at + _PIECE])
            at += _PIECE
    except OSError:
        return None
    if not decompressor.eof or b"<page" in head or not head.rstrip().endswith(_HEADER_END):
        return None
    namespaces: list[tuple[str, int]] = []
    parser = ET.XMLPullParser(events=("end",))
    parser.feed(head)
    for _, elem in parser.read_events():
        if elem.tag.rpartition("}")[2] == "namespace" and elem.get("key") is not None and elem.text:
            namespaces.append((elem.text, int(elem.get("key"))))
    return min(at, len(data)) - len(decompressor.unused_data), tuple(namespaces)


def read_chunk(chunk: StreamChunk) -> Iterator[Article]:
    """The pages of a chunk's streams, as :func:`~classit_data.wiki.readers.dump.read_dump` yields them."""
    path = Path(chunk.path)
    xml = _decompress(chunk, path)
    if chunk.last:
        body = xml.rstrip()
        if not body.endswith(_CLOSE):
            raise InputError("XML ends early (truncated file?)", path, f"compressed byte {chunk.end:,}")
        xml = body[: -len(_CLOSE)]
    parser = ET.XMLPullParser(events=("end",))
    namespaces = dict(chunk.namespaces)
    seen: list[str] = []
    try:
        parser.feed(b"<pages>")
        parser.feed(xml)
        parser.feed(b"</pages>")
        parser.close()
        for _, elem in parser.read_events():
            if elem.tag.rpartition("}")[2] == "page":
                article = page_from_element(elem, namespaces)
                seen.append(article.article_id)
                yield article
    except ET.ParseError as exc:
        raise InputError(
            f"malformed XML in the bz2 streams at bytes {chunk.start:,}-{chunk.end:,}: {str(exc).split(':')[0]} "
            "(a stream must hold whole <page> elements)",
            path,
        ) from exc
    if chunk.page_ids is not None and tuple(seen) != chunk.page_ids:
        raise InputError(
            f"the index does not match the dump: the streams at bytes {chunk.start:,}-{chunk.end:,} hold pages "
            f"{_ids(seen)}, the index lists {_ids(chunk.page_ids)}",
            chunk.index,
        )


def _ids(ids) -> str:
    ids = list(ids)
    return f"{', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''} ({len(ids)})"


def _decompress(chunk: StreamChunk, path: Path) -> bytes:
    """The chunk's streams decompressed; each must end, the last exactly at the chunk's end."""
    with open(path, "rb") as fh:
        fh.seek(chunk.start)
        data = fh.read(chunk.end - chunk.start)
    out: list[bytes] = []
    at = chunk.start
    while data:
        decompressor = bz2.BZ2Decompressor()
        try:
            out.append(decompressor.decompress(data))
        except OSError as exc:
            raise InputError(f"bz2 stream is damaged ({exc})", path, f"stream at compressed byte {at:,}") from exc
        if not decompressor.eof:
            if chunk.last:
                raise InputError(
                    "bz2 stream ends early (truncated download?)", path, f"stream at compressed byte {at:,}"
                )
            if chunk.index:
                raise InputError(
                    f"the index does not match the dump: the bz2 stream at byte {at:,} of {path.name} does not end "
                    f"at byte {chunk.end:,}, where the index puts the next one",
                    chunk.index,
                )
            raise InputError(
                f"the bz2 stream at byte {at:,} does not end at byte {chunk.end:,}, where a stream header was found",
                path,
            )
        at = chunk.end - len(decompressor.unused_data)
        data = decompressor.unused_data
    return b"".join(out)
