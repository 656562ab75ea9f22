"""BabyLM's ``simple_wiki.train`` (plain text, one paragraph a line, a blank line after each article).

Two header styles exist: the 2024/2025 release opens each article with ``= = = Title = = =``; the 2023
release opens it with the bare title. The corpus was sampled in chunks, so the first article of a chunk
can start mid-way (no title: a cut fragment, counted and left out because it has no title to ask about)
and the last can stop early (kept: what is there is still clean prose).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.wiki.readers.base import PLAIN, Article, BytesRead, iter_text_lines, plain_skip_reason, title_id

#: ``= = = Title = = =``: the article header of the 2024/2025 release (other depths are section headings)
_HEADER = re.compile(r"^\s*(=(?: =)*)\s+(.+?)\s+(=(?: =)*)\s*$")
_ARTICLE_DEPTH = 3
_SNIFF_LINES = 400


def _header(line: str) -> tuple[int, str] | None:
    m = _HEADER.match(line)
    if not m:
        return None
    return m.group(1).count("="), m.group(2).strip()


def looks_like_title(line: str) -> bool:
    """A bare 2023-style title: short, and not a sentence (a long line ending in . ! ? is prose)."""
    words = line.split()
    if not words or len(words) > 12:
        return False
    return not (line.rstrip()[-1] in ".!?:;" and len(words) > 4)


def _article(title: str, lines: list[str]) -> Article:
    text = "\n".join(lines).strip()
    reason = plain_skip_reason(title, text)
    return Article(title_id(title), title, "" if reason else text, PLAIN, reason)


def read_babylm_wiki(path: str | Path, bytes_read: BytesRead | None = None) -> Iterator[Article]:
    """Yield the articles of a BabyLM ``simple_wiki`` file; the header style is detected from the file."""
    path = Path(path)
    lines = iter_text_lines(path, bytes_read)
    head = list(itertools.islice(lines, _SNIFF_LINES))
    headed = any((h := _header(text)) and h[0] == _ARTICLE_DEPTH for _, text in head)
    stream = itertools.chain(head, lines)
    titled = 0
    for article in _read_headed(stream) if headed else _read_bare(stream):
        titled += bool(article.title)
        yield article
    if not titled:
        raise InputError(
            "no article title found: not a BabyLM simple_wiki file (use --format to choose another reader)", path, 1
        )


def _read_headed(stream) -> Iterator[Article]:
    title: str | None = None
    body: list[str] = []
    fragment = False
    for _, line in stream:
        h = _header(line)
        if h and h[0] == _ARTICLE_DEPTH:
            if title is not None:
                yield _article(title, body)
            elif fragment:
                yield Article("", "", "", PLAIN, "cut_fragment")
            title, body, fragment = h[1], [], False
            continue
        if not line.strip():
            continue
        if title is None:
            fragment = True  # text before the first header: the tail of an article cut by the sampling
        elif h:
            body.append("=" * h[0] + " " + h[1] + " " + "=" * h[0])
        else:
            body.append(line.strip())
    if title is not None:
        yield _article(title, body)
    elif fragment:
        yield Article("", "", "", PLAIN, "cut_fragment")


def _read_bare(stream) -> Iterator[Article]:
    pending_title: str | None = None  # a title alone in its block: its paragraphs follow a blank line
    block: list[str] = []
    out: list[Article] = []

    def flush() -> None:
        nonlocal pending_title
        if not block:
            return
        if looks_like_title(block[0]):
            if pending_title is not None:
                out.append(_article(pending_title, []))
                pending_title = None
            if len(block) == 1:
                pending_title = block[0]
            else:
                out.append(_article(block[0], block[1:]))
        elif pending_title is not None:
            out.append(_article(pending_title, block))
            pending_title = None
        else:
            out.append(Article("", "", "", PLAIN, "cut_fragment"))

    for _, line in stream:
        if line.strip():
            block.append(line.strip())
            continue
        flush()
        block = []
        yield from out
        out.clear()
    flush()
    if pending_title is not None:
        out.append(_article(pending_title, []))
    yield from out
