"""Line-oriented reading shared by the Switchboard readers: exact line numbers, one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from classit_data.errors import InputError


def iter_lines(path: str | Path, opener: Callable[[], IO[bytes]] | None = None,
               name: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` without the line end, decoding each line as UTF-8.

    Decoding line by line keeps memory flat and lets an undecodable byte be reported with its line.
    ``opener`` reads from somewhere else than ``path`` (a zip member); ``name`` is what errors call it.
    """
    label = name or str(path)
    fh = opener() if opener is not None else open(path, "rb")
    with fh:
        n = 0
        for n, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"undecodable bytes (not UTF-8) at column {exc.start + 1}", label, n) from None
            if n == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield n, text.rstrip("\r\n")
        if n == 0:
            raise InputError("empty file", label)


def clip(text: str, width: int = 60) -> str:
    """A line shortened for an error message."""
    return text if len(text) <= width else text[: width - 3] + "..."
