"""``generate_wiki``: passages in, QA item rows out, in chunks that survive crashes.

Steps (each counts what it did in one :class:`~classit_data.generate.stats.GenerationStats`):

1. settings  a :class:`~.config.GenerationConfig` (the command's: defaults, then ``--config``, then the options);
2. read      the passage file, a repeated passage id kept once;
3. select    this run's shard (and ``max_passages``), less the passages already in chunk files (resume);
4. start     the engines where the ``executor`` setting says (:class:`~.executors.Executor`: one here, one
             process per data-parallel replica, or Ray actors), refusing a folder that holds a run made with
             other settings (``run.json``, :mod:`~.record`);
5. generate  the passages to do, chunk by chunk, each chunk file written atomically (:mod:`~.executors`);
6. assemble  ``qa.parquet`` and ``rejects.parquet`` from every chunk record of the selected passages;
7. summary   ``summary.json`` and ``run.json``.

Where each file goes in ``out_dir``, and why a rerun resumes: :mod:`classit_data.generate.chunks`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, read_rows, write_rows
from classit_data.core.models import require_model
from classit_data.core.outputs import replaced_together
from classit_data.core.resources import portable_name
from classit_data.core.schema import ITEM_SCHEMA, Item
from classit_data.core.summary import Summary
from classit_data.core.template import render_text
from classit_data.generate.backends import choose_backend, model_identity
from classit_data.generate.chunks import (
    done_passages,
    ids_fingerprint,
    output_paths,
    plan_chunks,
    read_records,
    shard_of,
)
from classit_data.generate.config import GenerationConfig
from classit_data.generate.executors import Executor, LocalExecutor, make_task
from classit_data.generate.projection import Projection, project
from classit_data.generate.record import RunRecord
from classit_data.generate.stats import GenerationStats
from classit_data.generate.task import GenerationTask, Parsed, QATask
from classit_data.generate.verify import verified_rows, verify

SOURCE = "simple_wiki"

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "passage_id": pl.String,
    "doc_id": pl.String,
    "position": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw": pl.String,
    "finish_reason": pl.String,
    "output_tokens": pl.Int64,
    "model": pl.String,
    "model_revision": pl.String,
    "prompt_hash": pl.String,
    "sampling": pl.String,
    "seed": pl.Int64,
    "origin": pl.String,
}

# --- read and select passages ---------------------------------------------------------------------------


def read_passage_rows(path: str | Path, stats: GenerationStats) -> pl.DataFrame:
    """The passage file with an ``input_index`` column; a repeated passage id is kept once (and counted)."""
    df = read_rows(path, required=("passage_id", "article_id", "text"))
    if df.height == 0:
        raise InputError("no passages in the file", path)
    if df.schema["text"] != pl.String:  # a number is no passage to ask questions about
        raise InputError(f"column text holds {df.schema['text']}, not text", path)
    for col in ("title", "section"):
        if col not in df.columns:
            df = df.with_columns(pl.lit("").alias(col))
    df = df.with_columns(pl.col(c).cast(pl.String) for c in ("passage_id", "article_id", "title", "section", "text"))
    bad = df.with_row_index("row").filter(
        pl.col("passage_id").is_null() | pl.col("text").is_null() | pl.col("article_id").is_null()
    )
    if bad.height:
        raise InputError("passage without id, article id or text", path, f"row {bad['row'][0] + 1}")
    df = df.with_row_index("input_index").with_columns(pl.col("input_index").cast(pl.Int64))
    unique = df.unique("passage_id", keep="first", maintain_order=True)
    stats.update("passages_in_file", unique.height)
    stats.update("duplicate_passage_ids", df.height - unique.height)
    return unique


def select_passages(df: pl.DataFrame, cfg: GenerationConfig) -> pl.DataFrame:
    """This run's shard of the passages, in input order, cut to ``max_passages``."""
    if cfg.num_shards > 1:
        df = df.filter(
            pl.col("passage_id").map_elements(lambda p: shard_of(p, cfg.num_shards), return_dtype=pl.Int64)
            == cfg.shard_index
        )
    if cfg.max_passages is not None:
        df = df.head(cfg.max_passages)
    return df


