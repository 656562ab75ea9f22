"""The record every Switchboard reader yields."""

from __future__ import annotations

from typing import NamedTuple


class Utterance(NamedTuple):
    """One utterance as the input has it: raw text with the format's markup, not yet cleaned.

    ``conversation`` is unique within a run (a file stem, a conversation number, ``file#k``); ``line`` is
    where the utterance starts in its file, for error messages and progress.
    """

    conversation: str
    speaker: str
    text: str
    line: int
