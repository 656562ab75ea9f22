"""ConvoKit ``utterances.jsonl``: one JSON object per line with ``speaker``, ``conversation_id`` and ``text``.

Utterances are taken in file order, which is how ConvoKit writes a corpus (conversation by conversation).
A conversation whose utterances are not contiguous is refused rather than silently split in two: sort
the file by conversation first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import parse_json_lines
from classit_data.switchboard.readers.lines import iter_lines
from classit_data.switchboard.readers.utterance import Utterance

FORMAT = "convokit"
REQUIRED = ("speaker", "conversation_id", "text")


def sniff(lines: list[str]) -> bool:
    body = [s for s in lines if s.strip()]
    if not body:
        return False
    try:
        first = json.loads(body[0])
    except ValueError:
        return False
    return isinstance(first, dict) and all(k in first for k in REQUIRED)


def read(path: str | Path) -> Iterator[Utterance]:
    seen: set[str] = set()
    current = None
    for n, obj in parse_json_lines(iter_lines(path), path):
        missing = [k for k in REQUIRED if k not in obj]
        if missing:
            raise InputError(f"utterance without {', '.join(missing)}", path, n)
        conv, speaker, text = obj["conversation_id"], obj["speaker"], obj["text"]
        if not isinstance(text, str) or speaker is None or conv is None:
            raise InputError(
                "utterance with a null speaker or conversation_id, or a text that is not a string", path, n
            )
        conv = str(conv)
        if conv != current:
            if conv in seen:
                raise InputError(
                    f"conversation {conv!r} continues after another one began; sort the utterances by conversation",
                    path,
                    n,
                )
            seen.add(conv)
            current = conv
        yield Utterance(conv, str(speaker), text, n)
