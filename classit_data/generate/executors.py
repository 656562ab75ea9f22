"""Executors: the passages still to do go through an engine chunk by chunk, each chunk written atomically.

An :class:`Executor` is where a run's engines run; the ``executor`` setting picks one
(``generate.executor_for``): the local one here (:class:`LocalExecutor`) or Ray's (``executors_ray.RayExecutor``).
Locally, ``generate_chunks`` drives one loaded engine in this process, and ``run_replicas`` is the
data-parallel launcher: one spawned process per replica, each with its own GPUs (its slice of
``CUDA_VISIBLE_DEVICES``), its own engine and its own chunk folder, over a hash sub-partition of the passages.
Both count their work in a :class:`~classit_data.generate.stats.GenerationStats`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import polars as pl
from rich.progress import MofNCompleteColumn, TextColumn

from classit_data.core.console import ProgressBar, console
from classit_data.core.errors import InputError
from classit_data.generate.backends import Backend, Request, load_backend
from classit_data.generate.chunks import (
    chunk_dir,
    clear_temporaries,
    passage_seed,
    replica_of,
    shard_suffix,
    write_chunk,
)
from classit_data.generate.config import GenerationConfig, JudgeConfig
from classit_data.generate.judge_task import DEFAULT_RUBRIC, JudgeTask
from classit_data.generate.prompts import PromptSet
from classit_data.generate.record import RunRecord
from classit_data.generate.stats import GenerationStats
from classit_data.generate.task import GenerationTask, QATask
from classit_data.generate.watchdog import engine_watchdog


class Executor:
    """Where a run's engines run: the one interface of the local executor and the Ray executor.

    ``session()`` is held for the whole run, from before anything is written (a cluster connected, say);
    ``generate`` turns every passage of ``todo`` into chunk files under ``out_dir``, counting its work in
    ``stats`` and recording the engine in ``run``.
    """

    def __init__(self, kind: str, cfg: GenerationConfig):
        self.kind, self.cfg = kind, cfg

    def session(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def generate(
        self,
        task: GenerationTask,
        todo: pl.DataFrame,
        out_dir: Path,
        run: RunRecord,
        stats: GenerationStats,
        *,
        progress: bool,
    ) -> None:
        raise NotImplementedError

    def remake(self, task: GenerationTask, chunks: list[list[dict]], run: RunRecord) -> list[list[dict]]:
        raise InputError("--verify runs on the local executor: leave out --executor ray")


class LocalExecutor(Executor):
    """This machine: one engine in this process, or one process per data-parallel replica.

    A local engine's processes (and the replicas') are watched: a ``kill -9`` of this process kills them too
    (:mod:`~.watchdog`); the openai backend is only a client, with no process of its own.
    """

    def generate(
        self,
        task: GenerationTask,
        todo: pl.DataFrame,
        out_dir: Path,
        run: RunRecord,
        stats: GenerationStats,
        *,
        progress: bool,
    ) -> None:
        kind, cfg = self.kind, self.cfg
        with engine_watchdog() if kind != "openai" else contextlib.nullcontext():
            if cfg.data_parallel_size > 1:
                run_replicas(kind, cfg, todo, out_dir, stats, progress=progress)
                run.backend_info["data_parallel_size"] = cfg.data_parallel_size
                return
            directory = chunk_dir(out_dir, cfg)
            clear_temporaries(directory)
            engine = start_engine(kind, cfg, run, stats)
            try:
                run.set_model(engine.model_id, engine.model_revision)
                run.write()
                run.backend_info.update(engine.info)
                generate_chunks(engine, task, todo, cfg, directory, stats, progress=progress)
                if kind == "openai":
                    run.backend_info["retries"] = engine.retries_done
            finally:
                close_engine(engine, run, stats)

    def remake(self, task: GenerationTask, chunks: list[list[dict]], run: RunRecord) -> list[list[dict]]:
        """The records of each chunk as one engine here makes them now (``--verify``), nothing written."""
        if self.cfg.data_parallel_size > 1:
            raise InputError("--verify runs one engine: leave out --data-parallel-size")
        with engine_watchdog() if self.kind != "openai" else contextlib.nullcontext():
            engine = start_engine(self.kind, self.cfg, run, GenerationStats())
            try:
                provenance, schema = engine_schema(engine, task, self.cfg)
                return [make_chunk(engine, task, c, self.cfg, provenance, schema)[0] for c in chunks]
            finally:
                close_engine(engine, run, GenerationStats())


def start_engine(kind: str, cfg: GenerationConfig, run: RunRecord, stats: GenerationStats) -> Backend:
    """The run's engine, loaded; the seconds it took go to the summary and ``run.json``."""
    started = time.perf_counter()
    engine = load_backend(
        kind, model=cfg.model, seed=cfg.seed, base_url=cfg.base_url, options=cfg.backend_options(kind)
    )
    stats.engine_load_seconds = run.backend_info["load_seconds"] = round(time.perf_counter() - started, 3)
    return engine


