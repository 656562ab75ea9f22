"""``validate``, the quality gate: every row is checked, duplicates go, and nothing leaves the dataset silently.

``validate`` = read -> check rows -> drop repeats -> split -> report -> write, all vectorised with polars
(a Python loop over 130k rows is what this avoids); ``validate_frame`` is the same on rows in memory:

1. *check rows* (``classit_data.validate.checks.CHECKS``): a row failing any row check is quarantined with
   all its reasons (``reject_reasons``), the first in ``CHECKS`` order as ``reject_reason`` and a readable
   ``reject_detail`` for that one;
2. *drop repeats*, among the rows that passed step 1 only (so a bad first copy never pushes out a good
   later one): a repeated id, a QA question asked twice about one passage, then exact and near duplicates
   (``classit_data.validate.dedup``). The first occurrence stays; the others name it in ``duplicate_of``;
3. *split* the input into kept rows (the input's columns) and quarantined rows (plus the reasons).

Kept + quarantined = input, always; the report counts rows per reason and per source.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from classit_data.core.io import atomic_write_text, check_row_file, write_rows
from classit_data.core.outputs import Outputs, replaced_together
from classit_data.core.resources import portable_name
from classit_data.core.schema import complete_rows
from classit_data.core.summary import Summary
from classit_data.validate.checks import (
    CHECK_BY_NAME,
    JUDGE_COLUMNS,
    Check,
    row_checks,
    skipped_checks,
    unchecked_columns,
)
from classit_data.validate.config import ValidationConfig
from classit_data.validate.dedup import DedupConfig, find_duplicates
from classit_data.validate.features import PROMPT, REPLY, features, pydantic_errors
from classit_data.validate.inputs import (
    absent_columns,
    check_schema_types,
    passage_table,
    read_items,
    read_passage_table,
)
from classit_data.validate.report import (
    build_report,
    examples,
    markdown_path,
    report_markdown,
)

#: the columns the quarantine adds to the input's
REJECT_COLUMNS = ("reject_reason", "reject_reasons", "reject_detail", "duplicate_of")
_HITS_SCHEMA = {
    "_row": pl.UInt32,
    "_target": pl.UInt32,
    "reject_detail": pl.String,
    "reject_reasons": pl.List(pl.String),
}


@dataclass
class ValidationStats:
    """What a validation measured besides its rows: seconds per step and the deduplicator's counts.

    Not a ``core.counts.Counts``: these are timings and one copied dict, never summed over workers."""

    seconds: dict[str, float] = field(default_factory=dict)
    dedup: dict = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - started


@dataclass
class ValidationResult:
    """``validate_frame``'s answer: the kept rows, the quarantined rows and the report (a JSON mapping)."""

    kept: pl.DataFrame
    quarantined: pl.DataFrame
    report: dict


class ValidationSummary(Summary):
    """What ``validate`` read, kept and quarantined (by reason, by source), the checks that did not run, the
    thresholds and the seconds per step: the report written to ``--report``, an example per reason included."""

    inputs: list[dict[str, Any]]
    passages: str | None
    tokenizer: str | None
    outputs: dict[str, str]
    input_rows: int
    kept: int
    quarantined: int
    by_reason: dict[str, int]
    all_reasons: dict[str, int]
    by_source: dict[str, dict[str, Any]]
    checks: dict[str, str]
    checks_skipped: dict[str, str]
    judge_scores: dict[str, dict[str, int]]
    absent_columns: list[str]
    dedup: dict[str, Any]
    config: dict[str, Any]
    seconds: dict[str, float]
    examples: dict[str, dict[str, Any]]

    def title(self) -> str:
        return f"validate -> {self.outputs['kept']}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {"input rows": self.input_rows, "kept": self.kept, "quarantined": self.quarantined}
        rows.update({f"  {reason}": n for reason, n in self.by_reason.items()})
        for source, v in self.by_source.items():
            rows[source] = f"{v['kept']:,} kept of {v['input']:,}"
        rows["report"] = f"{self.outputs['report']} (+ .md)"
        rows["seconds"] = self.seconds["total"]
        return rows

    def notes(self) -> list[str]:
        """The checks that did not run and a reader would miss: grounding, and those of rows without provenance."""
        notes = [
            f"not checked: grounding of QA answers ({why})"
            for reason, why in self.checks_skipped.items()
            if reason == "ungrounded"
        ]
        if self.absent_columns:
            lacking = [name for name, why in self.checks_skipped.items() if why.endswith("column in the input")]
            notes.append(
                f"rows without provenance (no {', '.join(self.absent_columns)})"
                + (f"; not checked: {', '.join(lacking)}" if lacking else "")
            )
        return notes