def _skip_done(
    selected: pl.DataFrame, shard: pl.DataFrame, out_dir: Path, cfg: GenerationConfig, stats: GenerationStats
) -> pl.DataFrame:
    """The selected passages that no chunk file holds yet. A ``max_passages`` that leaves out passages of the
    shard whose records are there is refused: the rows would shrink although nothing was generated."""
    done = done_passages(out_dir)
    left_out = shard.filter(
        pl.col("passage_id").is_in(list(done)) & ~pl.col("passage_id").is_in(selected["passage_id"])
    )
    if left_out.height:
        raise InputError(
            f"holds the rows of {left_out.height} passages that --max-passages {cfg.max_passages} leaves out; "
            "nothing was replaced: raise --max-passages, or choose another --out",
            out_dir,
        )
    todo = selected.filter(~pl.col("passage_id").is_in(list(done)))
    stats.update("passages_resumed", selected.height - todo.height)
    return todo


# --- the engine and where it runs ------------------------------------------------------------------------


def executor_for(kind: str, cfg: GenerationConfig) -> Executor:
    """The executor the ``executor`` setting names, for engines of ``kind`` (Ray imported only for Ray)."""
    if cfg.executor == "ray":
        from classit_data.generate.executors_ray import RayExecutor

        return RayExecutor(kind, cfg)
    return LocalExecutor(kind, cfg)


def _engine_kind(cfg: GenerationConfig) -> str:
    kind = choose_backend(cfg.backend, cfg.base_url)
    if cfg.data_parallel_size > 1 and kind == "openai" and cfg.executor == "local":
        raise InputError("--data-parallel-size is for local engines; raise `concurrency` in --config for a server")
    if kind != "openai":  # a local engine's model: one line now if it is nowhere, not a traceback from the engine
        require_model(cfg.model)
    return kind


# --- from chunk records to rows -------------------------------------------------------------------------


def _selected_records(out_dir: Path, selected: pl.DataFrame, stats: GenerationStats) -> pl.DataFrame:
    """One chunk record per selected passage, with its ``input_index`` in this passage file."""
    records = read_records(out_dir).filter(pl.col("passage_id").is_in(selected["passage_id"].to_list()))
    unique = records.unique("passage_id", keep="first", maintain_order=True)
    stats.update("duplicate_records", records.height - unique.height)
    # the input order of this passage file, whatever it was when the record was made
    records = unique.drop("input_index").join(selected.select("passage_id", "input_index"), on="passage_id")
    stats.update("passages_done", records.height)
    stats.update("prompt_tokens", int(records["prompt_tokens"].sum() or 0))
    stats.update("output_tokens", int(records["output_tokens"].sum() or 0))
    return records


