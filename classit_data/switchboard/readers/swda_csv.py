"""SWDA CSV files (``sw_0001_4325.utt.csv``): one row per utterance, ``caller`` and ``text`` with markup.

A file may hold several conversations; a change of ``conversation_no`` starts a new one. Rows are read
in file order (which is ``transcript_index`` order in the released files).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.switchboard.readers.lines import iter_lines
from classit_data.switchboard.readers.utterance import Utterance

FORMAT = "swda-csv"
REQUIRED = ("conversation_no", "caller", "text")


def sniff(lines: list[str]) -> bool:
    if not lines:
        return False
    try:
        header = next(csv.reader([lines[0]]), [])
    except csv.Error:  # a stray carriage return: no CSV header (the line reader says what it is)
        return False
    return all(c in header for c in REQUIRED)


def read(path: str | Path) -> Iterator[Utterance]:
    numbered = iter_lines(path)
    where = {"line": 0}

    def text_lines():
        for n, line in numbered:
            where["line"] = n
            yield line

    reader = csv.reader(text_lines(), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InputError("empty file", path)
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InputError(f"not a SWDA CSV file: missing column(s) {', '.join(missing)}", path, 1)
        idx = {c: header.index(c) for c in REQUIRED}
        width = len(header)
        while True:
            start = where["line"] + 1
            row = next(reader, None)
            if row is None:
                return
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                raise InputError(f"malformed row: {len(row)} fields, the header has {width}", path, start)
            conv, caller = row[idx["conversation_no"]].strip(), row[idx["caller"]].strip()
            if not conv or not caller:
                raise InputError("malformed row: empty conversation_no or caller", path, start)
            yield Utterance(conv, caller, row[idx["text"]], start)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path, where["line"]) from None
