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

from pydantic import BaseModel, ConfigDict, Field, field_validator

from classit_data.core.errors import InputError, checked_settings
from classit_data.core.io import atomic_path, atomic_write_text
from classit_data.core.outputs import replaced_together
from classit_train.evaluate import reading
from classit_train.evaluate.metrics import summarise
from classit_train.evaluate.scoring import CausalScorer, load_model, resolve_device, score_with_progress
from classit_train.evaluate.tasks import EvalItem, read_task, result_key

RESULTS_FORMAT = "classit-eval/1"


class EvalConfig(BaseModel):
    """How a task is scored: the one place these settings' defaults and help live (the CLI is made from them)."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(32, ge=1, description="Candidates per forward pass.")
    device: str | None = Field("auto", description="auto | cpu | cuda | cuda:N (auto: a GPU when there is one).")
    dtype: str = Field("float32", description="float32 | bfloat16 | float16")
    limit: int | None = Field(None, description="At most N items per UID (phenomenon).")
    first_token: str = Field("official", description="official: tokenize as the BabyLM pipeline (first token "
                             "scored only if the tokenizer adds BOS); bos: always prepend BOS so it is scored.")
    ewok_contexts: str = Field("first", description="first: Context1 only (official); both: also Context2 -> "
                               "Target2.")
    name: str | None = Field(None, description="Model name shown in reports (default: folder name).")

    @field_validator("device")
    @classmethod
    def _torch_device(cls, value: str | None) -> str | None:
        if value in (None, "", "auto"):
            return value
        import torch

        try:
            torch.device(value)
        except (RuntimeError, ValueError, TypeError):
            raise ValueError(f"not a device: {value!r} (auto, cpu, cuda, cuda:N, mps...)") from None
        return value


def eval_config(settings: dict[str, Any]) -> EvalConfig:
    """The settings, checked; a bad one is one line naming its flag (``--device``)."""
    return checked_settings(EvalConfig, settings)


def evaluate_model(model: str | Path, task: str, data: str | Path | Sequence[str | Path], out: str | Path, *,
                   progress: bool = True, **settings: Any) -> dict:
    """Score one task with one model and file it in ``out`` (a results.json; other tasks in it are kept).

    ``settings`` are :class:`EvalConfig`'s (``batch_size``, ``device``, ``dtype``, ``limit``, ``first_token``,
    ``ewok_contexts``, ``name``). Writes ``<out stem>.<task>.predictions.jsonl`` beside it: every item's
    candidates, scores and prediction. Returns the task's entry of results.json.
    """
    cfg = eval_config(settings)
    out = Path(out)
    data_paths = [data] if isinstance(data, (str, Path)) else list(data)
    key = result_key(task, data_paths)
    with replaced_together({"--out": out, "predictions": predictions_path(out, key)},
                           {"--data": data_paths, "the --model": [model]}) as outs:
        items = (reading.read_words(data_paths, cfg.limit) if task == "reading"
                 else read_task(task, data_paths, limit=cfg.limit, ewok_contexts=cfg.ewok_contexts))
        existing = read_existing(out)

        device = resolve_device(cfg.device)
        t0 = time.perf_counter()
        mdl, tok, path = load_model(model, device=device, dtype=cfg.dtype)
        load_s = time.perf_counter() - t0
        scorer = CausalScorer(mdl, tok, first_token=cfg.first_token)
        check_same_model(existing, path, out)
        if task == "reading":
            summary, rows, timing = reading.evaluate_reading(scorer, items, cfg.batch_size, progress)
        else:
            scores, timing = _score_items(scorer, items, cfg.batch_size, task, progress)
            summary, rows = summarise(task, items, scores)
        write_jsonl(rows, outs.path("predictions"))
        entry = {
            "task": task,
            **summary,
            "data": [str(p) for p in data_paths],
            "predictions": predictions_path(out, key).name,
            "scoring": _scoring_record(cfg, scorer, task, device),
            "timing": {"load_s": round(load_s, 2), **timing},
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        file_entry(outs.path("--out"), existing, path, cfg.name, key, entry)
    return entry


def check_same_model(existing: dict | None, model_path: Path | str, out: Path) -> None:
    """One results.json holds one model's results: refuse to file another model's in it."""
    if existing and existing.get("model") not in (None, str(model_path)):
        raise InputError(f"holds results of another model ({existing['model']}); choose another --out", out)


def _score_items(scorer: CausalScorer, items: Sequence[EvalItem], batch_size: int, task: str,
                 progress: bool) -> tuple[list[list[float]], dict]:
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
    return {
        "method": "sum of log-probabilities (nats) of the completion's tokens given the prefix; "
                  "highest-scoring candidate chosen, ties to the first",
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


def summary_rows(entry: dict) -> dict[str, object]:
    """The closing table of ``classit-train eval``."""
    rows: dict[str, object] = {"items": entry["n_items"], "UIDs": entry["n_uids"]}
    if entry["metric"] == "spearman":
        rows["Spearman rho"] = f"{entry['spearman']:.4f}"
    elif entry["metric"] == "reading":
        rows["eye tracking (% of possible R^2 gain)"] = f"{entry['eye_tracking']:.2f}"
        rows["self-paced reading (% of possible R^2 gain)"] = f"{entry['self_paced_reading']:.2f}"
    else:
        rows["accuracy (macro over UIDs, %)"] = f"{entry['accuracy']:.2f}"
        for fld, acc in entry.get("by_field", {}).items():
            rows[f"  {fld}"] = f"{acc:.2f}"
    rows["first token scored"] = str(entry["scoring"]["first_token_scored"])
    rows["candidates/s"] = str(entry["timing"]["sequences_per_s"])
    rows["predictions"] = entry["predictions"]
    return rows


# -- the files ----------------------------------------------------------------------------------------------
def predictions_path(out: Path, key: str) -> Path:
    return out.with_name(f"{out.stem}.{key}.predictions.jsonl")


def write_jsonl(rows: Sequence[dict], path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def file_entry(out: Path, existing: dict | None, model_path: Path | str, name: str | None, key: str,
                entry: dict) -> None:
    """Write results.json with ``entry`` as task ``key``, keeping the other tasks of an earlier file."""
    previous = existing or {}
    results = {"format": RESULTS_FORMAT, "model": str(model_path),
               "model_name": name or previous.get("model_name") or _model_name(model_path),
               "tasks": {**previous.get("tasks", {}), key: entry}}
    atomic_write_text(out, json.dumps(results, indent=2, ensure_ascii=False, allow_nan=True) + "\n")


def _model_name(path: Path | str) -> str:
    p = Path(str(path))
    if p.name.startswith("checkpoint-") and p.parent.name:
        return f"{p.parent.name}/{p.name}"
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
