"""Start-up: commands, and the workers of prepare-wiki, import the libraries a stage needs only when it runs."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from classit_data.core.lazy import lazy_attributes
from tests.helpers import ROOT

HEAVY = ("polars", "pyarrow", "pandas", "numpy", "scipy", "sklearn", "torch", "transformers", "nltk")


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_cli_and_the_cleaning_code_start_without_the_heavy_libraries():
    assert _imported_after("import classit_data.cli") == []
    code = (
        "import classit_data.cli, classit_data.wiki.prepare\n"
        "from classit_data.wiki.sentences import split_sentences\n"
        "assert split_sentences('Dr. Smith came. He left.') == ['Dr. Smith came.', 'He left.']"
    )
    assert _imported_after(code) == []


def test_prepare_wiki_writes_parquet_with_pyarrow_alone(tmp_path):
    """Writing passages needs neither polars nor pandas (pyarrow's list conversion would import pandas)."""
    out = tmp_path / "p.parquet"
    code = (
        "from classit_data.wiki.config import PrepareConfig\n"
        "from classit_data.wiki.prepare import prepare_wiki\n"
        f"prepare_wiki({str(ROOT / 'samples' / 'simplewiki_sample.xml.bz2')!r}, {str(out)!r}, "
        "PrepareConfig(workers=1), progress=False)"
    )
    imported = _imported_after(code)
    assert "pyarrow" in imported and "polars" not in imported and "pandas" not in imported
    assert pq.read_metadata(out).num_rows > 30


def _modules_after(code: str, prefix: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in sys.modules if m.startswith({prefix!r})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_a_command_imports_the_settings_of_every_stage_and_the_work_of_none():
    """The CLI reads every stage's settings (its options are declared with them); the modules that do a stage's
    work are imported when that stage runs, not by the help of another."""
    run = (
        "import contextlib, io\nfrom classit_data.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main({args!r})"
    )
    loaded = _modules_after(run.format(args=["prepare-wiki", "--help"]), "classit_data.")
    stages = {
        "classit_data.switchboard.convert",
        "classit_data.wiki.prepare",
        "classit_data.generate.generate",
        "classit_data.generate.judge",
        "classit_data.validate.validate",
        "classit_data.validate.contamination",
        "classit_data.dataset.stats",
        "classit_data.dataset.build",
        "classit_data.dataset.report",
        "classit_data.publish.push",
    }
    assert not loaded & stages
    assert {"classit_data.wiki.config", "classit_data.generate.config", "classit_data.validate.config"} <= loaded
    assert _modules_after(run.format(args=["validate", "--help"]), "classit_data.") == loaded


def test_punkt_leaves_the_whole_of_nltk_importable():
    code = (
        "from classit_data.wiki.sentences import split_sentences\n"
        "split_sentences('One. Two.')\n"
        "import nltk\n"
        "assert nltk.word_tokenize and nltk.tokenize.punkt.PunktSentenceTokenizer"
    )
    assert "nltk" in _imported_after(code)


def test_lazy_attributes_come_from_their_module_and_others_are_refused():
    getattr_ = lazy_attributes("classit_data.core", {"content_id": "schema"})
    assert getattr_("content_id")("a") == __import__("classit_data.core.schema").core.schema.content_id("a")
    with pytest.raises(AttributeError, match="no attribute 'other'"):
        getattr_("other")
