"""``judge``: QA rows and their passages in, the same rows with ``judge_*`` score columns out.

The work is :func:`~classit_data.generate.generate.run_task`'s, as for ``generate-wiki``: a unit of work is a
passage with all its pairs (:class:`~classit_data.generate.judge_task.JudgeTask` makes one request of it),
so chunk files, resume after ``kill -9``, shards, replicas, engines and ``run.json`` are the same. Files in
``out_dir``: ``judged.parquet`` (the judged rows), ``judge_rejects.parquet`` (each pair whose judgement
could not be read, with the raw reply and why), ``summary.json``, ``run.json`` and ``chunks/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError
from classit_data.core.io import read_rows
from classit_data.core.summary import Summary
from classit_data.generate.chunks import ids_fingerprint
from classit_data.generate.config import JudgeConfig
from classit_data.generate.executors import make_task
from classit_data.generate.generate import TaskRun, ThisRun, read_passage_rows, run_task
from classit_data.generate.judge_task import SCORES, Judgement, JudgeTask, token_f1
from classit_data.generate.projection import Projection
from classit_data.generate.stats import GenerationStats
from classit_data.generate.verify import verified_rows

JUDGE_COLUMNS: dict[str, pl.DataType] = {
    **{f"judge_{s}": pl.Int64 for s in SCORES},
    "judge_reason": pl.String,
    "judge_answer": pl.String,
    "judge_roundtrip_f1": pl.Float64,
    "judge_model": pl.String,
    "judge_model_revision": pl.String,
    "judge_prompt_hash": pl.String,
    "judge_sampling": pl.String,
}
JUDGE_REJECT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String,
    "passage_id": pl.String,
    "position": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw": pl.String,
    "finish_reason": pl.String,
    "output_tokens": pl.Int64,
    "judge_model": pl.String,
    "judge_model_revision": pl.String,
    "judge_prompt_hash": pl.String,
    "judge_sampling": pl.String,
}


def read_rows_to_judge(path: Path) -> pl.DataFrame:
    """The QA rows, an id kept once, without the judge columns of an earlier judgement."""
    df = read_rows(path, required=("id", "prompt", "reply", "passage_id"))
    if df.height == 0:
        raise InputError("no rows to judge in the file", path)
    bad = df.with_row_index("row").filter(pl.col("passage_id").is_null() | pl.col("id").is_null())
    if bad.height:
        raise InputError("row without id or passage_id", path, f"row {bad['row'][0] + 1}")
    df = df.drop([c for c in df.columns if c in JUDGE_COLUMNS])
    return df.unique("id", keep="first", maintain_order=True)


def judge_units(rows: pl.DataFrame, passages: pl.DataFrame, rows_path: Path) -> pl.DataFrame:
    """One unit per passage the rows name, in the rows' order, holding its pairs (``id``, question, answer)."""
    units = rows.group_by("passage_id", maintain_order=True).agg(
        pl.struct(pl.col("id"), pl.col("prompt").alias("question"), pl.col("reply").alias("answer")).alias("pairs")
    )
    units = units.with_row_index("input_index").with_columns(pl.col("input_index").cast(pl.Int64))
    joined = units.join(
        passages.select("passage_id", "article_id", "title", "section", "text"), on="passage_id", how="left"
    ).sort("input_index")
    missing = joined.filter(pl.col("text").is_null())
    if missing.height:
        raise InputError(
            f"{missing.height} passage id(s) of the rows are not in --passages (first: {missing['passage_id'][0]})",
            rows_path,
        )
    return joined


def units_fingerprint(units: pl.DataFrame) -> str:
    """Names the passages and every pair's id and text: a chunk record holds the judgement of exactly those
    pairs, so a rerun into the same folder with other rows is refused rather than mixing them up."""
    return ids_fingerprint(
        [
            json.dumps([u["passage_id"], u["pairs"]], ensure_ascii=False, sort_keys=True)
            for u in units.select("passage_id", "pairs").iter_rows(named=True)
        ]
    )


def _provenance(rec: dict) -> dict:
    return {
        "judge_model": rec["model"],
        "judge_model_revision": rec["model_revision"],
        "judge_prompt_hash": rec["prompt_hash"],
        "judge_sampling": rec["sampling"],
    }


def _judge_row(pair: dict, j: Judgement, prov: dict) -> dict:
    f1 = token_f1(j.answer, pair["answer"]) if j.answer is not None else None
    return {
        "id": pair["id"],
        **{f"judge_{k}": v for k, v in j.scores.items()},
        "judge_reason": j.reason,
        "judge_answer": j.answer,
        "judge_roundtrip_f1": f1,
        **prov,
    }


