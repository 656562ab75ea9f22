"""Turn validated rows into the dataset folder that the Hub and ``datasets.load_dataset`` read.

The folder has the published dataset's layout: one sub-folder per config (``switchboard``,
``simple_wiki`` and ``merged``), Parquet shards ``<config>/<split>-0000i-of-0000N.parquet``, a
``README.md`` card whose YAML names the configs and describes them (``configs:`` / ``dataset_info:``),
``figures/figure1.png`` and ``build_info.json``: what the build read (with sha256), what it wrote (with
sha256), the validation gate's verdict and a summary of how the rows were made. ``classit-data push``
trusts nothing else.

Why the choices:
- the gate re-runs issue 5's validators on the rows: a build from rows that did not pass ``validate``
  is refused (``force`` builds from the rows that pass and marks the build as not publishable);
- the validation split is chosen per document (conversation or article) by a hash of
  ``(source, doc_id)``, so no conversation or article is in both splits, and changing the seed or
  adding rows never moves a document from one split to the other;
- nothing in the output depends on the clock or the machine: the same inputs give the same bytes, so
  rebuilding and pushing unchanged data makes no new commit;
- the folder is written beside its final place and renamed into it at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError, first_line
from classit_data.core.io import read_rows
from classit_data.core.lengths import word_count_expr
from classit_data.core.schema import COLUMN_ORDER, ITEM_SCHEMA, PUBLISHED_COLUMNS, content_id

CONFIGS = ("switchboard", "simple_wiki", "merged")
SOURCE_OF_CONFIG = {"switchboard": "switchboard", "simple_wiki": "simple_wiki"}
DEFAULT_SEED = 0
DEFAULT_MAX_SHARD_SIZE = "500MB"  # the size datasets' push_to_hub uses
BUILD_INFO = "build_info.json"
BUILD_FORMAT = "classit-data/build"
BUILD_FORMAT_VERSION = 1
FIGURE_PATH = "figures/figure1.png"
ROW_GROUP_SIZE = 10_000
#: the published columns first, in the published order, then how each row was made
BABYLM_STRICT_WORDS = 100_000_000


def parse_size(size: int | str) -> int:
    """``"500MB"`` (decimal), ``"500MiB"`` (binary) or a number of bytes, as bytes."""
    from datasets.utils.py_utils import convert_file_size_to_int

    try:
        value = convert_file_size_to_int(size.strip() if isinstance(size, str) else size)
    except (ValueError, TypeError) as exc:
        raise InputError(f"--max-shard-size: cannot read {size!r}; use e.g. 500MB, 1GB, 200MiB or a number "
                         "of bytes") from exc
    if value <= 0:
        raise InputError(f"--max-shard-size must be positive, got {size!r}")
    return value


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _as_paths(value: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    return [Path(v) for v in value]


def _read_inputs(sw_paths: list[Path], wiki_paths: list[Path]) -> tuple[pl.DataFrame, list[Path], dict]:
    """All input rows with the item schema, the distinct input files, and a record per file.

    A file given with ``--switchboard`` may hold only Switchboard rows, one given with ``--wiki`` only
    Wikipedia rows; one given with both (the kept file of ``classit-data validate``) may hold both.
    """
    allowed: dict[Path, set[str]] = {}
    for p in sw_paths:
        allowed.setdefault(p, set()).add("switchboard")
    for p in wiki_paths:
        allowed.setdefault(p, set()).add("simple_wiki")
    frames, records, seen = [], {"switchboard": [], "wiki": []}, {}
    for path, sources in allowed.items():
        key = path.resolve()
        if key in seen:
            raise InputError("given twice", path)
        seen[key] = path
        df = read_rows(path, required=tuple(ITEM_SCHEMA))
        bad = df.with_row_index("_row").filter(~pl.col("source").is_in(sorted(sources)).fill_null(False))
        if bad.height:
            first = bad.row(0, named=True)
            flag = " and ".join("--wiki" if s == "simple_wiki" else "--switchboard" for s in sorted(sources))
            raise InputError(f"{bad.height:,} row(s) have source {first['source']!r}, which a file given with {flag} "
                             f"may not hold", path, f"row {first['_row'] + 1}")
        try:
            df = df.select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()])
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"columns of the wrong type: {first_line(exc)}", path) from exc
        frames.append(df)
        entry = {"path": str(path), "sha256": sha256_file(path), "rows": df.height, "bytes": path.stat().st_size}
        for source, flag in (("switchboard", "switchboard"), ("simple_wiki", "wiki")):
            if source in sources:
                records[flag].append(entry)
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=ITEM_SCHEMA)
    return rows, list(allowed), records


# --- validation gate ------------------------------------------------------------------------------


def run_validation_gate(inputs: list[Path], workdir: Path, n_input: int, *, config: str | Path | dict | None = None,
                        passages: str | Path | None = None) -> tuple[pl.DataFrame, dict, float]:
    """Run issue 5's validators on the rows; return the rows that pass, the gate's verdict and its seconds.

    The gate passes when no row is quarantined: the inputs are then exactly what ``classit-data
    validate`` keeps. Every rejected row is counted by reason in the verdict.
    """
    from classit_data.validate.checks import validate_rows

    kept_path, quarantine_path, report_path = workdir / "kept.parquet", workdir / "quarantine.parquet", \
        workdir / "report.json"
    started = time.perf_counter()
    report = validate_rows([str(p) for p in inputs], kept_path, quarantine_path, report_path,
                           config=config, passages=passages)
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
        "report": stable_report(report),
    }
    return kept, verdict, time.perf_counter() - started


#: parts of another step's report that change from run to run (timings, temporary paths)
UNSTABLE_KEYS = {"seconds", "timings", "outputs", "inputs", "passages", "tokenizer", "out", "out_dir", "path", "files",
                 "started", "finished"}


def stable_report(obj):
    """A report without its timings and paths: what the build records must not change between identical builds."""
    if isinstance(obj, dict):
        return {k: stable_report(v) for k, v in obj.items()
                if k not in UNSTABLE_KEYS and not k.startswith("seconds") and not k.endswith(("_seconds", "_s"))}
    if isinstance(obj, list):
        return [stable_report(v) for v in obj]
    return json.loads(json.dumps(obj, default=str)) if not isinstance(obj, (str, int, float, bool, type(None))) \
        else obj


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
    docs = df.filter(pl.col("source") == source).get_column("doc_id").unique().to_list()
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


def _arrow_table(df: pl.DataFrame):
    """The rows as an Arrow table with plain ``string``/``int64`` types and datasets' feature metadata."""
    import pyarrow as pa
    from datasets import Features, Value

    features = Features({c: Value("int64" if ITEM_SCHEMA[c] == pl.Int64 else "string") for c in COLUMN_ORDER})
    schema = features.arrow_schema
    table = df.select(COLUMN_ORDER).to_arrow()
    return pa.Table.from_arrays([table.column(c).cast(schema.field(c).type) for c in COLUMN_ORDER],
                                schema=schema), features


