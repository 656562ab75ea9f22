"""wikiextractor output: ``<doc id=.. url=.. title=..>`` blocks (its default) or JSON lines (``--json``).

The text is already plain but HTML-escaped (wikiextractor's default ``--html-safe``); it is unescaped.
wikiextractor repeats the title as the first line of a block; that line is dropped. Links kept with
``--links`` (``<a href="...">text</a>``) become their text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.wiki.readers.base import PLAIN, Article, BytesRead, iter_text_lines, plain_skip_reason, sniff
from classit_data.wiki.readers.hf import read_json_lines

_OPEN = re.compile(r"^<doc\b([^>]*)>\s*$")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TAG = re.compile(r"</?a\b[^>]*>")


def read_wikiextractor(path: str | Path, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    """Yield the articles of wikiextractor output, ``<doc>`` blocks or JSON lines."""
    path = Path(path)
    head, _ = sniff(path)
    if head.lstrip().startswith(b"{"):
        yield from read_json_lines(path, bytes_read)
    else:
        yield from _read_docs(path, bytes_read)


def _read_docs(path: Path, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    attrs: dict[str, str] | None = None
    opened_at = 0
    body: list[str] = []
    for lineno, line in iter_text_lines(path, bytes_read):
        if attrs is None:
            m = _OPEN.match(line.strip())
            if m:
                attrs = {k: html.unescape(v) for k, v in _ATTR.findall(m.group(1))}
                if "title" not in attrs:
                    raise InputError("<doc> without a title attribute", path, lineno)
                opened_at, body = lineno, []
            elif line.strip():
                raise InputError("text outside a <doc ...> block: not wikiextractor output", path, lineno)
            continue
        if line.strip() == "</doc>":
            title = attrs["title"]
            # wikiextractor escapes the text by default (--html-safe); links kept by --links are <a> tags
            lines = [html.unescape(_TAG.sub("", ln)) for ln in body]
            if lines and lines[0].strip() == title:
                lines = lines[1:]
            text = "\n".join(lines).strip()
            reason = plain_skip_reason(title, text)
            yield Article(attrs.get("id") or f"line{opened_at}", title, "" if reason else text, PLAIN, reason)
            attrs = None
        elif _OPEN.match(line.strip()):
            raise InputError(f"<doc> opened at line {opened_at} is not closed", path, lineno)
        else:
            body.append(line)
    if attrs is not None:
        raise InputError("the file ends inside a <doc> block (truncated?)", path, opened_at)
