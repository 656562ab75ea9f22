"""``prepare-wiki``: Simple English Wikipedia articles -> clean passages, the input of QA generation.

Steps, each counting what it did in one :class:`~classit_data.wiki.stats.PrepareStats`:

1. read: a reader per input format (:mod:`classit_data.wiki.readers`) streams
   :class:`~classit_data.wiki.readers.base.Article` records; pages that are not articles come back with a
   skip reason and are only counted. A multistream dump of Wikimedia's layout is not read here: it is cut into
   runs of bz2 streams (:mod:`~classit_data.wiki.readers.multistream`) that the workers read themselves, so
   that decompressing and parsing scale with them as cleaning does;
2. clean, split into sentences and pack into passages (:mod:`classit_data.wiki.passages`), in worker
   processes (``workers``, default every core), a batch of articles at a time;
3. write: batches come back in input order and go into Parquet row groups (or JSON lines), written
   atomically; memory stays bounded by the number of batches in flight.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classit_data.core.errors import InputError
from classit_data.core.formats import normalize_format
from classit_data.core.io import atomic_write_text, check_row_file, summary_path
from classit_data.core.schema import PASSAGE_COLUMNS, arrow_table
from classit_data.core.summary import Summary
from classit_data.wiki.config import PassageConfig, PrepareConfig
from classit_data.wiki.passages import process_batch
from classit_data.wiki.readers.base import Article, BytesRead
from classit_data.wiki.readers.detect import FORMAT_ALIASES, FORMATS, detect_format, iter_articles
from classit_data.wiki.readers.multistream import StreamChunk, plan_streams, read_chunk
from classit_data.wiki.sentences import PUNKT_PARAMS, sentence_splitter
from classit_data.wiki.stats import PrepareStats

if TYPE_CHECKING:  # rich is imported only when a bar is shown
    from classit_data.core.console import ProgressBar

_BATCH_ARTICLES = 64
_BATCH_CHARS = 400_000
_ROW_GROUP = 20_000


class PrepareSummary(Summary):
    """What ``prepare-wiki`` read, kept and wrote; ``words`` plus ``prose_words_dropped`` add up to
    ``prose_words``. ``read_by_streams``: the multistream dumps read a run of bz2 streams at a time, by the
    workers; ``workers_asked``: ``workers`` as given, before it was capped at the cores."""

    inputs: dict[str, str]
    out: str
    pages_read: int
    articles_read: int
    articles_kept: int
    skipped_by_reason: dict[str, int]
    parse_failures: list[dict[str, str]]
    passages: int
    words: int
    dropped: dict[str, int]
    prose_words: int
    prose_words_dropped: dict[str, int]
    config: dict[str, Any]
    read_by_streams: list[str] = []
    workers_asked: int | None = None
    seconds: float
    articles_per_s: float | None

    def title(self) -> str:
        return f"prepare-wiki -> {self.out}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {
            "pages read": self.pages_read,
            "articles read": self.articles_read,
            "articles kept": self.articles_kept,
        }
        rows.update({f"skipped: {reason}": n for reason, n in self.skipped_by_reason.items()})
        rows.update({"passages": self.passages, "words": self.words, "prose words read": self.prose_words})
        rows.update({f"prose words dropped: {reason}": n for reason, n in self.prose_words_dropped.items() if n})
        rows.update({"seconds": self.seconds, "articles/s": self.articles_per_s})
        return rows

    def notes(self) -> list[str]:
        """A line when ``workers`` was capped at the cores, and one for each article whose wikitext could not be
        handled."""
        capped = []
        if self.workers_asked is not None and self.workers_asked > self.config["workers"]:
            capped = [
                f"--workers {self.workers_asked} is more than the {self.config['workers']} cores: "
                f"{self.config['workers']} workers used"
            ]
        return capped + [
            f"skipped (wikitext not understood): {failure['title']} [{failure['article_id']}]: {failure['error']}"
            for failure in self.parse_failures
        ]


def prepare_wiki(
    inputs: str | Path | Sequence[str | Path],
    out: str | Path,
    settings: PrepareConfig | None = None,
    *,
    progress: bool = True,
) -> PrepareSummary:
    """Turn Simple English Wikipedia inputs into a passage file (``PASSAGE_COLUMNS`` rows).

    Inputs:
        inputs: dumps (.xml / .xml.bz2 / multistream), BabyLM ``simple_wiki`` files, ``wikimedia/wikipedia``
            Parquet / JSON lines, or wikiextractor output, detected from their content unless ``fmt`` is set.
        settings: :class:`~classit_data.wiki.config.PrepareConfig` (defaults when None).

    Outputs:
        out: a ``.parquet`` or ``.jsonl`` passage file, written atomically, with its summary beside it.

    ``workers`` defaults to every core; 1 cleans in this process. Where this process runs other threads,
    workers come from a fork server: a script that calls this with several workers then needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    from classit_data.core.outputs import replaced_together

    config = settings if settings is not None else PrepareConfig()
    paths = [Path(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    if not paths:
        raise InputError("no input files given")
    _refuse_repeated(paths)
    out = Path(out)
    check_row_file("--out", out)
    source = _Inputs(paths, normalize_format(config.fmt, FORMATS, FORMAT_ALIASES), _index_of(config, paths))
    params_path = config.punkt_params
    sentence_splitter(params_path)  # a bad parameter file fails here, before any work
    n_workers = min(config.workers or available_cores(), available_cores())

    stats = PrepareStats()
    started = time.perf_counter()
    with replaced_together({"--out": out, "--out's summary": summary_path(out)}, {"an input": paths}) as outs:
        writer = _PassageWriter(outs.path("--out"), jsonl=out.suffix == ".jsonl", stats=stats)
        bar = _progress_bar(source.size) if progress else None  # rich is imported only for a bar
        try:
            tasks = source.tasks(stats, config.limit_articles)
            for rows, batch_stats in _run_batches(tasks, config, params_path, n_workers, writer.prepare):
                stats.add(batch_stats)
                writer.add(rows)
                if bar:
                    bar.update(completed=source.bytes_done, articles=stats["articles_read"])
        except BaseException:  # a failed or interrupted run writes nothing more, not even an empty file
            writer.close(finish=False)
            raise
        finally:
            if bar:
                bar.close()
        writer.close()
        if not stats["passages"]:  # nothing made: the earlier passage file stays
            raise InputError("no passages: no article in the input has enough prose words", paths[0])
        summary = _summary(source, out, stats, config, n_workers, time.perf_counter() - started)
        atomic_write_text(
            outs.path("--out's summary"), json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n"
        )
    return summary


def _summary(source, out: Path, stats, config: PrepareConfig, n_workers: int, elapsed: float) -> PrepareSummary:
    return PrepareSummary(
        inputs=source.formats,
        out=str(out),
        **stats.totals(),
        config={name: getattr(config, name) for name in PassageConfig.model_fields}
        | {
            "workers": n_workers,
            "limit_articles": config.limit_articles,
            "punkt_params": str(config.punkt_params or PUNKT_PARAMS.name),
            "index": config.index,
        },
        read_by_streams=[path for path, chunks in source.chunks.items() if chunks and config.limit_articles is None],
        workers_asked=config.workers,
        seconds=round(elapsed, 3),
        articles_per_s=round(stats["articles_read"] / elapsed, 1) if elapsed > 0 else None,
    )


# --- read -------------------------------------------------------------------------------------------


def _refuse_repeated(paths: list[Path]) -> None:
    """An input given twice (by any name: a link, a relative path) would repeat its passages and their ids."""
    seen: dict[object, Path] = {}
    for p in paths:
        try:
            key: object = (p.stat().st_dev, p.stat().st_ino)
        except OSError:  # missing: the reader says so
            key = p.resolve()
        if key in seen:
            raise InputError(f"given twice (also as {seen[key]}): each input once, or its passage ids repeat", p)
        seen[key] = p


def _index_of(config: PrepareConfig, paths: list[Path]) -> Path | None:
    """The multistream index given (``--index``): for one dump, which must exist."""
    if config.index is None:
        return None
    index = Path(config.index)
    if len(paths) != 1:
        raise InputError(
            "--index goes with one dump; with several, put each index beside its dump under its standard name", index
        )
    if not index.is_file():
        raise InputError("no such file (--index)", index)
    return index


class _Inputs:
    """The input files, read one after the other, each with its format; and how far the reading is.

    ``chunks``: for each multistream dump of Wikimedia's layout, the runs of bz2 streams the workers read.
    """

    def __init__(self, paths: list[Path], forced: str | None, index: Path | None = None):
        self.paths = paths
        self.formats = {str(p): detect_format(p, forced) for p in paths}
        self.chunks = {str(p): plan_streams(p, index) for p in paths if self.formats[str(p)] == "mediawiki"}
        if index is not None and not self.chunks.get(str(paths[0])):
            raise InputError("--index is given, but this is not a multistream .xml.bz2 dump", paths[0])
        self.sizes = [p.stat().st_size for p in paths]
        self.size = sum(self.sizes)
        self.bytes_read = BytesRead()
        self.finished = 0  # bytes of the files read to the end (a Parquet reader counts none as it goes)

    def articles(self) -> Iterator[Article]:
        for path, size in zip(self.paths, self.sizes):
            yield from iter_articles(path, self.formats[str(path)], self.bytes_read)
            self.finished += size

    def tasks(self, stats: PrepareStats, limit: int | None) -> Iterator[list[Article] | StreamChunk]:
        """The work of the run, in input order: batches of articles read here, or runs of streams to read.

        With a limit on the articles, every input is read here, in order, so that the run stops where it should.
        """
        if limit is not None:
            yield from _batches(self.articles(), stats, limit)
            return
        for path, size in zip(self.paths, self.sizes):
            chunks = self.chunks.get(str(path))
            if chunks:
                for chunk in chunks:
                    self.bytes_read.total += chunk.end - chunk.start
                    yield chunk
            else:
                yield from _batches(iter_articles(path, self.formats[str(path)], self.bytes_read), stats, None)
            self.finished += size

    @property
    def bytes_done(self) -> int:
        """Compressed bytes of the inputs read so far: the progress bar's measure, an ETA for the whole dump."""
        return max(self.bytes_read.total, self.finished)


def _batches(articles: Iterator[Article], stats: PrepareStats, limit: int | None) -> Iterator[list[Article]]:
    """Group the articles to clean into batches; reader-level skips are only counted."""
    batch: list[Article] = []
    chars = 0
    for art in articles:
        stats.update("pages_read")
        if art.skip:
            stats.skip(art.skip)
            continue
        stats.update("articles_read")
        batch.append(art)
        chars += len(art.text)
        if len(batch) >= _BATCH_ARTICLES or chars >= _BATCH_CHARS:
            yield batch
            batch, chars = [], 0
        if limit is not None and stats["articles_read"] >= limit:
            break
    if batch:
        yield batch


# --- clean, sentences, passages: in worker processes ------------------------------------------------


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_WORKER: dict = {}  # a worker process's settings, set once when it starts


def _init_worker(config: PassageConfig, params_path: str | None) -> None:
    """A worker's settings; and SIGTERM back to its default. The pool ends its workers with SIGTERM when the
    run is done: a forked worker would otherwise run the command's own handler (``core.signals``), which does
    not end a worker waiting on the pool's queue lock, and the run would wait for it forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER["config"] = config
    _WORKER["params"] = params_path
    sentence_splitter(params_path)
    gc.freeze()  # a worker started by spawn or a fork server: see _long_lived_frozen


def _worker_task(task: list[Article] | StreamChunk) -> tuple[list[dict], PrepareStats]:
    return process_task(task, _WORKER["config"], _WORKER["params"])


def process_task(
    task: list[Article] | StreamChunk, config: PassageConfig, params_path: str | None
) -> tuple[list[dict], PrepareStats]:
    """A batch of articles cleaned; or a run of streams read, then cleaned a batch at a time, as if read here."""
    if not isinstance(task, StreamChunk):
        return process_batch(task, config, params_path)
    stats = PrepareStats()
    rows: list[dict] = []
    for batch in _batches(read_chunk(task), stats, None):
        batch_rows, batch_stats = process_batch(batch, config, params_path)
        rows.extend(batch_rows)
        stats.add(batch_stats)
    return rows, stats


def _worker_context():
    """How the workers start: forked from this process when it runs no other thread (they start at once, the
    cleaning code already imported); otherwise from a fork server that imported it (a fork copies the locks other
    threads hold); ``spawn`` where neither exists."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


@contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """The objects that exist before the articles are read (modules, the Punkt parameters) out of the garbage
    collector's reach while they are cleaned.

    Cleaning allocates many objects, so the collector runs often, and each of its full collections walks every
    object of the process, the modules' among them, though none of those becomes garbage during the run. Frozen
    (``gc.freeze``), they are not walked, and in workers forked from this process the collector does not write
    to their memory pages (which a fork shares until they are written). Afterwards they go back to the collector.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run_batches(
    batches: Iterator[list[Article] | StreamChunk],
    config: PassageConfig,
    params_path: str | None,
    n_workers: int,
    meanwhile: Callable[[], None] = lambda: None,
) -> Iterator[tuple[list[dict], PrepareStats]]:
    """Results of ``process_task`` in input order, from a worker pool with a bounded number in flight.

    ``meanwhile`` runs once the workers have their first batches (this process's own preparations).
    """
    head = list(itertools.islice(batches, 2))
    if n_workers == 1 or len(head) < 2:  # one batch in all: starting workers would cost more than it saves
        with _long_lived_frozen():
            for batch in itertools.chain(head, batches):
                yield process_task(batch, config, params_path)
        return
    ctx = _worker_context()
    with _long_lived_frozen(), ctx.Pool(n_workers, initializer=_init_worker, initargs=(config, params_path)) as pool:
        in_flight = deque(pool.apply_async(_worker_task, (batch,)) for batch in head)
        meanwhile()
        for batch in batches:
            in_flight.append(pool.apply_async(_worker_task, (batch,)))
            while len(in_flight) > 2 * n_workers + 1:
                yield in_flight.popleft().get()
        while in_flight:
            yield in_flight.popleft().get()


# --- write ------------------------------------------------------------------------------------------


class _PassageWriter:
    """Streams passage rows into one Parquet (row groups) or JSON-lines file at a temporary path.

    It counts the passages and words it writes. Parquet is written by pyarrow, imported only when the rows are
    written, a row group at a time.
    """

    def __init__(self, tmp: Path, jsonl: bool, stats: PrepareStats):
        self.tmp, self.jsonl, self.stats = tmp, jsonl, stats
        self.pending: list[dict] = []
        self.writer = None
        self.fh = open(tmp, "w", encoding="utf-8") if jsonl else None

    def add(self, rows: list[dict]) -> None:
        self.stats.update("passages", len(rows))
        self.stats.update("words", sum(r["n_words"] for r in rows))
        if self.jsonl:
            for r in rows:
                self.fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            return
        self.pending.extend(rows)
        if len(self.pending) >= _ROW_GROUP:
            self._flush()

    def prepare(self) -> None:
        """Import the Parquet library now, while the workers clean the first batches."""
        if not self.jsonl:
            importlib.import_module("pyarrow.parquet")

    def _flush(self) -> None:
        import pyarrow.parquet as pq

        table = arrow_table(self.pending, PASSAGE_COLUMNS)
        self.pending = []
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self, finish: bool = True) -> None:
        """Write the last row group and close; ``finish=False`` closes what is open and writes nothing."""
        if self.jsonl:
            self.fh.close()
            return
        if finish and (self.pending or self.writer is None):  # a file without rows still has the columns
            self._flush()
        if self.writer is not None:
            self.writer.close()


def _progress_bar(total_bytes: int) -> ProgressBar:
    """Compressed bytes of the inputs read (an ETA for the whole dump) and the articles read so far.

    It is redrawn as batches come back, at most ten times a second, rather than by rich's refresh thread: with
    no other thread running, the workers can be forked.
    """
    from rich.progress import DownloadColumn, TextColumn

    from classit_data.core.console import ProgressBar

    return ProgressBar(
        "prepare-wiki",
        total_bytes,
        DownloadColumn(),
        TextColumn("{task.fields[articles]:,} articles"),
        redraw_every=0.1,
        articles=0,
    )
