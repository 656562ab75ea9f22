"""The chunk files of a run: where they go in ``out_dir``, what they hold, which passages they cover.

How a run is laid out in ``out_dir``:

- ``chunks/shard-I-of-N[.dp-R-of-D]/chunk-<hash>.parquet``: one row per passage with the model's raw
  reply, finish reason, token counts and seed; each file written atomically when its chunk is done. A
  passage is done when its id is in any chunk file, so a rerun after ``kill -9`` generates exactly the
  passages that are missing, whatever the chunk size or sharding was.
- A chunk's passages are fixed by the selection alone (:func:`plan_chunks`: the selected passages in input
  order, cut every ``chunk_size``, within each data-parallel replica's part), never by what an earlier run
  left done: a chunk redone after ``kill -9`` is the same engine call with the same requests in the same
  order, so with a deterministic engine it gives the same bytes.
- ``qa.parquet`` / ``rejects.parquet`` / ``summary.json`` / ``run.json``: derived from the chunk files
  at the end of every run (named ``qa.shard-I-of-N.parquet`` etc. when the passages are sharded, so that
  shards may share a folder).

Shards are a hash partition of passage ids (stable under reordering and appending), for job arrays;
data-parallel replicas take a hash sub-partition of their shard.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError
from classit_data.core.io import write_rows
from classit_data.generate.config import GenerationConfig

#: one row per passage in a chunk file: the raw material the outputs are derived from
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "passage_id": pl.String,
    "article_id": pl.String,
    "input_index": pl.Int64,
    "seed": pl.Int64,
    "raw": pl.String,
    "finish_reason": pl.String,
    "prompt_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "model": pl.String,
    "model_revision": pl.String,
    "prompt_hash": pl.String,
    "sampling": pl.String,
    "backend": pl.String,
}


# --- shards, replicas, seeds: hashes of the passage id ---------------------------------------------------


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


def plan_chunks(selected: pl.DataFrame, cfg: GenerationConfig, replicas: int = 1) -> pl.DataFrame:
    """``selected`` with a ``chunk`` column: the number of the chunk each passage belongs to, fixed by the
    selection (input order, every ``chunk_size`` passages of each replica's hash part when ``replicas`` > 1)."""
    number = pl.int_range(pl.len(), dtype=pl.Int64)
    if replicas > 1:
        replica = pl.col("passage_id").map_elements(
            lambda p: replica_of(p, cfg.num_shards, replicas), return_dtype=pl.Int64
        )
        return selected.with_columns(replica.alias("chunk")).with_columns(
            (pl.col("chunk") * (1 << 40) + number.over("chunk") // cfg.chunk_size).alias("chunk")
        )
    return selected.with_columns((number // cfg.chunk_size).alias("chunk"))


def ids_fingerprint(passage_ids: list[str]) -> str:
    """16 hex digits naming a list of passage ids, in order (a passage file, a chunk)."""
    return hashlib.sha256("\n".join(passage_ids).encode()).hexdigest()[:16]


# --- out_dir layout -------------------------------------------------------------------------------------


def shard_suffix(cfg: GenerationConfig) -> str:
    return f".shard-{cfg.shard_index:05d}-of-{cfg.num_shards:05d}" if cfg.num_shards > 1 else ""


def output_paths(out_dir: Path, cfg: GenerationConfig, rows: tuple[str, str] = ("qa", "rejects")) -> dict[str, Path]:
    """The run's files: its two row files (``rows``, the task's ``outputs``), summary and run record."""
    s = shard_suffix(cfg)
    return {
        rows[0]: out_dir / f"{rows[0]}{s}.parquet",
        rows[1]: out_dir / f"{rows[1]}{s}.parquet",
        "summary": out_dir / f"summary{s}.json",
        "run": out_dir / f"run{s}.json",
    }


def chunk_dir(out_dir: Path, cfg: GenerationConfig, replica: int | None = None) -> Path:
    name = f"shard-{cfg.shard_index:05d}-of-{cfg.num_shards:05d}"
    if replica is not None:
        name += f".dp-{replica:03d}-of-{cfg.data_parallel_size:03d}"
    return out_dir / "chunks" / name


def chunk_files(out_dir: Path) -> list[Path]:
    return sorted((out_dir / "chunks").glob("*/chunk-*.parquet"))


def clear_temporaries(directory: Path) -> int:
    """Remove half-written chunk files a killed run of this shard left behind."""
    n = 0
    if directory.is_dir():
        for f in directory.glob(".chunk-*.tmp"):
            f.unlink(missing_ok=True)
            n += 1
    return n


# --- chunk records --------------------------------------------------------------------------------------


def write_chunk(records: list[dict], directory: Path) -> Path:
    """One chunk's records, written atomically under a name made of its passage ids."""
    name = ids_fingerprint([r["passage_id"] for r in records])
    return write_rows(pl.DataFrame(records, schema=RECORD_SCHEMA), directory / f"chunk-{name}.parquet")


def done_passages(out_dir: Path) -> set[str]:
    done: set[str] = set()
    for f in chunk_files(out_dir):
        try:
            done.update(pl.read_parquet(f, columns=["passage_id"])["passage_id"].to_list())
        except Exception as exc:  # written atomically, so only outside hands can damage one
            raise InputError(f"damaged chunk file ({exc}); delete it to regenerate its passages", f) from exc
    return done


def read_records(out_dir: Path) -> pl.DataFrame:
    """Every chunk record in ``out_dir``, of every shard and replica."""
    frames = [pl.read_parquet(f) for f in chunk_files(out_dir)]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=RECORD_SCHEMA)
