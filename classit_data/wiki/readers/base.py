"""What every Wikipedia reader yields, and how inputs are opened: compressed or not, counting the bytes read.

Readers are generators of :class:`Article` records. A record the reader already knows to leave out
(a redirect, another namespace, a disambiguation page, an empty page, a cut fragment) is still yielded,
with ``skip`` set and no text, so that the summary can count it.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

from classit_data.core.errors import InputError
from classit_data.core.schema import content_id

#: markup of an article's text: MediaWiki wikitext, or text that is already plain
WIKITEXT = "wikitext"
PLAIN = "plain"

#: how much of a file format detection looks at
SNIFF_BYTES = 1 << 16
_DISAMBIG_TITLE = re.compile(r"\((disambiguation|surname|given name)\)\s*$", re.IGNORECASE)
_DISAMBIG_PLAIN = re.compile(r"^[^\n]{0,200}\b(may|might|can) (also )?(refer to|mean|be)\s*:", re.IGNORECASE)


class Article(NamedTuple):
    """One page or document of an input. ``skip`` is the reason it leaves the corpus, or None."""

    article_id: str
    title: str
    text: str
    markup: str
    skip: str | None = None


def title_id(title: str) -> str:
    """An article id for formats that carry none (BabyLM): a stable hash of the title."""
    return "t" + content_id("simplewiki-title", title, length=12)


def plain_skip_reason(title: str, text: str) -> str | None:
    """Why a plain-text article is left out before cleaning, if it is: empty or a disambiguation page."""
    if not text.strip():
        return "empty"
    if _DISAMBIG_TITLE.search(title) or _DISAMBIG_PLAIN.search(text.lstrip()[:400]):
        return "disambiguation"
    return None


#: byte-order marks and the encodings they announce (UTF-32 first: its little-endian mark starts like UTF-16's)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def bom_encoding(head: bytes) -> str | None:
    """``utf-16`` or ``utf-32`` when the text starts with their byte-order mark (the codec reads the mark)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def refuse_lfs_pointer(path: Path, head: bytes) -> None:
    """A Git LFS pointer stands where the file should be (the repository was cloned without ``git lfs``)."""
    if not head.startswith(_LFS_POINTER):
        return
    fields = dict(line.split(" ", 1) for line in head.decode("ascii", "replace").splitlines() if " " in line)
    size = fields.get("size", "?").strip()
    raise InputError(
        f"a Git LFS pointer, not the file itself (the real file has {size} bytes): fetch it with `git lfs pull`", path
    )


def compression_of(head: bytes) -> str | None:
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    return None


@dataclass
class BytesRead:
    """Bytes taken from input files on disk (compressed size), summed over the files of a run.

    A run hands one to each reader it opens, so that its progress bar can tell how far into the inputs it is.
    """

    total: int = 0


class CountingReader(io.RawIOBase):
    """A read-only wrapper that counts the bytes taken from a file, so errors can name a byte offset."""

    def __init__(self, raw: IO[bytes], bytes_read: BytesRead | None = None):
        self.raw = raw
        self.count = 0
        self.bytes_read = bytes_read

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b) or 0
        self.count += n
        if self.bytes_read is not None:
            self.bytes_read.total += n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class OpenedInput(NamedTuple):
    stream: IO[bytes]
    raw: CountingReader
    decompressed: CountingReader
    compression: str | None


def open_input(path: Path, bytes_read: BytesRead | None = None) -> OpenedInput:
    """Open a file for reading as decompressed bytes (bz2, including multistream, gzip or plain).

    Both the compressed bytes read from disk and the decompressed bytes handed out are counted; the
    bytes read from disk are added to ``bytes_read`` as well.
    """
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path)
    fh = open(path, "rb")
    head = fh.read(4)
    fh.seek(0)
    raw = CountingReader(fh, bytes_read)
    comp = compression_of(head)
    if comp == "bz2":
        inner: IO[bytes] = bz2.BZ2File(raw)
    elif comp == "gzip":
        inner = gzip.GzipFile(fileobj=raw)
    else:
        inner = raw
    counted = CountingReader(inner)
    return OpenedInput(io.BufferedReader(counted, buffer_size=1 << 16), raw, counted, comp)


def decompression_error(path: Path, opened: OpenedInput, exc: BaseException) -> InputError:
    """A one-line error for a damaged or cut compressed stream, naming the compressed byte offset."""
    what = "ends early (truncated download?)" if isinstance(exc, EOFError) else f"is damaged ({exc})"
    return InputError(
        f"{opened.compression} stream {what}; {opened.decompressed.count:,} bytes were decompressed",
        path,
        f"compressed byte {opened.raw.count:,}",
    )


def sniff(path: Path) -> tuple[bytes, str | None]:
    """The first decompressed bytes of a file (for format detection) and its compression."""
    opened = open_input(path)
    chunks: list[bytes] = []
    size = 0
    try:
        while size < SNIFF_BYTES:
            chunk = opened.stream.read1(SNIFF_BYTES - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, EOFError) as exc:
        if not chunks:
            raise decompression_error(path, opened, exc) from exc
        # a cut stream with a readable start: detection goes on, the reader reports where it ends
    finally:
        opened.raw.close()
    return b"".join(chunks), opened.compression


def iter_text_lines(path: Path, bytes_read: BytesRead | None = None) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) of a UTF-8 text file, compressed or not.

    Bad bytes and cut compressed streams become ``InputError`` with the line or byte offset.
    """
    opened = open_input(path, bytes_read)
    encoding = bom_encoding(opened.stream.peek(4)[:4])
    if encoding:
        yield from _wide_text_lines(path, opened, encoding)
        return
    lineno = 0
    try:
        with opened.stream as stream:
            while True:
                try:
                    raw = stream.readline()
                except (EOFError, OSError) as exc:
                    if opened.compression:
                        raise decompression_error(path, opened, exc) from exc
                    raise
                if not raw:
                    return
                lineno += 1
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"not UTF-8 text (byte {exc.start} of the line)", path, lineno) from exc
                if lineno == 1:
                    line = line.lstrip("\ufeff")
                yield lineno, line.rstrip("\r\n")
    finally:
        opened.raw.close()


def _mark_undecodable(exc: UnicodeDecodeError) -> tuple[str, int]:
    return _UNDECODABLE, exc.end


#: what an undecodable stretch of UTF-16/32 becomes: a lone surrogate, which no valid text decodes to
_UNDECODABLE = "\udfff"
codecs.register_error("classit-undecodable", _mark_undecodable)


def _wide_text_lines(path: Path, opened: OpenedInput, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-16 or UTF-32 text file, decoded by its byte-order mark.

    Bad bytes are marked while decoding (the decoder reads ahead by blocks) so the error names their line.
    """
    lineno = 0
    try:
        with io.TextIOWrapper(opened.stream, encoding=encoding, errors="classit-undecodable", newline="") as text:
            for line in text:
                lineno += 1
                if _UNDECODABLE in line:
                    raise InputError(
                        f"not {encoding.upper()} text, although it starts with its byte-order mark", path, lineno
                    )
                yield lineno, line.rstrip("\r\n")
    except (EOFError, OSError) as exc:
        if opened.compression:
            raise decompression_error(path, opened, exc) from exc
        raise
    finally:
        opened.raw.close()
