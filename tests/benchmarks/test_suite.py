"""``python -m benchmarks suite``: what it reads from ``make test``'s output."""

from __future__ import annotations

from benchmarks.bench_suite import not_passed, not_passed_line, passes

OUTPUT = """\
........................................................................ [ 98%]
=========================== short test summary info ============================
SKIPPED [1] tests/train/test_x.py:12: no GPU
FAILED tests/test_locks.py::test_second_build_is_refused[build] - AssertionError: assert 0 == 2
ERROR tests/generate/test_ray.py::test_two_nodes@ray - RuntimeError: no cluster
1 failed, 1016 passed, 1 skipped, 1 error in 706.02s (0:11:46)
.........                                                                [100%]
9 passed in 28.40s
"""


def test_each_pass_and_the_tests_that_did_not_pass_are_read():
    assert passes(OUTPUT) == [
        {"failed": 1, "passed": 1016, "skipped": 1, "error": 1, "seconds": 706.02},
        {"passed": 9, "seconds": 28.4},
    ]
    assert not_passed(OUTPUT) == [
        "tests/test_locks.py::test_second_build_is_refused[build]",
        "tests/generate/test_ray.py::test_two_nodes@ray",
    ]
    assert not_passed("9 passed in 28.40s") == []
    assert not_passed_line(OUTPUT, "in the pass") == (
        "Not passed in the pass: `tests/test_locks.py::test_second_build_is_refused[build]`, "
        "`tests/generate/test_ray.py::test_two_nodes@ray`."
    )
    assert not_passed_line("9 passed in 28.40s", "in the pass") is None
