"""Turn validated rows into the dataset folder that the Hub and ``datasets.load_dataset`` read.

A build is: read the inputs -> gate (validate again) -> split by document -> write each config's shards ->
statistics -> card -> record. The folder has the published dataset's layout: one sub-folder per config
(``switchboard``, ``simple_wiki`` and ``merged``), Parquet shards ``<config>/<split>-0000i-of-0000N.parquet``,
a ``README.md`` card whose YAML names the configs and describes them (``configs:`` / ``dataset_info:``),
``figures/figure1.png`` and ``build_info.json``: what the build read (with sha256), what it wrote (with
sha256), the validation gate's verdict and a summary of how the rows were made. ``classit-data push`` trusts
nothing else.

Why the choices:
- the gate re-runs the validators of ``classit-data validate`` on the rows: a build from rows that did not
  pass ``validate`` is refused (``force`` builds from the rows that pass and marks the build as not
  publishable);
- the validation split is chosen per document (conversation or article) by a hash of
  ``(source, doc_id)``, so no conversation or article is in both splits, and changing the seed or
  adding rows never moves a document from one split to the other;
- nothing in the output depends on the clock or the machine: the same inputs give the same bytes, so
  rebuilding and pushing unchanged data makes no new commit;
- the folder is written beside its final place and replaced as a whole (``core.outputs``, as every
  command's outputs): a build killed at any moment leaves the earlier build or the new one, and the next run
  finishes what the kill interrupted.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from classit_data.core.errors import InputError
from classit_data.core.io import read_rows
from classit_data.core.lengths import word_count_expr
from classit_data.core.outputs import replaced_together
from classit_data.core.schema import COLUMN_ORDER, ITEM_SCHEMA, SOURCES, complete_rows, content_id
from classit_data.core.summary import Summary
from classit_data.dataset.config import BuildConfig
from classit_data.dataset.inputs import BuildInputs, as_paths, read_inputs
from classit_data.dataset.provenance import check_generation_runs, provenance_summary
from classit_data.dataset.record import (
    BUILD_FORMAT,
    BUILD_FORMAT_VERSION,
    BUILD_INFO,
    CONFIGS,
    library_versions,
    portable,
    stable_report,
    write_build_info,
)
from classit_data.validate.config import ValidationConfig

SOURCE_OF_CONFIG = {"switchboard": "switchboard", "simple_wiki": "simple_wiki"}
FIGURE_PATH = "figures/figure1.png"
ROW_GROUP_SIZE = 10_000
BABYLM_STRICT_WORDS = 100_000_000
SHUFFLE_RULE = "merged: numpy.random.default_rng(seed).permutation per split"
SPLIT_RULE = (
    "a document (source, doc_id) is in validation when "
    "int(sha256(source\\x1fdoc_id\\x1f)[:16], 16) / 16**16 < val_fraction"
)

NO_DOC_ID_RULE = "; a row without doc_id is a document of its own, its id standing for doc_id"


def document() -> pl.Expr:
    """The document a row belongs to, for the split: its doc_id, or the row itself (its id) without one."""
    return pl.coalesce("doc_id", "id")


def parse_size(size: int | str) -> int:
    """``"500MB"`` (decimal), ``"500MiB"`` (binary) or a number of bytes, as bytes."""
    from datasets.utils.py_utils import convert_file_size_to_int

    if isinstance(size, str) and size.strip().isascii() and size.strip().isdigit():
        size = int(size.strip())  # plain digits are bytes
    try:
        value = convert_file_size_to_int(size.strip() if isinstance(size, str) else size)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"--max-shard-size: cannot read {size!r}; use e.g. 500MB, 1GB, 200MiB or a number of bytes"
        ) from exc
    if value <= 0:
        raise InputError(f"--max-shard-size must be positive, got {size!r}")
    return value


# --- the record -----------------------------------------------------------------------------------


def _package() -> dict:
    from classit_data import __version__

    return {"name": "classit-data", "version": __version__, **library_versions()}


class BuildRecord(BaseModel):
    """``build_info.json``, its fields in the file's order: the settings first, then what each step made, then
    every file with its sha256 (``record.write_build_info``)."""

    model_config = ConfigDict(extra="forbid")

    format: str = BUILD_FORMAT
    format_version: int = BUILD_FORMAT_VERSION
    package: dict[str, Any] = Field(default_factory=_package)
    command: str | None
    inputs: dict[str, Any] = {}
    seed: int
    shuffle: str = SHUFFLE_RULE
    val_fraction: float | None
    split_rule: str = SPLIT_RULE
    validation_documents: dict[str, int] = {}
    max_shard_size: int
    validation: dict[str, Any] = {}
    configs: dict[str, dict] = {}
    counts: dict[str, Any] = {}
    babylm: dict[str, Any] = {}
    provenance: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    #: what the steps before the build recorded (``stages.stage_records``), for the report
    stages: dict[str, Any] = {}
    files: dict[str, dict] = {}

    def count(self, rows: pl.DataFrame) -> None:
        """Rows and words in total and per source (``rows`` has ``with_word_counts``' columns)."""
        totals = _counts(rows)
        self.counts = {
            "rows": totals["rows"],
            "by_source": {s: _counts(rows.filter(pl.col("source") == s)) for s in SOURCES},
            "words_text": totals["words_text"],
            "words_prompt_reply": totals["words_prompt"] + totals["words_reply"],
        }
        self.babylm = {
            "strict_track_words": BABYLM_STRICT_WORDS,
            "dataset_words": totals["words_text"],
            "share": totals["words_text"] / BABYLM_STRICT_WORDS,
        }

    def note_bare_inputs(self, inputs: BuildInputs) -> None:
        """Record the input files without provenance; a row without doc_id was a document of its own."""
        self.provenance["without_provenance"] = bare = inputs.without_provenance()
        if bare and "doc_id" in bare["columns"]:
            self.split_rule += NO_DOC_ID_RULE


class BuildSummary(BuildRecord, Summary):
    """What ``build`` made: its record (``build_info.json``), where the folder is and how long it took."""

    out: str
    seconds: float
    gate_seconds: float

    def title(self) -> str:
        return f"build -> {self.out}"

    def rows(self) -> dict[str, object]:
        """Each config's splits, the gate's verdict, words and the BabyLM budget share, the card."""
        rows: dict[str, object] = {}
        for name, cfg in self.configs.items():
            for split, s in cfg["splits"].items():
                rows[f"{name}/{split}"] = f"{s['num_examples']:,} rows, {len(s['files'])} shard(s)"
        v = self.validation
        rows["validation gate"] = (
            "passed" if v["passed"] else "FAILED (forced)"
        ) + f": {v['kept']:,} kept, {v['quarantined']:,} rejected"
        rows["words (text)"] = self.counts["words_text"]
        rows["BabyLM budget share"] = f"{100 * self.babylm['share']:.2f}%"
        rows["card"] = f"{self.out}/README.md"
        rows["seconds"] = self.seconds
        return rows


# --- the build ------------------------------------------------------------------------------------


def build(
    switchboard: str | Path | Sequence[str | Path] | None,
    wiki: str | Path | Sequence[str | Path] | None,
    out: str | Path,
    settings: BuildConfig | None = None,
    *,
    stats_dir: str | Path | None = None,
    passages: str | Path | None = None,
    validate_config: str | Path | dict | None = None,
    generation_runs: Sequence[str | Path] = (),
    command: str | None = None,
    progress: bool = True,
) -> BuildSummary:
    """Validate rows and write the Hub-layout dataset folder with its card.

    Inputs:
        switchboard, wiki: row files (``ITEM_SCHEMA``) of each source, normally the kept rows of ``validate``
            (a file holding both sources may be given as both).
        settings: :class:`~classit_data.dataset.config.BuildConfig` (defaults when None).
        stats_dir: the output of ``stats`` for the card (computed here when None).
        passages, validate_config: the passage file and thresholds of the validation gate.
        generation_runs: output folders (or ``run.json`` files) of ``generate-wiki``; ``command``: how the
            build was started; both for the record.

    Outputs:
        out: the dataset folder (shards per config, ``README.md`` card, ``figures/``, ``build_info.json``,
            ``report.html``), replaced as a whole. The summary is the build record, with ``out`` and seconds.
    """
    from classit_data.core.console import console

    config = settings if settings is not None else BuildConfig()
    started = time.perf_counter()
    out = Path(out)
    sw_paths, wiki_paths = as_paths(switchboard), as_paths(wiki)
    if not sw_paths and not wiki_paths:
        raise InputError("nothing to build: give --switchboard and/or --wiki row files")
    check_generation_runs(generation_runs)
    thresholds = _thresholds(validate_config)  # a mistake in a side file is one line now, not after the gate
    record = BuildRecord(
        command=command,
        seed=config.seed,
        val_fraction=config.val_fraction,
        max_shard_size=parse_size(config.max_shard_size),
    )
    _check_out(out, [*sw_paths, *wiki_paths])
    say = console.print if progress else (lambda *a, **k: None)
    reads = {
        "--switchboard": sw_paths,
        "--wiki": wiki_paths,
        "--stats-dir": [stats_dir] if stats_dir else [],
        "--passages": [passages] if passages else [],
        "--generation-run": list(generation_runs),
    }
    with replaced_together({"--out": out}, reads, folders=["--out"]) as outs:  # locked before any reading
        inputs = read_inputs(sw_paths, wiki_paths)
        folder = outs.path("--out")
        gate_seconds, timings = _write_folder(
            folder,
            record,
            inputs,
            config,
            say,
            stats_dir=stats_dir,
            passages=passages,
            thresholds=thresholds,
            generation_runs=generation_runs,
        )
        write_build_report(folder, {**timings, "build": round(time.perf_counter() - started, 3)}, out)
    return BuildSummary(
        **dict(record),
        out=str(out),
        seconds=round(time.perf_counter() - started, 2),
        gate_seconds=round(gate_seconds, 2),
    )


def _write_folder(
    folder: Path,
    record: BuildRecord,
    inputs: BuildInputs,
    config: BuildConfig,
    say: Callable[..., None],
    *,
    stats_dir,
    passages,
    thresholds,
    generation_runs,
) -> tuple[float, dict]:
    """Gate, split, shards, statistics, card and record, into ``folder``; the gate's seconds and the steps'."""
    work = Path(tempfile.mkdtemp(prefix="work-", dir=folder))
    say(f"validating {inputs.rows.height:,} rows ...")
    kept, record.validation, gate_seconds = run_validation_gate(
        inputs, work, force=config.force, config=thresholds, passages=passages
    )
    record.inputs = inputs.record(passages)  # after the gate, which tells a missing passage file in one line
    rows, record.validation_documents = split_by_document(kept, config.val_fraction)
    say("writing shards ...")
    record.configs = write_configs(
        rows, folder, val_fraction=config.val_fraction, seed=config.seed, max_shard_bytes=record.max_shard_size
    )
    record.stats, stats_markdown = statistics_for_card(work / "kept.parquet", folder, work, stats_dir)
    timings = _record_rows(record, rows, inputs, passages, generation_runs)
    shutil.rmtree(work)
    write_card_and_record(folder, record, stats_markdown)
    return gate_seconds, timings


def _record_rows(record: BuildRecord, rows: pl.DataFrame, inputs: BuildInputs, passages, generation_runs) -> dict:
    """Counts, provenance and the steps' records of the published rows into ``record``; the steps' wall times."""
    record.count(rows)
    record.provenance = provenance_summary(rows, inputs.wiki, generation_runs)
    record.note_bare_inputs(inputs)
    return record_stages(record, inputs.files, passages, generation_runs)


def record_stages(record: BuildRecord, files: list[Path], passages, generation_runs) -> dict:
    """The steps' records into ``record.stages`` (with quarantined samples and one rendered prompt); their
    wall times, which stay out of the record."""
    from classit_data.dataset.stages import quarantine_samples, rendered_prompt, stage_records

    record.stages, timings = stage_records(files, passages, generation_runs)
    record.stages["quarantine_samples"] = quarantine_samples(files)
    record.stages["rendered_prompt"] = rendered_prompt(record.provenance.get("generation_runs") or [], passages)
    return timings


def write_build_report(folder: Path, timings: dict, out: Path) -> None:
    """``report.html`` and the wall times it shows, beside the card but not in the record: the record lists
    (and ``push`` publishes) only what a rebuild reproduces byte for byte."""
    import json

    from classit_data.dataset.report import TIMINGS_FILE, write_page

    (folder / TIMINGS_FILE).write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    write_page(folder, name=out.name)


def _thresholds(validate_config: str | Path | dict | None) -> ValidationConfig:
    """The validator's thresholds: its defaults, or a file or mapping of them."""
    return ValidationConfig.load(validate_config)


# --- the output folder ----------------------------------------------------------------------------


def _check_out(out: Path, inputs: Iterable[Path]) -> None:
    """Refuse to replace a folder that is not a build, or one that holds an input."""
    if out.exists():
        if not out.is_dir():
            raise InputError("exists and is not a folder", out)
        if any(out.iterdir()) and not (out / BUILD_INFO).exists():
            raise InputError("exists and was not made by `classit-data build`; remove it or choose another --out", out)
    resolved = out.resolve()
    for p in inputs:
        if resolved in p.resolve().parents:
            raise InputError("input lies inside the output folder, which the build replaces", p)


# --- validation gate ------------------------------------------------------------------------------


def run_validation_gate(
    inputs: BuildInputs,
    work: Path,
    *,
    force: bool = False,
    config: ValidationConfig | None = None,
    passages: str | Path | None = None,
) -> tuple[pl.DataFrame, dict, float]:
    """The rows that pass the validators, the gate's verdict and its seconds.

    The gate passes when no row is rejected and every source given keeps rows: the inputs are then exactly
    what ``classit-data validate`` keeps. Otherwise the build is refused, unless ``force``.
    """
    kept, verdict, seconds = _validate(inputs.files, work, inputs.rows.height, config=config, passages=passages)
    for name, paths in (("switchboard", inputs.switchboard), ("simple_wiki", inputs.wiki)):
        if paths and kept.filter(pl.col("source") == name).height == 0:
            verdict["passed"] = False
            verdict.setdefault("problems", []).append(f"no {name} row passed validation")
    verdict["forced"] = bool(force and not verdict["passed"])
    if not verdict["passed"] and not force:
        reasons = ", ".join(f"{r}: {n:,}" for r, n in list(verdict["quarantined_by_reason"].items())[:5])
        problems = "; ".join(verdict.get("problems", []))
        raise InputError(
            f"validation failed: {verdict['quarantined']:,} of {verdict['input_rows']:,} rows are rejected"
            + (f" ({reasons})" if reasons else "")
            + (f"; {problems}" if problems else "")
            + ". Build from the kept rows of `classit-data validate`, or pass --force to build from the "
            f"{verdict['kept']:,} rows that pass (a forced build cannot be pushed)"
        )
    kept, _ = complete_rows(kept)  # kept rows stay in the schema they came in
    return kept.select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()]), verdict, seconds


