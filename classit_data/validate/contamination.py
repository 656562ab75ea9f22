"""Is an evaluation set in the training data? BabyLM's zero-shot tasks against the rows' ``text``.

The eval files are read here, keyed on the field names of the BabyLM 2025 evaluation pipeline (the same
names ``classit_train.evaluate.tasks`` scores; ``classit_data`` reads them itself, since imports flow one
way): BLiMP (``sentence_good``, ``sentence_bad``, ``UID``, ``field``), the BLiMP supplement (the same without
``field``), EWoK (``Context1/2``, ``Target1/2``, ``Domain``), entity tracking (``input_prefix``, ``options``)
and WUG (``sentences``). Each file's task is told by the fields of its first line.

An eval item is contaminated when

* one of its sentences, normalised (NFKC, lower-cased words one space apart; text is cut into sentences at
  ``. ! ? : ;`` and line breaks, on both sides alike), is a sentence of a row's ``text``; sentences shorter
  than ``min_sentence_words`` do not count (``Yes.`` is in everything), or
* it shares a word ``ngram``-gram (13 by default) with a row's ``text``.

Both sides become 64-bit hashes in polars and meet in joins, so 130k rows against all of BLiMP take seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ConfigDict, Field

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, json_lines
from classit_data.core.outputs import replaced_together
from classit_data.core.summary import Summary
from classit_data.validate.config import ContaminationConfig
from classit_data.validate.dedup import word_lists

#: a sentence: everything up to a . ! ? : ; or a line break (both sides are cut the same way)
SENTENCE_PATTERN = r"[^.!?:;\n]+"
#: the tasks, in report order, and the fields that tell a file's task
TASK_FIELDS = {
    "blimp": ("sentence_good", "field"),
    "blimp_supplement": ("sentence_good",),
    "ewok": ("Context1", "Target1"),
    "entity_tracking": ("input_prefix", "options"),
    "wug": ("sentences",),
}
_EVAL_SCHEMA = {"task": pl.String, "uid": pl.String, "item": pl.String, "text": pl.String}
_MATCH_SCHEMA = {
    "task": pl.String,
    "uid": pl.String,
    "item": pl.String,
    "text": pl.String,
    "kind": pl.String,
    "_row": pl.UInt32,
}


def task_of(row: dict, path: Path, line: int) -> str:
    """The task a JSON line belongs to, from its fields."""
    for task, keys in TASK_FIELDS.items():
        if all(k in row for k in keys):
            return task
    raise InputError(
        "not a BLiMP, BLiMP supplement, EWoK, entity tracking or WUG line (fields: "
        f"{', '.join(sorted(row)) or 'none'})",
        path,
        line,
    )


def _texts(task: str, row: dict, path: Path) -> tuple[str, list[str]]:
    """(uid, the texts the item shows a model) of one eval line."""
    if task in ("blimp", "blimp_supplement"):
        return str(row.get("UID") or path.stem), [row["sentence_good"], row.get("sentence_bad")]
    if task == "ewok":
        return str(row.get("Domain") or path.stem), [
            f"{row['Context1']} {row['Target1']}",
            f"{row.get('Context2', '')} {row.get('Target2', '')}",
        ]
    if task == "entity_tracking":
        options = row["options"] if isinstance(row["options"], list) else [row["options"]]
        return path.stem, [f"{row['input_prefix']}{o}" for o in options]
    sentences = row["sentences"].split("\t") if isinstance(row["sentences"], str) else row["sentences"]
    return path.stem, list(sentences)


def _eval_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError("no such eval file or folder", p)
        found = sorted(q for q in p.rglob("*.jsonl") if q.is_file()) if p.is_dir() else [p]
        if not found:
            raise InputError("folder holds no .jsonl eval files", p)
        files.extend(found)
    if not files:
        raise InputError("no eval files given", "--eval")
    return files


def _read_file(path: Path) -> list[tuple[str, str, str, str]]:
    out, task = [], None
    for line_no, row in json_lines(path):
        task = task or task_of(row, path, line_no)
        uid, texts = _texts(task, row, path)
        out.extend((task, uid, f"{path}:{line_no}", str(t)) for t in texts if t)
    if not out:
        raise InputError("empty eval file (no text in its JSON lines)", path)
    return out


def read_eval(paths: str | Path | Iterable[str | Path]) -> pl.DataFrame:
    """Eval files or folders (searched for ``*.jsonl``) as one text per row: ``task, uid, item, text``
    (``item`` = ``file:line``; a BLiMP pair gives two texts, an entity-tracking item one per option)."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    rows = [r for f in _eval_files(paths) for r in _read_file(f)]
    return pl.DataFrame(rows, schema=_EVAL_SCHEMA, orient="row")


