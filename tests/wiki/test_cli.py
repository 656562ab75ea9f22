"""`classit-data prepare-wiki` as a user runs it: the real console entry point in a subprocess."""

from __future__ import annotations

import bz2
import json

import polars as pl
import pytest

from classit_data.core.schema import PASSAGE_SCHEMA
from tests.helpers import ROOT

WIKI = ROOT / "tests" / "fixtures" / "wiki"
SAMPLE = ROOT / "samples" / "simplewiki_sample.xml.bz2"


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_prepare_wiki_on_the_bundled_sample(cli, tmp_path):
    out = tmp_path / "passages.parquet"
    proc = cli("prepare-wiki", SAMPLE, "--out", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert "articles kept" in proc.stderr and "skipped: redirect" in proc.stderr
    df = pl.read_parquet(out)
    assert dict(zip(df.columns, df.dtypes)) == PASSAGE_SCHEMA
    assert df.height >= 40 and df["n_words"].max() <= 160 and df["n_words"].min() >= 40


def test_prepare_wiki_json_summary_and_options(cli, tmp_path):
    out = tmp_path / "p.jsonl"
    proc = cli(
        "prepare-wiki",
        SAMPLE,
        WIKI / "simple_wiki_2024.train",
        "--out",
        out,
        "--max-words",
        "90",
        "--min-words",
        "30",
        "--limit-articles",
        "30",
        "--workers",
        "1",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["articles_read"] == 30  # 27 from the dump, 3 from the BabyLM file
    assert summary["inputs"] == {str(SAMPLE): "mediawiki", str(WIKI / "simple_wiki_2024.train"): "babylm"}
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == summary["passages"]
    assert all(30 <= r["n_words"] <= 90 for r in rows)


def test_forced_format(cli, tmp_path):
    ok = cli("prepare-wiki", WIKI / "wikiextractor.json", "--format", "hf", "--out", tmp_path / "a.parquet")
    assert ok.returncode == 0, ok.stderr
    wrong = cli(
        "prepare-wiki", WIKI / "simple_wiki_2024.train", "--format", "mediawiki", "--out", tmp_path / "b.parquet"
    )
    assert "simple_wiki_2024.train (line 1, column 0): malformed XML" in _one_error_line(wrong)
    unknown = cli("prepare-wiki", SAMPLE, "--format", "docx", "--out", tmp_path / "c.parquet")
    assert "unknown format 'docx'" in _one_error_line(unknown)
    assert not list(tmp_path.glob("b.parquet*")) and not list(tmp_path.glob("c.parquet*"))


def test_bad_inputs_get_one_line_with_file_and_position(cli, tmp_path):
    out = tmp_path / "p.parquet"
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(data[: len(data) // 2])
    line = _one_error_line(cli("prepare-wiki", cut, "--out", out))
    assert f"error: {cut} (compressed byte " in line and "ends early" in line

    line = _one_error_line(cli("prepare-wiki", WIKI / "malformed.xml", "--out", out))
    assert line == f"error: {WIKI / 'malformed.xml'} (line 21, column 6): malformed XML: mismatched tag"

    plain = tmp_path / "cut.xml"
    plain.write_bytes(bz2.decompress(data)[:5000])
    assert "XML ends early" in _one_error_line(cli("prepare-wiki", plain, "--out", out))

    png = tmp_path / "picture.xml"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    assert "binary content" in _one_error_line(cli("prepare-wiki", png, "--out", out))
    assert not out.exists()


def test_help_is_made_from_the_settings(cli):
    """Each setting of PrepareConfig is an option whose help is its description and its default."""
    from classit_data.wiki.config import PrepareConfig

    proc = cli("prepare-wiki", "--help", env={"COLUMNS": "250", "TERM": "dumb"})
    assert proc.returncode == 0, proc.stderr
    help_text = " ".join(proc.stdout.split())
    for name, spec in PrepareConfig.flag_specs().items():
        field, flag = spec.field, spec.flags[0]
        assert flag == ("--format" if name == "fmt" else "--" + name.replace("_", "-"))
        shown = field.description + (f" [default: {field.default}]" if field.default is not None else "")
        assert f"{flag} <int> {shown}" in help_text or f"{flag} <str> {shown}" in help_text, (flag, help_text)


def test_inputs_that_are_not_what_they_seem_get_one_line(cli, tmp_path):
    """A dump cut at its start, a Git LFS pointer: exit 2, one line, no output."""
    out = tmp_path / "p.jsonl"
    xml = bz2.decompress(SAMPLE.read_bytes()).decode("utf-8")
    start = xml.index("<title>Category:")
    piece = tmp_path / "piece.xml"
    piece.write_text(xml[xml.rindex("<page>", 0, start) + 2 :], encoding="utf-8")
    line = _one_error_line(cli("prepare-wiki", piece, "--out", out))
    assert line.startswith(
        f"error: {piece}:1: a piece of a MediaWiki XML dump cut at its start (it begins 'age> <title>Category:"
    )
    lfs = tmp_path / "simplewiki.xml.bz2"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 1234\n")
    line = _one_error_line(cli("prepare-wiki", lfs, "--out", out))
    assert line == (
        f"error: {lfs}: a Git LFS pointer, not the file itself (the real file has 1234 bytes): fetch it "
        "with `git lfs pull`"
    )
    assert not list(tmp_path.glob("p.jsonl*"))


@pytest.mark.fresh_interpreter  # two runs' rows compared
def test_a_utf16_dump_gives_the_passages_of_its_utf8_original(cli, tmp_path):
    utf16 = tmp_path / "sample-utf16.xml"
    utf16.write_bytes(bz2.decompress(SAMPLE.read_bytes()).decode("utf-8").encode("utf-16"))
    proc = cli("prepare-wiki", utf16, "--out", tmp_path / "a.parquet", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    proc = cli("prepare-wiki", SAMPLE, "--out", tmp_path / "b.parquet", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    a, b = pl.read_parquet(tmp_path / "a.parquet"), pl.read_parquet(tmp_path / "b.parquet")
    assert a.height > 40 and a.equals(b)