def assemble(
    records: pl.DataFrame, task: QATask, origin: str, stats: GenerationStats
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse every record into item rows and reject rows, in input order."""
    items: list[dict] = []
    rejects: list[dict] = []
    for rec in records.sort("input_index").iter_rows(named=True):
        prov = {k: rec[k] for k in ("model", "model_revision", "prompt_hash", "sampling", "seed")}
        result = task.parse(rec["raw"], rec["finish_reason"])
        base_reject = {
            "passage_id": rec["passage_id"],
            "doc_id": rec["article_id"],
            "finish_reason": rec["finish_reason"],
            "output_tokens": rec["output_tokens"],
            "origin": origin,
            **prov,
        }
        if not isinstance(result, Parsed):
            stats.reject(result.reason)
            rejects.append(
                {**base_reject, "position": None, "reason": result.reason, "detail": result.detail, "raw": result.raw}
            )
            continue
        for d in result.dropped:
            stats.drop(d.reason)
            rejects.append(
                {**base_reject, "position": d.position, "reason": d.reason, "detail": d.detail, "raw": d.raw}
            )
        for i, pair in enumerate(result.pairs):
            items.append(
                {
                    "id": Item.make_id(SOURCE, rec["article_id"], i, pair.question, pair.answer),
                    "source": SOURCE,
                    "prompt": pair.question,
                    "reply": pair.answer,
                    "text": render_text(pair.question, pair.answer),
                    "doc_id": rec["article_id"],
                    "position": i,
                    "origin": origin,
                    "passage_id": rec["passage_id"],
                    **prov,
                }
            )
        stats.update("pairs", len(result.pairs))
        stats.update("passages_with_pairs")
    return pl.DataFrame(items, schema=ITEM_SCHEMA), pl.DataFrame(rejects, schema=REJECT_SCHEMA)


# --- the public entry point -----------------------------------------------------------------------------


class ThisRun(BaseModel):
    """The engine work of this run alone (a resumed run counts only what it generated)."""

    model_config = ConfigDict(extra="forbid")

    chunks: int
    engine_load_seconds: float | None
    engine_close_seconds: float | None
    prompt_tokens: int
    output_tokens: int
    generation_seconds: float
    passages_per_s: float | None
    output_tokens_per_s: float | None


class GenerateSummary(Summary):
    """What ``generate-wiki`` selected, generated now or resumed, and kept: ``passages_done`` of the
    ``passages_selected`` have a chunk record (``passages_missing`` do not), and each of those gave pairs or is a
    whole-output reject (by reason)."""

    out_dir: str
    qa: str
    rejects: str
    backend: str
    model: str | None
    model_revision: str | None
    prompt_hash: str
    num_pairs: int
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
    #: ``--verify``: each regenerated chunk file, equal or different
    verified: dict[str, str]
    seconds: float

    def title(self) -> str:
        return f"generate-wiki -> {self.qa}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {
            "model": f"{self.model} ({self.backend})",
            "passages": self.passages_selected,
            "generated now": self.passages_generated,
            "resumed": self.passages_resumed,
            "pairs": self.pairs,
            "passages with pairs": self.passages_with_pairs,
        }
        rows.update({f"rejected: {k}": v for k, v in self.rejected_outputs_by_reason.items()})
        rows.update({f"pairs dropped: {k}": v for k, v in self.dropped_pairs_by_reason.items()})
        rows.update(
            {
                "prompt tokens": self.prompt_tokens,
                "output tokens": self.output_tokens,
                "passages/s": self.this_run.passages_per_s or "-",
                "output tokens/s": self.this_run.output_tokens_per_s or "-",
                "whole file": self.projection.line(),
                **verified_rows(self.verified),
                "seconds": self.seconds,
            }
        )
        return rows


def generate_wiki(
    passages: str | Path, out: str | Path, settings: GenerationConfig | None = None, *, progress: bool = True
) -> GenerateSummary:
    """Generate question/answer pairs from the passages into the folder ``out``, resuming what is there.

    Inputs:
        passages: a passage file from ``prepare-wiki`` (.parquet / .jsonl; ``passage_id``, ``article_id`` and
            ``text``, with ``title`` and ``section`` when it has them).
        settings: :class:`~classit_data.generate.config.GenerationConfig` (defaults when None): the model and
            its engine, prompts, sampling, chunks, shards and executor.

    Outputs:
        out: a folder that a rerun with the same settings resumes: ``qa.parquet`` (item rows), ``rejects.parquet``
            (what gave no row, with the raw reply and why), ``summary.json``, ``run.json`` and ``chunks/``
            (:mod:`~classit_data.generate.chunks`; a shard's files are named by it).
    """
    started = time.perf_counter()
    cfg = settings if settings is not None else GenerationConfig()
    passages = Path(passages)
    task = make_task(cfg)
    job = TaskRun(
        inputs={"--passages": [passages]},
        record={"passages": str(passages)},
        read_units=lambda stats: read_passage_rows(passages, stats),
        assemble=lambda records, selected, stats: assemble(records, task, passages.name, stats),
        summary=GenerateSummary,
    )
    return run_task(task, cfg, job, Path(out), progress, started)


S = TypeVar("S", bound=Summary)


@dataclass
class TaskRun(Generic[S]):
    """What a task's run reads and how its rows are made: its input files (by flag, for the outputs' check),
    what ``run.json`` says of them, its units of work (one row per passage: ``passage_id``, ``article_id``,
    ``input_index``, ...), the step that turns chunk records of the selected units into its two row files, and
    the summary it returns."""

    inputs: dict[str, list[Path]]
    record: dict[str, str]
    read_units: Callable[[GenerationStats], pl.DataFrame]
    assemble: Callable[[pl.DataFrame, pl.DataFrame, GenerationStats], tuple[pl.DataFrame, pl.DataFrame]]
    summary: type[S]
    #: what names the inputs in ``run.json``'s identity (default: the units' ids, in order)
    fingerprint: Callable[[pl.DataFrame], str] | None = None


def run_task(
    task: GenerationTask, cfg: GenerationConfig, job: TaskRun[S], out_dir: Path, progress: bool, started: float
) -> S:
    """Run ``task`` over ``job``'s units into ``out_dir`` (resuming what is there); return the summary."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out must be a folder", out_dir)
    executor = executor_for(_engine_kind(cfg), cfg)
    paths = output_paths(out_dir, cfg, task.outputs)
    rows_name, rejects_name = task.outputs
    finals = {paths[name].name: paths[name] for name in (rows_name, rejects_name, "summary")}
    # locked before the engines start: a second run into the same files is refused at once
    with replaced_together(finals, job.inputs, own="run.json") as outs, executor.session():
        (rows, rejects), figures = _run(job, out_dir, cfg, task, executor, progress)
        write_rows(rows, outs.path(paths[rows_name].name))
        write_rows(rejects, outs.path(paths[rejects_name].name))
        summary = job.summary(**figures, seconds=round(time.perf_counter() - started, 3))
        atomic_write_text(outs.path(paths["summary"].name), json.dumps(_portable_summary(summary, out_dir), indent=2))
    return summary


def _portable_summary(summary: Summary, out_dir: Path) -> dict:
    """The summary as ``summary.json`` holds it: the folder and its files named relative to the folder itself."""
    data = summary.to_json()
    data["out_dir"] = "."
    for name in data:
        if name.endswith(("qa", "rejects", "judged")) and isinstance(data[name], str):
            data[name] = portable_name(data[name], out_dir)
    return data


def _run(
    job: TaskRun, out_dir: Path, cfg: GenerationConfig, task: GenerationTask, executor: Executor, progress: bool
) -> tuple[tuple[pl.DataFrame, pl.DataFrame], dict]:
    """Generate what is missing into chunk files, then assemble the rows of every selected unit: the two row
    files' frames, and the figures of the summary (all but its seconds)."""
    stats = GenerationStats()
    df = job.read_units(stats)
    local_replicas = cfg.data_parallel_size if cfg.executor == "local" else 1
    selected = plan_chunks(select_passages(df, cfg), cfg, local_replicas)
    stats.update("passages_selected", selected.height)
    paths = output_paths(out_dir, cfg, task.outputs)
    todo = _skip_done(selected, select_passages(df, cfg.model_copy(update={"max_passages": None})), out_dir, cfg, stats)

    fingerprint = job.fingerprint(df) if job.fingerprint else ids_fingerprint(df["passage_id"].to_list())
    run = RunRecord(paths["run"], cfg, task, executor.kind, job.record, out_dir, fingerprint)
    if executor.kind != "openai":  # a server names its model only once it answers
        from classit_data.core.models import resolve_model

        run.set_model(*model_identity(cfg.model, resolve_model(cfg.model)))
    if todo.height:
        executor.generate(task, todo, out_dir, run, stats, progress=progress)

    verified = {}
    if cfg.verify:
        verified = verify(out_dir, selected, cfg.verify, lambda chunks: executor.remake(task, chunks, run))
    # outputs are always derived from every chunk record of the selected units
    rows = job.assemble(_selected_records(out_dir, selected, stats), selected, stats)
    run.finish()
    rows_name, rejects_name = task.outputs
    return rows, {
        "out_dir": str(out_dir),
        rows_name: str(paths[rows_name]),
        rejects_name: str(paths[rejects_name]),
        "backend": executor.kind,
        "model": run.identity.get("model"),
        "model_revision": run.identity.get("model_revision"),
        "prompt_hash": task.prompt_hash,
        **task.settings,
        "shard": f"{cfg.shard_index}/{cfg.num_shards}",
        **stats.totals(),
        "this_run": stats.this_run(),
        "projection": project(stats.totals(), stats.this_run(), cfg.prices()),
        "verified": verified,
    }
