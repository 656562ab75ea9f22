"""Fixtures of the generate-wiki tests: a small passage file written with polars (our own text), and the
command run in a subprocess."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.schema import PASSAGE_SCHEMA, Passage
from tests.generate.openai_stub import StubServer

TEXTS = [
    ("Moon", "", "The Moon is the only natural satellite of the Earth. It is about one quarter the size of the "
     "Earth. The Moon has no air, so there is no weather there. People first walked on the Moon in 1969."),
    ("Honey bee", "Life", "Honey bees live in large groups called colonies. Each colony has one queen, many "
     "female workers and a few male drones. Worker bees collect nectar from flowers and make honey from it."),
    ("Nile", "", "The Nile is a long river in Africa. It flows north into the Mediterranean Sea. Many people in "
     "Egypt live close to the river because the land near it is good for farming."),
    ("Volcano", "Eruptions", "A volcano is an opening in the ground where hot melted rock comes out. The melted "
     "rock is called lava when it reaches the surface. Some volcanoes stay quiet for thousands of years."),
    ("Piano", "", "The piano is a musical instrument played with a keyboard. When a key is pressed, a small "
     "hammer hits a string inside the piano. Bartolomeo Cristofori built the first piano in Italy."),
    ("Penguin", "Food", "Penguins are birds that cannot fly. They live mostly in the southern half of the world. "
     "Penguins swim very well and eat fish, squid and small sea animals called krill."),
]


def _passage_rows(n: int = len(TEXTS)) -> list[dict]:
    rows = []
    for i in range(n):
        title, section, text = TEXTS[i % len(TEXTS)]
        if i >= len(TEXTS):
            text = f"{text} This is copy number {i // len(TEXTS) + 1}."
        article_id = str(1000 + i)
        rows.append({"passage_id": Passage.make_id(article_id, section, text), "article_id": article_id,
                     "title": title, "section": section, "text": text, "n_words": len(text.split())})
    return rows


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
def generate_cli(cli) -> Callable[..., subprocess.CompletedProcess]:
    """``generate_cli(*args, env=...)``: ``classit-data generate-wiki`` in a subprocess, as a user runs it."""
    return functools.partial(cli, "generate-wiki")


def kill_after_first_chunk(cmd: list[str], out: Path, env: dict, cwd: Path = Path(__file__).resolve().parents[2],
                           timeout: float = 240) -> int:
    """Start ``cmd`` in its own process group, ``kill -9`` the group once a chunk file is in ``out``; the chunk
    files there at the kill."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + timeout
        while not list((out / "chunks").glob("*/chunk-*.parquet")) and time.time() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return len(list((out / "chunks").glob("*/chunk-*.parquet")))


# --- runs against an OpenAI-compatible stub server: the local reference that other executors must equal -------

#: passages of the stub runs, and the environment of their CLI runs
STUB_PASSAGES = 20
RAY_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RAY_DEDUP_LOGS": "0"}


@pytest.fixture(scope="module")
def stub():
    srv = StubServer(latency=0.05)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def many(tmp_path_factory, write_passages) -> Path:
    return write_passages(tmp_path_factory.mktemp("ray") / "passages.parquet", STUB_PASSAGES)


def stub_args(many, out, stub, *extra) -> list:
    return ["--passages", many, "--out", out, "--backend", "openai", "--base-url", stub.url, "--chunk-size", "2",
            "--json", *extra]


@pytest.fixture(scope="module")
def reference(many, stub, tmp_path_factory, generate_cli) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    proc = generate_cli(*stub_args(many, out, stub), env=RAY_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def same_outputs(out: Path, ref: Path) -> dict:
    for name in ("qa.parquet", "rejects.parquet"):
        assert pl.read_parquet(out / name).equals(pl.read_parquet(ref / name)), name
    s, r = (json.loads((d / "summary.json").read_text()) for d in (out, ref))
    for key in ("passages_done", "pairs", "rejected_outputs_by_reason", "duplicate_records", "model", "output_tokens"):
        assert s[key] == r[key], key
    return s


def wait_for(cond, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
