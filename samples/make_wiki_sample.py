"""Build samples/simplewiki_sample.xml.bz2 (a MediaWiki export excerpt) from the readable page list.

The pages, in ``samples/simplewiki_sample.pages.txt``, were written for this project: each starts with a
line ``#### <page id> <namespace> <title>`` and its wikitext follows. A page whose text starts with
``#REDIRECT [[Target]]`` gets the dump's ``<redirect title="Target" />`` element as well.

    .venv/bin/python samples/make_wiki_sample.py [SOURCE] [OUT]

The output is byte-for-byte reproducible (fixed timestamps, bz2 level 9).
"""

from __future__ import annotations

import bz2
import io
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root: the export writer lives with the tests
from tests.wiki.export_xml import write_export_xml  # noqa: E402

_HEADER = re.compile(r"^#### (\d+) (-?\d+) (.+)$")
_REDIRECT = re.compile(r"^\s*#REDIRECT\s*\[\[([^\]|#]+)", re.IGNORECASE)


def read_pages(source: Path) -> list[dict]:
    pages: list[dict] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        m = _HEADER.match(line)
        if m:
            pages.append({"id": int(m.group(1)), "ns": int(m.group(2)), "title": m.group(3).strip(), "lines": []})
        elif pages:
            pages[-1]["lines"].append(line)
        # lines before the first page are the file's own comments
    for page in pages:
        page["text"] = "\n".join(page.pop("lines")).strip("\n")
        redirect = _REDIRECT.match(page["text"])
        if redirect:
            page["redirect"] = redirect.group(1).strip()
    return pages


def build(source: Path, out: Path) -> int:
    pages = read_pages(source)
    buf = io.StringIO()
    write_export_xml(pages, buf)
    out.write_bytes(bz2.compress(buf.getvalue().encode("utf-8"), compresslevel=9))
    return len(pages)


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "simplewiki_sample.pages.txt"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "simplewiki_sample.xml.bz2"
    n = build(src, dst)
    print(f"wrote {dst} ({n} pages, {dst.stat().st_size:,} bytes)")
