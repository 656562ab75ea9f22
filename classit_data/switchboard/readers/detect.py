"""Switchboard readers: one module per form the corpus comes in, each a generator of :class:`Utterance`.

``plan_inputs`` turns what the user named (files, folders, the NLTK zip) into :class:`InputSource` s,
detecting each file's format from its first lines (``fmt`` forces one). Readers yield the raw text of
every utterance with its conversation, speaker and line; cleaning, turns and pairs are the converter's
job (``classit_data.switchboard.convert``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.formats import normalize_format
from classit_data.switchboard.readers import babylm, convokit, isip, nltk_sample, swda_csv, swda_pipe
from classit_data.switchboard.readers.lines import CR_INSIDE, clip
from classit_data.switchboard.readers.utterance import Utterance

__all__ = ["FORMATS", "InputSource", "Utterance", "detect_format", "plan_inputs"]

FORMATS = ("babylm", "swda-pipe", *nltk_sample.FORMATS, "swda-csv", "convokit", "isip")
#: what ``--format`` also accepts (any case), by the format it names
FORMAT_ALIASES = {
    "pipe": "swda-pipe",
    "swda": "swda-pipe",
    "csv": "swda-csv",
    "nltk": "nltk-tagged",
    "tagged": "nltk-tagged",
    "transcript": "nltk-transcript",
    "disfluency": "nltk-disfluency",
    "ms98": "isip",
    "jsonl": "convokit",
}
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 20


@dataclass
class InputSource:
    """One readable unit: a file, an NLTK sample form, or the two side files of an ISIP call."""

    fmt: str
    paths: list[Path]
    name: str  # what rows record as their origin, with the format
    lines: int = 0  # line count, for progress
    _read: Callable[[], Iterator[Utterance]] = field(default=None, repr=False)

    def read(self) -> Iterator[Utterance]:
        return self._read()

    @property
    def origin(self) -> str:
        return f"{self.fmt}:{self.name}"


def _first_lines(path: Path) -> tuple[bytes, list[str]]:
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        more = bool(fh.read(1))
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.split("\n")
    if more:
        lines = lines[:-1]  # the last one may be cut
    return head, [s.rstrip("\r") for s in lines[:_SNIFF_LINES]]


def detect_format(path: str | Path) -> str | None:
    """The format of a file or folder from its content (None when it is not one we read)."""
    path = Path(path)
    if path.is_dir():
        return "nltk-tagged" if nltk_sample.is_sample_dir(path) else None
    return _detect_file(path, *_first_lines(path))


def _detect_file(path: Path, head: bytes, lines: list[str]) -> str | None:
    """``detect_format`` of a file whose first bytes and lines (``_first_lines``) are already read."""
    if head[:4] == b"PK\x03\x04":
        return "nltk-tagged" if nltk_sample.is_sample_zip(path) else None
    body = [s for s in lines if s.strip()]
    if not body:
        return None
    inside = next((n for n, s in enumerate(lines, 1) if "\r" in s), None)
    if inside is not None:
        raise InputError(CR_INSIDE, path, inside)
    first = body[0]
    if convokit.sniff(body):
        return "convokit"
    if swda_csv.sniff(body):
        return "swda-csv"
    if isip.sniff(body[:1]):
        return "isip"
    form = nltk_sample.sniff_form(body)
    if form is not None:
        return f"nltk-{form}"
    if swda_pipe.sniff([first]):
        return "swda-pipe"
    if babylm.sniff([first]):
        return "babylm"
    return None


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


#: the reader of each one-file format (NLTK forms aside)
_READERS = {"babylm": babylm.read, "swda-pipe": swda_pipe.read, "swda-csv": swda_csv.read, "convokit": convokit.read}


def _file_source(path: Path, fmt: str) -> InputSource:
    lines = _count_lines(path) + 1
    if fmt.startswith("nltk-"):
        form = fmt.removeprefix("nltk-")
        return InputSource(fmt, [path], path.name, lines, lambda: nltk_sample.read(path, form))
    read = _READERS[fmt]
    return InputSource(fmt, [path], path.name, lines, lambda: read(path))


def _nltk_source(path: Path, fmt: str) -> InputSource:
    form = fmt.removeprefix("nltk-")
    label, opener, _real, _member = nltk_sample.locate(path, form)
    with opener() as fh:
        lines = sum(1 for _ in fh)
    return InputSource(fmt, [path], f"{path.name}[{form}]", lines, lambda: nltk_sample.read(path, form))


def _folder_files(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def plan_inputs(inputs: list[str | Path], fmt: str | None = None) -> tuple[list[InputSource], list[str]]:
    """The sources to read, in order, and the files inside folders that were left out (with why).

    A file named directly must be in a known format (or ``fmt``); inside a folder, files in no known
    format (a LICENSE, a README) are left out and listed, and with ``fmt`` only files of that format
    are read. ISIP side files are paired into calls across all inputs.
    """
    plan = _InputPlan(normalize_format(fmt, FORMATS, FORMAT_ALIASES))
    if not inputs:
        raise InputError("no input files given")
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or folder", path)
        if path.is_dir():
            plan.add_folder(path)
        else:
            plan.add_file(path, in_folder=False)
    return plan.finish(), plan.skipped


@dataclass
class _InputPlan:
    """What ``plan_inputs`` gathers: the sources in order and the files left out.

    An ISIP call takes the place of its first side file; its source is made once every input is seen,
    since the other side may come later.
    """

    fmt: str | None
    sources: list[InputSource | None] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    isip_calls: dict[str, dict[str, Path]] = field(default_factory=dict)  # conversation -> side -> file
    isip_slots: dict[str, int] = field(default_factory=dict)  # conversation -> its place in ``sources``

    def add_folder(self, folder: Path) -> None:
        if nltk_sample.is_sample_dir(folder):
            form = self.fmt if self.fmt and self.fmt.startswith("nltk-") else "nltk-tagged"
            self.sources.append(_nltk_source(folder, form))
            return
        before = len(self.sources)
        for path in _folder_files(folder):
            self.add_file(path, in_folder=True)
        if len(self.sources) == before:
            raise InputError("no Switchboard files in this folder", folder)

    def add_file(self, path: Path, in_folder: bool) -> None:
        head, lines = _checked_first_lines(path)  # read once: the checks, the detection and the messages
        detected = _detect_file(path, head, lines)
        if in_folder:
            reason = _left_out_because(path, detected, self.fmt)
            if reason is not None:
                self.skipped.append(f"{path}: {reason}")
                return
        chosen = self.fmt or detected
        if chosen is None:
            raise _unknown_format(path, lines, head)
        if chosen.startswith("nltk-") and zipfile.is_zipfile(path):
            self.sources.append(_nltk_source(path, chosen))
        elif chosen == "isip":
            self.add_isip_side(path, lines)
        else:
            self.sources.append(_file_source(path, chosen))

    def add_isip_side(self, path: Path, lines: list[str]) -> None:
        found = isip.side_of(lines)
        if found is None:
            raise InputError("malformed line, expected 'swNNNNA-ms98-a-NNNN START END text'", path, 1)
        conv, side = found
        call = self.isip_calls.setdefault(conv, {})
        if side in call:
            raise InputError(f"side {side} of {conv} given twice (also {call[side]})", path)
        call[side] = path
        if conv not in self.isip_slots:
            self.isip_slots[conv] = len(self.sources)
            self.sources.append(None)  # placeholder, filled by ``finish`` once both sides are known

    def finish(self) -> list[InputSource]:
        """The sources, each ISIP call in its place."""
        for conv, slot in self.isip_slots.items():
            self.sources[slot] = _isip_source(conv, self.isip_calls[conv])
        return self.sources


def _checked_first_lines(path: Path) -> tuple[bytes, list[str]]:
    """``_first_lines`` of a file that must hold something besides blank lines."""
    size = path.stat().st_size
    if size == 0:
        raise InputError("empty file", path)
    head, lines = _first_lines(path)
    if not any(s.strip() for s in lines) and size <= _SNIFF_BYTES:
        raise InputError("empty file (only blank lines)", path)
    return head, lines


def _left_out_because(path: Path, detected: str | None, fmt: str | None) -> str | None:
    """Why a file found in a folder is not read (None: it is read)."""
    if detected is None:
        return "not a Switchboard file"
    if fmt is not None and detected != fmt and not (fmt.startswith("nltk-") and detected.startswith("nltk-")):
        return f"{detected}, not {fmt}"
    if detected == "isip" and not path.name.endswith("trans.text") and path.suffix != ".txt":
        return "ISIP word file (the trans files are read)"
    return None


def _unknown_format(path: Path, lines: list[str], head: bytes = b"") -> InputError:
    """The error for a file named directly whose format is unknown: it shows the first non-blank line (its
    start, when the line is longer than what was read of it)."""
    first = next((i for i, s in enumerate(lines, 1) if s.strip()), 1)
    if lines and lines[first - 1].strip():
        shown = clip(lines[first - 1])
    else:  # a first line longer than the bytes read
        shown = clip(head.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n")[0])
    return InputError(f"unknown format: this line looks like none of {', '.join(FORMATS)}: {shown!r}", path, first)


def _isip_source(conv: str, sides: dict[str, Path]) -> InputSource:
    paths = [sides[s] for s in sorted(sides)]
    lines = sum(_count_lines(p) + 1 for p in paths)
    return InputSource("isip", paths, f"{conv}[{'+'.join(sorted(sides))}]", lines, lambda: isip.read_call(conv, sides))
