"""``classit-train eval``: read a task, score every candidate, summarise, and file it in a results.json.

One results.json per model holds one entry per task (a second ``eval`` adds its task and keeps the others, and
refuses a file that holds another model's results); beside it, ``<stem>.<task>.predictions.jsonl`` has every
item's candidates, scores and prediction. Both are written atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, PrivateAttr

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_path, atomic_write_text
from classit_data.core.outputs import replaced_together
from classit_data.core.summary import Summary
from classit_train.config import EvalConfig
from classit_train.evaluate import reading
from classit_train.evaluate.metrics import summarise
from classit_train.evaluate.scoring import (
    CausalScorer,
    check_scoring,
    load_model,
    model_path,
    resolve_device,
    score_with_progress,
)
from classit_train.evaluate.tasks import EvalItem, read_task, result_key
from classit_train.revisions import REVISIONS, revision_dir

RESULTS_FORMAT = "classit-eval/1"


class EvalSummary(Summary):
    """One task's entry of results.json. Its figures depend on the task's metric: an :class:`AccuracySummary`,
    a :class:`SpearmanSummary` (WUG) or a :class:`ReadingSummary`, each declaring them in the entry's order."""

    model_config = ConfigDict(ser_json_inf_nan="constants")  # an undefined score stays NaN in results.json

    task: str
    _out: str = PrivateAttr("")

    def title(self) -> str:
        return f"{self.task} -> {self._out}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {"items": self.n_items, "UIDs": self.n_uids}
        rows.update(self.metric_rows())
        rows["protocol"] = self.scoring.get("protocol", "standard")
        rows["first token scored"] = str(self.scoring["first_token_scored"])
        rows["candidates/s"] = str(self.timing["sequences_per_s"])
        rows["predictions"] = self.predictions
        return rows

    def metric_rows(self) -> dict[str, object]:
        """The rows of the task's own figures."""
        raise NotImplementedError


class AccuracySummary(EvalSummary):
    """A task scored by accuracy: percentages, the macro average over UIDs, and per field and group."""

    n_items: int
    n_uids: int
    metric: str
    accuracy: float
    score: float
    micro_accuracy: float
    by_uid: dict[str, float]
    by_field: dict[str, float]
    groups: dict[str, dict[str, float]]
    data: list[str]
    predictions: str
    scoring: dict[str, Any]
    timing: dict[str, Any]
    date: str

    def metric_rows(self) -> dict[str, object]:
        rows: dict[str, object] = {"accuracy (macro over UIDs, %)": f"{self.accuracy:.2f}"}
        rows.update({f"  {fld}": f"{acc:.2f}" for fld, acc in self.by_field.items()})
        return rows


class SpearmanSummary(EvalSummary):
    """WUG: Spearman's rho between the model's preference and the human ratios."""

    n_items: int
    n_uids: int
    metric: str
    spearman: float
    score: float
    first_option_preferred: float
    data: list[str]
    predictions: str
    scoring: dict[str, Any]
    timing: dict[str, Any]
    date: str

    def metric_rows(self) -> dict[str, object]:
        return {"Spearman rho": f"{self.spearman:.4f}"}


class ReadingSummary(EvalSummary):
    """Reading: how much the surprisal adds to the eye-tracking and self-paced reading regressions."""

    metric: str
    score: float
    eye_tracking: float
    self_paced_reading: float
    n_items: int
    n_uids: int
    regressions: dict[str, Any]
    correlations: dict[str, float]
    data: list[str]
    predictions: str
    scoring: dict[str, Any]
    timing: dict[str, Any]
    date: str

    def metric_rows(self) -> dict[str, object]:
        return {
            "eye tracking (% of possible R^2 gain)": f"{self.eye_tracking:.2f}",
            "self-paced reading (% of possible R^2 gain)": f"{self.self_paced_reading:.2f}",
        }


_SUMMARIES: dict[str, type[EvalSummary]] = {
    "accuracy": AccuracySummary,
    "spearman": SpearmanSummary,
    "reading": ReadingSummary,
}


