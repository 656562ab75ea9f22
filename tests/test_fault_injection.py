"""`benchmarks/fault_injection.py`, small: each command killed (``kill -9``) twice at random moments, then rerun;
interrupted by a Ctrl-C; and a second writer of the same outputs started while the first runs.

The benchmark kills each command 20 times (its figures are in benchmarks/RESULTS.md); here two tries per
command keep the suite short while checking the same invariants on every run of the suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def injection():
    spec = importlib.util.spec_from_file_location("fault_injection", ROOT / "benchmarks" / "fault_injection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(tmp_path_factory, injection) -> Path:
    folder = tmp_path_factory.mktemp("fault-injection") / "data"
    injection.make_data(folder)
    return folder


@pytest.fixture(scope="module")
def made() -> dict:
    """The references of each command (its earlier outputs, and the new configuration's run over them), made by
    its first trial and shared by the others; every trial's folders are at the same depth, as the records
    beside the outputs name their inputs by relative paths."""
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["convert-switchboard", "validate", "stats", "build"])
def test_a_killed_command_leaves_the_old_or_the_new_outputs_and_a_rerun_completes(command, injection, data, made):
    earlier, new = injection._commands(data)[command]
    args = argparse.Namespace(kills=2, signal="KILL", writers=1)
    result = injection.trial(command, earlier, new, data.parent / "kill", args, random.Random(command), made)
    assert result["tries"] == 2
    assert result.get("cut", 0) == 0, result
    assert result.get("rerun equal to reference") == 2, result
    assert result.get("temporaries left after rerun", 0) == 0, result
    assert sum(result.get(k, 0) for k in ("A", "B", "journal", "finished before the kill")) == 2, result


@pytest.mark.slow
@pytest.mark.parametrize("command", ["prepare-wiki", "build"])
def test_a_ctrl_c_ends_the_command_at_once_with_one_line_and_nothing_left(command, injection, data, made):
    """Item 6: exit 130 within seconds, one line, no process, no temporary; the old or the new outputs."""
    earlier, new = injection._commands(data)[command]
    args = argparse.Namespace(kills=2, signal="INT", writers=1)
    result = injection.trial(command, earlier, new, data.parent / "int", args, random.Random(command), made)
    assert not injection.broken(result), str(result)  # the whole record, not a shortened one
    ended = ("exit 130", "finished before the kill", "during Python's own start-up")
    assert sum(result.get(k, 0) for k in ended) == 2, result


@pytest.mark.slow
@pytest.mark.parametrize("command", ["validate", "build"])
def test_a_second_writer_is_refused_at_once_naming_the_first(command, injection, data, made):
    """Item 9: the second run exits 2 with one line naming the first's pid; the first finishes untouched."""
    earlier, new = injection._commands(data)[command]
    args = argparse.Namespace(kills=2, signal="KILL", writers=2)
    result = injection.trial(command, earlier, new, data.parent / "two", args, random.Random(command), made)
    assert not injection.broken(result), str(result)  # the whole record, not a shortened one
    assert result.get("first finished, outputs equal to reference") == 2, result


def test_the_check_can_fail(injection, tmp_path):
    """A set with one new and one old file is neither old nor new: the fingerprints tell them apart."""
    for name, text in (("a.json", '{"rows": 1}'), ("b.json", '{"rows": 2}')):
        (tmp_path / name).write_text(text)
    old = injection.fingerprint(tmp_path)
    (tmp_path / "a.json").write_text('{"rows": 3, "seconds": 9}')
    assert injection.fingerprint(tmp_path) != old
    (tmp_path / "a.json").write_text('{"rows": 1, "seconds": 9}')  # timings aside, it is the old file again
    assert injection.fingerprint(tmp_path) == old
    (tmp_path / ".a.1234abcd.partial.json").write_text("half")
    assert injection.leftovers(tmp_path) == [".a.1234abcd.partial.json"]


def test_a_ctrl_c_counts_as_pythons_own_start_up_only_without_a_frame_of_ours(injection):
    site = ["Traceback (most recent call last):", '  File "<frozen site>", line 616, in <module>', "KeyboardInterrupt"]
    ours = [*site[:2], '  File "/x/classit_data/cli.py", line 3, in <module>', "KeyboardInterrupt"]
    assert injection.python_starting({"rc": -2, "lines": site})
    assert not injection.python_starting({"rc": -2, "lines": ours})
    assert not injection.python_starting({"rc": 130, "lines": ["error: interrupted before the command started"]})
