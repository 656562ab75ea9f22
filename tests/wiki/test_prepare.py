"""The prepare_wiki run: read -> clean, sentences, passages (in workers) -> write, and its summary."""

from __future__ import annotations

import inspect
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.errors import InputError
from classit_data.core.schema import PASSAGE_SCHEMA, Passage
from classit_data.wiki import prepare_wiki
from classit_data.wiki.config import PrepareConfig
from classit_data.wiki.prepare import PrepareSummary
from classit_data.wiki.stats import DROPPED, MAX_NAMED_FAILURES, PROSE_DROPPED, PrepareStats
from tests.helpers import FIXTURES, ROOT
from tests.wiki.export_xml import write_export_xml

WIKI = FIXTURES / "wiki"
SAMPLE = ROOT / "samples" / "simplewiki_sample.xml.bz2"
SENTINEL = re.compile(r"[A-Z]+WORD")


def _run(tmp_path, inputs, name="p.parquet", **kw) -> tuple[PrepareSummary, pl.DataFrame]:
    out = tmp_path / name
    summary = prepare_wiki(inputs, out, PrepareConfig(workers=kw.pop("workers", 1), **kw), progress=False)
    df = pl.read_parquet(out) if out.suffix == ".parquet" else pl.read_ndjson(out)
    return summary, df


def test_hard_cases_become_clean_prose(tmp_path):
    summary, df = _run(tmp_path, WIKI / "hard_cases.xml")
    assert df.columns == list(PASSAGE_SCHEMA)
    assert dict(zip(df.columns, df.dtypes)) == PASSAGE_SCHEMA
    text = "\n".join(df["text"])
    assert not SENTINEL.search(text), SENTINEL.findall(text)
    assert not re.search(r"[\[\]{}|<>]|''|&\w+;", text)
    assert "Zürich is the largest city in Switzerland." in text
    assert (
        "Tokyo Tower (東京タワー) is a tall tower in Tokyo, Japan. It was finished in 1958 and is 333 m high." in text
    )
    assert set(df["title"]) == {"Zürich", "東京タワー", "Musical scale"}
    assert ("Zürich", "Climate") in set(zip(df["title"], df["section"]))
    assert summary.skipped_by_reason == {
        "disambiguation": 1,
        "empty": 1,
        "list": 1,
        "namespace": 3,
        "redirect": 2,
        "stub": 1,
    }
    assert summary.pages_read == 12 and summary.articles_read == 5 and summary.articles_kept == 3
    assert summary.pages_read == summary.articles_kept + sum(summary.skipped_by_reason.values())
    assert summary.passages == df.height and summary.words == df["n_words"].sum()


def test_passage_rows_are_valid_and_ids_stable(tmp_path):
    _, df = _run(tmp_path, ROOT / "samples" / "simplewiki_sample.xml.bz2")
    assert df.height >= 40
    for row in df.iter_rows(named=True):
        Passage(**row)
        assert row["passage_id"] == Passage.make_id(row["article_id"], row["section"], row["text"])
        assert row["n_words"] == len(row["text"].split())
        assert 40 <= row["n_words"] <= 160
    assert df["passage_id"].n_unique() == df.height
    # passages never cross an article: each text occurs in the article it is filed under
    assert df.group_by("passage_id").agg(pl.col("article_id").n_unique())["article_id"].max() == 1


def test_same_article_gives_same_passages_in_every_format(tmp_path):
    """Dump, HF export and wikiextractor output of the same article give the same passage ids."""
    ids = {}
    for name in ("hard_cases.xml", "wikipedia_simple.parquet", "wikiextractor_wiki_00", "wikiextractor.json"):
        _, df = _run(tmp_path, WIKI / name, name=f"{name}.parquet")
        ids[name] = set(df.filter(pl.col("title") == "Zürich").filter(pl.col("section") == "")["passage_id"])
    assert len({frozenset(v) for v in ids.values()}) == 1 and next(iter(ids.values()))


def test_every_format_yields_passages(tmp_path):
    for name in (
        "simple_wiki_2024.train",
        "simple_wiki_2023.train",
        "wikipedia_simple.jsonl",
        "wikipedia_simple.parquet",
        "wikiextractor_wiki_00",
        "wikiextractor.json",
    ):
        summary, df = _run(tmp_path, WIKI / name, name=f"{name}.jsonl")
        assert df.height >= 2, name
        assert not SENTINEL.search("\n".join(df["text"])), name
        assert summary.pages_read == summary.articles_kept + sum(summary.skipped_by_reason.values())


