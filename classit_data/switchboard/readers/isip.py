"""ISIP ms98 transcripts: ``sw2001A-ms98-a-0001 0.000000 0.977625 text``, one file per side of a call.

Sides A and B of a call (``sw2001A-...`` and ``sw2001B-...``, found by the segment ids, not the file
names) are merged by start time into one conversation ``sw2001``; a tie keeps side A first. A side
whose partner was not given is an error: one side alone has no replies. In a folder only the
``*trans.text`` files are read (the ``*word.text`` files hold the same words one per line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.switchboard.readers.lines import clip, iter_lines
from classit_data.switchboard.readers.utterance import Utterance

FORMAT = "isip"
_LINE = re.compile(r"((?:sw)?\d+)([AB])-ms98-a-\d+\s+(\d+(?:\.\d*)?)\s+(\d+(?:\.\d*)?)(?:\s+(.*))?")


def sniff(lines: list[str]) -> bool:
    body = [s for s in lines if s.strip()]
    return bool(body) and all(_LINE.fullmatch(s.strip()) for s in body)


def side_of(first_lines: list[str]) -> tuple[str, str] | None:
    """(conversation, side) from a file's first segment line."""
    for s in first_lines:
        m = _LINE.fullmatch(s.strip())
        if m:
            return m.group(1), m.group(2)
    return None


def _segments(path: Path, conversation: str, side: str) -> list[tuple[float, int, str]]:
    out = []
    for n, line in iter_lines(path):
        if not line.strip():
            continue
        m = _LINE.fullmatch(line.strip())
        if m is None:
            raise InputError(f"malformed line, expected 'swNNNNA-ms98-a-NNNN START END text': {clip(line)!r}", path, n)
        if m.group(1) != conversation or m.group(2) != side:
            raise InputError(f"segment of {m.group(1)}{m.group(2)} in the file of {conversation}{side}", path, n)
        start, end = float(m.group(3)), float(m.group(4))
        if end < start:
            raise InputError(f"segment ends ({end}) before it starts ({start})", path, n)
        out.append((start, n, m.group(5) or ""))
    return out


def read_call(conversation: str, sides: dict[str, Path]) -> Iterator[Utterance]:
    """One call from its two side files, utterances in order of start time."""
    for side, other in (("A", "B"), ("B", "A")):
        if side in sides and other not in sides:
            raise InputError(f"side {side} of {conversation} given without side {other}", sides[side])
    merged = []
    for side in ("A", "B"):
        merged += [(start, side, n, text) for start, n, text in _segments(sides[side], conversation, side)]
    merged.sort(key=lambda s: (s[0], s[1], s[2]))
    for _start, side, n, text in merged:
        yield Utterance(conversation, side, text, n)