def sentence_hashes(texts: pl.Series, min_words: int = 1) -> pl.DataFrame:
    """``_key`` (index of the text), ``h`` (hash of a normalised sentence of at least ``min_words`` words)."""
    pieces = (
        pl.DataFrame({"s": texts.fill_null("").str.extract_all(SENTENCE_PATTERN)})
        .with_row_index("_key")
        .explode("s")
        .drop_nulls("s")
    )
    words = word_lists(pieces.get_column("s"))
    return (
        pieces.select("_key")
        .with_columns(words.alias("w"))
        .filter(pl.col("w").list.len() >= min_words)
        .select("_key", pl.col("w").list.join(" ").hash(17).alias("h"))
    )


def gram_hashes(texts: pl.Series, n: int) -> pl.DataFrame:
    """``_key`` (index of the text), ``h`` (hash of one of its word ``n``-grams), distinct per text."""
    e = (
        pl.DataFrame({"w": word_lists(texts)})
        .with_row_index("_key")
        .explode("w")
        .drop_nulls("w")
        .select("_key", pl.col("w").hash(19).alias("wh"))
    )
    gram = pl.col("wh")
    for k in range(1, n):
        gram = gram * 0x100000001B3 + pl.col("wh").shift(-k)
    return (
        e.select("_key", pl.when(pl.col("_key").shift(-(n - 1)) == pl.col("_key")).then(gram).alias("h"))
        .drop_nulls("h")
        .unique()
    )


def find_matches(texts: pl.Series, evals: pl.DataFrame, cfg: ContaminationConfig | None = None) -> pl.DataFrame:
    """Every (eval text, data row) that meet: ``task, uid, item, text, kind`` (sentence | ngram), ``_row``.

    ``texts``: the rows' ``text``; ``evals``: ``read_eval``'s frame. A pair meeting both ways is a sentence
    match only."""
    cfg = cfg or ContaminationConfig()
    ev = evals.with_row_index("_e")
    found = []
    for kind, hashes in (
        ("sentence", lambda s, m: sentence_hashes(s, m)),
        ("ngram", lambda s, m: gram_hashes(s, cfg.ngram)),
    ):
        eh = hashes(ev.get_column("text"), cfg.min_sentence_words).unique()
        if eh.is_empty():
            continue
        dh = hashes(texts, 1).filter(pl.col("h").is_in(eh.get_column("h").implode()))
        pairs = eh.rename({"_key": "_e"}).join(dh.rename({"_key": "_row"}), on="h").select("_e", "_row").unique()
        found.append(pairs.with_columns(pl.lit(kind).alias("kind")))
    if not found:
        return pl.DataFrame(schema=_MATCH_SCHEMA)
    pairs = pl.concat(found).unique(["_e", "_row"], keep="first", maintain_order=True)
    return (
        pairs.join(ev, on="_e")
        .select("task", "uid", "item", "text", "kind", pl.col("_row").cast(pl.UInt32))
        .sort("task", "item", "_row")
    )


