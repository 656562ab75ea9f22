"""The judge checks of validate: off by default, on when the config sets a threshold and the rows have the
judge's columns; the report shows the score distributions and what each threshold removed."""

from __future__ import annotations

import polars as pl

from classit_data.validate import validate_frame
from classit_data.validate.report import report_markdown
from tests.helpers import good_rows, items_frame, passages_frame


def _judged() -> pl.DataFrame:
    """The good QA rows, scored 5, 2, 4, ... for quality and 5 for the rest; F1 from 1.0 down."""
    df = items_frame([r for r in good_rows() if r["source"] == "simple_wiki"])
    n = df.height
    quality = [5, 2, 4, 1, 3, 5][:n]
    return df.with_columns(
        pl.Series("judge_quality", quality, pl.Int64),
        pl.Series("judge_grounded", [5] * n, pl.Int64),
        pl.Series("judge_roundtrip_f1", [1.0 - 0.3 * i for i in range(n)], pl.Float64),
    )


def test_judge_thresholds_are_off_by_default():
    df = _judged()
    res = validate_frame(df, passages=passages_frame())
    assert res.quarantined.height == 0 and res.kept.height == df.height
    assert res.report["checks_skipped"]["judge_quality"] == "off (min_judge_quality not set)"
    assert res.kept["judge_quality"].to_list() == df["judge_quality"].to_list()  # the columns pass through


def test_judge_thresholds_quarantine_low_scores():
    df = _judged()
    res = validate_frame(df, {"min_judge_quality": 3, "min_judge_roundtrip_f1": 0.5}, passages=passages_frame())
    low_quality = set(df.filter(pl.col("judge_quality") < 3)["id"])
    low_f1 = set(df.filter(pl.col("judge_roundtrip_f1") < 0.5)["id"])
    assert set(res.quarantined["id"]) == low_quality | low_f1 and low_quality and low_f1
    q = res.quarantined.filter(pl.col("id").is_in(list(low_quality)))
    assert (q["reject_reason"] == "judge_quality").all()
    assert q["reject_detail"][0].startswith("judge_quality ") and q["reject_detail"][0].endswith("< 3")
    assert res.report["all_reasons"]["judge_quality"] == len(low_quality)
    assert "judge_quality" not in res.report["checks_skipped"]
    assert res.report["checks_skipped"]["judge_correct"] == "off (min_judge_correct not set)"
    scores = res.report["judge_scores"]["judge_quality"]
    assert sum(scores.values()) == df.height and scores["5"] == df["judge_quality"].to_list().count(5)
    md = report_markdown({**res.report, "inputs": []})
    assert "## Judge scores" in md and f"| >= 3 | {len(low_quality)} |" in md


def test_judge_threshold_without_judge_columns_does_not_run():
    df = items_frame(good_rows())
    res = validate_frame(df, {"min_judge_quality": 3}, passages=passages_frame())
    assert res.quarantined.height == 0
    assert res.report["checks_skipped"]["judge_quality"] == "no judge_quality column in the input"
    assert res.report["judge_scores"] == {}
