"""Which reader a file needs, decided from its content (not its name), and reading a file with it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.formats import normalize_format
from classit_data.wiki.readers.babylm import read_babylm_wiki
from classit_data.wiki.readers.base import SNIFF_BYTES, Article, BytesRead, bom_encoding, refuse_lfs_pointer, sniff
from classit_data.wiki.readers.dump import read_dump
from classit_data.wiki.readers.extractor import read_wikiextractor
from classit_data.wiki.readers.hf import read_hf_wikipedia

#: the reader of each format, in the order the help lists them
READERS = {
    "mediawiki": read_dump,
    "babylm": read_babylm_wiki,
    "hf": read_hf_wikipedia,
    "wikiextractor": read_wikiextractor,
}
FORMATS = tuple(READERS)
#: elements only a MediaWiki export has (not a text that mentions <title>): in a file that does not start
#: with <mediawiki> or <?xml, a dump cut at its start
_DUMP_TAG = re.compile(r"<ns>-?\d+</ns>|</?revision>|</?contributor>|</page>|<timestamp>\d{4}-")
#: the names ``--format`` accepts (any case), each with the format it names
FORMAT_ALIASES = {
    "xml": "mediawiki",
    "dump": "mediawiki",
    "mediawiki": "mediawiki",
    "babylm": "babylm",
    "simple_wiki": "babylm",
    "hf": "hf",
    "wikipedia": "hf",
    "huggingface": "hf",
    "parquet": "hf",
    "wikiextractor": "wikiextractor",
    "extractor": "wikiextractor",
}


def detect_format(path: str | Path, forced: str | None = None) -> str:
    """Which reader a file needs, decided from its content (not its name); ``forced`` skips the guessing.

    Whatever the format, an empty file and a Git LFS pointer are refused here, and text in UTF-16 or
    UTF-32 is recognised by its byte-order mark.
    """
    path = Path(path)
    head, _ = sniff(path)
    if path.stat().st_size == 0 or not head.strip():
        raise InputError("empty file", path)
    refuse_lfs_pointer(path, head)
    if forced:
        return forced
    if head.startswith(b"PAR1"):
        return "hf"
    encoding = bom_encoding(head)
    if encoding:
        text = head.decode(encoding, errors="replace")
    elif b"\x00" in head:
        at = head.index(b"\x00")
        line = head.count(b"\n", 0, at) + 1
        raise InputError(f"a NUL byte at offset {at}: binary content, not a Wikipedia dump or text export", path, line)
    else:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return _text_format(path, text, complete=len(head) < SNIFF_BYTES)


def _text_format(path: Path, text: str, complete: bool) -> str:
    """The format of a text input from its first characters."""
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or stripped.startswith("<mediawiki") or stripped.startswith("<page"):
        return "mediawiki"
    if stripped.startswith("<doc "):
        return "wikiextractor"
    first = stripped.split("\n", 1)[0].strip()
    if first.startswith("{"):
        return _json_lines_format(first, complete="\n" in stripped or complete, path=path)
    if re.match(r"^\d+:\d+:", first):
        raise InputError(
            "this is a multistream index, not the dump; pass the ...-multistream.xml.bz2 file instead", path, 1
        )
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    speaker = sum(1 for ln in lines if re.match(r"^[A-Z]{1,2}(?::\t|\|[^|]*\|)", ln))
    if lines and speaker > len(lines) / 2:
        raise InputError("looks like a conversation file (Switchboard), not Simple Wikipedia", path, 1)
    if stripped.startswith("<"):
        raise InputError("markup that is neither a MediaWiki XML dump nor wikiextractor output", path, 1)
    if _DUMP_TAG.search(text):
        start = " ".join(stripped[:40].split())
        raise InputError(
            f"a piece of a MediaWiki XML dump cut at its start (it begins {start!r}): a dump "
            "starts with <mediawiki> or <?xml",
            path,
            1,
        )
    return "babylm"


def _json_lines_format(first: str, complete: bool, path: Path) -> str:
    """JSON lines: wikiextractor ``--json`` (its records have ``revid``) or a wikimedia/wikipedia export.

    ``complete``: the sniffed bytes hold the whole first line (else it may only look broken).
    """
    try:
        record = json.loads(first)
    except json.JSONDecodeError as exc:
        if complete:
            raise InputError(f"starts like JSON lines but line 1 is not JSON ({exc.msg})", path, 1) from exc
        return "hf"  # a first record longer than the sniffed bytes; the reader checks it
    if not isinstance(record, dict) or not {"title", "text"} <= record.keys():
        raise InputError("JSON lines without 'title' and 'text' fields: not a Wikipedia export", path, 1)
    return "wikiextractor" if "revid" in record else "hf"


def iter_articles(path: str | Path, fmt: str | None = None, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    """Stream the articles of one input with the reader its format needs (detected when ``fmt`` is None).

    The bytes taken from disk are added to ``bytes_read`` as they are read.
    """
    path = Path(path)
    fmt = detect_format(path, normalize_format(fmt, FORMATS, FORMAT_ALIASES))
    yield from READERS[fmt](path, bytes_read)