def write_split(df: pl.DataFrame, folder: Path, config: str, split: str, max_shard_bytes: int) -> dict:
    """Write one split as Parquet shards of at most ``max_shard_bytes`` of Arrow data each."""
    import pyarrow.parquet as pq

    table, _ = _arrow_table(df)
    n_shards = max(1, math.ceil(table.nbytes / max_shard_bytes))
    per_shard = math.ceil(table.num_rows / n_shards) if table.num_rows else 0
    files = []
    (folder / config).mkdir(parents=True, exist_ok=True)
    for i in range(n_shards):
        name = f"{config}/{split}-{i:05d}-of-{n_shards:05d}.parquet"
        part = table.slice(i * per_shard, per_shard)
        pq.write_table(part, folder / name, compression="zstd", row_group_size=ROW_GROUP_SIZE,
                       write_statistics=True)
        files.append(name)
    return {"num_examples": table.num_rows, "num_bytes": table.nbytes, "files": files,
            "download_size": sum((folder / f).stat().st_size for f in files)}


WORD_COLUMNS = {"prompt": "_w_prompt", "reply": "_w_reply", "text": "_w_text"}


def with_word_counts(df: pl.DataFrame) -> pl.DataFrame:
    """Words (whitespace-separated tokens, as BabyLM counts them) per row, counted once for every total."""
    return df.with_columns(word_count_expr(c).alias(w) for c, w in WORD_COLUMNS.items())


