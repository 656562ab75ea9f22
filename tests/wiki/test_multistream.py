"""Multistream dumps read in parallel: the sequential reader's passages exactly, with or without the index; a cut
stream or a wrong index is one line."""

from __future__ import annotations

import bz2
import io
import re
import sys
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.errors import InputError
from classit_data.wiki import prepare_wiki
from classit_data.wiki.config import PrepareConfig
from classit_data.wiki.prepare import available_cores
from classit_data.wiki.readers import multistream
from classit_data.wiki.readers.dump import read_dump
from classit_data.wiki.readers.multistream import plan_streams, read_chunk
from tests.helpers import FIXTURES, ROOT, one_error_line
from tests.wiki.export_xml import write_export_xml, write_multistream

REAL_EXPORT = "wiki_real/enwiki-special-export-20171220.xml.bz2"
NAME = "simplewiki-20250101-pages-articles-multistream.xml.bz2"


def _fixture_xml() -> str:
    """The hard cases, then the bundled sample's pages three times over under fresh ids: several streams."""
    sys.path.insert(0, str(ROOT / "samples"))
    from make_wiki_sample import read_pages

    pages = read_pages(ROOT / "samples" / "simplewiki_sample.pages.txt")
    hard = (FIXTURES / "wiki" / "hard_cases.xml").read_text(encoding="utf-8")
    first, _, _ = hard.rpartition("</mediawiki>")
    more = io.StringIO()
    write_export_xml(({**p, "id": p["id"] + 1000 * k} for k in range(1, 4) for p in pages), more)
    extra = more.getvalue()
    body = extra[extra.index("  <page>") : extra.rindex("</mediawiki>")]
    return first + body + "</mediawiki>\n"


@pytest.fixture
def fixture_dumps(tmp_path) -> tuple[Path, Path, Path]:
    """(the pages as one bz2 stream, the same pages as a multistream dump, its index beside it)."""
    xml = _fixture_xml()
    single = tmp_path / "single" / "simplewiki-20250101-pages-articles.xml.bz2"
    single.parent.mkdir()
    single.write_bytes(bz2.compress(xml.encode("utf-8")))
    dump = tmp_path / NAME
    index = write_multistream(xml, dump, pages_per_stream=7)
    return single, dump, index


@pytest.fixture
def real_dumps(corpora, tmp_path) -> tuple[Path, Path, Path]:
    """The real English Wikipedia export, as it is (one stream) and as a multistream dump of 10 pages a stream."""
    single = corpora / REAL_EXPORT
    if not single.exists():
        pytest.skip(f"{single} is absent")
    dump = tmp_path / NAME
    index = write_multistream(bz2.decompress(single.read_bytes()).decode("utf-8"), dump, pages_per_stream=10)
    return single, dump, index


@pytest.fixture
def one_stream_a_task(monkeypatch):
    """Every stream its own task, so that a small dump still gives the worker pool many tasks."""
    monkeypatch.setattr(multistream, "CHUNK_BYTES", 1)


def _passages(tmp_path, dump, name, **settings):
    out = tmp_path / name
    summary = prepare_wiki(dump, out, PrepareConfig(**settings), progress=False)
    return summary, pl.read_parquet(out)


def _same_run(one, other) -> None:
    """The same passages, in the same order, with the same ids, and the same counts in the summary."""
    (sa, a), (sb, b) = one, other
    assert a.height > 0 and a.equals(b)
    skip = {"inputs", "out", "seconds", "articles_per_s", "read_by_streams", "config", "workers_asked"}
    assert {k: v for k, v in sa.to_json().items() if k not in skip} == {
        k: v for k, v in sb.to_json().items() if k not in skip
    }


@pytest.mark.parametrize("dumps", ["fixture_dumps", "real_dumps"])
def test_parallel_reading_gives_the_sequential_passages(request, dumps, tmp_path, one_stream_a_task):
    single, dump, index = request.getfixturevalue(dumps)
    sequential = _passages(tmp_path, single, "sequential.parquet", workers=2)
    assert sequential[0].read_by_streams == []
    with_index = _passages(tmp_path, dump, "index.parquet", workers=2)
    assert with_index[0].read_by_streams == [str(dump)] and with_index[0].config["workers"] == min(2, available_cores())
    _same_run(with_index, sequential)
    assert plan_streams(dump)[0].page_ids is not None  # the index beside the dump was found and used

    moved = index.rename(tmp_path / "elsewhere-index.txt.bz2")
    scanned = _passages(tmp_path, dump, "scanned.parquet", workers=2)
    assert plan_streams(dump)[0].page_ids is None and len(plan_streams(dump)) > 3
    _same_run(scanned, sequential)
    given = _passages(tmp_path, dump, "given.parquet", workers=2, index=str(moved))
    _same_run(given, sequential)
    in_one_process = _passages(tmp_path, dump, "one.parquet", workers=1)
    _same_run(in_one_process, sequential)


