"""`validate` and `classit-data validate` end to end: files, report, the invariant, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classit_data.core.io import write_rows
from classit_data.validate import validate_frame
from classit_data.validate.checks import DESCRIPTIONS
from classit_data.validate.validate import ValidationSummary, validate
from tests.helpers import ROOT, good_rows, items_frame, passages_frame, qa, sw

ERROR_LINE = re.compile(r"^error: .+: .+$")


def bad_rows() -> list[dict]:
    return [
        sw(reply=""),
        sw(prompt="{F Uh, } okay then.", position=7),
        qa(prompt="Where does the Nile flow?", reply="Jupiter is a gas giant with storms.", passage="nile", position=9),
    ]


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    good, bad = good_rows(), bad_rows()
    rows_a = good[:6] + bad[:2]
    rows_b = good[6:] + bad[2:] + [dict(good[0])]  # the last: a duplicate across files
    return {
        "a": write_rows(items_frame(rows_a), tmp_path / "a.parquet"),
        "b": write_rows(items_frame(rows_b), tmp_path / "b.jsonl"),
        "passages": write_rows(passages_frame(), tmp_path / "passages.parquet"),
    }


def test_validate_writes_kept_quarantine_and_report(inputs, tmp_path):
    rep = validate(
        [inputs["a"], inputs["b"]],
        tmp_path / "kept.parquet",
        tmp_path / "rej.jsonl",
        tmp_path / "report.json",
        passages=inputs["passages"],
    )
    kept, rej = pl.read_parquet(tmp_path / "kept.parquet"), pl.read_ndjson(tmp_path / "rej.jsonl")
    assert kept.height + rej.height == 16 == rep.input_rows
    assert dict(rej.select("reject_reason").to_series().value_counts().iter_rows()) == {
        "empty_reply": 1,
        "transcription_markup": 1,
        "ungrounded": 1,
        "duplicate_id": 1,
    }
    assert rep.by_reason == {"duplicate_id": 1, "empty_reply": 1, "transcription_markup": 1, "ungrounded": 1}
    assert rep.by_source["switchboard"] == {
        "input": 9,
        "kept": 6,
        "quarantined": 3,
        "by_reason": {"duplicate_id": 1, "empty_reply": 1, "transcription_markup": 1},
    }
    assert rep.by_source["simple_wiki"]["quarantined"] == 1
    assert [f["rows"] for f in rep.inputs] == [8, 8]
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == rep.to_json() and ValidationSummary.model_validate(on_disk) == rep  # the report is the summary
    assert on_disk["kept"] == kept.height and on_disk["examples"]["ungrounded"]["detail"].startswith("0.")
    md = (tmp_path / "report.md").read_text()
    assert "| source | input | kept | quarantined |" in md and "| switchboard | 9 | 6 | 3 |" in md
    assert "| reason | simple_wiki | switchboard | total | what it means |" in md
    assert f"| `ungrounded` | 1 | 0 | 1 | {DESCRIPTIONS['ungrounded']} |" in md
    assert "quarantined **4**" in md and "## One example per reason" in md


def test_validate_takes_its_settings_as_one_object(inputs, tmp_path):
    from classit_data.validate.config import ValidationConfig

    rep = validate(
        inputs["a"],
        tmp_path / "k.parquet",
        tmp_path / "q.parquet",
        tmp_path / "r.json",
        ValidationConfig(dedup=False, max_token_run=6),
    )
    assert rep.config["dedup"] is False and rep.config["max_token_run"] == 6
    assert rep.checks_skipped["duplicate"] == "--no-dedup" and rep.dedup == {}
    # the report names its files relative to its own folder
    assert rep.title() == "validate -> k.parquet" and rep.rows()["seconds"] == rep.seconds["total"]


@st.composite
def mixed_rows(draw):
    """Good rows, broken rows and copies of earlier rows (exact, near, same id), in any order."""
    pool = good_rows()
    rows = []
    for i in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["good", "bad", "copy", "near", "same_id", "schema"]))
        base = dict(draw(st.sampled_from(pool)))
        if kind == "bad":
            base = dict(draw(st.sampled_from(bad_rows())))
        elif kind in ("copy", "near", "same_id") and rows:
            base = dict(draw(st.sampled_from(rows)))
            if kind == "near":
                base["reply"] = base["reply"] + " Right."
                base["id"] = f"near{i:012d}"
            elif kind == "copy":
                base["id"] = f"copy{i:012d}"
        elif kind == "schema":
            base["source"] = "reddit"
        if kind not in ("same_id", "copy", "near"):
            base["id"] = f"{kind}{i:012d}"
        rows.append(base)
    return rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), dedup=st.booleans())
def test_kept_plus_quarantined_is_the_input(data, dedup):
    rows = data.draw(mixed_rows())
    res = validate_frame(items_frame(rows), {"dedup": dedup}, passages=passages_frame())
    assert res.kept.height + res.quarantined.height == len(rows)
    ids_in = sorted(r["id"] for r in rows)
    assert sorted(res.kept["id"].to_list() + res.quarantined["id"].to_list()) == ids_in
    assert res.quarantined["reject_reason"].null_count() == 0
    assert set(res.quarantined["reject_reason"]) <= set(DESCRIPTIONS)
    assert all(r[0] == first for r, first in zip(res.quarantined["reject_reasons"], res.quarantined["reject_reason"]))
    # a duplicate points at a row that stays
    kept_ids = set(res.kept["id"])
    dups = res.quarantined.filter(pl.col("duplicate_of").is_not_null())
    assert set(dups["reject_reason"]) <= {"duplicate", "near_duplicate", "repeated_question", "duplicate_id"}
    assert set(dups["duplicate_of"]) <= kept_ids
    assert res.report["kept"] + res.report["quarantined"] == res.report["input_rows"] == len(rows)
    assert sum(res.report["by_reason"].values()) == res.quarantined.height
    assert sum(v["input"] for v in res.report["by_source"].values()) == len(rows)


def test_cli_validate_with_config_flags_and_set(cli, inputs, tmp_path):
    cfg = tmp_path / "thresholds.yaml"
    cfg.write_text("min_grounding: 0.0\nmax_token_run: 7\n")
    out = tmp_path / "out"
    r = cli(
        "validate",
        inputs["a"],
        inputs["b"],
        "--out",
        out / "kept.parquet",
        "--quarantine",
        out / "rej.parquet",
        "--report",
        out / "report.json",
        "--passages",
        inputs["passages"],
        "--config",
        cfg,
        "--max-token-run",
        "6",
        "--set",
        "min_question_words=2",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["config"]["min_grounding"] == 0.0 and rep["config"]["max_token_run"] == 6
    assert rep["config"]["min_question_words"] == 2
    # the good row with "no" seven times in a row now loops; the ungrounded one passes with min_grounding 0
    assert rep["by_reason"].get("looping") == 1 and "ungrounded" not in rep["by_reason"]
    assert rep["kept"] + rep["quarantined"] == 16
    assert (out / "report.md").is_file()
    assert json.loads((out / "report.json").read_text()) == rep  # what --json prints is the report
    r = cli(
        "validate",
        inputs["a"],
        "--out",
        out / "k2.parquet",
        "--quarantine",
        out / "q2.parquet",
        "--report",
        out / "r2.json",
        "--no-dedup",
    )
    assert r.returncode == 0, r.stderr
    assert "kept" in r.stderr and "not checked: grounding" in r.stderr


def test_cli_flags_are_made_from_the_settings_and_win_over_the_config_file(cli, inputs, tmp_path):
    r = cli("validate", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0
    for flag in ("--no-dedup", "--strict-schema", "--min-grounding", "--near-dup-threshold", "--set", "--config"):
        assert flag in r.stdout, flag
    assert "--markup-pattern" not in r.stdout  # a regex is set in a file or with --set
    cfg = tmp_path / "thresholds.yaml"
    cfg.write_text("dedup: false\nstrict_schema: true\nmax_token_run: 3\n")
    out = tmp_path / "out"
    r = cli(
        "validate",
        inputs["a"],
        "--out",
        out / "kept.parquet",
        "--quarantine",
        out / "rej.parquet",
        "--report",
        out / "report.json",
        "--config",
        cfg,
        "--dedup",
        "--no-strict-schema",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["config"]["dedup"] is True and rep["config"]["strict_schema"] is False
    assert rep["config"]["max_token_run"] == 3  # not given on the command line: the file's
    assert "duplicate" not in rep["checks_skipped"] and rep["dedup"]["rows"] > 0


@pytest.mark.parametrize(
    "case",
    [
        "missing_file",
        "missing_column",
        "wrong_type",
        "not_rows",
        "bad_flag",
        "unknown_set",
        "bad_set",
        "bad_config",
        "bad_passages",
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(cli, inputs, tmp_path, case):
    out = tmp_path / "out"
    args = [inputs["a"]]
    extra: list = []
    if case == "missing_file":
        args = [tmp_path / "nope.parquet"]
    elif case == "missing_column":
        args = [write_rows(pl.read_parquet(inputs["a"]).drop("reply"), tmp_path / "m.parquet")]  # a published column
    elif case == "wrong_type":
        args = [
            write_rows(
                pl.read_parquet(inputs["a"]).with_columns(pl.col("position").cast(pl.String)), tmp_path / "w.parquet"
            )
        ]
    elif case == "not_rows":
        (tmp_path / "junk.jsonl").write_text("{not json\n")
        args = [tmp_path / "junk.jsonl"]
    elif case == "bad_flag":
        extra = ["--min-grounding", "2"]
    elif case == "unknown_set":
        extra = ["--set", "no_such_threshold=1"]
    elif case == "bad_set":
        extra = ["--set", "min_grounding=2"]
    elif case == "bad_config":
        (tmp_path / "c.yaml").write_text("min_grounding: [\n")
        extra = ["--config", tmp_path / "c.yaml"]
    elif case == "bad_passages":
        extra = ["--passages", inputs["a"]]  # item rows, not passages: no text column
        args = [
            write_rows(
                pl.read_parquet(inputs["a"]).drop("text").with_columns(pl.lit("x").alias("text")),
                tmp_path / "items.parquet",
            )
        ]
        extra = ["--passages", write_rows(pl.DataFrame({"passage_id": ["a"]}), tmp_path / "p.parquet")]
    r = cli(
        "validate",
        *args,
        "--out",
        out / "kept.parquet",
        "--quarantine",
        out / "rej.parquet",
        "--report",
        out / "report.json",
        *extra,
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_bundled_switchboard_sample_through_converter_and_validator(tmp_path):
    """The converter's own output on the bundled sample passes, except what a reviewer would drop too."""
    from classit_data.switchboard.convert import convert_switchboard

    items = tmp_path / "items.parquet"
    convert_switchboard([ROOT / "samples" / "switchboard_sample.train"], items, progress=False)
    rep = validate(items, tmp_path / "k.parquet", tmp_path / "q.parquet", tmp_path / "r.json")
    assert rep.input_rows > 0 and rep.kept + rep.quarantined == rep.input_rows
    assert rep.quarantined <= 0.05 * rep.input_rows, rep.by_reason


def test_real_switchboard_through_converter_and_validator(corpora, tmp_path):
    """40k real turn pairs: almost every row passes; what fails is markup, echoes and goodbyes said twice."""
    from classit_data.switchboard.convert import convert_switchboard

    items = tmp_path / "items.parquet"
    convert_switchboard([corpora / "babylm" / "switchboard.train"], items, progress=False)
    rep = validate(items, tmp_path / "k.parquet", tmp_path / "q.parquet", tmp_path / "r.json")
    assert rep.input_rows > 30_000
    assert rep.quarantined < 0.002 * rep.input_rows, rep.by_reason
    assert set(rep.by_reason) <= {
        "transcription_markup",
        "reply_copies_prompt",
        "duplicate",
        "near_duplicate",
        "looping",
        "repetition",
        "broken_encoding",
    }