@pytest.fixture
def big_dump(tmp_path) -> Path:
    """The bundled sample six times over, with distinct page ids: several batches of 64 articles."""
    import sys

    sys.path.insert(0, str(ROOT / "samples"))
    from make_wiki_sample import read_pages

    pages = read_pages(ROOT / "samples" / "simplewiki_sample.pages.txt")
    dump = tmp_path / "big.xml"
    with dump.open("w", encoding="utf-8") as fh:
        write_export_xml(({**p, "id": p["id"] + 1000 * k} for k in range(6) for p in pages), fh)
    return dump


def test_workers_give_the_same_output_as_one_process(tmp_path, big_dump):
    """Several batches go through the worker pool and come back in input order."""
    dump = big_dump
    _, one = _run(tmp_path, [WIKI / "hard_cases.xml", dump], name="one.parquet", workers=1)
    summary, two = _run(tmp_path, [WIKI / "hard_cases.xml", dump], name="two.parquet", workers=2)
    assert summary.articles_read == 5 + 6 * 27
    assert summary.config["workers"] == 2
    assert one.height > 300 and one.equals(two)


def test_limit_and_word_bounds(tmp_path):
    summary, df = _run(
        tmp_path, ROOT / "samples" / "simplewiki_sample.xml.bz2", limit_articles=5, max_words=80, min_words=30
    )
    assert summary.articles_read == 5
    assert df["n_words"].max() <= 80 and df["n_words"].min() >= 30
    with pytest.raises(InputError, match="min_words"):
        prepare_wiki(
            WIKI / "hard_cases.xml",
            tmp_path / "x.parquet",
            PrepareConfig.load(min_words=50, max_words=20),
            progress=False,
        )
    with pytest.raises(InputError, match=".parquet or .jsonl"):
        prepare_wiki(WIKI / "hard_cases.xml", tmp_path / "x.csv", progress=False)


def test_failed_run_keeps_the_earlier_output_and_leaves_no_temporary_file(tmp_path, big_dump):
    out_dir = tmp_path / "out"
    out = out_dir / "p.parquet"
    prepare_wiki(WIKI / "hard_cases.xml", out, PrepareConfig(workers=1), progress=False)
    before, summary_before = out.read_bytes(), (out_dir / "p.parquet.summary.json").read_bytes()
    # the error comes after several batches were handed to the worker pool
    with pytest.raises(InputError, match="mismatched tag"):
        prepare_wiki([big_dump, WIKI / "malformed.xml"], out, PrepareConfig(workers=2), progress=False)
    assert out.read_bytes() == before
    assert (out_dir / "p.parquet.summary.json").read_bytes() == summary_before  # the step's record, replaced together
    assert sorted(p.name for p in out_dir.iterdir()) == ["p.parquet", "p.parquet.summary.json"]


def test_summary_keys_and_order(tmp_path):
    summary, _ = _run(tmp_path, SAMPLE)
    assert list(summary.to_json()) == [
        "inputs",
        "out",
        "pages_read",
        "articles_read",
        "articles_kept",
        "skipped_by_reason",
        "parse_failures",
        "passages",
        "words",
        "dropped",
        "prose_words",
        "prose_words_dropped",
        "config",
        "read_by_streams",
        "workers_asked",
        "seconds",
        "articles_per_s",
    ]
    assert list(summary.dropped) == list(DROPPED)
    assert list(summary.prose_words_dropped) == list(PROSE_DROPPED)
    # every word of prose read is in a passage or dropped for a reason
    assert summary.words + sum(summary.prose_words_dropped.values()) == summary.prose_words
    assert summary.config == {
        "max_words": 160,
        "min_words": 40,
        "min_article_words": 60,
        "workers": 1,
        "limit_articles": None,
        "punkt_params": "punkt_english.json",
        "index": None,
    }
    assert list(summary.skipped_by_reason) == sorted(summary.skipped_by_reason)


def test_real_wikipedia_export_and_wikiextractor_output(tmp_path, corpora):
    """Real pages (infoboxes, refs, tables; wikiextractor's formula placeholders) give clean passages."""
    real = corpora / "wiki_real"
    for name, fmt in (
        ("enwiki-special-export-20171220.xml.bz2", "mediawiki"),
        ("wikiextractor_AA_wiki_00.bz2", "wikiextractor"),
    ):
        if not (real / name).exists():
            pytest.skip(f"{name} not in the corpora")
        summary, df = _run(tmp_path, real / name, name=f"{name}.parquet")
        assert summary.inputs == {str(real / name): fmt}
        assert summary.articles_kept > 30 and df.height > 400 and not summary.parse_failures
        assert summary.pages_read == summary.articles_kept + sum(summary.skipped_by_reason.values())
        assert not re.search(r"\{\{|\}\}|\[\[|\]\]|<ref", "\n".join(df["text"]))


