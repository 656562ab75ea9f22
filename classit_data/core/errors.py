"""One exception type for every mistake a user can make, so the CLI can print one line and exit non-zero."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with the user's input: a file, a place in it, and what is wrong.

    The CLI prints ``error: FILE:PLACE: message`` and exits with code 2; it never shows a traceback for these.
    """

    def __init__(self, message: str, path: str | Path | None = None, where: str | int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        loc = ""
        if self.path is not None:
            loc = self.path
            if self.where is not None:
                loc += f":{self.where}" if isinstance(self.where, int) else f" ({self.where})"
            loc += ": "
        return f"{loc}{self.message}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a user is shown."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
