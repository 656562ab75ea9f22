"""Fixtures of the classit-train tests: one shared copy, for the whole session, of a text corpus, a tiny base
model (tokenizer included) and a dataset folder in the layout ``classit-data build`` writes (nothing writes into
them), and the folder of small eval task files. ``tests/helpers.py`` makes them (``write_corpus``,
``make_base``, ``write_dataset``, ``instruction_rows``), and tests that need their own copy call it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FIXTURES, make_base, write_corpus, write_dataset


@pytest.fixture(scope="session")
def train_root(tmp_path_factory) -> Path:
    """The folder of the shared corpus, base model and dataset (itself neither a model nor a dataset)."""
    return tmp_path_factory.mktemp("train")


@pytest.fixture(scope="session")
def corpus_file(train_root) -> Path:
    return write_corpus(train_root / "corpus.txt")


@pytest.fixture(scope="session")
def base_model(train_root, corpus_file) -> Path:
    return make_base(train_root / "base", corpus_file)


@pytest.fixture(scope="session")
def dataset_dir(train_root) -> Path:
    return write_dataset(train_root / "dataset")


@pytest.fixture(scope="session")
def eval_data() -> Path:
    """Small files of every eval task, in the BabyLM 2025 formats: ``blimp/``, ``supplement/``, ``ewok/``..."""
    return FIXTURES / "eval"
