"""SWDA "pipe" files: ``Speaker|Text|dialogue-act-tag``, one file per conversation (the file stem is its id)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.switchboard.readers.lines import clip, iter_lines
from classit_data.switchboard.readers.utterance import Utterance

FORMAT = "swda-pipe"
_SPEAKER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")
_LINE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}\|.*\|[^|]*")


def sniff(lines: list[str]) -> bool:
    body = [s for s in lines if s.strip()]
    return bool(body) and all(_LINE.fullmatch(s) for s in body)


def read(path: str | Path) -> Iterator[Utterance]:
    conversation = Path(path).stem
    for n, line in iter_lines(path):
        if not line.strip():
            continue
        # the text may itself hold a '|': the speaker is before the first, the tag after the last
        speaker, sep, rest = line.partition("|")
        text, sep2, _tag = rest.rpartition("|")
        if not sep or not sep2 or not _SPEAKER.fullmatch(speaker):
            raise InputError(f"malformed line, expected 'SPEAKER|text|tag': {clip(line)!r}", path, n)
        yield Utterance(conversation, speaker, text, n)
