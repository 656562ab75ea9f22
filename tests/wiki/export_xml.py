"""Write pages as a MediaWiki XML export: the bundled sample, the benchmark's synthetic dumps and test dumps.

Reading dumps is the package's job; writing them is only needed to make inputs, so it lives with the tests.
"""

from __future__ import annotations

import bz2
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr, unescape

EXPORT_NS = "http://www.mediawiki.org/xml/export-0.11/"

_SITE_NAMESPACES = {
    -2: "Media",
    -1: "Special",
    0: "",
    1: "Talk",
    2: "User",
    3: "User talk",
    4: "Wikipedia",
    5: "Wikipedia talk",
    6: "File",
    7: "File talk",
    8: "MediaWiki",
    9: "MediaWiki talk",
    10: "Template",
    11: "Template talk",
    12: "Help",
    13: "Help talk",
    14: "Category",
    15: "Category talk",
    828: "Module",
    829: "Module talk",
}


def write_export_xml(
    pages: Iterable[dict], fh: IO[str], *, dbname: str = "simplewiki", timestamp: str = "2025-01-01T00:00:00Z"
) -> int:
    """Write pages as a MediaWiki export (the layout of ``pages-articles.xml``); returns the page count.

    Each page is a dict with ``id``, ``title``, ``text`` and optionally ``ns`` (default 0),
    ``redirect`` (target title) and ``timestamp``.
    """
    fh.write(
        f'<mediawiki xmlns="{EXPORT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{EXPORT_NS} http://www.mediawiki.org/xml/export-0.11.xsd" '
        'version="0.11" xml:lang="en">\n'
    )
    fh.write(
        "  <siteinfo>\n    <sitename>Wikipedia</sitename>\n"
        f"    <dbname>{dbname}</dbname>\n    <base>https://simple.wikipedia.org/wiki/Main_Page</base>\n"
        "    <generator>MediaWiki 1.44.0-wmf.1</generator>\n    <case>first-letter</case>\n"
        "    <namespaces>\n"
    )
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
        fh.write(
            f"  <page>\n    <title>{escape(page['title'])}</title>\n    <ns>{page.get('ns', 0)}</ns>\n"
            f"    <id>{page['id']}</id>\n"
        )
        if page.get("redirect"):
            fh.write(f"    <redirect title={quoteattr(page['redirect'])} />\n")
        rev_id = int(page["id"]) * 10 + 7
        fh.write(
            f"    <revision>\n      <id>{rev_id}</id>\n      <parentid>{rev_id - 3}</parentid>\n"
            f"      <timestamp>{page.get('timestamp', timestamp)}</timestamp>\n"
            "      <contributor>\n        <username>SampleEditor</username>\n        <id>42</id>\n"
            "      </contributor>\n      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(text.encode("utf-8"))}" xml:space="preserve">{escape(text)}</text>\n'
            "      <sha1>0000000000000000000000000000000</sha1>\n    </revision>\n  </page>\n"
        )
    fh.write("</mediawiki>\n")
    return n


_PAGE = re.compile(r"[ \t]*<page>.*?</page>\n?", re.S)
_PAGE_ID = re.compile(r"<id>(\d+)</id>")
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def write_multistream(xml: str, dump: Path, pages_per_stream: int = 100) -> Path:
    """An export rewritten as Wikimedia writes its multistream dump, with its index beside it.

    The header (up to ``</siteinfo>``) is one bz2 stream, every ``pages_per_stream`` pages another, the closing
    ``</mediawiki>`` the last; the index (``...-index.txt.bz2``) lists ``offset:page_id:title`` for each page.
    Returns the index's path.
    """
    pages = _PAGE.findall(xml)
    head = xml[: xml.index(pages[0])]
    tail = xml[xml.rindex(pages[-1]) + len(pages[-1]) :]
    lines: list[str] = []
    dump.parent.mkdir(parents=True, exist_ok=True)
    with open(dump, "wb") as fh:
        fh.write(bz2.compress(head.encode("utf-8")))
        for i in range(0, len(pages), pages_per_stream):
            offset = fh.tell()
            group = pages[i : i + pages_per_stream]
            for page in group:
                title = unescape(_TITLE.search(page).group(1))
                lines.append(f"{offset}:{_PAGE_ID.search(page).group(1)}:{title}\n")
            fh.write(bz2.compress("".join(group).encode("utf-8")))
        fh.write(bz2.compress(tail.encode("utf-8")))
    index = dump.with_name(dump.name.removesuffix(".xml.bz2") + "-index.txt.bz2")
    index.write_bytes(bz2.compress("".join(lines).encode("utf-8")))
    return index
