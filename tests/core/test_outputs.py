"""`Outputs`: collisions refused before any work, every location claimed up front, replaced together or not at all."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classit_data.core.errors import InputError
from classit_data.core.outputs import ENDING_SECONDS, Outputs, recover, replaced_together
from tests.helpers import ROOT


def _write(outs: Outputs, texts: dict[str, str]) -> None:
    for flag, text in texts.items():
        outs.path(flag).write_text(text)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _die(outs: Outputs) -> None:
    """What the kernel does for a killed writer: its locks go, their files stay (the next run takes them)."""
    for fd in outs.claim._locks.values():
        os.close(fd)
    outs.claim._locks.clear()


#: holds the POSIX lock of the file argv[1] with the note argv[2], says so, and ends argv[3] seconds later
_HOLDER = """import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.pwrite(fd, sys.argv[2].encode(), 0)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


def _held(lock: Path, note: str, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, lock, note, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_lock_whose_command_has_ended_is_waited_for_not_refused(tmp_path):
    """Right after ``kill -9`` of a command's pid (its supervisor's, in the lock's note), the process that holds
    the lock is still dying: the next run waits the moment it takes to go, instead of refusing."""
    target = tmp_path / "a.json"
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that has ended
    holder = _held(tmp_path / ".a.json.lock", f"{gone.pid}: classit-data stats --out a.json", 1.5)
    try:
        with replaced_together({"--out": target}) as outs:
            assert holder.poll() == 0  # it took the lock once the holder had ended
            outs.path("--out").write_text("A")
    finally:
        holder.kill()
        holder.wait()
    assert target.read_text() == "A"
    # the holder's command still running: refused at once, naming it
    holder = _held(tmp_path / ".a.json.lock", f"{os.getpid()}: classit-data stats --out a.json", 30)
    try:
        started = time.monotonic()
        with pytest.raises(InputError, match=rf"being written by another run \(pid {os.getpid()}: classit-data stats"):
            with replaced_together({"--out": target}):
                pass
        assert time.monotonic() - started < ENDING_SECONDS / 2  # not after waiting
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait()


def test_outputs_are_replaced_together_and_leave_nothing_behind(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.json"
    with replaced_together({"--out": a, "--report": b}) as outs:
        _write(outs, {"--out": "A", "--report": "B"})
        assert outs.path("--out").suffix == ".parquet"  # writers choose the format by the suffix
        assert not a.exists() and not b.exists()
    assert (a.read_text(), b.read_text()) == ("A", "B")
    assert _listing(tmp_path) == ["a.parquet", "b.json"]


def test_a_failure_replaces_nothing_and_removes_the_temporaries_and_made_folders(tmp_path):
    a = tmp_path / "a.parquet"
    a.write_text("old")
    new_folder = tmp_path / "new" / "deeper"
    with pytest.raises(RuntimeError):
        with replaced_together({"--out": a, "--report": new_folder / "r.json"}) as outs:
            _write(outs, {"--out": "A", "--report": "R"})
            raise RuntimeError("the work failed")
    assert a.read_text() == "old"
    assert _listing(tmp_path) == ["a.parquet"]


@pytest.mark.parametrize("same", ["identical", "relative", "hard link", "symlink"])
def test_two_outputs_that_are_one_file_are_refused(tmp_path, monkeypatch, same):
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "k.parquet"
    first.write_text("kept rows")
    second = {
        "identical": first,
        "relative": Path("sub/../k.parquet"),
        "hard link": tmp_path / "h.parquet",
        "symlink": tmp_path / "s.parquet",
    }[same]
    (tmp_path / "sub").mkdir()
    if same == "hard link":
        os.link(first, second)
    if same == "symlink":
        second.symlink_to(first)
    with pytest.raises(InputError, match="--out and --quarantine are the same file"):
        Outputs({"--out": first, "--quarantine": second})
    assert first.read_text() == "kept rows"
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_an_output_that_is_an_input_is_refused_before_anything_is_made(tmp_path):
    data = tmp_path / "in.parquet"
    data.write_text("input rows")
    with pytest.raises(InputError, match="--rejects is an input; writing it would destroy the input"):
        Outputs({"--out": tmp_path / "o" / "out.parquet", "--rejects": data}, {"an input": [data]})
    assert data.read_text() == "input rows"
    assert _listing(tmp_path) == ["in.parquet"]  # not even the folder of --out


@pytest.mark.parametrize("place", ["proc", "folder", "file as folder", "read-only"])
def test_an_unwritable_place_fails_at_once_naming_the_flag(tmp_path, place):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder").mkdir()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if place == "read-only" and os.access(ro, os.W_OK):
        pytest.skip("running as a user who can write anywhere (root)")
    target = {
        "proc": Path("/proc/q.parquet"),
        "folder": tmp_path / "a_folder",
        "file as folder": tmp_path / "a_file" / "q.parquet",
        "read-only": ro / "q.parquet",
    }[place]
    good = tmp_path / "kept.parquet"
    with pytest.raises(InputError, match="--quarantine"):
        Outputs({"--out": good, "--quarantine": target})
    assert not good.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_folder", "ro"]


def test_a_kill_between_the_renames_is_finished_by_the_next_run(tmp_path):
    """The commit as a killed process leaves it: journal written, first rename done, the second not."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("old A")
    b.write_text("old B")
    outs = Outputs({"--out": a, "--report": b})
    _write(outs, {"--out": "new A", "--report": "new B"})
    journal = tmp_path / ".a.jsonl.commit.json"
    journal.write_text(json.dumps({"renames": [[str(outs.path(f)), str(t)] for f, t in outs.targets.items()]}))
    os.replace(outs.path("--out"), a)
    assert (a.read_text(), b.read_text()) == ("new A", "old B")  # the mixed set a kill leaves
    outs.claim.release()

    assert recover([a, b]) is True
    assert (a.read_text(), b.read_text()) == ("new A", "new B")
    assert _listing(tmp_path) == ["a.jsonl", "b.jsonl"]
    assert recover([a, b]) is False


def test_temporaries_of_a_killed_run_are_removed_by_the_next(tmp_path):
    a = tmp_path / "kept.parquet"
    killed = Outputs({"--out": a})
    killed.path("--out").write_text("half written")
    _die(killed)
    (tmp_path / "..kept.0123abcd.partial.parquet.x_y_z123.tmp").write_text("atomic_path's of ours")
    (tmp_path / ".kept.parquet.abcd_123.tmp").write_text("atomic_path's temporary")
    (tmp_path / ".kept.other.parquet").write_text("not ours")
    with replaced_together({"--out": a}) as outs:
        outs.path("--out").write_text("done")
    assert _listing(tmp_path) == [".kept.other.parquet", "kept.parquet"]


def test_files_are_made_as_the_umask_says(tmp_path):
    old = os.umask(0o027)
    try:
        with replaced_together({"--out": tmp_path / "a.json"}) as outs:
            outs.path("--out").write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640


def test_an_omitted_output_removes_the_earlier_one_so_the_set_is_one_runs(tmp_path):
    fig, report = tmp_path / "fig.png", tmp_path / "report.json"
    fig.write_text("an earlier run's figure")
    report.write_text("an earlier run's report")
    with replaced_together({"fig.png": fig, "report.json": report}) as outs:
        outs.omit("fig.png")
        outs.path("report.json").write_text("this run's report")
    assert not fig.exists() and report.read_text() == "this run's report"
    assert _listing(tmp_path) == ["report.json"]


# --- a folder output: written whole beside its place, replaced by two renames behind the journal ---------------


def _folder(outs: Outputs, flag: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        (outs.path(flag) / name).write_text(text)


def test_a_folder_is_replaced_whole_and_the_earlier_one_goes(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.parquet").write_text("earlier build")
    with replaced_together({"--out": out, "--out's log": tmp_path / "ds.log"}, folders=["--out"]) as outs:
        assert outs.path("--out").is_dir() and outs.path("--out").parent == tmp_path
        _folder(outs, "--out", {"new.parquet": "new build"})
        outs.path("--out's log").write_text("log")
        assert (out / "old.parquet").exists()
    assert _listing(out) == ["new.parquet"] and (out / "new.parquet").read_text() == "new build"
    assert _listing(tmp_path) == ["ds", "ds.log"]


def test_a_failed_folder_output_leaves_the_earlier_folder_and_nothing_else(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.parquet").write_text("earlier build")
    with pytest.raises(RuntimeError):
        with replaced_together({"--out": out}, folders=["--out"]) as outs:
            _folder(outs, "--out", {"half.parquet": "half written"})
            raise RuntimeError("the work failed")
    assert _listing(out) == ["old.parquet"] and _listing(tmp_path) == ["ds"]
    with pytest.raises(InputError, match="--out is a file; a folder is expected there"):
        Outputs({"--out": out / "old.parquet"}, folders=["--out"])


def test_a_folder_is_made_as_the_umask_says(tmp_path):
    old = os.umask(0o027)
    try:
        with replaced_together({"--out": tmp_path / "ds"}, folders=["--out"]) as outs:
            _folder(outs, "--out", {"a.json": "{}"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "ds").stat().st_mode) == 0o750


class Killed(BaseException):
    """The process dies here: no handler runs, as under ``kill -9``."""


@pytest.mark.parametrize("killed_after", [1, 2])
def test_a_folder_commit_killed_between_or_after_its_renames_is_finished_by_the_next_run(
    tmp_path, monkeypatch, killed_after
):
    """Killed after setting the earlier folder aside (no ``out`` at all), or after putting the new one in place
    (the earlier one still aside): the next run finishes the commit and removes what was set aside."""
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.parquet").write_text("earlier build")
    replace, done = os.replace, []

    def killed(src, dst):
        replace(src, dst)
        if not str(dst).endswith(".commit.json"):  # the journal itself is written atomically, by a rename
            done.append(dst)
        if len(done) == killed_after:
            raise Killed

    outs = Outputs({"--out": out}, folders=["--out"])
    _folder(outs, "--out", {"new.parquet": "new build"})
    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(Killed):
        outs.commit()
    monkeypatch.undo()
    outs.claim.release()
    assert out.exists() == (killed_after == 2) and (tmp_path / ".ds.commit.json").exists()
    assert [p.name.startswith(".ds.old-") for p in tmp_path.iterdir() if p.name != ".ds.commit.json"].count(True) == 1

    assert recover([out]) is True
    assert _listing(out) == ["new.parquet"] and _listing(tmp_path) == ["ds"]
    assert recover([out]) is False


def test_a_killed_runs_half_written_and_set_aside_folders_are_removed_by_the_next(tmp_path):
    out = tmp_path / "ds"
    killed = Outputs({"--out": out}, folders=["--out"])
    (killed.path("--out") / "half.parquet").write_text("half written")
    _die(killed)
    (tmp_path / ".ds.old-0123abcd").mkdir()  # killed while removing the folder it had set aside
    (tmp_path / ".ds.old-0123abcd" / "x.parquet").write_text("earlier build")
    (tmp_path / ".ds.notes").mkdir()  # not ours
    with replaced_together({"--out": out}, folders=["--out"]) as outs:
        _folder(outs, "--out", {"new.parquet": "done"})
    assert _listing(tmp_path) == [".ds.notes", "ds"]


_CTRL_C_AT = {
    # the Ctrl-C lands between the commit's two renames
    "commit": "outputs._move_in = interrupting(outputs._move_in)",
    # between atomic_path making its temporary and recording it
    "atomic_path": "io.tempfile.mkstemp = interrupting(io.tempfile.mkstemp)",
    # between a lock file made and its claim recording it
    "lock": "outputs._lock = interrupting(outputs._lock)",
}


@pytest.mark.parametrize("moment", sorted(_CTRL_C_AT))
def test_a_ctrl_c_at_a_step_that_must_not_stop_half_way_takes_effect_after_it(tmp_path, moment):
    """The command under its supervisor sends itself a SIGINT at ``moment``: it exits 130 with the earlier
    outputs or the new ones whole, and no temporary, journal or lock left."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("old A")
    b.write_text("old B")
    script = f"""
import os, signal, sys
from pathlib import Path
from classit_data.core import io, outputs, signals

def interrupting(step):
    def wrapped(*args, **kwargs):
        result = step(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return result
    return wrapped

def work():
    {_CTRL_C_AT[moment]}
    with outputs.replaced_together({{"--out": Path({str(a)!r}), "--report": Path({str(b)!r})}}) as outs:
        io.atomic_write_text(outs.path("--out"), "new A")
        outs.path("--report").write_text("new B")
    Path({str(tmp_path / "after")!r}).write_text("the command went on")
    return 0

sys.exit(signals.supervised(work))
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    expected = ("new A", "new B") if moment == "commit" else ("old A", "old B")
    assert (a.read_text(), b.read_text()) == expected
    assert _listing(tmp_path) == ["a.jsonl", "b.jsonl"]