def _validate(inputs: list[Path], work: Path, n_input: int, *, config, passages) -> tuple[pl.DataFrame, dict, float]:
    """Run the validators into ``work``; every rejected row is counted by reason in the verdict."""
    from classit_data.validate.validate import validate

    kept_path, quarantine_path = work / "kept.parquet", work / "quarantine.parquet"
    started = time.perf_counter()
    report = validate(
        [str(p) for p in inputs], kept_path, quarantine_path, work / "report.json", config, passages=passages
    )
    kept = read_rows(kept_path)
    quarantined = read_rows(quarantine_path) if quarantine_path.exists() else pl.DataFrame()
    reasons: dict[str, int] = {}
    if quarantined.height and "reject_reason" in quarantined.columns:
        for reason, n in quarantined.group_by("reject_reason").len().sort("len", descending=True).iter_rows():
            reasons[str(reason)] = n
    verdict = {
        "passed": quarantined.height == 0 and kept.height == n_input,
        "input_rows": n_input,
        "kept": kept.height,
        "quarantined": quarantined.height,
        "quarantined_by_reason": reasons,
        "judge_scores": report.judge_scores or {},
        "report": stable_report(report.to_json()),
    }
    return kept, verdict, time.perf_counter() - started


# --- splits and shards ----------------------------------------------------------------------------