def evaluate(
    model: str | Path,
    task: str,
    data: str | Path | Sequence[str | Path],
    out: str | Path,
    settings: EvalConfig | None = None,
    *,
    progress: bool = True,
) -> EvalSummary:
    """Score one task with one model and file it in ``out`` (a results.json; other tasks in it are kept).

    Inputs:
        model: an ``AutoModelForCausalLM`` folder, or ``smollm2`` / ``embedded`` for the embedded model.
        task: blimp, blimp_supplement, ewok, entity_tracking, wug or reading.
        data: a .jsonl task file or a folder of them (several allowed), or the reading CSV.
        settings: :class:`~classit_train.config.EvalConfig` (defaults when None).

    Outputs:
        out: results.json, the task's entry (this summary) added; beside it
            ``<out stem>.<task>.predictions.jsonl``: every item's candidates, scores and prediction.
    """
    cfg = settings if settings is not None else EvalConfig()
    out = Path(out)
    data_paths = [data] if isinstance(data, (str, Path)) else list(data)
    key = result_key(task, data_paths)
    if cfg.protocol == "official" and task == "ewok" and cfg.ewok_contexts != "first":
        raise InputError("--protocol official scores EWoK's Context1 only: drop --ewok-contexts both")
    check_scoring(cfg.first_token, cfg.protocol)
    with replaced_together(
        {"--out": out, "predictions": predictions_path(out, key)}, {"--data": data_paths, "the --model": [model]}
    ) as outs:
        items = (
            reading.read_words(data_paths, cfg.limit)
            if task == "reading"
            else read_task(task, data_paths, limit=cfg.limit, ewok_contexts=cfg.ewok_contexts)
        )
        existing = read_existing(out)
        where = model_path(revision_dir(model, cfg.revision) or model, cfg.dtype)  # checked before torch loads
        device = resolve_device(cfg.device)
        t0 = time.perf_counter()
        mdl, tok, path = load_model(where, device=device, dtype=cfg.dtype, revision=cfg.revision)
        load_s = time.perf_counter() - t0
        scorer = CausalScorer(mdl, tok, first_token=cfg.first_token, protocol=cfg.protocol)
        check_same_model(existing, path, out)
        if task == "reading":
            figures, rows, timing = reading.evaluate_reading(scorer, items, cfg.batch_size, progress)
        else:
            scores, timing = _score_items(scorer, items, cfg.batch_size, task, progress)
            figures, rows = summarise(task, items, scores)
        write_jsonl(rows, outs.path("predictions"))
        summary = _SUMMARIES[figures["metric"]](
            task=task,
            **figures,
            data=[str(p) for p in data_paths],
            predictions=predictions_path(out, key).name,
            scoring=_scoring_record(cfg, scorer, task, device),
            timing={"load_s": round(load_s, 2), **timing},
            date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        )
        summary._out = str(out)
        file_entry(outs.path("--out"), existing, path, cfg.name, key, summary.to_json())
    return summary


def check_same_model(existing: dict | None, model_path: Path | str, out: Path) -> None:
    """One results.json holds one model's results: refuse to file another model's in it."""
    if existing and existing.get("model") not in (None, str(model_path)):
        raise InputError(f"holds results of another model ({existing['model']}); choose another --out", out)


def _score_items(
    scorer: CausalScorer, items: Sequence[EvalItem], batch_size: int, task: str, progress: bool
) -> tuple[list[list[float]], dict]:
    """Every candidate's score, item by item, and how long the scoring took."""
    flat = [(i, c) for i, item in enumerate(items) for c in range(len(item.completions))]
    encoded = [scorer.encode(items[i].prefix, items[i].completions[c]) for i, c in flat]
    flat_scores, timing = score_with_progress(scorer, encoded, batch_size, f"{task}: scoring", progress)
    scores: list[list[float]] = [[] for _ in items]
    for (i, _c), s in zip(flat, flat_scores):
        scores[i].append(s)
    return scores, timing


def _scoring_record(cfg: EvalConfig, scorer: CausalScorer, task: str, device: str) -> dict:
    """How the task was scored, for results.json."""
    start_token = scorer.tokenizer.convert_ids_to_tokens(scorer.start_id) if cfg.first_token == "bos" else None
    method = (
        "sum of log-probabilities (nats) of the completion's tokens given the prefix; "
        "highest-scoring candidate chosen, ties to the first"
    )
    if task == "reading" and cfg.protocol == "official":
        method = (
            "the pipeline's get_p2: the word's tokens, no leading space, re-tokenized piece by piece after the context"
        )
    return {
        "method": method,
        "protocol": cfg.protocol,
        "revision": cfg.revision,
        "first_token": cfg.first_token,
        "first_token_scored": scorer.first_token_scored(),
        "start_token": start_token,
        "temperature": 1.0,
        "padding": "right, attention mask",
        "batch_size": cfg.batch_size,
        "device": device,
        "dtype": cfg.dtype,
        "limit_per_uid": cfg.limit,
        **({"ewok_contexts": cfg.ewok_contexts} if task == "ewok" else {}),
    }


# -- the files ----------------------------------------------------------------------------------------------
def predictions_path(out: Path, key: str) -> Path:
    return out.with_name(f"{out.stem}.{key}.predictions.jsonl")


def write_jsonl(rows: Sequence[dict], path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def file_entry(
    out: Path, existing: dict | None, model_path: Path | str, name: str | None, key: str, entry: dict
) -> None:
    """Write results.json with ``entry`` as task ``key``, keeping the other tasks of an earlier file."""
    previous = existing or {}
    results = {
        "format": RESULTS_FORMAT,
        "model": str(model_path),
        "model_name": name or previous.get("model_name") or _model_name(model_path),
        "tasks": {**previous.get("tasks", {}), key: entry},
    }
    atomic_write_text(out, json.dumps(results, indent=2, ensure_ascii=False, allow_nan=True) + "\n")


def _model_name(path: Path | str) -> str:
    p = Path(str(path))
    if p.name.startswith("checkpoint-") and p.parent.name:
        return f"{p.parent.name}/{p.name}"
    if p.parent.name == REVISIONS:  # RUN/revisions/chck_10M, a word-count checkpoint
        return f"{p.parent.parent.name}@{p.name}"
    return p.name


def read_existing(out: Path) -> dict | None:
    if not out.exists():
        return None
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"exists but is not a results JSON ({exc}); remove it or choose another --out", out) from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise InputError("exists and is not a classit-train results file; choose another --out", out)
    return data
