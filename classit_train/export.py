"""``classit-train export``: our results as the BabyLM 2025 pipeline lays out its predictions, for submission.

The pipeline's ``collate_preds.py`` reads one folder per model and revision::

    RESULTS/MODEL/REVISION/zero_shot/causal/TASK/SUBSET/predictions.json
    RESULTS/MODEL/REVISION/zero_shot/causal/reading/predictions.json
    RESULTS/MODEL/REVISION/finetune/TASK/predictions.json

``TASK`` is the pipeline's ``--task`` (the BLiMP supplement is task ``blimp``) and ``SUBSET`` the name of its
data folder: ``blimp_filtered``, ``supplement_filtered``, ``ewok_filtered``, ``entity_tracking`` in the full
evaluation (``REVISION`` ``main``), ``blimp_fast``, ``supplement_fast``, ``ewok_fast``, ``entity_tracking_fast``
in the fast one (the ``chck_*`` revisions); the WUG sets are ``wug_adj_nominalization`` and ``wug_past_tense``
in both. Each file maps a UID (phenomenon) to ``{"predictions": [...]}``, one entry per item in data order:
``{"id": "<uid>_<n>", "pred": <the chosen completion>}`` (WUG adds ``prob``, the first sentence's softmax
probability, and its UID is the task); reading's one key ``reading`` holds ``{"id": <row>, "pred": <surprisal>,
"prev_pred": <previous word's surprisal or NaN>}``; a fine-tuning task's key is the task, its entries
``{"id": "<task>_<n>", "pred": <label>}``.

Give every results.json of one revision to one call: the revision's folder is replaced as a whole. The scores
the pipeline computes from these files are its own: reading's surprisals come from the protocol they were
scored with (``--protocol official`` for the leaderboard's numbers), which the summary lists per task.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text
from classit_data.core.outputs import replaced_together
from classit_data.core.summary import Summary
from classit_train.config import ExportConfig

#: our task -> the pipeline's task folder and its data folder (full evaluation, fast evaluation)
ZERO_SHOT = {
    "blimp": ("blimp", "blimp_filtered", "blimp_fast"),
    "blimp_supplement": ("blimp", "supplement_filtered", "supplement_fast"),
    "ewok": ("ewok", "ewok_filtered", "ewok_fast"),
    "entity_tracking": ("entity_tracking", "entity_tracking", "entity_tracking_fast"),
    "wug_adj": ("wug_adj", "wug_adj_nominalization", "wug_adj_nominalization"),
    "wug_past": ("wug_past", "wug_past_tense", "wug_past_tense"),
}
FINETUNE = ("boolq", "mnli", "mrpc", "multirc", "qqp", "rte", "wsc")


class ExportSummary(Summary):
    """What was exported: the revision folder, and per file its items and the protocol they were scored with."""

    model: str
    revision: str
    fast: bool
    folder: str
    files: dict[str, int]
    protocols: dict[str, str]

    def title(self) -> str:
        return f"export -> {self.folder}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {"model": self.model, "revision": self.revision, "fast": str(self.fast)}
        rows.update({f"{path} ({self.protocols.get(path, 'finetune')})": n for path, n in self.files.items()})
        return rows


def export(
    results: Sequence[str | Path], out: str | Path, settings: ExportConfig | None = None, *, progress: bool = False
) -> ExportSummary:
    """Write the predictions of ``results`` (results.json files of one model) in the pipeline's layout.

    Inputs:
        results: results.json files written by ``classit-train eval`` / ``finetune``, their predictions beside.
        settings: :class:`~classit_train.config.ExportConfig` (model name, revision, fast or full names).

    Outputs:
        out: the pipeline's results folder; ``out/MODEL/REVISION`` is replaced by this export.
    """
    cfg = settings if settings is not None else ExportConfig()
    if not results:
        raise InputError("no results given")
    loaded = [(Path(p), _read_results(Path(p))) for p in results]
    model = cfg.model_name or Path(loaded[0][1]["model"]).stem
    revision = cfg.revision or _revision_of(loaded) or "main"
    fast = revision != "main" if cfg.fast is None else cfg.fast
    files: dict[str, tuple[dict, int]] = {}
    protocols: dict[str, str] = {}
    for path, data in loaded:
        for task, entry in data["tasks"].items():
            rel, content, n = _task_file(path, task, entry, fast)
            if rel in files:
                raise InputError(f"task {task} is given twice (in two results files)", path)
            files[rel] = (content, n)
            if entry.get("kind") != "finetuning":
                protocols[rel] = entry.get("scoring", {}).get("protocol", "standard")
    folder = Path(out) / model / revision
    with replaced_together({"--out": folder}, {"a results file": [p for p, _ in loaded]}, folders=["--out"]) as outs:
        for rel, (content, _) in files.items():
            target = outs.path("--out") / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, json.dumps(content, allow_nan=True))
    return ExportSummary(
        model=model,
        revision=revision,
        fast=fast,
        folder=str(folder),
        files={rel: n for rel, (_, n) in files.items()},
        protocols=protocols,
    )


def _read_results(path: Path) -> dict:
    if not path.is_file():
        raise InputError("no such results file", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict) or "model" not in data:
        raise InputError("not a results file of classit-train eval or finetune", path)
    return data


def _revision_of(loaded: list[tuple[Path, dict]]) -> str | None:
    """The revision the results were evaluated at (``eval --revision``), when they agree on one."""
    found = {e.get("scoring", {}).get("revision") for _, d in loaded for e in d["tasks"].values()} - {None}
    return found.pop() if len(found) == 1 else None


def _predictions(path: Path, entry: dict, task: str) -> list[dict]:
    pred_path = path.with_name(str(entry.get("predictions", "")))
    if not entry.get("predictions") or not pred_path.is_file():
        raise InputError(f"task {task}: its predictions file {pred_path.name} is not beside it", path)
    return [json.loads(line) for line in pred_path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _task_file(path: Path, task: str, entry: dict, fast: bool) -> tuple[str, dict, int]:
    """(path in the revision folder, content, items) of one task's predictions.json."""
    rows = _predictions(path, entry, task)
    if entry.get("kind") == "finetuning" or task in FINETUNE:
        preds = [{"id": f"{task}_{i}", "pred": int(r["prediction"])} for i, r in enumerate(rows)]
        return f"finetune/{task}/predictions.json", {task: {"predictions": preds}}, len(rows)
    if task == "reading":
        preds = [
            {
                "id": i,
                "pred": r["surprisal"],
                "prev_pred": float("nan") if r["prev_surprisal"] is None else r["prev_surprisal"],
            }
            for i, r in enumerate(rows)
        ]
        return "zero_shot/causal/reading/predictions.json", {"reading": {"predictions": preds}}, len(rows)
    if task not in ZERO_SHOT:
        raise InputError(f"task {task} has no place in the pipeline's layout", path)
    if entry.get("scoring", {}).get("ewok_contexts") == "both":
        raise InputError("EWoK scored with both contexts has twice the pipeline's items: eval it again", path)
    folder, full, fast_name = ZERO_SHOT[task]
    grouped: dict[str, list[dict]] = {}
    for r in rows:
        uid = task if task.startswith("wug") else r["uid"]
        pred = {"id": f"{uid}_{len(grouped.setdefault(uid, []))}", "pred": r["pred"]}
        grouped[uid].append({**pred, "prob": r["prob"]} if "prob" in r else pred)
    content = {uid: {"predictions": preds} for uid, preds in grouped.items()}
    return f"zero_shot/causal/{folder}/{fast_name if fast else full}/predictions.json", content, len(rows)
