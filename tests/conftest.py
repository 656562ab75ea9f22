"""Shared fixtures: the real corpora (skipped when absent) and the CLI runner. The shared helpers and constants
they wrap (paths, item rows, ...) are in ``tests/helpers.py``; test modules import them from there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# the helpers' asserts explain themselves like a test's (register before the first import of the module)
pytest.register_assert_rewrite("tests.helpers")

from tests.helpers import CORPORA, INTERPRETERS, run_cli  # noqa: E402

# how the tests are spread over the workers and in which order
from tests.scheduling import pytest_collection_modifyitems  # noqa: E402, F401

# CI runs the property tests on a fixed seed, so a run is reproducible; locally each run explores anew
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# tests share the machine's cores: an OpenMP thread waiting for work sleeps instead of spinning on a core that
# another test's process needs (read when a process loads OpenMP; subprocesses inherit it)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA}")
    return CORPORA


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the test's fixtures run: its commands in new interpreters when it compares the bytes of two runs
    (``fresh_interpreter``) or times them (``serial``), else in children of a preloaded one (``tests/preloaded.py``)."""
    INTERPRETERS.fresh = any(item.get_closest_marker(name) for name in ("fresh_interpreter", "serial"))