def test_the_streams_hold_the_pages_of_the_sequential_reader(fixture_dumps, one_stream_a_task):
    _, dump, index = fixture_dumps
    pages = list(read_dump(dump))
    chunks = plan_streams(dump)
    assert len(chunks) == -(-len(pages) // 7) and chunks[-1].last
    assert [a for c in chunks for a in read_chunk(c)] == pages
    assert [p for c in chunks for p in c.page_ids] == [a.article_id for a in pages]


def test_files_not_in_wikimedias_layout_are_read_in_one_process(fixture_dumps, tmp_path, one_stream_a_task):
    """One stream, or streams cut mid-page (as pbzip2 writes them): the sequential reader, the same passages."""
    single, _, _ = fixture_dumps
    assert plan_streams(single) is None
    xml = bz2.decompress(single.read_bytes())
    cut = tmp_path / "pbzip2.xml.bz2"
    cut.write_bytes(b"".join(bz2.compress(xml[i : i + 20_000]) for i in range(0, len(xml), 20_000)))
    assert plan_streams(cut) is None
    summary, df = _passages(tmp_path, cut, "cut.parquet", workers=2)
    assert summary.read_by_streams == []
    _same_run((summary, df), _passages(tmp_path, single, "single.parquet", workers=2))


def test_a_limit_reads_in_order(fixture_dumps, tmp_path, one_stream_a_task):
    single, dump, _ = fixture_dumps
    limited = _passages(tmp_path, dump, "limited.parquet", workers=2, limit_articles=30)
    assert limited[0].articles_read == 30 and limited[0].read_by_streams == []
    _same_run(limited, _passages(tmp_path, single, "single.parquet", workers=2, limit_articles=30))


def _cut(dump: Path, at: int) -> Path:
    out = dump.with_name("cut-" + dump.name)
    out.write_bytes(dump.read_bytes()[:at])
    return out


def test_a_truncated_stream_is_one_line_and_no_output(fixture_dumps, tmp_path, cli):
    _, dump, index = fixture_dumps
    index.unlink()
    starts = multistream.scan_streams(dump.read_bytes())
    out = tmp_path / "p.parquet"
    mid_stream = _cut(dump, (starts[-3] + starts[-2]) // 2)
    line = one_error_line(
        cli("prepare-wiki", mid_stream, "--out", out, "--workers", "2"), mid_stream.name, "ends early (truncated"
    )
    assert "compressed byte" in line
    at_boundary = _cut(dump, starts[-1])  # whole page streams, the closing </mediawiki> missing
    one_error_line(cli("prepare-wiki", at_boundary, "--out", out), at_boundary.name, "XML ends early")
    assert not list(tmp_path.glob("p.*"))


def _index_lines(index: Path) -> list[str]:
    return bz2.decompress(index.read_bytes()).decode("utf-8").splitlines()


def _write_index(path: Path, lines: list[str]) -> Path:
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return path


def test_a_wrong_index_is_one_line_naming_it_and_no_output(fixture_dumps, tmp_path, cli):
    _, dump, index = fixture_dumps
    lines = _index_lines(index)
    out = tmp_path / "p.parquet"
    wrong_ids = _write_index(
        tmp_path / "ids-index.txt.bz2", [re.sub(r":(\d+):", ":9\\1:", ln, count=1) for ln in lines]
    )
    shifted = _write_index(
        tmp_path / "shifted-index.txt.bz2", [f"{int(o) + 5}:{r}" for o, r in (ln.split(":", 1) for ln in lines)]
    )
    other = write_multistream(_fixture_xml(), tmp_path / "other" / NAME, pages_per_stream=9)
    past_end = _write_index(tmp_path / "long-index.txt.bz2", [*lines, f"{dump.stat().st_size + 100}:999999:Late"])
    garbage = tmp_path / "garbage-index.txt"
    garbage.write_text("this is not an index\n", encoding="utf-8")
    cases = [
        (wrong_ids, "the index does not match the dump", wrong_ids.name),
        (shifted, "no bz2 stream starts at byte", shifted.name),
        (other, "no bz2 stream starts at byte", str(other)),
        (past_end, "before the stream at byte", dump.name),
        (garbage, "not a multistream index line", garbage.name),
    ]
    for bad, needle, named in cases:
        one_error_line(cli("prepare-wiki", dump, "--out", out, "--index", bad, "--workers", "2"), needle, named)
    assert not list(tmp_path.glob("p.*"))


def test_index_flag_mistakes(fixture_dumps, tmp_path):
    single, dump, index = fixture_dumps
    with pytest.raises(InputError, match="another dump's index"):
        prepare_wiki(single, tmp_path / "p.parquet", PrepareConfig(index=str(index)), progress=False)
    babylm = FIXTURES / "wiki" / "simple_wiki_2024.train"
    with pytest.raises(InputError, match="not a multistream"):
        prepare_wiki(babylm, tmp_path / "p.parquet", PrepareConfig(index=str(index)), progress=False)
    with pytest.raises(InputError, match="goes with one dump"):
        prepare_wiki([dump, single], tmp_path / "p.parquet", PrepareConfig(index=str(index)), progress=False)
    with pytest.raises(InputError, match="no such file"):
        prepare_wiki(dump, tmp_path / "p.parquet", PrepareConfig(index=str(tmp_path / "none")), progress=False)


def test_workers_beyond_the_cores_are_capped_with_a_note(fixture_dumps, tmp_path):
    _, dump, _ = fixture_dumps
    summary, _ = _passages(tmp_path, dump, "p.parquet", workers=available_cores() + 3)
    assert summary.config["workers"] == available_cores()
    assert f"--workers {available_cores() + 3} is more than the {available_cores()} cores" in summary.notes()[0]


def test_an_empty_file_is_left_to_its_reader(tmp_path, cli):
    empty = tmp_path / "empty-pages-articles-multistream.xml.bz2"
    empty.write_bytes(b"")
    assert plan_streams(empty) is None
    one_error_line(cli("prepare-wiki", empty, "--format", "mediawiki", "--out", tmp_path / "p.parquet"), empty.name)
    assert not list(tmp_path.glob("p.*"))
