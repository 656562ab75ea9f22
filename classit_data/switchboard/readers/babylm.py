"""BabyLM ``switchboard.train``: one utterance a line, ``A:<tab>Text``.

The file has no conversation separators: BabyLM concatenated the SWDA conversations and dropped their
boundaries. Nothing in the text marks them reliably (in the real file "Okay." opens 134 of the 1,155
conversations but occurs 1,023 times), so the whole file is read as ONE pseudo-conversation,
``<file name>#1``. A blank line, which BabyLM's file never has but a user's own file may, starts a new
one (``#2``, ...). The price is that the reply of each conversation's first turn is paired with the end
of the previous conversation: at most one pair per conversation boundary (~1% of the pairs in the real
file). Use the SWDA pipe files when the exact boundaries matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.switchboard.readers.lines import clip, iter_lines
from classit_data.switchboard.readers.utterance import Utterance

FORMAT = "babylm"
_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_]{0,15}):[\t ](.*)")


def sniff(lines: list[str]) -> bool:
    """True when the first non-blank lines all look like ``A:<tab>text``."""
    body = [s for s in lines if s.strip()]
    return bool(body) and all(_LINE.fullmatch(s) for s in body) and any(":\t" in s for s in body)


def read(path: str | Path) -> Iterator[Utterance]:
    name = Path(path).name
    part = 1
    conversation = f"{name}#1"
    open_part = False
    for n, line in iter_lines(path):
        # fast path: the real file is all "A:\t..." / "B:\t..."
        if line[1:3] == ":\t":
            open_part = True
            yield Utterance(conversation, line[0], line[3:], n)
            continue
        if not line.strip():
            if open_part:
                part += 1
                conversation = f"{name}#{part}"
                open_part = False
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise InputError(f"malformed line, expected 'SPEAKER:<tab>text': {clip(line)!r}", path, n)
        open_part = True
        yield Utterance(conversation, m.group(1), m.group(2), n)