def assemble_judgements(
    records: pl.DataFrame, selected: pl.DataFrame, task: JudgeTask, rows: pl.DataFrame, stats: GenerationStats
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The judged rows (input rows plus ``judge_*``) and the rejects, in input order."""
    pairs_of = dict(zip(selected["passage_id"].to_list(), selected["pairs"].to_list()))
    judged: list[dict] = []
    rejects: list[dict] = []
    for rec in records.sort("input_index").iter_rows(named=True):
        pairs, prov = pairs_of[rec["passage_id"]], _provenance(rec)
        base = {
            "passage_id": rec["passage_id"],
            "finish_reason": rec["finish_reason"],
            "output_tokens": rec["output_tokens"],
            **prov,
        }
        result = task.parse(rec["raw"], rec["finish_reason"], len(pairs))
        if not isinstance(result, list):
            stats.reject(result.reason)
            rejects += [
                {
                    **base,
                    "id": p["id"],
                    "position": i,
                    "reason": result.reason,
                    "detail": result.detail,
                    "raw": result.raw,
                }
                for i, p in enumerate(pairs)
            ]
            continue
        for i, (pair, r) in enumerate(zip(pairs, result)):
            if isinstance(r, Judgement):
                judged.append(_judge_row(pair, r, prov))
            else:
                stats.drop(r.reason)
                rejects.append(
                    {**base, "id": pair["id"], "position": i, "reason": r.reason, "detail": r.detail, "raw": r.raw}
                )
        stats.update("passages_with_pairs", int(any(isinstance(r, Judgement) for r in result)))
    stats.update("pairs", len(judged))
    scores = pl.DataFrame(judged, schema={"id": pl.String, **JUDGE_COLUMNS})
    out = rows.with_row_index("_order").join(scores, on="id", how="inner").sort("_order").drop("_order")
    return out, pl.DataFrame(rejects, schema=JUDGE_REJECT_SCHEMA)


class JudgeSummary(Summary):
    """What ``judge`` selected, judged now or resumed: ``pairs`` judged; a whole reply that could not be read is
    a rejected output (by reason), a pair without a judgement a dropped pair (by reason)."""

    out_dir: str
    judged: str
    judge_rejects: str
    backend: str
    model: str | None
    model_revision: str | None
    prompt_hash: str
    roundtrip: bool
    shard: str
    passages_in_file: int
    duplicate_passage_ids: int
    passages_selected: int
    passages_done: int
    passages_resumed: int
    passages_generated: int
    passages_missing: int
    duplicate_records: int
    pairs: int
    passages_with_pairs: int
    rejected_outputs_by_reason: dict[str, int]
    dropped_pairs_by_reason: dict[str, int]
    prompt_tokens: int
    output_tokens: int
    this_run: ThisRun
    projection: Projection
    verified: dict[str, str]
    seconds: float

    def title(self) -> str:
        return f"judge -> {self.judged}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {
            "judge": f"{self.model} ({self.backend})",
            "passages": self.passages_selected,
            "judged now": self.passages_generated,
            "resumed": self.passages_resumed,
            "pairs judged": self.pairs,
        }
        rows.update({f"rejected: {k}": v for k, v in self.rejected_outputs_by_reason.items()})
        rows.update({f"pairs not judged: {k}": v for k, v in self.dropped_pairs_by_reason.items()})
        rows.update(
            {
                "passages/s": self.this_run.passages_per_s or "-",
                "whole file": self.projection.line(),
                **verified_rows(self.verified),
                "seconds": self.seconds,
            }
        )
        return rows


def judge(
    rows: str | Path,
    passages: str | Path,
    out: str | Path,
    settings: JudgeConfig | None = None,
    *,
    progress: bool = True,
) -> JudgeSummary:
    """Judge every QA row against its passage into the folder ``out``, resuming what is there.

    Inputs:
        rows: QA item rows from ``generate-wiki`` (.parquet / .jsonl; ``id``, ``prompt``, ``reply``,
            ``passage_id``); the ``judge_*`` columns of an earlier judgement are replaced.
        passages: the passage file the rows were generated from.
        settings: :class:`~classit_data.generate.config.JudgeConfig` (defaults when None): the judge model and
            its engine, the rubric, ``roundtrip``, sampling (greedy), chunks, shards and executor.

    Outputs:
        out: a folder that a rerun with the same settings resumes: ``judged.parquet`` (the judged rows, input
            columns then ``judge_*``), ``judge_rejects.parquet`` (each pair not judged, with the raw reply and
            why), ``summary.json``, ``run.json`` and ``chunks/``.
    """
    started = time.perf_counter()
    cfg = settings if settings is not None else JudgeConfig()
    rows, passages = Path(rows), Path(passages)
    task = make_task(cfg)
    qa = read_rows_to_judge(rows)
    job = TaskRun(
        inputs={"--rows": [rows], "--passages": [passages]},
        record={"rows": str(rows), "passages": str(passages)},
        read_units=lambda stats: judge_units(qa, read_passage_rows(passages, stats), rows),
        assemble=lambda records, selected, stats: assemble_judgements(records, selected, task, qa, stats),
        summary=JudgeSummary,
        fingerprint=units_fingerprint,
    )
    return run_task(task, cfg, job, Path(out), progress, started)


__all__ = ["JUDGE_COLUMNS", "JudgeSummary", "judge"]
