"""Line-oriented reading shared by the Switchboard readers: exact line numbers, one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from classit_data.core.errors import InputError

_CHUNK = 1 << 20


#: what a carriage return inside a line means here: a file with CR-only line ends, or a stray CR
CR_INSIDE = "a carriage return (CR) inside the line: lines must end in LF or CRLF (convert with: tr '\\r' '\\n')"


def iter_lines(
    path: str | Path, opener: Callable[[], IO[bytes]] | None = None, name: str | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` without the line end, decoding UTF-8 a megabyte at a time.

    Memory stays flat (one chunk), and an undecodable byte is reported with its line and column.
    ``opener`` reads from somewhere else than ``path`` (a zip member); ``name`` is what errors call it.
    Lines are split on ``\\n`` only (``\\r`` before it is dropped), so numbers match what editors show.
    """
    label = name or str(path)
    fh = opener() if opener is not None else open(path, "rb")
    n = 0
    carry = b""
    with fh:
        while True:
            block = fh.read(_CHUNK)
            data = carry + block
            if not block:
                if not data:
                    break
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
            chunk, carry = data[:cut], data[cut:]
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = n + chunk.count(b"\n", 0, exc.start) + 1
                column = exc.start - (chunk.rfind(b"\n", 0, exc.start) + 1) + 1
                raise InputError(f"undecodable bytes (not UTF-8) at column {column}", label, line) from None
            if n == 0 and text.startswith("\ufeff"):
                text = text[1:]
            lines = text.split("\n")
            if lines[-1] == "":
                lines.pop()
            for line in lines:
                n += 1
                line = line[:-1] if line.endswith("\r") else line
                if "\r" in line:
                    raise InputError(CR_INSIDE, label, n)
                yield n, line
            if not block:
                break
    if n == 0:
        raise InputError("empty file", label)


def clip(text: str, width: int = 60) -> str:
    """A line shortened for an error message."""
    return text if len(text) <= width else text[: width - 3] + "..."