def _counts(df: pl.DataFrame) -> dict:
    """Rows, documents and words of a frame that has ``with_word_counts``' columns."""
    if df.height == 0:
        return {"rows": 0, "documents": 0, "words_prompt": 0, "words_reply": 0, "words_text": 0}
    sums = df.select([pl.col(w).sum() for w in WORD_COLUMNS.values()]).row(0)
    return {"rows": df.height, "documents": df.select(pl.struct("source", "doc_id").n_unique()).item(),
            **{f"words_{c}": int(n) for c, n in zip(WORD_COLUMNS, sums, strict=True)}}


# --- provenance -----------------------------------------------------------------------------------


def provenance_summary(df: pl.DataFrame, wiki_inputs: list[Path], generation_runs: Sequence[str | Path] = ()) -> dict:
    """How the rows were made: models, prompt hashes, sampling, seeds and origins, with row counts.

    The ``run.json`` / ``summary.json`` of ``generate-wiki`` (in its output folder) record the generation's
    full configuration: they are kept when given (``generation_runs``: the folders or the files) or when
    they sit beside a wiki input.
    """

    def tally(frame: pl.DataFrame, cols: list[str]) -> list[dict]:
        if frame.height == 0:
            return []
        grouped = frame.group_by(cols).len().sort(["len", *cols], descending=[True] + [False] * len(cols))
        return [dict(zip([*cols, "rows"], r, strict=True)) for r in grouped.iter_rows()]

    generated = df.filter(pl.col("model").is_not_null())
    runs, prompt_files = [], []
    candidates: list[Path] = []
    for g in map(Path, generation_runs):
        if g.is_dir():
            found = [g / n for n in ("run.json", "summary.json") if (g / n).is_file()]
            if not found:
                raise InputError("no run.json here: give the --out folder of `generate-wiki`", g)
            candidates += found
        elif g.is_file():
            candidates.append(g)
        else:
            raise InputError("no such file or folder", g)
    for p in wiki_inputs:
        candidates += [p.parent / n for n in ("run.json", "summary.json") if (p.parent / n).is_file()]
    for f in dict.fromkeys(c.resolve() for c in candidates):
        try:
            content = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            runs.append({"file": str(f), "error": "unreadable"})
            continue
        runs.append({"file": str(f), "sha256": sha256_file(f), "content": content})
        prompts = content.get("prompts") if isinstance(content, dict) else None
        if isinstance(prompts, dict) and isinstance(prompts.get("files"), list):
            unchanged = _prompts_unchanged(prompts.get("source"), content.get("identity") or {})
            folder = Path(str(prompts.get("source") or "")).parent
            for fname in prompts["files"]:
                fp = folder / str(fname)
                # a file's hash is only worth recording when the files still hash to the run's prompt_hash
                entry = {"file": str(fname), "sha256": sha256_file(fp) if unchanged and fp.is_file() else None}
                if entry not in prompt_files:
                    prompt_files.append(entry)
    return {
        "models": tally(generated, ["model", "model_revision"]),
        "prompt_hashes": tally(generated, ["prompt_hash"]),
        "sampling": tally(generated, ["sampling"]),
        "seeds": tally(generated, ["seed"]),
        "origins": tally(df, ["source", "origin"]),
        "generation_runs": runs,
        "prompt_files": prompt_files,
    }


def _prompts_unchanged(source, identity: dict) -> bool:
    """Whether the prompt files named by a generation run still give the prompt hash it recorded."""
    if not source or not identity.get("prompt_hash"):
        return False
    from classit_data.generate.prompts import PromptSet

    try:
        num_pairs = (identity.get("sampling") or {}).get("num_pairs")
        return PromptSet.load(source).prompt_hash(num_pairs) == identity["prompt_hash"]
    except (InputError, OSError):
        return False


