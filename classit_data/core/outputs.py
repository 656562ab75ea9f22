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

The paths a command reads and writes are checked in one place, ``check_paths``, before anything is read: no
output is an input, sits inside a folder the command reads (a dataset, a run, evaluation data,
``--previous``), holds an input (a folder replaced whole), or sits inside a folder that is another command's
whole output (a build, a generation folder, a training run; ``OWNED_FOLDERS``). ``claimed`` adds a lock
beside each output (``.NAME.lock``, holding the writer's pid and command line): a second writer of the same
output is refused at once, naming the first; the kernel releases the lock when its process ends however it
ends, so the lock of a killed run never blocks the next. A full disk while the outputs are written is one
line naming the output (``InputError``), and the temporaries go as on any failure.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import os
import re
import secrets
import shlex
import shutil
import sys
import time
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, current_umask
from classit_data.core.signals import at_interrupt, command_pid, deferred

_PARTIAL = ".partial"
_ASIDE = ".old-"
_LOCK = ".lock"

#: a file that marks a folder as one command's whole output; no other command writes inside it
OWNED_FOLDERS = {
    "build_info.json": "a dataset made by `build`",
    "run.json": "a generation folder",
    "run_config.yaml": "a training run folder",
}

Inputs = Mapping[str, Iterable[str | Path]] | Iterable[str | Path]


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


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies inside the folder ``folder`` (resolved: links and ``..`` followed)."""
    return folder.is_dir() and folder.resolve() in path.resolve().parents


def _owner(target: Path, own: str | None) -> tuple[Path, str] | None:
    """The folder above ``target`` that is another command's whole output, and what it is (``OWNED_FOLDERS``)."""
    for folder in target.resolve().parents:
        for mark, what in OWNED_FOLDERS.items():
            if mark != own and (folder / mark).is_file():
                return folder, what
    return None


def _record_of(target: Path) -> Path | None:
    """The file whose step record ``target`` is (``X.summary.json`` beside an existing ``X``)."""
    if target.name.endswith(".summary.json"):
        subject = target.with_name(target.name.removesuffix(".summary.json"))
        if subject.is_file():
            return subject
    return None


def check_paths(
    outputs: Mapping[str, Path],
    inputs: Inputs = (),
    *,
    folders: Collection[str] = (),
    own: str | None = None,
    may_write: Collection[Path] = (),
) -> None:
    """Refuse, with one line naming both, an output that would destroy what the command reads or what another
    command made: an output that is an input or another output, one inside a folder the command reads, a folder
    output (replaced whole) that holds an input, one inside another command's whole output (``OWNED_FOLDERS``;
    ``own`` is the mark of the folder this command itself writes in), one over another file's step record.

    ``may_write``: the outputs a command is made to write inside what it reads (``report``'s page in the build).
    """
    named_inputs = list(inputs.items()) if isinstance(inputs, Mapping) else [("an input", inputs)]
    named_inputs = [(label, [Path(p) for p in paths]) for label, paths in named_inputs]
    allowed = {Path(p).resolve() for p in may_write}
    flags = list(outputs)
    for i, flag in enumerate(flags):
        target = outputs[flag]
        for other in flags[i + 1 :]:
            if _same_file(target, outputs[other]):
                raise InputError(f"{flag} and {other} are the same file; each output needs its own", target)
        for label, paths in named_inputs:
            for path in paths:
                _check_against_input(flag, target, label, path, flag in folders, target.resolve() in allowed)
        if target.resolve() in allowed:
            continue
        owner = _owner(target, own)
        if owner is not None:
            raise InputError(f"{flag} is inside {owner[0]}, {owner[1]}; write it elsewhere", target)
        subject = _record_of(target)
        if subject is not None and not any(_same_file(subject, t) for t in outputs.values()):
            raise InputError(f"{flag} is the step record of {subject}; write it elsewhere", target)


def _check_against_input(flag: str, target: Path, label: str, path: Path, folder: bool, allowed: bool) -> None:
    if _same_file(target, path):
        raise InputError(f"{flag} is {label}; writing it would destroy the input", target)
    if not allowed and _inside(target, path):
        raise InputError(f"{flag} is inside {label} {path}; a command never writes into what it reads", target)
    if folder and _inside(path, target):
        raise InputError(f"{flag} holds {label} {path}; replacing the folder would destroy the input", target)


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
    """Temporaries of ``target`` left by a killed run: ours (``.partial``, a folder's ``.old-*``),
    ``atomic_path``'s (``.tmp``), and ``atomic_path``'s of ours (a kill while a writer filled our temporary)."""
    if not target.parent.is_dir():
        return
    ours = rf"\.{re.escape(target.stem)}\.[0-9a-f]{{8}}{_PARTIAL}{re.escape(target.suffix)}"
    patterns = [
        re.compile(ours),
        re.compile(rf"\.{ours}\.[a-z0-9_]{{8}}\.tmp"),
        re.compile(rf"\.{re.escape(target.name)}{_ASIDE}[0-9a-f]{{8}}"),
        re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp"),
    ]
    for stale in target.parent.glob(f"*.{glob.escape(target.stem)}.*"):
        if any(p.fullmatch(stale.name) for p in patterns):
            _remove(stale)


# --- one writer at a time --------------------------------------------------------------------------------


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}{_LOCK}"