def check_rows(
    df: pl.DataFrame, cfg: ValidationConfig, passages: pl.DataFrame | None, tokenizer, absent: Collection[str] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Step 1: (rows failing a check: ``_row``, reasons, detail; rows passing every check, with their features)."""
    checks = row_checks(
        tokens=tokenizer is not None,
        passages=passages is not None,
        cfg=cfg,
        absent=unchecked_columns(df, absent),
        eval=bool(cfg.eval_contamination),
    )
    feats = features(df, cfg, passages, tokenizer, absent, carried=JUDGE_COLUMNS).with_row_index("_row")
    feats = feats.with_columns(*[check.failing(cfg).alias(f"_fail_{check.name}") for check in checks])
    fails = {check.name: pl.col(f"_fail_{check.name}") for check in checks}
    any_fail = pl.any_horizontal(*fails.values())
    # reasons and details only for the failing rows: formatting every row's would cost more than the checks
    failed = feats.filter(any_fail).select(
        "_row",
        pl.concat_list([pl.when(fail).then(pl.lit(name)) for name, fail in fails.items()])
        .list.drop_nulls()
        .alias("reject_reasons"),
        pl.coalesce([pl.when(fails[c.name]).then(c.explain(cfg)) for c in checks]).alias("reject_detail"),
        pl.lit(None, dtype=pl.String).alias("duplicate_of"),
    )
    passed = feats.filter(~any_fail).select(
        "_row", "id", "source", "passage_id", "doc_id", PROMPT.normalized, REPLY.normalized
    )
    return failed, passed


class _Repeats:
    """Step 2's bookkeeping: each check takes its rows out of what the next check sees, and records them."""

    def __init__(self, cfg: ValidationConfig) -> None:
        self.cfg = cfg
        self.hits: list[pl.DataFrame] = []

    def mark(self, rows: pl.DataFrame, target_row: pl.Expr, check: Check) -> pl.DataFrame:
        """Record the rows whose ``target_row`` (the earlier row they repeat) is set; the others go on."""
        hits = rows.select(
            "_row", target_row.cast(pl.UInt32).alias("_target"), check.explain(self.cfg).alias("reject_detail")
        ).filter(pl.col("_target").is_not_null())
        self.hits.append(hits.with_columns(pl.lit([check.name], dtype=pl.List(pl.String)).alias("reject_reasons")))
        return rows.filter(~pl.col("_row").is_in(hits.get_column("_row").implode()))

    def frame(self) -> pl.DataFrame:
        return pl.concat(self.hits) if self.hits else pl.DataFrame(schema=_HITS_SCHEMA)


def _dedup_config(cfg: ValidationConfig) -> DedupConfig:
    return DedupConfig(
        near=True,
        threshold=cfg.near_dup_threshold,
        num_perm=cfg.dedup_num_perm,
        shingle_size=cfg.dedup_shingle_size,
        seed=cfg.dedup_seed,
    )


def drop_repeats(
    rows: pl.DataFrame, ids: pl.Series, cfg: ValidationConfig, stats: ValidationStats, skipped: Collection[str] = ()
) -> pl.DataFrame:
    """Step 2, over the rows that passed step 1, in input order; each check sees what the last one kept.

    Repeats point at row numbers first; chains (a copy of a row that is itself dropped later as a copy of
    an earlier one) are followed to the row that stays, then named by its id (``ids``: of all input rows).
    ``skipped``: checks that cannot run on these rows (``checks.skipped_checks``).
    """
    repeats = _Repeats(cfg)
    first_row = pl.col("_row").first()
    rows = repeats.mark(
        rows,
        pl.when(pl.col("id").is_first_distinct()).then(None).otherwise(first_row.over("id")),
        CHECK_BY_NAME["duplicate_id"],
    )
    asked, group = CHECK_BY_NAME["repeated_question"], pl.coalesce("passage_id", "doc_id")
    if asked.name not in skipped:
        key = (group, PROMPT.normalized, "source")  # the same question, about the same passage
        rows = repeats.mark(
            rows,
            pl.when(~asked.on_sources() | pl.struct(*key).is_first_distinct())
            .then(None)
            .otherwise(first_row.over(*key)),
            asked,
        )
    if cfg.dedup:
        texts = rows.select(
            pl.col("_row").cast(pl.String).alias("id"),
            pl.col(PROMPT.normalized).alias("prompt"),
            pl.col(REPLY.normalized).alias("reply"),
        )
        result = find_duplicates(texts, _dedup_config(cfg), normalize=False)
        stats.dedup = result.counts
        rows = rows.with_columns(result.duplicate_of.cast(pl.UInt32).alias("_dup_row"), result.kind, result.similarity)
        rows = repeats.mark(
            rows, pl.when(pl.col("duplicate_kind") == "exact").then(pl.col("_dup_row")), CHECK_BY_NAME["duplicate"]
        )
        repeats.mark(
            rows, pl.when(pl.col("duplicate_kind") == "near").then(pl.col("_dup_row")), CHECK_BY_NAME["near_duplicate"]
        )
    return _name_kept_rows(repeats.frame(), ids)


def _name_kept_rows(hits: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """``duplicate_of``: the id of the row that stays, each chain of repeats followed to its end."""
    target_of = dict(zip(hits.get_column("_row").to_list(), hits.get_column("_target").to_list()))
    final = []
    for target in hits.get_column("_target").to_list():
        while target in target_of:  # targets are always earlier rows, so this ends
            target = target_of[target]
        final.append(ids[target])
    return hits.with_columns(pl.Series("duplicate_of", final, dtype=pl.String)).select(
        "_row", "reject_reasons", "reject_detail", "duplicate_of"
    )


def split_rows(
    df: pl.DataFrame, rejected: pl.DataFrame, absent: Collection[str] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Step 3: kept rows (the input's columns) and quarantined rows (plus ``REJECT_COLUMNS``), in input order.

    ``absent``: columns the input came without, left out again (a derived ``id`` stays)."""
    columns = [c for c in df.columns if c == "id" or c not in absent]
    rejected = rejected.with_columns(pl.col("reject_reasons").list.first().alias("reject_reason"))
    tagged = df.with_row_index("_row")
    is_rejected = pl.col("_row").is_in(rejected.get_column("_row").implode())
    kept = tagged.filter(~is_rejected).select(columns)
    quarantined = (
        tagged.filter(is_rejected)
        .join(rejected, on="_row", how="left", maintain_order="left")
        .select(*columns, *REJECT_COLUMNS)
    )
    return kept, _explain_schema_failures(quarantined, absent)


def _explain_schema_failures(quarantined: pl.DataFrame, absent: Collection[str]) -> pl.DataFrame:
    """pydantic's ``Item`` explains what the vectorised schema check flagged."""
    schema_idx = quarantined.select((pl.col("reject_reason") == "schema").arg_true()).to_series().to_list()
    if not schema_idx:
        return quarantined
    details = quarantined.get_column("reject_detail").to_list()
    for i, text in zip(schema_idx, pydantic_errors(quarantined[schema_idx], absent)):
        details[i] = text
    return quarantined.with_columns(pl.Series("reject_detail", details, dtype=pl.String))


def validate_frame(
    df: pl.DataFrame,
    config: ValidationConfig | Mapping | str | Path | None = None,
    *,
    passages: pl.DataFrame | None = None,
    tokenizer=None,
    absent: Collection[str] | None = None,
    dropped: Collection[str] | None = None,
) -> ValidationResult:
    """Check item rows; split them into kept rows (input columns) and quarantined rows (plus the reasons).

    ``passages``: passage rows (``PASSAGE_SCHEMA`` or ``read_passage_table``); ``tokenizer``: a loaded tokenizer
    (``lengths.load_counting_tokenizer``). Rows in the published schema (``prompt, reply, source, text``) are
    checked as far as their columns allow: ``absent`` names the provenance columns the rows came without
    (None: those ``df`` lacks, then added by ``complete_rows``), ``dropped`` the ones left out of the results
    again (None: ``absent``).
    """
    cfg = config if isinstance(config, ValidationConfig) else ValidationConfig.load(config)
    passages = passage_table(passages) if passages is not None else None
    if absent is None:
        df, absent = complete_rows(df)
    stats = ValidationStats()
    given = {
        "tokens": tokenizer is not None,
        "passages": passages is not None,
        "dedup": cfg.dedup,
        "eval": bool(cfg.eval_contamination),
    }
    with stats.timed("checks"):
        df = check_schema_types(df)
        failed, passed = check_rows(df, cfg, passages, tokenizer, absent)
    with stats.timed("duplicates"):
        skipped = skipped_checks(**given, absent=unchecked_columns(df, absent), cfg=cfg)
        repeated = drop_repeats(passed, df.get_column("id"), cfg, stats, skipped)
    with stats.timed("split"):
        kept, quarantined = split_rows(df, pl.concat([failed, repeated]), absent if dropped is None else dropped)
    report = build_report(
        df,
        kept,
        quarantined,
        cfg,
        dedup_counts=stats.dedup,
        seconds=stats.seconds,
        tokens=given["tokens"],
        passages=given["passages"],
        absent=absent,
    )
    return ValidationResult(kept, quarantined, report)


def validate(
    inputs: str | Path | Sequence[str | Path],
    out: str | Path,
    quarantine: str | Path,
    report: str | Path,
    settings: ValidationConfig | None = None,
    *,
    passages: str | Path | None = None,
    tokenizer: str | Path | None = None,
) -> ValidationSummary:
    """Check item rows, drop duplicates, and keep every rejected row aside with its reasons.

    Inputs:
        inputs: item rows (.parquet or .jsonl), in the item schema or the published one (``prompt, reply,
            source, text``: the checks that need provenance do not run).
        settings: :class:`~classit_data.validate.config.ValidationConfig` (defaults when None).
        passages: the passage file the QA rows were generated from (the grounding checks are skipped without it).
        tokenizer: a local tokenizer folder, or ``embedded``, for the token bounds.

    Outputs:
        out: the rows that pass, with the input's columns.
        quarantine: the rows that fail, plus ``reject_reason``, ``reject_reasons``, ``reject_detail``,
            ``duplicate_of``.
        report: the summary as JSON, and a Markdown copy beside it (``.md``).

    All four are replaced together, or none is. Kept + quarantined = input, checked on every run.
    """
    started = time.perf_counter()
    cfg = settings if settings is not None else ValidationConfig()
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    check_row_file("--out", out)
    check_row_file("--quarantine", quarantine)
    targets = {
        "--out": out,
        "--quarantine": quarantine,
        "--report": report,
        "--report's Markdown copy": markdown_path(report),
    }
    with replaced_together(targets, {"an input": inputs, "--passages": [passages] if passages else []}) as outs:
        figures = _validate_files(inputs, cfg, passages, tokenizer, outs)
        figures["seconds"]["total"] = round(time.perf_counter() - started, 3)
        summary = ValidationSummary(**figures)
        record = summary.to_json()
        atomic_write_text(outs.path("--report"), json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(outs.path("--report's Markdown copy"), report_markdown(record))
    return summary


def _validate_files(inputs: list, cfg: ValidationConfig, passages, tokenizer, outs: Outputs) -> dict:
    """Read, validate and write the two row files to ``outs``' temporary files; the summary's figures."""
    stats = ValidationStats()
    with stats.timed("read"):
        df, files = read_items(inputs)
        ptab = read_passage_table(passages) if passages is not None else None
        tok = None
        if tokenizer is not None:
            from classit_data.core.lengths import load_counting_tokenizer

            tok = load_counting_tokenizer(tokenizer)
    absent, dropped = absent_columns(files)
    result = validate_frame(df, cfg, passages=ptab, tokenizer=tok, absent=absent, dropped=dropped)
    if result.kept.height + result.quarantined.height != df.height:  # the invariant, checked on every run
        raise AssertionError(f"{result.kept.height} kept + {result.quarantined.height} quarantined != {df.height}")
    with stats.timed("write"):
        write_rows(result.kept, outs.path("--out"))
        write_rows(result.quarantined, outs.path("--quarantine"))
    rep = result.report
    rep["seconds"] = {
        "read": round(stats.seconds["read"], 3),
        **rep["seconds"],
        "write": round(stats.seconds["write"], 3),
    }
    targets = outs.targets
    here = targets["--report"].parent  # files named relative to the report: a moved folder still links up
    return {
        "inputs": [{**f, "path": portable_name(f["path"], here)} for f in files],
        "passages": portable_name(passages, here) if passages is not None else None,
        "tokenizer": str(tokenizer) if tokenizer is not None else None,
        "outputs": {
            "kept": portable_name(targets["--out"], here),
            "quarantine": portable_name(targets["--quarantine"], here),
            "report": portable_name(targets["--report"], here),
            "markdown": portable_name(targets["--report's Markdown copy"], here),
        },
        **rep,
        "examples": examples(result.quarantined),
    }