def doc_fraction(source: str, doc_id: str) -> float:
    """Where a document falls in [0, 1): a hash of (source, doc_id), the same on every machine and run."""
    return int(content_id(source, doc_id), 16) / 16**16


def validation_docs(df: pl.DataFrame, source: str, val_fraction: float) -> set[str]:
    """The documents of one source that go to the validation split.

    A document goes there when its hash falls below ``val_fraction``. With few documents that can be
    none or all of them; then the document with the lowest (highest) hash is moved, so that both splits
    have rows whenever the source has at least two documents.
    """
    docs = df.filter(pl.col("source") == source).select(document()).to_series().unique().to_list()
    if not docs or not val_fraction:
        return set()
    ranked = sorted(docs, key=lambda d: doc_fraction(source, d))
    val = {d for d in ranked if doc_fraction(source, d) < val_fraction}
    if len(docs) >= 2:
        if not val:
            val = {ranked[0]}
        if len(val) == len(docs):
            val.discard(ranked[-1])
    return val


def split_by_document(rows: pl.DataFrame, val_fraction: float | None) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows marked ``_val`` (in the validation split) and with word counts; documents in validation per source.

    A row without ``doc_id`` (rows in the published schema) is a document of its own, named by its id.
    """
    val_docs = {s: validation_docs(rows, s, val_fraction or 0.0) for s in SOURCES}
    is_val = pl.lit(False)
    for s, docs in val_docs.items():
        is_val = is_val | ((pl.col("source") == s) & document().is_in(sorted(docs)))
    return with_word_counts(rows.with_columns(is_val.alias("_val"))), {s: len(d) for s, d in val_docs.items()}


def write_configs(
    rows: pl.DataFrame, folder: Path, *, val_fraction: float | None, seed: int, max_shard_bytes: int
) -> dict[str, dict]:
    """Each config's splits as Parquet shards, with their counts; ``merged`` shuffled with ``seed``.

    A source without rows has no config; an empty validation split is left out.
    """
    import numpy as np

    splits = ["train", "validation"] if val_fraction else ["train"]
    configs: dict[str, dict] = {}
    for config in CONFIGS:
        frame = rows if config == "merged" else rows.filter(pl.col("source") == SOURCE_OF_CONFIG[config])
        if config != "merged" and frame.height == 0:
            continue
        configs[config] = {"splits": {}}
        for split in splits:
            part = frame.filter(pl.col("_val") == (split == "validation"))
            if config == "merged" and part.height:
                part = part[np.random.default_rng(seed).permutation(part.height).tolist()]
            if part.height == 0 and split == "validation":
                continue
            info = write_split(part, folder, config, split, max_shard_bytes)
            info.update(_counts(part))
            configs[config]["splits"][split] = info
    return configs


def _arrow_table(df: pl.DataFrame):
    """The rows as an Arrow table with plain ``string``/``int64`` types and datasets' feature metadata."""
    import pyarrow as pa
    from datasets import Features, Value

    features = Features({c: Value("int64" if ITEM_SCHEMA[c] == pl.Int64 else "string") for c in COLUMN_ORDER})
    schema = features.arrow_schema
    table = df.select(COLUMN_ORDER).to_arrow()
    return pa.Table.from_arrays(
        [table.column(c).cast(schema.field(c).type) for c in COLUMN_ORDER], schema=schema
    ), features