def close_engine(engine: Backend, run: RunRecord, stats: GenerationStats) -> None:
    started = time.perf_counter()
    engine.close()
    stats.engine_close_seconds = run.backend_info["close_seconds"] = round(time.perf_counter() - started, 3)


# --- progress: a bar on a terminal, one line per chunk elsewhere ------------------------------------------


def chunks_bar(label: str, total: int, progress: bool) -> ProgressBar | None:
    """The bar of a run's passages, with passages/s and tok/s beside it (None without progress)."""
    if not progress:
        return None
    return ProgressBar(label, total, MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), rate="")


def show_chunk(bar: ProgressBar | None, label: str, total: int, stats: GenerationStats, started: float) -> None:
    """After a chunk: the bar to the passages generated so far, and off a terminal (a log file, a batch job),
    where no bar is drawn, one line saying as much."""
    if bar is None:
        return
    done, tokens = stats["passages_generated"], stats["output_tokens_generated"]
    seconds = max(time.perf_counter() - started, 1e-9)
    rate = f"{done / seconds:.2f} passages/s, {tokens / seconds:,.0f} tok/s"
    bar.update(completed=done, rate=rate)
    if not console.is_terminal:
        console.print(f"{label}: {done}/{total} passages, {rate}", markup=False)


def make_task(cfg: GenerationConfig) -> GenerationTask:
    """The task a run's settings are for: judging (``JudgeConfig``) or QA generation."""
    if isinstance(cfg, JudgeConfig):
        return JudgeTask(PromptSet.load(cfg.prompts, DEFAULT_RUBRIC), cfg.roundtrip)
    return QATask(PromptSet.load(cfg.prompts), cfg.num_pairs)


def _provenance(engine: Backend, task: GenerationTask, cfg: GenerationConfig, structured: bool) -> dict:
    """The columns every record of this engine shares: model, prompt and sampling (a JSON text)."""
    sampling = json.dumps(
        {
            **cfg.sampling().as_dict(),
            **task.settings,
            "backend": engine.name,
            "seed_scope": engine.seed_scope,
            "structured_outputs": structured,
        },
        sort_keys=True,
    )
    return {
        "model": engine.model_id,
        "model_revision": engine.model_revision,
        "prompt_hash": task.prompt_hash,
        "sampling": sampling,
        "backend": engine.name,
    }


def make_chunk(
    engine: Backend,
    task: GenerationTask,
    chunk: list[dict],
    cfg: GenerationConfig,
    provenance: dict,
    schema: dict | None,
) -> tuple[list[dict], float]:
    """One chunk's records (the rows of its chunk file) and the seconds the engine took for them."""
    requests = [Request(task.messages(p), passage_seed(cfg.seed, p["passage_id"])) for p in chunk]
    t0 = time.perf_counter()
    completions = engine.generate(requests, cfg.sampling(), schema)
    seconds = time.perf_counter() - t0
    return [
        {
            "passage_id": p["passage_id"],
            "article_id": p["article_id"],
            "input_index": p["input_index"],
            "seed": c.seed,
            "raw": c.text,
            "finish_reason": c.finish_reason,
            "prompt_tokens": c.prompt_tokens,
            "output_tokens": c.output_tokens,
            **provenance,
        }
        for p, c in zip(chunk, completions)
    ], seconds


def engine_schema(engine: Backend, task: GenerationTask, cfg: GenerationConfig) -> tuple[dict, dict | None]:
    """The engine's provenance columns and the answer schema it is held to (None: it cannot be)."""
    structured = cfg.structured and engine.name in ("vllm", "openai")
    return _provenance(engine, task, cfg, structured), task.schema if structured else None


def count_chunk(stats: GenerationStats, records: list[dict]) -> None:
    """Count a written chunk in ``stats``."""
    stats.update("passages_generated", len(records))
    stats.update("chunks")
    stats.update("prompt_tokens_generated", sum(r["prompt_tokens"] for r in records))
    stats.update("output_tokens_generated", sum(r["output_tokens"] for r in records))


