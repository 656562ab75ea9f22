"""MediaWiki XML export dumps (``pages-articles``, ``.xml``, ``.xml.bz2``, ``-multistream.xml.bz2``).

The dump is read as a stream with ``iterparse``: each ``<page>`` is turned into an :class:`Article` and
then cleared, and the root is emptied, so memory stays bounded by the largest page whatever the dump's
size (Simple English Wikipedia's is ~350 MB compressed). ``bz2`` reads the concatenated streams of the
multistream variant transparently. Only namespace 0 is kept; redirects and disambiguation pages are
yielded with a skip reason so they are counted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from classit_data.core.errors import InputError
from classit_data.wiki.readers.base import WIKITEXT, Article, decompression_error, open_input

EXPORT_NS = "http://www.mediawiki.org/xml/export-0.11/"

_REDIRECT = re.compile(r"^\s*#\s*REDIRECT\b", re.IGNORECASE)
#: templates and switches that mark a disambiguation page on English and Simple English Wikipedia
_DISAMBIG = re.compile(
    r"\{\{\s*(?:disambig(?:uation)?|dab|disamb|geodis|hndis|numberdis|letter-numbercombdisambig|"
    r"surname|given name|set ?index(?: article)?|shipindex|mountainindex|roaddis|"
    r"[\w ]+ disambiguation)\s*(?:\||\}\})|__DISAMBIG__",
    re.IGNORECASE,
)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def page_article(page_id: str, title: str, ns: int, redirect: bool, text: str,
                 model: str | None = None) -> Article:
    """Decide whether a page of a dump is an article, and why not when it is not."""
    if ns != 0:
        return Article(page_id, title, "", WIKITEXT, "namespace")
    if redirect or _REDIRECT.match(text):
        return Article(page_id, title, "", WIKITEXT, "redirect")
    if model and model != "wikitext":
        return Article(page_id, title, "", WIKITEXT, "not_wikitext")
    if not text.strip():
        return Article(page_id, title, "", WIKITEXT, "empty")
    if _DISAMBIG.search(text) or title.endswith("(disambiguation)"):
        return Article(page_id, title, "", WIKITEXT, "disambiguation")
    return Article(page_id, title, text, WIKITEXT)


def read_dump(path: str | Path) -> Iterator[Article]:
    """Yield every page of a MediaWiki XML dump as an :class:`Article` (bounded memory).

    Malformed XML and damaged or cut compressed streams raise ``InputError`` naming the line and
    column (and, for compressed files, the compressed byte offset).
    """
    path = Path(path)
    opened = open_input(path)
    namespaces: dict[str, int] = {}
    root = None
    try:
        events = ET.iterparse(opened.stream, events=("start", "end"))
        for event, elem in events:
            if root is None:
                root = elem
                if _local(elem.tag) not in ("mediawiki", "page"):
                    raise InputError(f"XML root is <{_local(elem.tag)}>, not a MediaWiki export <mediawiki>",
                                     path, "line 1")
            if event != "end":
                continue
            tag = _local(elem.tag)
            if tag == "namespace":
                key = elem.get("key")
                if key is not None and elem.text:
                    namespaces[elem.text] = int(key)
            elif tag == "siteinfo":
                root.clear()
            elif tag == "page":
                yield _page(elem, namespaces)
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
    except (EOFError, OSError) as exc:
        if opened.compression:
            raise decompression_error(path, opened, exc) from exc
        raise InputError(f"cannot read: {exc}", path) from exc
    finally:
        opened.raw.close()


def _page(page: ET.Element, namespaces: dict[str, int]) -> Article:
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


# --- writing ---------------------------------------------------------------------------------------

_SITE_NAMESPACES = {
    -2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Wikipedia",
    5: "Wikipedia talk", 6: "File", 7: "File talk", 8: "MediaWiki", 9: "MediaWiki talk", 10: "Template",
    11: "Template talk", 12: "Help", 13: "Help talk", 14: "Category", 15: "Category talk", 828: "Module",
    829: "Module talk",
}


def write_export_xml(pages: Iterable[dict], fh: IO[str], *, dbname: str = "simplewiki",
                     timestamp: str = "2025-01-01T00:00:00Z") -> int:
    """Write pages as a MediaWiki export (the layout of ``pages-articles.xml``); returns the page count.

    Each page is a dict with ``id``, ``title``, ``text`` and optionally ``ns`` (default 0),
    ``redirect`` (target title) and ``timestamp``. Used by the bundled sample and the benchmark generator.
    """
    fh.write(f'<mediawiki xmlns="{EXPORT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             f'xsi:schemaLocation="{EXPORT_NS} http://www.mediawiki.org/xml/export-0.11.xsd" '
             'version="0.11" xml:lang="en">\n')
    fh.write("  <siteinfo>\n    <sitename>Wikipedia</sitename>\n"
             f"    <dbname>{dbname}</dbname>\n    <base>https://simple.wikipedia.org/wiki/Main_Page</base>\n"
             "    <generator>MediaWiki 1.44.0-wmf.1</generator>\n    <case>first-letter</case>\n"
             "    <namespaces>\n")
    for key, name in _SITE_NAMESPACES.items():
        if name:
            fh.write(f'      <namespace key="{key}" case="first-letter">{escape(name)}</namespace>\n')
        else:
            fh.write(f'      <namespace key="{key}" case="first-letter" />\n')
    fh.write("    </namespaces>\n  </siteinfo>\n")
    n = 0
    for page in pages:
        n += 1
        text = page["text"]
        fh.write(f"  <page>\n    <title>{escape(page['title'])}</title>\n    <ns>{page.get('ns', 0)}</ns>\n"
                 f"    <id>{page['id']}</id>\n")
        if page.get("redirect"):
            fh.write(f"    <redirect title={quoteattr(page['redirect'])} />\n")
        rev_id = int(page["id"]) * 10 + 7
        fh.write(f"    <revision>\n      <id>{rev_id}</id>\n      <parentid>{rev_id - 3}</parentid>\n"
                 f"      <timestamp>{page.get('timestamp', timestamp)}</timestamp>\n"
                 "      <contributor>\n        <username>SampleEditor</username>\n        <id>42</id>\n"
                 "      </contributor>\n      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
                 f'      <text bytes="{len(text.encode("utf-8"))}" xml:space="preserve">{escape(text)}</text>\n'
                 "      <sha1>0000000000000000000000000000000</sha1>\n    </revision>\n  </page>\n")
    fh.write("</mediawiki>\n")
    return n
