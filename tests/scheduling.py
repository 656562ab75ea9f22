"""How ``make test`` spreads the tests over its workers (pytest-xdist with ``--dist loadgroup
--no-loadscope-reorder``): a unit of work goes whole to one worker, and the units are handed out in the order
given here.

- The tests of one ``xdist_group`` are one unit: one Ray cluster, one module's vLLM engines at a time.
- Every other module is one unit, so its module-scoped fixtures (a judged folder, a fault-injection reference
  run, the GPU benchmark's dry run) are made once, not once on each worker that runs one of its tests.
- The longest units first: the groups, then the modules with a ``slow`` test, then the others, each kind in the
  order collected. The pass then ends on short modules on both workers, not on one long test.

``tests/conftest.py`` takes the hook from here; ``tests/test_runner.py`` runs it on a suite of its own.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    grouped = {item.nodeid for item in items if item.get_closest_marker("xdist_group")}
    slow = {_file(item) for item in items if item.get_closest_marker("slow")}
    for item in items:
        if item.nodeid not in grouped:
            item.add_marker(pytest.mark.xdist_group(_file(item)))
    items.sort(key=lambda item: (item.nodeid not in grouped, _file(item) not in slow))


def _file(item: pytest.Item) -> str:
    """The test's file, as its id names it (``tests/generate/test_judge.py``)."""
    return item.nodeid.split("::")[0]
