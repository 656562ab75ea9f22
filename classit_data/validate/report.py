"""The validation report: rows per reason and per source, the checks that could not run, one example per reason.

Written as JSON (for scripts) and as Markdown beside it (for a reader).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from classit_data.validate.checks import DESCRIPTIONS, JUDGE_COLUMNS, skipped_checks, unchecked_columns
from classit_data.validate.config import ValidationConfig


def _counts(df: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows per value of ``column``, most first (ties by value)."""
    if not df.height:
        return {}
    counts = df.group_by(pl.col(column).fill_null("null")).len().sort(["len", column], descending=[True, False])
    return {str(k): int(v) for k, v in counts.iter_rows()}


def _by_source(df: pl.DataFrame, kept: pl.DataFrame, quarantined: pl.DataFrame) -> dict[str, dict]:
    out = {}
    for source in sorted(set(_counts(df, "source"))):
        sel = pl.col("source").fill_null("null") == source
        q = quarantined.filter(sel)
        out[source] = {
            "input": df.filter(sel).height,
            "kept": kept.filter(sel).height,
            "quarantined": q.height,
            "by_reason": _counts(q, "reject_reason"),
        }
    return out


def build_report(
    df: pl.DataFrame,
    kept: pl.DataFrame,
    quarantined: pl.DataFrame,
    cfg: ValidationConfig,
    *,
    dedup_counts: dict,
    seconds: dict[str, float],
    tokens: bool,
    passages: bool,
    absent: Sequence[str] = (),
) -> dict:
    """The report of one validation: counts, the checks (and those skipped), the thresholds, the time per step."""
    all_reasons = (
        _counts(quarantined.select(pl.col("reject_reasons").explode().alias("r")), "r") if quarantined.height else {}
    )
    return {
        "input_rows": df.height,
        "kept": kept.height,
        "quarantined": quarantined.height,
        "by_reason": _counts(quarantined, "reject_reason"),
        "all_reasons": all_reasons,
        "by_source": _by_source(df, kept, quarantined),
        "checks": dict(DESCRIPTIONS),
        "checks_skipped": skipped_checks(
            tokens=tokens,
            passages=passages,
            dedup=cfg.dedup,
            absent=unchecked_columns(df, absent),
            eval=bool(cfg.eval_contamination),
            cfg=cfg,
        ),
        "judge_scores": judge_score_counts(df),
        "absent_columns": list(absent),
        "dedup": dedup_counts,
        "config": cfg.model_dump(),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


def judge_score_counts(df: pl.DataFrame) -> dict[str, dict[str, int]]:
    """How many input rows have each judge score (F1 in tenths), by column; empty without judge columns."""
    out = {}
    for col in (c for c in JUDGE_COLUMNS if c in df.columns):
        values = df.get_column(col)
        if values.dtype.is_float():
            values = (values * 10).floor() / 10
        counts = values.value_counts().sort(col)
        out[col] = {("none" if v is None else str(v)): int(n) for v, n in counts.iter_rows()}
    return out


def examples(quarantined: pl.DataFrame, width: int = 100) -> dict[str, dict]:
    """One quarantined row per reason (the first), shortened, so a reader sees what each reason catches."""
    out = {}
    if not quarantined.height:
        return out
    firsts = quarantined.filter(pl.col("reject_reason").is_first_distinct())
    for row in firsts.iter_rows(named=True):
        cut = lambda s: None if s is None else (s if len(s) <= width else s[: width - 1] + "…")  # noqa: E731
        out[row["reject_reason"]] = {
            "id": row["id"],
            "source": row["source"],
            "prompt": cut(row["prompt"]),
            "reply": cut(row["reply"]),
            "detail": row["reject_detail"],
            "duplicate_of": row["duplicate_of"],
        }
    return out


def markdown_path(report: str | Path) -> Path:
    """Where the Markdown copy of a report goes: beside it, with ``.md``."""
    p = Path(report)
    return p.with_suffix(".md") if p.suffix.lower() != ".md" else p.with_name(p.name + ".md")


def _reason_table(rep: dict) -> list[str]:
    sources = list(rep["by_source"])
    if not rep["by_reason"]:
        return ["None: every row passed."]
    lines = [
        "| reason | " + " | ".join(sources) + " | total | what it means |",
        "| --- | " + " | ".join("---:" for _ in sources) + " | ---: | --- |",
    ]
    for reason, total in rep["by_reason"].items():
        per = [f"{rep['by_source'][s]['by_reason'].get(reason, 0):,}" for s in sources]
        lines.append(f"| `{reason}` | " + " | ".join(per) + f" | {total:,} | {DESCRIPTIONS.get(reason, '')} |")
    return lines


def _example_lines(rep: dict) -> list[str]:
    lines = ["", "## One example per reason", ""]
    for reason, ex in rep["examples"].items():
        lines.append(f"- `{reason}` ({ex['source']}, `{ex['id']}`): {ex['detail']}")
        lines.append(f"  - prompt: {json.dumps(ex['prompt'], ensure_ascii=False)}")
        lines.append(f"  - reply: {json.dumps(ex['reply'], ensure_ascii=False)}")
        if ex.get("duplicate_of"):
            lines.append(f"  - duplicate of `{ex['duplicate_of']}`")
    return lines


def _judge_lines(rep: dict) -> list[str]:
    """The judge's score distributions, and the rows each judge threshold takes out (failing it at all)."""
    lines = [
        "",
        "## Judge scores",
        "",
        "| column | rows per score | threshold | rows failing it |",
        "| --- | --- | --- | ---: |",
    ]
    for col, counts in rep["judge_scores"].items():
        limit = rep["config"].get(f"min_{col}")
        failing = rep.get("all_reasons", {}).get(col, 0)
        lines.append(
            f"| `{col}` | "
            + ", ".join(f"{k}: {v:,}" for k, v in counts.items())
            + f" | {'off' if limit is None else f'>= {limit}'} | {failing:,} |"
        )
    return lines


def report_markdown(rep: dict) -> str:
    """The report as Markdown: totals, rows per reason and source, an example per reason."""
    lines = [
        "# Validation report",
        "",
        f"Input rows: **{rep['input_rows']:,}**; kept **{rep['kept']:,}**; quarantined **{rep['quarantined']:,}**.",
        "",
        "Inputs: " + ", ".join(f"`{f['path']}` ({f['rows']:,})" for f in rep["inputs"]),
        "",
    ]
    lines += ["| source | input | kept | quarantined |", "| --- | ---: | ---: | ---: |"]
    for s, v in rep["by_source"].items():
        lines.append(f"| {s} | {v['input']:,} | {v['kept']:,} | {v['quarantined']:,} |")
    lines.append(f"| **total** | {rep['input_rows']:,} | {rep['kept']:,} | {rep['quarantined']:,} |")
    lines += ["", "## Quarantined rows by reason (first failing check)", "", *_reason_table(rep)]
    if rep.get("absent_columns"):
        lines += [
            "",
            f"Rows without provenance: the input had no {', '.join(rep['absent_columns'])} column(s)"
            + (" (ids derived from source, prompt and reply)" if "id" in rep["absent_columns"] else "")
            + "; the schema check covered the columns given.",
        ]
    if rep.get("checks_skipped"):
        lines += ["", "Checks not run: " + ", ".join(f"`{k}` ({v})" for k, v in rep["checks_skipped"].items()) + "."]
    if rep.get("judge_scores"):
        lines += _judge_lines(rep)
    if rep.get("examples"):
        lines += _example_lines(rep)
    d = rep.get("dedup") or {}
    if d:
        lines += [
            "",
            f"Deduplication: {d.get('exact', 0):,} exact and {d.get('near', 0):,} near duplicates "
            f"({d.get('near_candidates', 0):,} rows shared an LSH band and were compared).",
        ]
    lines += ["", f"Seconds: {', '.join(f'{k} {v}' for k, v in rep['seconds'].items())}.", ""]
    return "\n".join(lines)
