"""Fixtures of the generate-wiki tests: a small passage file written with polars (our own text), a tiny model,
the command run in a subprocess, and an OpenAI-compatible stub server with a reference run against it (the local
run that other executors must equal). The helpers they use are in ``tests/helpers.py``."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.schema import PASSAGE_SCHEMA
from tests.generate.openai_stub import StubServer
from tests.helpers import RAY_ENV, STUB_PASSAGES, TEXTS, _passage_rows, stub_args, tiny_chat_model


@pytest.fixture(scope="session")
def passage_rows() -> Callable[..., list[dict]]:
    """``passage_rows(n=6)``: passage rows of the six texts, then numbered copies of them."""
    return _passage_rows


@pytest.fixture(scope="session")
def write_passages() -> Callable[..., Path]:
    """``write_passages(path, n=6)``: those rows as a passage file."""

    def write(path: Path, n: int = len(TEXTS)) -> Path:
        pl.DataFrame(_passage_rows(n), schema=PASSAGE_SCHEMA).write_parquet(path)
        return path

    return write


@pytest.fixture(scope="module")
def passages(tmp_path_factory, write_passages) -> Path:
    """The six passages in one file, shared by a module's tests."""
    return write_passages(tmp_path_factory.mktemp("passages") / "passages.parquet")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A model folder: the embedded model's tokenizer on a tiny random LLaMA (``tiny_chat_model``)."""
    return str(tiny_chat_model(tmp_path_factory.mktemp("tiny-model")))


@pytest.fixture(scope="session")
def generate_cli(cli) -> Callable[..., subprocess.CompletedProcess]:
    """``generate_cli(*args, env=...)``: ``classit-data generate-wiki`` in a subprocess, as a user runs it."""
    return functools.partial(cli, "generate-wiki")


# --- runs against an OpenAI-compatible stub server: the local reference that other executors must equal -------


@pytest.fixture(scope="module")
def stub():
    srv = StubServer(latency=0.05)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def many(tmp_path_factory, write_passages) -> Path:
    return write_passages(tmp_path_factory.mktemp("ray") / "passages.parquet", STUB_PASSAGES)


@pytest.fixture(scope="module")
def reference(many, stub, tmp_path_factory, generate_cli) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    proc = generate_cli(*stub_args(many, out, stub), env=RAY_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out
