"""A command's outputs, files or whole folders, replaced together or not at all.

A command that writes several files (kept rows, quarantine, report) must never leave a new one beside old
ones, and one that writes a folder (``build``) must never leave half a folder. ``Outputs`` does four things:

1. **before any work**, it refuses an output that is an input or another output (resolved paths, and
   same-file identity where the file exists), and claims every location by creating its temporary file, so
   an unwritable place (a read-only folder, ``/proc``, a folder where a file belongs) fails at once, with
   one line, before anything is read;
2. the command writes each output to its temporary file (``outputs.path(flag)``);
3. **commit**: a small journal naming every (temporary, final) pair is written first, then each temporary
   file is renamed over its target, then the journal is removed. A run killed between two renames leaves
   the journal, and the next run over the same outputs finishes those renames before it starts;
4. on failure, the temporary files (and any folder made for them) are removed. Temporary files that a
   killed run left behind are removed by the next run over the same outputs.

A folder output (``folders=``) is written to a temporary folder beside it. A folder cannot be renamed over a
folder that holds files, so its commit is two renames, both behind the journal: the earlier folder aside
(``.NAME.old-*``), the new one into place; the folder set aside is removed once the journal is gone. A kill
leaves the earlier folder or the new one whole (or the journal, which the next run finishes).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, current_umask

_PARTIAL = ".partial"
_ASIDE = ".old-"


def _journal_path(targets: Iterable[Path]) -> Path:
    first = sorted(targets, key=str)[0]
    return first.parent / f".{first.name}.commit.json"


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_distinct(outputs: Mapping[str, Path], inputs: Mapping[str, Iterable[Path]] | Iterable[Path] = ()) -> None:
    """Refuse an output that is an input or another output, with one line naming both."""
    named_inputs = inputs.items() if isinstance(inputs, Mapping) else [("an input", inputs)]
    flags = list(outputs)
    for i, flag in enumerate(flags):
        for other in flags[i + 1 :]:
            if _same_file(outputs[flag], outputs[other]):
                raise InputError(f"{flag} and {other} are the same file; each output needs its own", outputs[flag])
        for label, paths in named_inputs:
            for path in paths:
                if _same_file(outputs[flag], Path(path)):
                    raise InputError(f"{flag} is {label}; writing it would destroy the input", outputs[flag])


def recover(targets: Iterable[Path]) -> bool:
    """Finish a commit that a killed run left half done, and remove its stale temporary files.

    Returns whether a journal was found (and its renames finished).
    """
    targets = [Path(t) for t in targets]
    journal = _journal_path(targets)
    found = journal.exists()
    if found:
        try:
            pairs = json.loads(journal.read_text(encoding="utf-8"))["renames"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError("unreadable commit journal left by a killed run; remove it and rerun", journal) from exc
        for tmp, target, *aside in pairs:
            if tmp is None:  # an output this run did not make: the earlier one goes, as in commit
                _remove(Path(target))
            elif Path(tmp).exists():
                _move_in(Path(tmp), Path(target), Path(aside[0]) if aside else None)
        journal.unlink()
    for target in targets:
        _remove_stale(target)
    return found


def _move_in(tmp: Path, target: Path, aside: Path | None) -> None:
    """Rename ``tmp`` over ``target``; a folder's earlier version is first renamed to ``aside`` (a folder
    cannot replace a folder that holds files)."""
    if aside is not None and target.exists():
        os.replace(target, aside)
    os.replace(tmp, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_stale(target: Path) -> None:
    """Temporaries of ``target`` left by a killed run: ours (``.partial``, a folder's ``.old-*``) and
    ``atomic_path``'s (``.tmp``)."""
    if not target.parent.is_dir():
        return
    ours = re.compile(rf"\.{re.escape(target.stem)}\.[0-9a-f]{{8}}{_PARTIAL}{re.escape(target.suffix)}")
    aside = re.compile(rf"\.{re.escape(target.name)}{_ASIDE}[0-9a-f]{{8}}")
    atomic = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")
    for stale in target.parent.glob(f".{target.stem}.*"):
        if ours.fullmatch(stale.name) or aside.fullmatch(stale.name) or atomic.fullmatch(stale.name):
            _remove(stale)


class Outputs:
    """Outputs keyed by the flag that names them, written to temporaries and committed together.

    ``folders``: the flags whose output is a folder (written whole to a temporary folder), not a file.
    """

    def __init__(
        self,
        outputs: Mapping[str, str | Path],
        inputs: Mapping[str, Iterable[str | Path]] | Iterable[str | Path] = (),
        *,
        folders: Collection[str] = (),
    ) -> None:
        self.targets = {flag: Path(path) for flag, path in outputs.items()}
        self.folders = set(folders)
        check_distinct(self.targets, inputs)
        self._made_folders: list[Path] = []
        self._temps: dict[str, Path] = {}
        self._omitted: set[str] = set()
        self.recovered = False
        for flag, target in self.targets.items():
            if flag in self.folders and target.exists() and not target.is_dir():
                raise InputError(f"{flag} is a file; a folder is expected there", target)
            if flag not in self.folders and target.is_dir():
                raise InputError(f"{flag} is a folder; a file is expected there", target)
        try:
            self._claim()
        except BaseException:
            self.discard()
            raise

    def _claim(self) -> None:
        for flag, target in self.targets.items():
            self._make_folder(flag, target.parent)
        self.recovered = recover(self.targets.values())
        for flag, target in self.targets.items():
            tmp = target.parent / f".{target.stem}.{secrets.token_hex(4)}{_PARTIAL}{target.suffix}"
            try:
                if flag in self.folders:
                    os.mkdir(tmp, 0o777)  # as the umask says: a build is for colleagues to read too
                else:
                    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~current_umask()))
            except OSError as exc:
                raise InputError(f"{flag} cannot be written there: {exc.strerror}", target) from exc
            self._temps[flag] = tmp

    def _make_folder(self, flag: str, folder: Path) -> None:
        missing = []
        for parent in [folder, *folder.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise InputError(f"{flag}: {parent} is a file, not a folder", self.targets[flag])
                break
            missing.append(parent)
        for parent in reversed(missing):
            try:
                parent.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise InputError(f"{flag}: cannot make folder {parent}: {exc.strerror}", self.targets[flag]) from exc
            self._made_folders.append(parent)

    def path(self, flag: str) -> Path:
        """The temporary file (or folder) to write ``flag``'s output to; a file keeps the target's suffix (the
        format)."""
        return self._temps[flag]

    def omit(self, flag: str) -> None:
        """This run makes no ``flag`` output: at commit an earlier one is removed, so the set stays one run's."""
        _remove(self._temps.pop(flag))
        self._omitted.add(flag)

    def commit(self) -> None:
        """Rename every temporary over its target, behind a journal a rerun can finish; then remove the earlier
        folders set aside."""
        journal = _journal_path(self.targets.values())
        renames = [
            [None if f in self._omitted else str(self._temps[f]), str(t)]
            + ([str(t.parent / f".{t.name}{_ASIDE}{secrets.token_hex(4)}")] if f in self.folders else [])
            for f, t in self.targets.items()
        ]
        atomic_write_text(journal, json.dumps({"renames": renames}) + "\n")
        for tmp, target, *aside in renames:
            if tmp is None:
                _remove(Path(target))
            else:
                _move_in(Path(tmp), Path(target), Path(aside[0]) if aside else None)
        journal.unlink()
        for _, _, *aside in renames:
            if aside:
                _remove(Path(aside[0]))
        self._temps.clear()
        self._made_folders.clear()

    def discard(self) -> None:
        """Remove the temporaries, and the folders made for them if they are empty."""
        for tmp in self._temps.values():
            _remove(tmp)
        self._temps.clear()
        for folder in reversed(self._made_folders):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._made_folders.clear()


@contextmanager
def replaced_together(
    outputs: Mapping[str, str | Path],
    inputs: Mapping[str, Iterable[str | Path]] | Iterable[str | Path] = (),
    *,
    folders: Collection[str] = (),
) -> Iterator[Outputs]:
    """``Outputs`` as a block: committed if the block succeeds, discarded if it fails (or is interrupted)."""
    outs = Outputs(outputs, inputs, folders=folders)
    try:
        yield outs
    except BaseException:
        outs.discard()
        raise
    outs.commit()
