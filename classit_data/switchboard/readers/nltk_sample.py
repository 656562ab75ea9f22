"""NLTK's Switchboard sample (``switchboard.zip`` or its folder): the ``tagged``, ``transcript`` or ``disfluency`` form.

Each form holds the same 36 calls, one block of ``A.1: ...`` turns per call, calls separated by blank
lines; the k-th call of a file is conversation ``<file name>#k``.

- ``tagged`` (``word/TAG`` tokens) is read by ``nltk``'s ``SwitchboardCorpusReader`` and joined back into
  text with ``TreebankWordDetokenizer`` ("would n't" -> "wouldn't"); tokens tagged ``XX`` (partial words
  such as ``wh-``, and ``MUMBLEx`` for what was not understood) are left out. A first pass over the lines
  checks them and remembers where each turn is, so that errors name their line. Partial words that the
  treebank tagged as words ("happ/VBZ") cannot be told apart and stay.
- ``transcript`` (plain text) and ``disfluency`` (full SWDA markup: ``{F uh, }``, ``[ a, + a ]``, `` / ``)
  are read line by line; a line without a ``A.1:`` prefix continues the turn above it (the files wrap
  a few long turns).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from classit_data.core.errors import InputError
from classit_data.switchboard.readers.lines import clip, iter_lines
from classit_data.switchboard.readers.utterance import Utterance

FORMS = ("tagged", "transcript", "disfluency")
FORMATS = tuple(f"nltk-{f}" for f in FORMS)
_TURN = re.compile(r"([A-Za-z]\w*)\.(\d+):(?:\s(.*))?")
_TAGGED_TOKEN = re.compile(r"\S+/[^\s/a-z]+")


def sniff_form(lines: list[str]) -> str | None:
    """Which NLTK form these first lines are in, or None when they are not NLTK Switchboard turns."""
    body = [s for s in lines if s.strip()]
    turns = [s for s in body if _TURN.fullmatch(s)]
    if not body or not _TURN.fullmatch(body[0]) or len(turns) < max(1, len(body) // 2):
        return None
    tokens = [t for s in turns for t in s.split()[1:]]
    if tokens and sum(bool(_TAGGED_TOKEN.fullmatch(t)) for t in tokens) >= 0.9 * len(tokens):
        return "tagged"
    text = " ".join(body)
    if re.search(r"\{[FDCEA] | / |\[ | \+ ", text):
        return "disfluency"
    return "transcript"


def is_sample_zip(path: Path) -> bool:
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(_member_form(n) for n in zf.namelist())


def sample_dir_form_file(path: Path, form: str) -> Path | None:
    """The file of ``form`` inside an unpacked sample folder (``DIR/tagged`` or ``DIR/switchboard/tagged``)."""
    for candidate in (path / form, path / "switchboard" / form):
        if candidate.is_file():
            return candidate
    return None


def is_sample_dir(path: Path) -> bool:
    return path.is_dir() and any(sample_dir_form_file(path, f) for f in FORMS)


def _member_form(name: str) -> str | None:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return base if base in FORMS and not name.endswith("/") else None


def locate(path: Path, form: str) -> tuple[str, Callable[[], IO[bytes]], Path | None, str]:
    """(label for messages, byte opener, real file or None, zip member or "") of ``form`` in ``path``."""
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if _member_form(n) == form]
        if not members:
            raise InputError(f"the NLTK Switchboard zip has no '{form}' file", path)
        member = members[0]
        return f"{path}[{member}]", lambda: zipfile.ZipFile(path).open(member), None, member
    if path.is_dir():
        found = sample_dir_form_file(path, form)
        if found is None:
            raise InputError(f"the NLTK Switchboard folder has no '{form}' file", path)
        return str(found), lambda: open(found, "rb"), found, ""
    return str(path), lambda: open(path, "rb"), path, ""


def read(path: str | Path, form: str) -> Iterator[Utterance]:
    path = Path(path)
    if form not in FORMS:
        raise InputError(f"unknown NLTK Switchboard form {form!r} (expected one of {', '.join(FORMS)})", path)
    label, opener, real_file, member = locate(path, form)
    name = path.name
    if form == "tagged":
        yield from _read_tagged(path, name, label, opener, real_file, member)
    else:
        yield from _read_plain(name, label, opener)


def _read_plain(name: str, label: str, opener) -> Iterator[Utterance]:
    conv = 0
    pending: list | None = None  # [speaker, text, line] of the turn that a wrapped line may continue
    in_call = False
    for n, line in iter_lines(label, opener, label):
        if not line.strip():
            if pending is not None:
                yield Utterance(f"{name}#{conv}", pending[0], pending[1], pending[2])
                pending = None
            in_call = False
            continue
        m = _TURN.fullmatch(line)
        if m is not None:
            if not in_call:
                conv += 1
                in_call = True
            if pending is not None:
                yield Utterance(f"{name}#{conv}", pending[0], pending[1], pending[2])
            pending = [m.group(1), m.group(3) or "", n]
        elif pending is not None:
            pending[1] += " " + line
        else:
            raise InputError(f"malformed line, expected 'A.1: text': {clip(line)!r}", label, n)
    if pending is not None:
        yield Utterance(f"{name}#{conv}", pending[0], pending[1], pending[2])


def _scan_tagged(label: str, opener) -> Iterator[list[tuple[int, str]]]:
    """Check every line and yield, per call, the (line, speaker) of its turns in order."""
    call: list[tuple[int, str]] = []
    for n, line in iter_lines(label, opener, label):
        if not line.strip():
            if call:
                yield call
                call = []
            continue
        m = _TURN.fullmatch(line.rstrip())
        if m is None:
            raise InputError(f"malformed line, expected 'A.1: word/TAG ...': {clip(line)!r}", label, n)
        call.append((n, m.group(1)))
    if call:
        yield call


def _tagged_reader(path: Path, real_file: Path | None, member: str):
    """nltk's reader over the tagged file; the user's folder is allowed through nltk's path guard."""
    import nltk.data
    from nltk.corpus.reader import SwitchboardCorpusReader
    from nltk.corpus.reader.api import CorpusReader

    root_dir = str((real_file.parent if real_file is not None else path.parent).resolve())
    if root_dir not in nltk.data.path:
        nltk.data.path.append(root_dir)  # the user named this input: let nltk open it

    class _Reader(SwitchboardCorpusReader):
        """The tagged file may have any name (the reader hard-codes ``tagged``)."""

        def __init__(self, root, fileid):
            CorpusReader.__init__(self, root, [fileid])
            self._tagset = None
            self._fileid = fileid

        def abspath(self, fileid):
            return super().abspath(self._fileid if fileid == "tagged" else fileid)

    if real_file is not None:
        return _Reader(str(real_file.parent), real_file.name)
    prefix, _, fileid = member.rpartition("/")
    return _Reader(nltk.data.ZipFilePathPointer(str(path.resolve()), prefix + "/" if prefix else ""), fileid)


def _read_tagged(path: Path, name: str, label: str, opener, real_file: Path | None, member: str) -> Iterator[Utterance]:
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    detok = TreebankWordDetokenizer()
    calls = _scan_tagged(label, opener)
    discourses = iter(_tagged_reader(path, real_file, member).tagged_discourses())
    for k, call in enumerate(calls, 1):
        turns = next(discourses, None)
        while turns is not None and not turns:  # the reader yields an empty block at the end
            turns = next(discourses, None)
        if turns is None or len(turns) != len(call):
            raise InputError("nltk's reader and the line scan disagree on this call's turns", label, call[0][0])
        for (line, speaker), turn in zip(call, turns):
            # XX marks what the treebank could not tag: partial words ("wh-") and MUMBLEx
            words = [w for w, tag in turn if tag != "XX"]
            yield Utterance(f"{name}#{k}", speaker, detok.detokenize(words), line)