def write_split(
    df: pl.DataFrame, folder: Path, config: str, split: str, max_shard_bytes: int, content_defined: bool = True
) -> dict:
    """Write one split as Parquet shards of at most ``max_shard_bytes`` of Arrow data each; with
    ``content_defined`` (always, in a build) their pages are cut where the content says, so that a rebuild that
    changes a few rows leaves most bytes as they were and the Hub's Xet storage uploads only the rest."""
    import pyarrow.parquet as pq

    table, _ = _arrow_table(df)
    n_shards = max(1, math.ceil(table.nbytes / max_shard_bytes))
    if n_shards > max(1, table.num_rows):  # a shard per row would not do: thousands of files for nothing
        need = math.ceil(table.nbytes / table.num_rows)
        raise InputError(f"--max-shard-size {max_shard_bytes} bytes: smaller than one row of {config} ({need} bytes)")
    per_shard = math.ceil(table.num_rows / n_shards) if table.num_rows else 0
    files = []
    (folder / config).mkdir(parents=True, exist_ok=True)
    for i in range(n_shards):
        name = f"{config}/{split}-{i:05d}-of-{n_shards:05d}.parquet"
        part = table.slice(i * per_shard, per_shard)
        pq.write_table(
            part,
            folder / name,
            compression="zstd",
            row_group_size=ROW_GROUP_SIZE,
            write_statistics=True,
            use_content_defined_chunking=content_defined,
        )
        files.append(name)
    return {
        "num_examples": table.num_rows,
        "num_bytes": table.nbytes,
        "files": files,
        "download_size": sum((folder / f).stat().st_size for f in files),
    }