# --- the build ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _staging_folder(out: Path):
    """A fresh folder beside ``out``; on success it replaces ``out`` (an earlier build is swapped out)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "previous")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _check_out(out: Path, inputs: Iterable[Path]) -> None:
    if out.exists():
        if not out.is_dir():
            raise InputError("exists and is not a folder", out)
        if any(out.iterdir()) and not (out / BUILD_INFO).exists():
            raise InputError("exists and was not made by `classit-data build`; remove it or choose another --out",
                             out)
    resolved = out.resolve()
    for p in inputs:
        if resolved in p.resolve().parents:
            raise InputError("input lies inside the output folder, which the build replaces", p)


def build_dataset(
    switchboard: str | Path | Sequence[str | Path] | None,
    wiki: str | Path | Sequence[str | Path] | None,
    out: str | Path,
    *,
    val_fraction: float | None = None,
    seed: int = DEFAULT_SEED,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    force: bool = False,
    stats_dir: str | Path | None = None,
    passages: str | Path | None = None,
    validate_config: str | Path | dict | None = None,
    generation_runs: Sequence[str | Path] = (),
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Validate, split, shard and document the rows; write the dataset folder ``out``.

    ``switchboard`` / ``wiki``: row files (``ITEM_SCHEMA``) of each source, normally the kept rows of
    ``classit-data validate``. ``stats_dir``: the output of ``classit-data stats`` for the card (computed
    here when not given). ``passages`` / ``validate_config``: passed to the validators. ``generation_runs``: the output
    folders (or ``run.json`` files) of ``generate-wiki``, for the record. ``command``:
    how the build was started, for the record. Returns the build record (also in ``build_info.json``).
    """
    from classit_data import __version__
    from classit_data.core.console import console

    started = time.perf_counter()
    out = Path(out)
    sw_paths, wiki_paths = _as_paths(switchboard), _as_paths(wiki)
    if not sw_paths and not wiki_paths:
        raise InputError("nothing to build: give --switchboard and/or --wiki row files")
    if val_fraction is not None and not 0 <= val_fraction < 1:
        raise InputError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    max_shard_bytes = parse_size(max_shard_size)
    _check_out(out, [*sw_paths, *wiki_paths])

    input_rows, input_files, input_records = _read_inputs(sw_paths, wiki_paths)
    say = console.print if progress else (lambda *a, **k: None)

    with _staging_folder(out) as tmp:
        work = Path(tempfile.mkdtemp(prefix="work-", dir=tmp))
        say(f"validating {input_rows.height:,} rows ...")
        kept, verdict, gate_seconds = run_validation_gate(input_files, work, input_rows.height, config=validate_config,
                                            passages=passages)
        for name, paths in (("switchboard", sw_paths), ("simple_wiki", wiki_paths)):
            if paths and kept.filter(pl.col("source") == name).height == 0:
                verdict["passed"] = False
                verdict.setdefault("problems", []).append(f"no {name} row passed validation")
        verdict["forced"] = bool(force and not verdict["passed"])
        if not verdict["passed"] and not force:
            reasons = ", ".join(f"{r}: {n:,}" for r, n in list(verdict["quarantined_by_reason"].items())[:5])
            problems = "; ".join(verdict.get("problems", []))
            raise InputError(
                f"validation failed: {verdict['quarantined']:,} of {verdict['input_rows']:,} rows are rejected"
                + (f" ({reasons})" if reasons else "") + (f"; {problems}" if problems else "")
                + ". Build from the kept rows of `classit-data validate`, or pass --force to build from the "
                f"{verdict['kept']:,} rows that pass (a forced build cannot be pushed)")
        rows = kept.select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()])

        # splits, chosen per document
        val_docs = {s: validation_docs(rows, s, val_fraction or 0.0) for s in ("switchboard", "simple_wiki")}
        is_val = pl.lit(False)
        for s, docs in val_docs.items():
            is_val = is_val | ((pl.col("source") == s) & pl.col("doc_id").is_in(sorted(docs)))
        rows = with_word_counts(rows.with_columns(is_val.alias("_val")))
        splits = ["train", "validation"] if val_fraction else ["train"]

        def split_rows(frame: pl.DataFrame, split: str) -> pl.DataFrame:
            return frame.filter(pl.col("_val") == (split == "validation"))

        import numpy as np

        configs: dict[str, dict] = {}
        say("writing shards ...")
        for config in CONFIGS:
            if config == "merged":
                frame = rows
            else:
                frame = rows.filter(pl.col("source") == SOURCE_OF_CONFIG[config])
                if frame.height == 0:
                    continue
            configs[config] = {"splits": {}}
            for split in splits:
                part = split_rows(frame, split)
                if config == "merged":
                    part = part[np.random.default_rng(seed).permutation(part.height).tolist()] \
                        if part.height else part
                if part.height == 0 and split == "validation":
                    continue
                info = write_split(part, tmp, config, split, max_shard_bytes)
                info.update(_counts(part))
                configs[config]["splits"][split] = info

        # statistics and Figure 1
        stats = _stats(work / "kept.parquet", tmp, work, stats_dir)

        totals = _counts(rows)
        record = {
            "format": BUILD_FORMAT,
            "format_version": BUILD_FORMAT_VERSION,
            "package": {"name": "classit-data", "version": __version__, **_library_versions()},
            "command": command,
            "inputs": {**input_records,
                       "passages": ({"path": str(passages), "sha256": sha256_file(passages)}
                                    if passages else None)},
            "seed": seed,
            "shuffle": "merged: numpy.random.default_rng(seed).permutation per split",
            "val_fraction": val_fraction,
            "split_rule": "a document (source, doc_id) is in validation when "
                          "int(sha256(source\\x1fdoc_id\\x1f)[:16], 16) / 16**16 < val_fraction",
            "validation_documents": {s: len(d) for s, d in val_docs.items()},
            "max_shard_size": max_shard_bytes,
            "validation": verdict,
            "configs": configs,
            "counts": {"rows": totals["rows"], "by_source": {
                s: _counts(rows.filter(pl.col("source") == s)) for s in ("switchboard", "simple_wiki")},
                "words_text": totals["words_text"], "words_prompt_reply": totals["words_prompt"] + totals["words_reply"]},
            "babylm": {"strict_track_words": BABYLM_STRICT_WORDS, "dataset_words": totals["words_text"],
                       "share": totals["words_text"] / BABYLM_STRICT_WORDS},
            "provenance": provenance_summary(rows, wiki_paths, generation_runs),
            "stats": stats["record"],
        }
        shutil.rmtree(work)

        from classit_data.build.card import render_dataset_card

        (tmp / "README.md").write_text(render_dataset_card(record, stats.get("markdown")), encoding="utf-8")
        record["files"] = {
            str(p.relative_to(tmp)): {"sha256": sha256_file(p), "size": p.stat().st_size}
            for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / BUILD_INFO).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    record["out"] = str(out)
    record["seconds"] = round(time.perf_counter() - started, 2)
    record["gate_seconds"] = round(gate_seconds, 2)
    return record


