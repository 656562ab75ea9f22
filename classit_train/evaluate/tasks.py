"""Readers for the BabyLM 2025 zero-shot task files, turned into one shape: an item with candidates.

Every task becomes a list of :class:`EvalItem` s (not to be confused with a dataset row,
``classit_data.core.schema.Item``). An item holds one ``prefix`` (the text the model is conditioned
on; ``""`` when the whole sentence is scored) and several ``completions``; the model scores
``prefix + completion`` for each and only the completion's tokens count. The first completion is always the
correct one (``label`` 0), as in the official pipeline's files.

How each format maps (field names and conventions as in the BabyLM 2025 evaluation pipeline):

======================  ==========================================================================
task                    item
======================  ==========================================================================
``blimp``               ``sentence_good`` vs ``sentence_bad``, whole sentences; ``UID`` and ``field``
                        (``syntax_semantics`` is written ``syntax/semantics``), ``linguistics_term``
``blimp_supplement``    the same fields without ``UID``/``field``: the UID is the file name and
                        the field ``supplement``
``ewok``                ``Context1`` + ``" " + Target1`` vs ``Context1`` + ``" " + Target2``: only
                        the target is scored; the UID is ``Domain``. The official 2025 pipeline uses
                        Context1 only (Context2 is read but not scored); ``ewok_contexts="both"``
                        adds the mirrored item ``Context2`` -> ``Target2`` over ``Target1``
``entity_tracking``     ``input_prefix`` + each of ``options`` (options carry their own leading
                        space), first option correct; UID ``<file>_<numops>_ops``
``wug``                 ``sentences`` (tab-separated, or a list), whole sentences; ``ratio`` is the
                        human preference for the first; UID the file name
======================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import json_lines

#: every ``--task`` of ``classit-train eval``; ``reading`` (a CSV of words and reading measures) is read and
#: scored by :mod:`classit_train.evaluate.reading`
TASKS = ("blimp", "blimp_supplement", "ewok", "entity_tracking", "wug", "reading")


@dataclass
class EvalItem:
    """One multiple-choice question: score ``prefix + c`` for every ``c`` in ``completions``."""

    uid: str
    prefix: str
    completions: list[str]
    label: int = 0
    #: grouping keys reported with their own accuracies (field, linguistics_term, ContextType, ...)
    groups: dict[str, str] = field(default_factory=dict)
    #: where it came from: ``file:line``
    source: str = ""
    #: WUG only: the human ratio for the first completion
    ratio: float | None = None


def _require(row: dict, keys: Sequence[str], path: Path, line: int) -> None:
    missing = [k for k in keys if k not in row or row[k] is None]
    if missing:
        raise InputError(f"missing field(s) {', '.join(missing)}", path, line)
    for k in keys:
        if isinstance(row[k], str) and not row[k].strip():
            raise InputError(f"field {k} is empty", path, line)


def _blimp(row: dict, path: Path, line: int, supplement: bool) -> list[EvalItem]:
    _require(row, ("sentence_good", "sentence_bad"), path, line)
    good, bad = str(row["sentence_good"]), str(row["sentence_bad"])
    if "field" in row and not supplement:
        _require(row, ("UID", "field"), path, line)
        field_name = "syntax/semantics" if row["field"] == "syntax_semantics" else str(row["field"])
        groups = {"field": field_name}
        if row.get("linguistics_term"):
            groups["linguistics_term"] = str(row["linguistics_term"])
        uid = str(row["UID"])
    else:
        # the supplement files carry neither UID nor field: the file is the phenomenon
        groups = {"field": "supplement"}
        uid = str(row.get("UID") or path.stem)
    return [EvalItem(uid, "", [good, bad], groups=groups, source=f"{path}:{line}")]


def _ewok(row: dict, path: Path, line: int, contexts: str) -> list[EvalItem]:
    _require(row, ("Context1", "Context2", "Target1", "Target2"), path, line)
    uid = str(row.get("Domain") or path.stem)
    groups = {k: str(row[k]) for k in ("ContextType", "ContextDiff", "TargetDiff") if row.get(k) is not None}
    t1, t2 = " " + str(row["Target1"]), " " + str(row["Target2"])
    items = [
        EvalItem(uid, str(row["Context1"]), [t1, t2], groups={**groups, "context": "Context1"}, source=f"{path}:{line}")
    ]
    if contexts == "both":
        items.append(
            EvalItem(
                uid, str(row["Context2"]), [t2, t1], groups={**groups, "context": "Context2"}, source=f"{path}:{line}"
            )
        )
    return items


def _entity_tracking(row: dict, path: Path, line: int) -> list[EvalItem]:
    _require(row, ("input_prefix", "options"), path, line)
    options = row["options"]
    if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) for o in options):
        raise InputError("options must be a list of at least two strings", path, line)
    uid = f"{path.stem}_{row['numops']}_ops" if "numops" in row else path.stem
    return [
        EvalItem(uid, str(row["input_prefix"]), list(options), groups={"split": path.stem}, source=f"{path}:{line}")
    ]


def _wug(row: dict, path: Path, line: int) -> list[EvalItem]:
    _require(row, ("sentences", "ratio"), path, line)
    sentences = row["sentences"]
    if isinstance(sentences, str):
        sentences = sentences.split("\t")
    if not isinstance(sentences, list) or len(sentences) < 2 or not all(isinstance(s, str) and s for s in sentences):
        raise InputError("sentences must hold at least two non-empty sentences (tab-separated or a list)", path, line)
    try:
        ratio = float(row["ratio"])
    except (TypeError, ValueError):
        raise InputError(f"ratio is not a number: {row['ratio']!r}", path, line) from None
    return [EvalItem(path.stem, "", list(sentences), ratio=ratio, source=f"{path}:{line}")]


def _files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError("no such file or folder", p)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix == ".jsonl" and q.is_file())
            if not found:
                raise InputError("folder holds no .jsonl task files", p)
            files.extend(found)
        else:
            if p.suffix not in (".jsonl", ".json", ".ndjson"):
                raise InputError("expected a JSON-lines task file (.jsonl) or a folder of them", p)
            files.append(p)
    if not files:
        raise InputError("no task data given", "--data")
    return files


def read_task(
    task: str, paths: str | Path | Iterable[str | Path], *, limit: int | None = None, ewok_contexts: str = "first"
) -> list[EvalItem]:
    """Read task files (a file, a folder of ``.jsonl`` files, or several of either) into items.

    ``limit`` keeps at most that many items per UID (so every phenomenon stays in the macro average).
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r} (known: {', '.join(TASKS)})", "--task")
    if task == "reading":
        raise InputError("the reading task is a CSV file, read by classit_train.evaluate.reading", "--task")
    if ewok_contexts not in ("first", "both"):
        raise InputError(f"ewok_contexts must be 'first' or 'both', not {ewok_contexts!r}")
    if limit is not None and limit < 1:
        raise InputError("limit must be at least 1", "--limit")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    items: list[EvalItem] = []
    per_uid: dict[str, int] = {}
    for path in _files(paths):
        for line_no, row in json_lines(path):
            for item in _items(task, row, path, line_no, ewok_contexts):
                if limit is not None and per_uid.get(item.uid, 0) >= limit:
                    continue
                per_uid[item.uid] = per_uid.get(item.uid, 0) + 1
                items.append(item)
    return items


def _items(task: str, row: dict, path: Path, line: int, ewok_contexts: str) -> list[EvalItem]:
    if task in ("blimp", "blimp_supplement"):
        return _blimp(row, path, line, supplement=task == "blimp_supplement")
    if task == "ewok":
        return _ewok(row, path, line, ewok_contexts)
    if task == "entity_tracking":
        return _entity_tracking(row, path, line)
    return _wug(row, path, line)


def result_key(task: str, paths: str | Path | Iterable[str | Path]) -> str:
    """The name a task's results are filed under: the task, except WUG, whose adjective and past-tense
    sets are separate tasks in BabyLM (``wug_adj``, ``wug_past``)."""
    if task != "wug":
        return task
    if isinstance(paths, (str, Path)):
        paths = [paths]
    names = " ".join(q.name.lower() for p in map(Path, paths) for q in ([p, *p.glob("*.jsonl")] if p.is_dir() else [p]))
    if "adj" in names or "nominal" in names:
        return "wug_adj"
    if "past" in names:
        return "wug_past"
    return "wug"