#: passages of the real files before their defects were fixed (commit f25353e): the fixes may not lose more than 2%
_REAL_PASSAGES_BEFORE = {"enwiki-special-export-20171220.xml.bz2": 488, "wikiextractor_AA_wiki_00.bz2": 1098}
_REAL_DEFECTS = {
    "entity": re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d+|#x[0-9A-Fa-f]+);"),
    "lost words": re.compile(
        r"\(\s*[,;:)]|(?:^|[.!?][\"')]*\s+)[,;:]|\s[,;](?:\s|$)|[,;]\s*[,;]|"
        r"(?<![&\w])c\.(?=\s*(?:[^\w\s\"'(]|$))"
    ),
    "mid-sentence start or end": re.compile(
        r"^[a-z]|\b(?:spp|sp|v|vs|Par|par|fig|Fig|no|No|sec)\.$|"
        r"[^.!?…\"'”’)\]]$"
    ),
    "lead-in": re.compile(r":$"),
    "placeholder": re.compile(r"\b(?:formula|codice)_\d+"),
}


@pytest.mark.parametrize("name", list(_REAL_PASSAGES_BEFORE))
def test_real_files_have_none_of_the_defects_found_on_real_dumps(tmp_path, corpora, name):
    """Entities, words lost mid-sentence, passages cut at abbreviations, lead-ins, placeholders, stray section
    names: none on real pages; every prose word accounted for; no more than 2% of the passages lost."""
    path = corpora / "wiki_real" / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpora")
    summary, df = _run(tmp_path, path)
    for kind, pattern in _REAL_DEFECTS.items():
        hits = [t for t in df["text"] if pattern.search(t)]
        assert not hits, (kind, hits[:3])
    sections = set(df["section"]) - {""}
    assert all(s[0].isupper() or s[0].isdigit() for s in sections) and not any(s[-1] in ",:;" for s in sections)
    assert summary.words + sum(summary.prose_words_dropped.values()) == summary.prose_words
    assert df.height >= 0.98 * _REAL_PASSAGES_BEFORE[name]


def test_the_defaults_are_the_settings_defaults():
    """prepare_wiki's settings are one argument, None meaning PrepareConfig's defaults (those the CLI shows)."""
    params = inspect.signature(prepare_wiki).parameters
    assert list(params) == ["inputs", "out", "settings", "progress"] and params["settings"].default is None
    assert PrepareConfig.load(None) == PrepareConfig()


def test_settings_are_checked(tmp_path):
    with pytest.raises(InputError, match="limit_articles must be at least 1"):
        prepare_wiki(
            WIKI / "hard_cases.xml", tmp_path / "x.parquet", PrepareConfig.load(limit_articles=0), progress=False
        )
    with pytest.raises(InputError, match="min_words"):
        PrepareConfig.load(min_words=0)
    assert PrepareConfig(punkt_params=Path("p.json")).punkt_params == "p.json"
    with pytest.raises(InputError, match="no input files"):
        prepare_wiki([], tmp_path / "x.parquet", progress=False)


def test_stats_add_up_and_name_at_most_a_hundred_failures():
    total = PrepareStats()
    for _batch in range(3):
        part = PrepareStats()
        part.update("articles_kept", 2)
        part.skip("stub")
        for i in range(60):
            part.fail(str(i), f"Page {i}", ValueError("bad " * 100))
        total.add(part)
    assert total["articles_kept"] == 6 and total["nothing"] == 0
    assert total.skipped == {"stub": 3, "parse_error": 180}
    assert len(total.failures) == MAX_NAMED_FAILURES
    assert total.failures[0]["error"].startswith("ValueError: bad") and len(total.failures[0]["error"]) == 200


