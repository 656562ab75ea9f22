"""Rows in the published schema (``prompt, reply, source, text`` only, as ``colinglab/CLASS_IT`` or another tool
has them): validated as far as their columns allow, the rest named in the report."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from classit_data.core.errors import InputError
from classit_data.core.io import write_rows
from classit_data.core.schema import ITEM_SCHEMA, PUBLISHED_COLUMNS, Item, complete_rows
from classit_data.validate import validate_frame
from classit_data.validate.validate import validate
from tests.helpers import good_rows, items_frame, passages_frame, qa, sw

ERROR_LINE = re.compile(r"^error: .+: .+$")
PUBLISHED = list(PUBLISHED_COLUMNS)


def published(rows: list[dict] | None = None) -> pl.DataFrame:
    """Hand-written rows of both sources, cut down to the published columns."""
    return items_frame(rows if rows is not None else good_rows()).select(PUBLISHED)


def test_ids_are_derived_from_the_content_and_the_rows_keep_their_schema():
    df = published()
    res = validate_frame(df)
    assert res.quarantined.height == 0 and res.kept.height == df.height
    assert res.kept.columns == ["id", "source", "prompt", "reply", "text"]  # no null provenance columns added
    expected = [Item.make_id(s, None, None, p, r) for s, p, r in df.select("source", "prompt", "reply").iter_rows()]
    assert res.kept["id"].to_list() == expected
    assert res.report["absent_columns"] == [c for c in ITEM_SCHEMA if c not in PUBLISHED]


def test_an_id_that_is_given_is_kept():
    df = items_frame(good_rows()).select("id", *PUBLISHED)
    res = validate_frame(df)
    assert res.kept["id"].to_list() == df["id"].to_list()
    assert "id" not in res.report["absent_columns"] and "doc_id" in res.report["absent_columns"]


def test_every_check_the_columns_allow_runs():
    bad = [
        sw(reply=""),
        sw(prompt="{F Uh, } okay then, right.", position=7),
        qa(prompt="Question: the Moon", reply="It is a satellite of the Earth.", position=8),
        dict(good_rows()[1]),
    ]  # an exact copy of a good row
    res = validate_frame(published(good_rows() + bad), passages=passages_frame())
    assert res.quarantined["reject_reason"].to_list() == [
        "empty_reply",
        "transcription_markup",
        "leftover_label",
        "duplicate_id",
    ]
    skipped = res.report["checks_skipped"]
    no_passage_id = "no passage_id column in the input"
    assert {
        k: skipped[k] for k in ("unknown_passage", "ungrounded", "answer_is_passage", "repeated_question")
    } == dict.fromkeys(("unknown_passage", "ungrounded", "answer_is_passage", "repeated_question"), no_passage_id)
    assert "schema" not in skipped and "duplicate" not in skipped and "not_a_question" not in skipped


def test_the_schema_check_covers_the_columns_given():
    rows = good_rows()
    rows[0] = {**rows[0], "source": "reddit"}
    for strict in (False, True):
        res = validate_frame(published(rows), {"strict_schema": strict})
        assert res.quarantined["reject_reason"].to_list() == ["schema"]
        assert "source" in res.quarantined["reject_detail"][0] and "doc_id" not in res.quarantined["reject_detail"][0]


def test_files_with_and_without_provenance_together(tmp_path):
    full = write_rows(items_frame(good_rows()[:6]), tmp_path / "ours.parquet")
    bare = write_rows(published(good_rows()[6:]), tmp_path / "theirs.jsonl")
    rep = validate([full, bare], tmp_path / "kept.parquet", tmp_path / "q.parquet", tmp_path / "r.json")
    kept = pl.read_parquet(tmp_path / "kept.parquet")
    assert kept.height == 12 and kept.columns[: len(ITEM_SCHEMA)] == list(ITEM_SCHEMA)
    assert kept["doc_id"].null_count() == 6  # our rows keep their provenance, theirs have none
    assert [f.get("absent_columns") for f in rep.inputs] == [None, rep.absent_columns]
    assert "Rows without provenance" in (tmp_path / "r.md").read_text()


def test_complete_rows_needs_the_published_columns():
    with pytest.raises(InputError, match="missing column.s. text"):
        complete_rows(published().drop("text"), "x.parquet")
    df, absent = complete_rows(items_frame(good_rows()))
    assert absent == [] and df.columns == list(ITEM_SCHEMA)


def test_cli_validates_published_rows_and_says_what_it_could_not_check(cli, tmp_path):
    src = write_rows(published(), tmp_path / "CLASS_IT.jsonl")
    out = tmp_path / "out"
    r = cli(
        "validate",
        src,
        "--out",
        out / "kept.parquet",
        "--quarantine",
        out / "q.parquet",
        "--report",
        out / "report.json",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["kept"] == 12 and rep["checks_skipped"]["repeated_question"] == "no passage_id column in the input"
    said = " ".join((r.stdout + r.stderr).split())  # the summary table and its notes
    assert "rows without provenance (no id, doc_id" in said and "not checked: repeated_question" in said


def test_cli_refuses_rows_without_a_published_column(cli, tmp_path):
    src = write_rows(published().drop("reply"), tmp_path / "no_reply.parquet")
    out = tmp_path / "out"
    r = cli(
        "validate",
        src,
        "--out",
        out / "kept.parquet",
        "--quarantine",
        out / "q.parquet",
        "--report",
        out / "report.json",
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]) and "missing column(s) reply" in lines[0]
    assert str(src) in lines[0] and not out.exists()