def contamination_report(
    rows: pl.DataFrame, evals: pl.DataFrame, matches: pl.DataFrame, cfg: ContaminationConfig
) -> dict:
    """Per eval task: items, items found (by sentence, by n-gram, either), rows touched, examples."""
    items = evals.group_by("task").agg(pl.col("item").n_unique().alias("items"))
    tasks = {}
    for task, n_items in sorted(items.iter_rows()):
        m = matches.filter(pl.col("task") == task)
        by = {k: m.filter(pl.col("kind") == k).get_column("item").n_unique() for k in ("sentence", "ngram")}
        sample = m.unique("item", keep="first", maintain_order=True).head(cfg.examples)
        tasks[task] = {
            "items": n_items,
            "contaminated_items": m.get_column("item").n_unique(),
            "sentence_match_items": by["sentence"],
            "ngram_match_items": by["ngram"],
            "rows": m.get_column("_row").n_unique(),
            "examples": [
                {
                    "item": r["item"],
                    "uid": r["uid"],
                    "kind": r["kind"],
                    "eval_text": r["text"],
                    "row_id": rows["id"][r["_row"]] if "id" in rows.columns else None,
                    "row_text": rows["text"][r["_row"]],
                }
                for r in sample.iter_rows(named=True)
            ],
        }
    return {
        "rows": rows.height,
        "eval_texts": evals.height,
        "ngram": cfg.ngram,
        "min_sentence_words": cfg.min_sentence_words,
        "contaminated_rows": matches.get_column("_row").n_unique(),
        "tasks": tasks,
    }


def check_contamination(
    rows: pl.DataFrame, eval_paths: Sequence[str | Path], cfg: ContaminationConfig | None = None
) -> dict:
    """Rows (with ``text``) against eval files: the report (``contamination_report``)."""
    cfg = cfg or ContaminationConfig()
    if "text" not in rows.columns:
        raise InputError("the rows have no text column")
    evals = read_eval(eval_paths)
    return contamination_report(rows, evals, find_matches(rows.get_column("text"), evals, cfg), cfg)


class ContaminationSummary(Summary):
    """Which eval items the rows hold, per eval task: items, items found (by sentence, by n-gram), rows touched
    and examples (``tasks``); ``rows_read`` is the report's ``rows``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    inputs: list[str]
    eval: list[str]
    rows_read: int = Field(alias="rows")
    eval_texts: int
    ngram: int
    min_sentence_words: int
    contaminated_rows: int
    tasks: dict[str, dict[str, Any]]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def title(self) -> str:
        return "contamination"

    def rows(self) -> dict[str, object]:
        """One line per eval task."""
        rows: dict[str, object] = {"rows": f"{self.rows_read:,} ({self.contaminated_rows:,} hold an eval item)"}
        for task, v in self.tasks.items():
            rows[task] = (
                f"{v['contaminated_items']:,} of {v['items']:,} items found ({v['sentence_match_items']:,} "
                f"by sentence, {v['ngram_match_items']:,} by {self.ngram}-gram) in {v['rows']:,} rows"
            )
        rows["seconds"] = self.seconds
        return rows


def contamination(
    inputs: str | Path | Sequence[str | Path],
    eval_paths: str | Path | Sequence[str | Path],
    out: str | Path | None = None,
    settings: ContaminationConfig | None = None,
) -> ContaminationSummary:
    """Which BabyLM eval items appear in the ``text`` of item rows (same sentence, or a shared word n-gram).

    Inputs:
        inputs: item rows (.parquet or .jsonl).
        eval_paths: BabyLM eval files, or folders searched for ``*.jsonl`` (BLiMP, BLiMP supplement, EWoK,
            entity tracking, WUG).
        settings: :class:`~classit_data.validate.config.ContaminationConfig` (defaults when None).

    Outputs:
        out: when given, the summary as JSON, written atomically.
    """
    started = time.perf_counter()
    cfg = settings if settings is not None else ContaminationConfig()
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    eval_paths = [eval_paths] if isinstance(eval_paths, (str, Path)) else list(eval_paths)
    if out is None:
        return _summary(inputs, eval_paths, cfg, started)
    with replaced_together({"--out": out}, {"an input": inputs, "--eval": eval_paths}) as outs:
        summary = _summary(inputs, eval_paths, cfg, started)
        atomic_write_text(outs.path("--out"), json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n")
    return summary


def _summary(inputs: list, eval_paths: list, cfg: ContaminationConfig, started: float) -> ContaminationSummary:
    from classit_data.validate.inputs import read_items

    rows, _ = read_items(inputs)
    report = check_contamination(rows, eval_paths, cfg)
    return ContaminationSummary(
        inputs=[str(p) for p in inputs],
        eval=[str(p) for p in eval_paths],
        **report,
        seconds=round(time.perf_counter() - started, 3),
    )
