"""What every Wikipedia reader yields, how inputs are opened, and which reader a file needs.

Readers are generators of :class:`Article` records. A record the reader already knows to leave out
(a redirect, another namespace, a disambiguation page, an empty page, a cut fragment) is still yielded,
with ``skip`` set and no text, so that the summary can count it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from classit_data.core.errors import InputError
from classit_data.core.schema import content_id

#: markup of an article's text: MediaWiki wikitext, or text that is already plain
WIKITEXT = "wikitext"
PLAIN = "plain"

FORMATS = ("mediawiki", "babylm", "hf", "wikiextractor")
FORMAT_ALIASES = {
    "xml": "mediawiki", "dump": "mediawiki", "mediawiki": "mediawiki",
    "babylm": "babylm", "simple_wiki": "babylm",
    "hf": "hf", "wikipedia": "hf", "huggingface": "hf", "parquet": "hf",
    "wikiextractor": "wikiextractor", "extractor": "wikiextractor",
}

_SNIFF_BYTES = 1 << 16
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


def normalize_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    key = fmt.strip().lower()
    if key not in FORMAT_ALIASES:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return FORMAT_ALIASES[key]


def compression_of(head: bytes) -> str | None:
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    return None


#: bytes read from input files by this process (compressed size), for progress bars
BYTES_READ = [0]


class CountingReader(io.RawIOBase):
    """A read-only wrapper that counts the bytes taken from a file, so errors can name a byte offset."""

    def __init__(self, raw: IO[bytes], on_disk: bool = False):
        self.raw = raw
        self.count = 0
        self.on_disk = on_disk

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b) or 0
        self.count += n
        if self.on_disk:
            BYTES_READ[0] += n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class OpenedInput(NamedTuple):
    stream: IO[bytes]
    raw: CountingReader
    decompressed: CountingReader
    compression: str | None


def open_input(path: Path) -> OpenedInput:
    """Open a file for reading as decompressed bytes (bz2, including multistream, gzip or plain).

    Both the compressed bytes read from disk and the decompressed bytes handed out are counted.
    """
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path)
    fh = open(path, "rb")
    head = fh.read(4)
    fh.seek(0)
    raw = CountingReader(fh, on_disk=True)
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
    return InputError(f"{opened.compression} stream {what}; {opened.decompressed.count:,} bytes were decompressed",
                      path, f"compressed byte {opened.raw.count:,}")


def sniff(path: Path) -> tuple[bytes, str | None]:
    """The first decompressed bytes of a file (for format detection) and its compression."""
    opened = open_input(path)
    chunks: list[bytes] = []
    size = 0
    try:
        while size < _SNIFF_BYTES:
            chunk = opened.stream.read1(_SNIFF_BYTES - size)
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


def detect_format(path: str | Path) -> str:
    """Which reader a file needs, decided from its content (not its name)."""
    path = Path(path)
    head, comp = sniff(path)
    if path.stat().st_size == 0 or not head.strip():
        raise InputError("empty file", path)
    if head.startswith(b"PAR1"):
        return "hf"
    if b"\x00" in head:
        raise InputError("binary content, not a Wikipedia dump or text export", path, "byte 0")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or stripped.startswith("<mediawiki") or stripped.startswith("<page"):
        return "mediawiki"
    if stripped.startswith("<doc "):
        return "wikiextractor"
    first = stripped.split("\n", 1)[0].strip()
    if first.startswith("{"):
        complete = "\n" in stripped or len(head) < _SNIFF_BYTES
        try:
            record = json.loads(first)
        except json.JSONDecodeError as exc:
            if complete:
                raise InputError(f"starts like JSON lines but line 1 is not JSON ({exc.msg})", path, 1) from exc
            return "hf"  # a first record longer than the sniffed bytes; the reader checks it
        if not isinstance(record, dict) or not {"title", "text"} <= record.keys():
            raise InputError("JSON lines without 'title' and 'text' fields: not a Wikipedia export", path, 1)
        return "wikiextractor" if "revid" in record else "hf"
    if re.match(r"^\d+:\d+:", first):
        raise InputError("this is a multistream index, not the dump; pass the "
                         "...-multistream.xml.bz2 file instead", path, 1)
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    speaker = sum(1 for ln in lines if re.match(r"^[A-Z]{1,2}(?::\t|\|[^|]*\|)", ln))
    if lines and speaker > len(lines) / 2:
        raise InputError("looks like a conversation file (Switchboard), not Simple Wikipedia", path, 1)
    if stripped.startswith("<"):
        raise InputError("markup that is neither a MediaWiki XML dump nor wikiextractor output", path, 1)
    return "babylm"


def iter_articles(path: str | Path, fmt: str | None = None) -> Iterator[Article]:
    """Stream the articles of one input with the reader its format needs (detected when ``fmt`` is None)."""
    path = Path(path)
    fmt = normalize_format(fmt) or detect_format(path)
    if fmt == "mediawiki":
        from classit_data.wiki.readers.dump import read_dump

        yield from read_dump(path)
    elif fmt == "babylm":
        from classit_data.wiki.readers.babylm import read_babylm_wiki

        yield from read_babylm_wiki(path)
    elif fmt == "hf":
        from classit_data.wiki.readers.hf import read_hf_wikipedia

        yield from read_hf_wikipedia(path)
    else:
        from classit_data.wiki.readers.extractor import read_wikiextractor

        yield from read_wikiextractor(path)


def iter_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) of a UTF-8 text file, compressed or not.

    Bad bytes and cut compressed streams become ``InputError`` with the line or byte offset.
    """
    opened = open_input(path)
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