def _library_versions() -> dict:
    """Versions that decide the bytes of the Parquet files."""
    import datasets
    import pyarrow

    return {"pyarrow": pyarrow.__version__, "polars": pl.__version__, "datasets": datasets.__version__}


def _stats(rows_file: Path, folder: Path, work: Path, stats_dir: str | Path | None) -> dict:
    """Statistics for the card: from ``stats_dir`` (``classit-data stats``), else computed here."""
    if stats_dir is not None:
        src = Path(stats_dir)
        if not (src / "stats.json").is_file():
            raise InputError("no stats.json here: give the --out folder of `classit-data stats`", src)
    else:
        from classit_data.build.stats import compute_stats

        src = work / "stats"
        compute_stats([str(rows_file)], src)
    record = {"source": str(stats_dir) if stats_dir is not None else "computed by build",
              "stats": stable_report(json.loads((src / "stats.json").read_text(encoding="utf-8")))}
    markdown = (src / "stats.md").read_text(encoding="utf-8") if (src / "stats.md").is_file() else None
    if (src / "figure1.png").is_file():
        (folder / FIGURE_PATH).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / "figure1.png", folder / FIGURE_PATH)
        record["figure"] = FIGURE_PATH
    return {"record": record, "markdown": markdown}


def read_build_info(dataset_dir: str | Path) -> dict:
    """The build record of a dataset folder; an ``InputError`` when there is none or it is not ours."""
    path = Path(dataset_dir) / BUILD_INFO
    if not Path(dataset_dir).is_dir():
        raise InputError("no such folder", dataset_dir)
    if not path.is_file():
        raise InputError("no build_info.json: this folder was not made by `classit-data build`", dataset_dir)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable build record: {exc}", path) from exc
    if not isinstance(info, dict) or info.get("format") != BUILD_FORMAT:
        raise InputError("not a classit-data build record", path)
    if info.get("format_version") != BUILD_FORMAT_VERSION:
        raise InputError(f"build record version {info.get('format_version')} is not "
                         f"{BUILD_FORMAT_VERSION}; rebuild with this version", path)
    return info