WORD_COLUMNS = {"prompt": "_w_prompt", "reply": "_w_reply", "text": "_w_text"}


def with_word_counts(df: pl.DataFrame) -> pl.DataFrame:
    """Words (whitespace-separated tokens, as BabyLM counts them) per row, counted once for every total."""
    return df.with_columns(word_count_expr(c).alias(w) for c, w in WORD_COLUMNS.items())


def _counts(df: pl.DataFrame) -> dict:
    """Rows, documents and words of a frame that has ``with_word_counts``' columns."""
    if df.height == 0:
        return {"rows": 0, "documents": 0, "words_prompt": 0, "words_reply": 0, "words_text": 0}
    sums = df.select([pl.col(w).sum() for w in WORD_COLUMNS.values()]).row(0)
    return {
        "rows": df.height,
        "documents": df.select(pl.struct(pl.col("source"), document()).n_unique()).item(),
        **{f"words_{c}": int(n) for c, n in zip(WORD_COLUMNS, sums, strict=True)},
    }


# --- statistics, card and record ------------------------------------------------------------------


def statistics_for_card(
    rows_file: Path, folder: Path, work: Path, stats_dir: str | Path | None
) -> tuple[dict, str | None]:
    """The statistics' record and ``stats.md`` for the card: from ``stats_dir`` (``classit-data stats``), else
    computed here. Figure 1 is copied into the folder."""
    if stats_dir is not None:
        src = Path(stats_dir)
        if not (src / "stats.json").is_file():
            raise InputError("no stats.json here: give the --out folder of `classit-data stats`", src)
    else:
        from classit_data.dataset.stats import stats

        src = work / "stats"
        stats([str(rows_file)], src)
    record = {
        "source": str(stats_dir) if stats_dir is not None else "computed by build",
        "stats": stable_report(read_stats_record(src)),
    }
    markdown = (src / "stats.md").read_text(encoding="utf-8") if (src / "stats.md").is_file() else None
    if (src / "figure1.png").is_file():
        (folder / FIGURE_PATH).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / "figure1.png", folder / FIGURE_PATH)
        record["figure"] = FIGURE_PATH
    return record, markdown


def read_stats_record(folder: Path) -> dict:
    """``stats.json`` of a ``classit-data stats`` folder, and its Figure 1: one line naming the file when it is
    not such a record (a damaged file, another JSON, the figure missing)."""
    import json

    path = folder / "stats.json"
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})", path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", path, exc.lineno) from exc
    if not isinstance(content, dict) or not {"sources", "figure"} <= content.keys():
        raise InputError("not a record of `classit-data stats` (no sources and figure): run it again", path)
    if not (folder / "figure1.png").is_file():
        raise InputError("no figure1.png beside stats.json: run `classit-data stats` again", folder)
    return content


def write_card_and_record(folder: Path, record: BuildRecord, stats_markdown: str | None) -> None:
    """Write the card, then ``build_info.json`` listing every file with its sha256 (into ``record.files``)."""
    from classit_data.dataset.card import render_dataset_card

    data = portable(record.model_dump(), folder)
    for name, value in data.items():  # the summary a build returns is its record, paths named the same way
        setattr(record, name, value)
    (folder / "README.md").write_text(render_dataset_card(data, stats_markdown), encoding="utf-8")
    write_build_info(folder, data)
    record.files = data["files"]