def generate_chunks(
    engine: Backend,
    task: GenerationTask,
    todo: pl.DataFrame,
    cfg: GenerationConfig,
    directory: Path,
    stats: GenerationStats,
    *,
    progress: bool,
    label: str | None = None,
) -> None:
    """Generate every passage of ``todo`` chunk by chunk (its ``chunk`` column, :func:`~.chunks.plan_chunks`);
    each chunk lands atomically in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    provenance, schema = engine_schema(engine, task, cfg)
    label = label or task.command
    bar, started = chunks_bar(label, todo.height, progress), time.perf_counter()
    try:
        for chunk in todo.partition_by("chunk", maintain_order=True) if todo.height else []:
            records, seconds = make_chunk(engine, task, chunk.drop("chunk").to_dicts(), cfg, provenance, schema)
            stats.generation_seconds += seconds
            write_chunk(records, directory)
            count_chunk(stats, records)
            show_chunk(bar, label, todo.height, stats, started)
    finally:
        if bar is not None:
            bar.close()


# --- data parallel: one process per replica -------------------------------------------------------------


def _replica_worker(job: dict) -> GenerationStats:
    """One data-parallel replica (a spawned process): its own GPUs, its own engine, its own chunk folder."""
    if job["devices"] is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = job["devices"]
    cfg = (JudgeConfig if job["task"] == JudgeTask.command else GenerationConfig)(**job["config"])
    task = make_task(cfg)
    engine = load_backend(
        job["kind"], model=cfg.model, seed=cfg.seed, base_url=cfg.base_url, options=cfg.backend_options(job["kind"])
    )
    stats = GenerationStats()
    try:
        generate_chunks(
            engine,
            task,
            pl.read_parquet(job["todo"]),
            cfg,
            Path(job["directory"]),
            stats,
            progress=job["progress"],
            label=f"replica {job['replica'] + 1}/{cfg.data_parallel_size}",
        )
    finally:
        engine.close()
    return stats


def _replica_devices(cfg: GenerationConfig, replica: int) -> str | None:
    """The replica's ``tensor_parallel_size`` GPUs, out of the visible ones (None when there are too few)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = visible.split(",") if visible else [str(i) for i in range(cfg.data_parallel_size * cfg.tensor_parallel_size)]
    tp = cfg.tensor_parallel_size
    mine = ids[replica * tp : (replica + 1) * tp]
    return ",".join(mine) if len(mine) == tp else None


def _replica_jobs(kind: str, cfg: GenerationConfig, todo: pl.DataFrame, out_dir: Path, progress: bool) -> list[dict]:
    """Each replica's passages, in a to-do file beside the chunks, and what its process needs to know."""
    jobs = []
    tmp_dir = out_dir / "chunks"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for r in range(cfg.data_parallel_size):
        part = todo.filter(
            pl.col("passage_id").map_elements(
                lambda p: replica_of(p, cfg.num_shards, cfg.data_parallel_size), return_dtype=pl.Int64
            )
            == r
        )
        if part.height == 0:
            continue
        directory = chunk_dir(out_dir, cfg, r)
        clear_temporaries(directory)
        todo_file = tmp_dir / f".todo{shard_suffix(cfg)}.dp-{r:03d}.parquet"
        part.write_parquet(todo_file)
        jobs.append(
            {
                "config": cfg.model_dump(),
                "task": make_task(cfg).command,
                "kind": kind,
                "todo": str(todo_file),
                "directory": str(directory),
                "replica": r,
                "progress": progress,
                "devices": _replica_devices(cfg, r),
            }
        )
    return jobs


def run_replicas(
    kind: str, cfg: GenerationConfig, todo: pl.DataFrame, out_dir: Path, stats: GenerationStats, *, progress: bool
) -> None:
    """Generate ``todo`` on ``data_parallel_size`` engines side by side, each in a spawned process."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    jobs = _replica_jobs(kind, cfg, todo, out_dir, progress)
    try:
        with ProcessPoolExecutor(max_workers=len(jobs) or 1, mp_context=mp.get_context("spawn")) as pool:
            for replica_stats in pool.map(_replica_worker, jobs):
                stats.add(replica_stats)
    finally:
        for job in jobs:
            Path(job["todo"]).unlink(missing_ok=True)