def test_the_summary_table_and_its_failure_notes():
    summary = PrepareSummary(
        inputs={"d.xml": "mediawiki"},
        out="p.parquet",
        pages_read=10,
        articles_read=8,
        articles_kept=6,
        skipped_by_reason={"redirect": 2, "stub": 1},
        passages=12,
        words=1200,
        dropped={},
        prose_words=1300,
        prose_words_dropped={"stub_article": 60, "lead_in": 40, "short_text": 0},
        config={},
        seconds=0.5,
        articles_per_s=16.0,
        parse_failures=[{"article_id": "7", "title": "Broken [[page", "error": "ValueError: x"}],
    )
    assert summary.title() == "prepare-wiki -> p.parquet"
    assert summary.rows() == {
        "pages read": 10,
        "articles read": 8,
        "articles kept": 6,
        "skipped: redirect": 2,
        "skipped: stub": 1,
        "passages": 12,
        "words": 1200,
        "prose words read": 1300,
        "prose words dropped: stub_article": 60,
        "prose words dropped: lead_in": 40,
        "seconds": 0.5,
        "articles/s": 16.0,
    }
    assert summary.notes() == ["skipped (wikitext not understood): Broken [[page [7]: ValueError: x"]


def test_a_file_of_several_row_groups_holds_what_one_row_group_holds(tmp_path, monkeypatch):
    from classit_data.wiki import prepare

    _, one = _run(tmp_path, SAMPLE, name="one.parquet")
    monkeypatch.setattr(prepare, "_ROW_GROUP", 10)
    _, many = _run(tmp_path, SAMPLE, name="many.parquet")
    assert one.height > 30 and one.equals(many)


def test_objects_made_before_the_run_are_frozen_while_it_cleans_and_handed_back_after(tmp_path, monkeypatch):
    """The collector does not walk the modules' objects while articles are cleaned; a caller's objects are not
    left frozen when the run is over."""
    import gc

    from classit_data.wiki import prepare

    frozen: list[int] = []
    clean = prepare.process_task

    def counting(*args):
        frozen.append(gc.get_freeze_count())
        return clean(*args)

    monkeypatch.setattr(prepare, "process_task", counting)
    before = gc.get_freeze_count()
    _run(tmp_path, SAMPLE)
    assert frozen and min(frozen) > before + 1000
    assert gc.get_freeze_count() == before


_FORK_OR_SERVER = """
import sys, threading
from classit_data.wiki.config import PrepareConfig
from classit_data.wiki.prepare import _worker_context, prepare_wiki

def main(dump, out):
    assert _worker_context().get_start_method() == "fork"
    prepare_wiki(dump, out + "/forked.parquet", PrepareConfig(workers=2), progress=False)
    stop = threading.Event()
    waiting = threading.Thread(target=stop.wait)
    waiting.start()
    try:
        assert _worker_context().get_start_method() == "forkserver"
        prepare_wiki(dump, out + "/served.parquet", PrepareConfig(workers=2), progress=False)
    finally:
        stop.set()
        waiting.join()

if __name__ == "__main__":  # the fork server imports this file again
    main(*sys.argv[1:])
"""


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_workers_are_forked_unless_another_thread_runs(tmp_path, big_dump):
    """A fork copies the locks other threads hold: with another thread running the workers come from a fork
    server, and give the same passages. In a process of its own: the test runner runs threads of its own."""
    script = tmp_path / "fork_or_server.py"
    script.write_text(_FORK_OR_SERVER)
    done = subprocess.run(
        [sys.executable, str(script), str(big_dump), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    forked, served = pl.read_parquet(tmp_path / "forked.parquet"), pl.read_parquet(tmp_path / "served.parquet")
    assert forked.height > 100 and forked.equals(served)


def test_a_ctrl_c_before_the_first_row_group_leaves_the_earlier_passages_and_no_temporary(tmp_path):
    """The writer must not make its file anew as the interrupted command unwinds (after the Ctrl-C removed
    the temporaries): exit 130, the earlier passages byte for byte, nothing else in the folder."""
    out = tmp_path / "p.parquet"
    out.write_bytes(b"earlier passages")
    script = f"""
import os, signal, sys
from classit_data.core import signals
from classit_data.wiki import prepare

def interrupting(rows):
    os.kill(os.getpid(), signal.SIGINT)

prepare._PassageWriter.add = lambda self, rows: interrupting(rows)
work = lambda: prepare.prepare_wiki([{str(SAMPLE)!r}], {str(out)!r}, progress=False) and 0
sys.exit(signals.supervised(work))
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert out.read_bytes() == b"earlier passages"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]


def test_a_worker_ends_at_the_pools_sigterm_whatever_handler_the_command_set():
    """The pool ends its workers with SIGTERM; a worker must not keep the command's handler (it inherits it by
    fork), or a worker waiting on the pool's queue lock lives on and the run never ends."""
    from classit_data.wiki.config import PassageConfig
    from classit_data.wiki.prepare import _init_worker

    before = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        _init_worker(PassageConfig(), None)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)
