"""MediaWiki XML export dumps (``pages-articles``, ``.xml``, ``.xml.bz2``, ``-multistream.xml.bz2``).

The dump is read as a stream with ``iterparse``: each ``<page>`` is turned into an :class:`Article` and
then cleared, and the root is emptied, so memory stays bounded by the largest page whatever the dump's
size (Simple English Wikipedia's is ~350 MB compressed). ``bz2`` reads the concatenated streams of the
multistream variant transparently. Only namespace 0 is kept; redirects and disambiguation pages are
yielded with a skip reason so they are counted.
"""

from __future__ import annotations

import io
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.wiki.readers.base import (
    WIKITEXT,
    Article,
    BytesRead,
    bom_encoding,
    decompression_error,
    open_input,
)

_REDIRECT = re.compile(r"^\s*#\s*REDIRECT\b", re.IGNORECASE)
#: templates and switches that mark a disambiguation page on English and Simple English Wikipedia
_DISAMBIG = re.compile(
    r"\{\{\s*(?:disambig(?:uation)?|dab|disamb|geodis|hndis|numberdis|letter-numbercombdisambig|"
    r"surname|given name|set ?index(?: article)?|shipindex|mountainindex|roaddis|"
    r"[\w ]+ disambiguation)\s*(?:\||\}\})",
    re.IGNORECASE,
)
_DISAMBIG_SWITCH = re.compile("__DISAMBIG__", re.IGNORECASE)  # apart: one pattern with both is 2x slower


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def page_article(page_id: str, title: str, ns: int, redirect: bool, text: str, model: str | None = None) -> Article:
    """Decide whether a page of a dump is an article, and why not when it is not."""
    if ns != 0:
        return Article(page_id, title, "", WIKITEXT, "namespace")
    if redirect or _REDIRECT.match(text):
        return Article(page_id, title, "", WIKITEXT, "redirect")
    if model and model != "wikitext":
        return Article(page_id, title, "", WIKITEXT, "not_wikitext")
    if not text.strip():
        return Article(page_id, title, "", WIKITEXT, "empty")
    if _DISAMBIG.search(text) or _DISAMBIG_SWITCH.search(text) or title.endswith("(disambiguation)"):
        return Article(page_id, title, "", WIKITEXT, "disambiguation")
    return Article(page_id, title, text, WIKITEXT)


def read_dump(path: str | Path, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    """Yield every page of a MediaWiki XML dump as an :class:`Article` (bounded memory).

    Malformed XML and damaged or cut compressed streams raise ``InputError`` naming the line and
    column (and, for compressed files, the compressed byte offset).
    """
    path = Path(path)
    opened = open_input(path, bytes_read)
    namespaces: dict[str, int] = {}
    encoding = bom_encoding(opened.stream.peek(4)[:4])
    # expat reads UTF-8 and UTF-16, but not UTF-32, nor UTF-16 under a declaration that says UTF-8: text
    # decoded by its byte-order mark is read whatever the declaration says
    source = io.TextIOWrapper(opened.stream, encoding=encoding) if encoding else opened.stream
    try:
        events = ET.iterparse(source, events=("start", "end"))
        first_event, root = next(events)
        if _local(root.tag) not in ("mediawiki", "page"):
            raise InputError(f"XML root is <{_local(root.tag)}>, not a MediaWiki export <mediawiki>", path, "line 1")
        namespace = root.tag[: -len(_local(root.tag))]  # "{http://www.mediawiki.org/xml/export-0.10/}" or ""
        wanted = {namespace + tag: tag for tag in ("namespace", "siteinfo", "page")}
        for event, elem in itertools.chain([(first_event, root)], events):
            tag = wanted.get(elem.tag)  # most elements are a page's parts, read with their page
            if tag is None or event != "end":
                continue
            if tag == "namespace":
                key = elem.get("key")
                if key is not None and elem.text:
                    namespaces[elem.text] = int(key)
            elif tag == "siteinfo":
                root.clear()
            elif tag == "page":
                yield page_from_element(elem, namespaces)
                elem.clear()
                if root is not elem:
                    root.clear()
    except ET.ParseError as exc:
        line, col = exc.position
        msg = str(exc).split(": line ")[0]
        where = f"line {line}, column {col}"
        if opened.compression:
            where += f", compressed byte {opened.raw.count:,}"
        if msg == "no element found":
            raise InputError("XML ends early (truncated file?)", path, where) from exc
        raise InputError(f"malformed XML: {msg}", path, where) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not {encoding} text, although it starts with its byte-order mark ({exc.reason})", path
        ) from exc
    except (EOFError, OSError) as exc:
        if opened.compression:
            raise decompression_error(path, opened, exc) from exc
        raise InputError(f"cannot read: {exc}", path) from exc
    finally:
        opened.raw.close()


def page_from_element(page: ET.Element, namespaces: dict[str, int]) -> Article:
    """The :class:`Article` of a parsed ``<page>``; ``namespaces`` (the siteinfo's) serve dumps without ``<ns>``."""
    title = page_id = ""
    ns: int | None = None
    redirect = False
    text = ""
    model = None
    for child in page:
        tag = _local(child.tag)
        if tag == "title":
            title = child.text or ""
        elif tag == "ns":
            ns = int((child.text or "0").strip() or 0)
        elif tag == "id":
            page_id = (child.text or "").strip()
        elif tag == "redirect":
            redirect = True
        elif tag == "revision":  # a history dump has several; the last one is the current text
            for part in child:
                ptag = _local(part.tag)
                if ptag == "text":
                    text = part.text or ""
                elif ptag == "model":
                    model = (part.text or "").strip() or None
    if ns is None:  # very old dumps: no <ns>, the namespace is the title's prefix
        prefix, sep, _ = title.partition(":")
        ns = namespaces.get(prefix, 0) if sep else 0
    return page_article(page_id, title, ns, redirect, text, model)