#: seconds a run waits for the lock of a run whose command has ended: the process that holds it is dying
ENDING_SECONDS = 10.0


def _ended(holder: str) -> bool:
    """Whether the command named by a lock's note (``PID: command line``) has ended. Its pid is the supervisor's,
    so the process that holds the lock dies with it (``PR_SET_PDEATHSIG``), a moment later: right after a
    ``kill -9`` of that pid, the kernel has not yet dropped the lock."""
    pid = holder.split(":", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def _lock(flag: str, target: Path) -> int:
    """Hold the lock of ``target`` (a POSIX lock: the kernel drops it when this process ends, however it ends;
    a forked worker does not inherit it); refuse at once, naming the holder, when another process holds it,
    unless the holder's command has ended: then wait up to ``ENDING_SECONDS`` for its process to be gone."""
    path = _lock_path(target)
    deadline = None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
        except OSError as exc:
            raise InputError(f"{flag} cannot be written there: {_reason(exc)}", target) from exc
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "a process that is starting"
            os.close(fd)
            if _ended(holder):
                deadline = deadline or time.monotonic() + ENDING_SECONDS
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
            raise InputError(
                f"{flag} is being written by another run (pid {holder}); wait for it to end, or stop it", target
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a lock file its last holder removed while this process was opening it
            with contextlib.suppress(OSError):  # on a full disk the lock holds without its note
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{command_pid()}: {_command_line()}".encode(), 0)
            return fd
        os.close(fd)


def _command_line() -> str:
    """This command as a user typed it, shortly: ``classit-data build --out ds`` (``python -m`` named so too)."""
    argv = list(sys.argv)
    if argv and argv[0].endswith("__main__.py"):
        argv[0] = Path(argv[0]).parent.name.replace("_", "-")
    elif argv:
        argv[0] = Path(argv[0]).name
    return shlex.join(argv)[:300].replace("\n", " ")


def _unlock(target: Path, fd: int) -> None:
    _lock_path(target).unlink(missing_ok=True)
    os.close(fd)


_NO_SPACE = "no space left on the device"


def _reason(exc: OSError) -> str:
    return _NO_SPACE if exc.errno == errno.ENOSPC else exc.strerror or str(exc)


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (an ``OSError`` ENOSPC, or a library's error quoting it)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return any(words in text for words in ("No space left on device", "os error 28", _NO_SPACE))


def make_folders(flag: str, target: Path) -> list[Path]:
    """Make the missing folders above ``target``; the ones made, outermost first (removed again on failure)."""
    missing = []
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{flag}: {parent} is a file, not a folder", target)
            break
        missing.append(parent)
    made = []
    for parent in reversed(missing):
        try:
            parent.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"{flag}: cannot make folder {parent}: {_reason(exc)}", target) from exc
        made.append(parent)
    return made


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            pass


#: the claims and outputs this process holds now: what a Ctrl-C lets go of at once (``abandon``)
_LIVE: weakref.WeakSet = weakref.WeakSet()


def abandon() -> None:
    """Remove the temporaries and locks of every output this process holds but is not committing: what a
    Ctrl-C does first, so that a command whose work is slow to stop (an engine starting) leaves nothing of
    them even when it must be killed. A commit under way is left to finish, or to the next run's journal."""
    for held in list(_LIVE):
        if isinstance(held, Outputs) and not held.committing:
            held.discard()
        elif isinstance(held, Claim) and not held.committing:
            held.release()


at_interrupt(abandon)


class Claim:
    """The paths of one command's run, checked (``check_paths``) and locked until ``release``; a full disk
    met while it is held becomes one line naming the output (``full_disk``)."""

    def __init__(self, outputs: Mapping[str, Path], inputs: Inputs = (), **check: object) -> None:
        self.targets = dict(outputs)
        check_paths(self.targets, inputs, **check)  # type: ignore[arg-type]
        self._locks: dict[Path, int] = {}
        self.committing = False

    def lock(self) -> None:
        """Take every output's lock, in a fixed order (two runs never each hold one the other waits for)."""
        _LIVE.add(self)
        for flag, target in sorted(self.targets.items(), key=lambda item: str(item[1])):
            with deferred():  # the lock file made and recorded for release together
                self._locks[target] = _lock(flag, target)

    def release(self) -> None:
        locks, self._locks = self._locks, {}
        for target, fd in locks.items():
            _unlock(target, fd)

    def full_disk(self, exc: BaseException) -> InputError:
        """The one line for a full disk: the output whose temporary the error names, else the first."""
        text = str(exc)
        flag, target = next(
            ((f, t) for f, t in self.targets.items() if f".{t.stem}." in text or str(t) in text),
            next(iter(self.targets.items())),
        )
        return InputError(f"{flag}: {_NO_SPACE}", target)


@contextmanager
def claimed(outputs: Mapping[str, str | Path], inputs: Inputs = (), **check: object) -> Iterator[Claim]:
    """Check and lock the paths of a command that writes its outputs in place (a training run folder), for the
    block: ``Claim``. The folders made for them must be made inside the block."""
    claim = Claim({flag: Path(path) for flag, path in outputs.items()}, inputs, **check)
    made: list[Path] = []
    try:
        for flag, target in claim.targets.items():
            made += make_folders(flag, target)
        claim.lock()
        yield claim
    except BaseException as exc:
        if no_space(exc):
            raise claim.full_disk(exc) from exc
        raise
    finally:
        claim.release()
        _remove_empty(made)


class Outputs:
    """Outputs keyed by the flag that names them, written to temporaries and committed together.

    ``folders``: the flags whose output is a folder (written whole to a temporary folder), not a file;
    ``own`` and ``may_write``: as ``check_paths`` takes them. The outputs are locked (``Claim``) until they are
    committed or discarded.
    """

    def __init__(
        self,
        outputs: Mapping[str, str | Path],
        inputs: Inputs = (),
        *,
        folders: Collection[str] = (),
        own: str | None = None,
        may_write: Collection[Path] = (),
    ) -> None:
        self.targets = {flag: Path(path) for flag, path in outputs.items()}
        self.folders = set(folders)
        self.claim = Claim(self.targets, inputs, folders=self.folders, own=own, may_write=may_write)
        self._made_folders: list[Path] = []
        self._temps: dict[str, Path] = {}
        self._omitted: set[str] = set()
        self.recovered = False
        self.committing = False
        _LIVE.add(self)
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
        with deferred():  # every temporary made is recorded here for removal, and a journal found is finished
            self._make_temporaries()

    def _make_temporaries(self) -> None:
        for flag, target in self.targets.items():
            self._made_folders += make_folders(flag, target)
        self.claim.lock()  # before anything of a live run is touched: its temporaries look like a killed run's
        self.recovered = recover(self.targets.values())
        for flag, target in self.targets.items():
            tmp = target.parent / f".{target.stem}.{secrets.token_hex(4)}{_PARTIAL}{target.suffix}"
            try:
                if flag in self.folders:
                    os.mkdir(tmp, 0o777)  # as the umask says: a build is for colleagues to read too
                else:
                    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~current_umask()))
            except OSError as exc:
                raise InputError(f"{flag} cannot be written there: {_reason(exc)}", target) from exc
            self._temps[flag] = tmp

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
        folders set aside. A Ctrl-C meanwhile takes effect once the new outputs are in place."""
        with deferred():
            self._commit()

    def _commit(self) -> None:
        self.committing = self.claim.committing = True  # from here a Ctrl-C lets the renames finish
        journal = _journal_path(self.targets.values())
        renames = [
            [None if f in self._omitted else str(self._temps[f]), str(t)]
            + ([str(t.parent / f".{t.name}{_ASIDE}{secrets.token_hex(4)}")] if f in self.folders else [])
            for f, t in self.targets.items()
        ]
        try:
            atomic_write_text(journal, json.dumps({"renames": renames}) + "\n")
        except OSError as exc:  # nothing renamed yet: the earlier outputs stay, as on any failure
            self.discard()
            raise InputError(f"cannot commit the outputs: {_reason(exc)}", next(iter(self.targets.values()))) from exc
        try:
            for tmp, target, *aside in renames:
                if tmp is None:
                    _remove(Path(target))
                else:
                    _move_in(Path(tmp), Path(target), Path(aside[0]) if aside else None)
        except BaseException:  # the journal stays for the next run; this one writes no more
            self.claim.release()
            raise
        journal.unlink()
        for _, _, *aside in renames:
            if aside:
                _remove(Path(aside[0]))
        self._temps.clear()
        self._made_folders.clear()
        self.claim.release()

    def discard(self) -> None:
        """Remove the temporaries, and the folders made for them if they are empty. Again when a Ctrl-C already
        did (``abandon``): a writer closing as the command unwinds may have made its file anew."""
        for tmp in self._temps.values():
            _remove(tmp)
        self.claim.release()
        _remove_empty(self._made_folders)


@contextmanager
def replaced_together(
    outputs: Mapping[str, str | Path],
    inputs: Inputs = (),
    *,
    folders: Collection[str] = (),
    own: str | None = None,
    may_write: Collection[Path] = (),
) -> Iterator[Outputs]:
    """``Outputs`` as a block: committed if the block succeeds, discarded if it fails (or is interrupted); a
    full disk is one line naming the output."""
    outs = Outputs(outputs, inputs, folders=folders, own=own, may_write=may_write)
    try:
        yield outs
    except BaseException as exc:
        outs.discard()
        if no_space(exc):
            raise outs.claim.full_disk(exc) from exc
        raise
    outs.commit()
