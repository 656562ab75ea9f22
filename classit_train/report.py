"""Compare models across tasks the way CLASS-IT does: z-scores per task, medians and IQRs per model.

Inputs (files, or folders searched recursively), several models and tasks at once:

- our ``results.json`` (``classit-train eval`` and ``finetune``): every task in it, its ``score`` (accuracy in
  percent, 100 x Spearman's rho for WUG, the eye-tracking score for reading); a fine-tuning task's
  ``--finetune-metric`` from its ``metrics`` (fractions), x 100;
- the official BabyLM 2025 pipeline's fine-tuning output ``results/<model>/<revision>/finetune/<task>/results.txt``
  (lines ``accuracy: 0.71``, ``f1: ...``, ``mcc: ...``): its ``accuracy`` by default, in percent (a fraction,
  at most 1 in size, is x 100; a value already in percent, ``accuracy: 71.5``, is kept);
- the official pipeline's zero-shot report
  ``results/<model>/<revision>/zero_shot/<backend>/<task>/<data>/best_temperature_report.txt``
  (``### AVERAGE ACCURACY`` or ``### AVERAGE SPEARMAN'S RHO`` then the number).

A model's name comes from ``model_name`` in results.json, or from ``<model>`` (plus ``@<revision>`` when not
``main``) in the official layout; ``NAME=PATH`` sets it by hand (so one model's zero-shot results.json and
its official fine-tuning folder land in one row).

For every task, each model's score becomes ``z = (score - mean) / sd`` over the models that have that task
(population sd; a task every model scores equally gets z = 0, a task only one model has is left out of the
z-scores). The box plots show, per model, the distribution of its z-scores over the tasks of a group: the box
is the IQR, the line the median, whiskers reach 1.5 IQR and the dots beyond are outliers.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, PrivateAttr

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text
from classit_data.core.outputs import replaced_together
from classit_data.core.summary import Summary
from classit_train.config import ReportConfig

#: (Super)GLUE tasks of the BabyLM 2025 fine-tuning track
FINETUNE_TASKS = ("boolq", "mnli", "mrpc", "multirc", "qqp", "rte", "wsc")
#: zero-shot tasks (ours, and the official pipeline's other ones when they come from its reports)
ZERO_SHOT_TASKS = (
    "blimp",
    "blimp_supplement",
    "ewok",
    "entity_tracking",
    "wug_adj",
    "wug_past",
    "wug",
    "comps",
    "reading",
)
GROUPS = {"finetuning": "Fine-tuning tasks", "zeroshot": "Zero-shot tasks", "all": "All tasks"}
#: the official zero-shot data folder names and the task each one is
_OFFICIAL_DATA = {
    "blimp_filtered": "blimp",
    "blimp_fast": "blimp",
    "supplement_filtered": "blimp_supplement",
    "supplement_fast": "blimp_supplement",
    "ewok_filtered": "ewok",
    "ewok_fast": "ewok",
    "entity_tracking": "entity_tracking",
    "entity_tracking_fast": "entity_tracking",
    "wug_adj_nominalization": "wug_adj",
    "wug_past_tense": "wug_past",
    "comps": "comps",
}


@dataclass
class Score:
    model: str
    task: str
    kind: str  # "finetuning" | "zeroshot"
    value: float
    source: str


def task_kind(task: str) -> str:
    return "finetuning" if task in FINETUNE_TASKS else "zeroshot"


# -- readers ------------------------------------------------------------------------------------------------
def _read_ours(path: Path, name: str | None, finetune_metric: str = "accuracy") -> list[Score]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
        raise InputError(
            "not a results file: expected a JSON object with a 'tasks' mapping (from classit-train eval)", path
        )
    model = name or data.get("model_name") or Path(str(data.get("model", path.parent))).name
    out = []
    for task, entry in data["tasks"].items():
        value = entry.get("score") if isinstance(entry, dict) else entry
        protocol = entry.get("scoring", {}).get("protocol") if isinstance(entry, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(f"task {task!r} has no numeric score", path)
        kind = entry.get("kind", task_kind(task)) if isinstance(entry, dict) else task_kind(task)
        if kind == "finetuning" and isinstance(entry, dict) and isinstance(entry.get("metrics"), dict):
            value = _our_finetune_metric(entry["metrics"], finetune_metric, task, path)
        label = f"{model} [official]" if protocol == "official" else model
        out.append(Score(label, task, kind, float(value), str(path)))
    if not out:
        raise InputError("results file holds no tasks", path)
    return out


def _our_finetune_metric(metrics: dict, metric: str, task: str, path: Path) -> float:
    """``classit-train finetune`` files its metrics as fractions, like the pipeline: the one asked for, x 100."""
    value = metrics.get(metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InputError(f"task {task!r}: no {metric!r} in fine-tuning metrics (has {', '.join(metrics)})", path)
    return 100.0 * float(value)


def _official_model(path: Path, anchor: str) -> tuple[str, int]:
    """Model name from ``.../<model>/<revision>/<anchor>/...`` and the index of the anchor part."""
    parts = path.parts
    if anchor not in parts:
        return path.parent.name, -1
    i = len(parts) - 1 - parts[::-1].index(anchor)
    if i < 2:
        return path.parent.name, i
    model, revision = parts[i - 2], parts[i - 1]
    return (model if revision == "main" else f"{model}@{revision}"), i


def _read_finetune_txt(path: Path, name: str | None, metric: str) -> list[Score]:
    metrics = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        try:
            metrics[key.strip()] = float(value)
        except ValueError:
            raise InputError("expected 'metric: number' lines", path, line_no) from None
        if not sep:
            raise InputError("expected 'metric: number' lines", path, line_no)
    if metric not in metrics:
        raise InputError(f"no {metric!r} in fine-tuning results (has {', '.join(metrics) or 'nothing'})", path)
    model, _ = _official_model(path, "finetune")
    task = path.parent.name.lower()
    value = as_percent(metrics[metric])
    if abs(value) > 100:  # NaN (an undefined MCC) passes: the report shows it as missing
        raise InputError(f"{metric} {metrics[metric]} is neither a fraction nor a percentage", path)
    return [Score(name or model, task, "finetuning", value, str(path))]


def as_percent(value: float) -> float:
    """A fine-tuning metric in percent: the pipeline writes fractions (0.715), some runs percentages (71.5).

    A value at most 1 in size is a fraction (x 100); a larger one is already a percentage (kept). Accuracy, F1
    and MCC (-1..1) all fit; a percentage of 1 or below (a near-zero score) would be read as a fraction.
    """
    return 100.0 * value if abs(value) <= 1 else value


def _read_zero_shot_report(path: Path, name: str | None) -> list[Score]:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"### AVERAGE (ACCURACY|SPEARMAN'S RHO)\s*\n\s*(-?[0-9.]+|nan)", text)
    if not m:
        raise InputError("no '### AVERAGE ...' line with a number in the zero-shot report", path)
    value = float(m.group(2))
    data = path.parent.name
    task = _OFFICIAL_DATA.get(data, path.parent.parent.name)
    if m.group(1) != "ACCURACY":
        value *= 100.0  # the report prints rho itself; the leaderboard and our results use 100 x rho
    model, _ = _official_model(path, "zero_shot")
    return [Score(name or model, task, task_kind(task), value, str(path))]


_KNOWN_FILES = ("results.txt", "best_temperature_report.txt")


def read_results(
    spec: str | Path, *, finetune_metric: str = ReportConfig.model_fields["finetune_metric"].default
) -> list[Score]:
    """Scores from one input: a file or a folder (searched for results JSON and official output files);
    ``NAME=PATH`` names the model."""
    name = None
    spec = str(spec)
    if "=" in spec and not Path(spec).exists():
        name, spec = spec.split("=", 1)
        name = name.strip() or None
    path = Path(spec)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and (p.name in _KNOWN_FILES or (p.suffix == ".json" and _looks_like_ours(p)))
        )
        if not found:
            raise InputError(
                "folder holds no results (results.json from classit-train eval, or the official "
                "pipeline's finetune/*/results.txt or best_temperature_report.txt)",
                path,
            )
        return [s for p in found for s in _read_file(p, name, finetune_metric)]
    return _read_file(path, name, finetune_metric)


def _looks_like_ours(path: Path) -> bool:
    if path.name.endswith(".predictions.jsonl"):
        return False
    try:
        head = path.open(encoding="utf-8").read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return '"classit-eval/' in head


def _read_file(path: Path, name: str | None, finetune_metric: str) -> list[Score]:
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    if path.name == "best_temperature_report.txt":
        return _read_zero_shot_report(path, name)
    if path.suffix == ".txt":
        return _read_finetune_txt(path, name, finetune_metric)
    if path.suffix == ".json":
        return _read_ours(path, name, finetune_metric)
    raise InputError(
        "unknown results format (expected results.json, finetune results.txt or best_temperature_report.txt)", path
    )


# -- statistics ---------------------------------------------------------------------------------------------
def score_table(scores: Sequence[Score]) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
    """Models (in first-seen order), tasks (fine-tuning first, then zero-shot) and the score of each pair;
    a model given the same task twice is an error (which one would count?)."""
    table: dict[tuple[str, str], float] = {}
    sources: dict[tuple[str, str], str] = {}
    models: list[str] = []
    kinds: dict[str, str] = {}
    for s in scores:
        key = (s.model, s.task)
        if key in table:
            raise InputError(
                f"model {s.model!r} has task {s.task!r} twice (also in {sources[key]}); name them apart with NAME=PATH",
                s.source,
            )
        table[key], sources[key] = s.value, s.source
        kinds.setdefault(s.task, s.kind)
        if s.model not in models:
            models.append(s.model)
    order = {t: i for i, t in enumerate(FINETUNE_TASKS + ZERO_SHOT_TASKS)}
    tasks = sorted(kinds, key=lambda t: (kinds[t] != "finetuning", order.get(t, len(order)), t))
    return models, tasks, table


def zscores(
    models: Sequence[str], tasks: Sequence[str], table: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """Per task, across the models that have it (finite scores only)."""
    z: dict[tuple[str, str], float] = {}
    for task in tasks:
        vals = {m: table[(m, task)] for m in models if (m, task) in table and math.isfinite(table[(m, task)])}
        if len(vals) < 2:
            continue
        mean = statistics.fmean(vals.values())
        sd = statistics.pstdev(vals.values())
        for m, v in vals.items():
            z[(m, task)] = 0.0 if sd == 0 else (v - mean) / sd
    return z


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """Median and IQR ends with linear interpolation (numpy's default, what matplotlib's boxes use)."""
    import numpy as np

    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return float(med), float(q1), float(q3)


def group_tasks(tasks: Sequence[str], kinds: dict[str, str], group: str) -> list[str]:
    if group == "all":
        return list(tasks)
    return [t for t in tasks if kinds[t] == group]


# -- outputs ------------------------------------------------------------------------------------------------
def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _box_figure(models, data_per_model, title, paths: dict[str, Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(m, d) for m, d in zip(models, data_per_model) if d]
    height = 1.2 + 0.55 * max(len(shown), 1)
    fig, ax = plt.subplots(figsize=(8.5, height), dpi=150)
    ax.boxplot(
        [d for _, d in shown],
        orientation="horizontal",
        widths=0.55,
        patch_artist=True,
        boxprops={"facecolor": "#cfe0f3", "edgecolor": "#2b5d8a"},
        medianprops={"color": "#c0392b", "linewidth": 2},
        whiskerprops={"color": "#2b5d8a"},
        capprops={"color": "#2b5d8a"},
        flierprops={"marker": "o", "markerfacecolor": "#555555", "markeredgecolor": "none", "markersize": 5},
    )
    ax.set_yticks(range(1, len(shown) + 1), [f"{m}  (n={len(d)})" for m, d in shown])
    ax.invert_yaxis()  # first model on top, as listed in the table
    ax.axvline(0, color="#888888", linestyle="--", linewidth=1)
    ax.set_xlabel(
        "z-score per task across models (0 = the models' mean)\n"
        "box: IQR, red line: median, whiskers: 1.5 IQR, dots: outliers",
        fontsize=9,
    )
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)
    fig.tight_layout()
    for ext, path in paths.items():
        fig.savefig(path, format=ext)
    plt.close(fig)


class ReportSummary(Summary):
    """What ``report.json`` holds: every model's score and z-score per task, and per group the quartiles."""

    model_config = ConfigDict(ser_json_inf_nan="constants")  # a missing score (NaN) stays NaN in report.json

    models: list[str]
    tasks: dict[str, str]
    scores: dict[str, dict[str, float]]
    zscores: dict[str, dict[str, float]]
    groups: dict[str, Any]
    figures: list[str]
    inputs: list[str]
    _out: str = PrivateAttr("")

    def title(self) -> str:
        return f"report -> {self._out}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {"models": len(self.models), "tasks": len(self.tasks)}
        for group, info in self.groups.items():
            rows[f"{group} tasks"] = ", ".join(info["tasks"]) or "–"
        rows["figures"] = ", ".join(f for f in self.figures if f.endswith(".png")) or "none (need 2+ models)"
        return rows


def report(results: Sequence[str | Path], out: str | Path, settings: ReportConfig | None = None) -> ReportSummary:
    """Compare models: read every input, z-score per task, write the tables and three box-plot figures.

    Inputs:
        results: results.json files, the official pipeline's result folders or files; ``NAME=PATH`` names the
            model.
        settings: :class:`~classit_train.config.ReportConfig` (defaults when None).

    Outputs:
        out: a folder with ``report.md``, ``report.json`` (this summary) and the figures (PNG and SVG) of the
            fine-tuning tasks, the zero-shot tasks and all tasks. The files are replaced together; a figure this
            report has no data for is removed, so the folder never mixes two reports.

    References: CLASS-IT's comparison of models (z-scores per task, their medians and IQRs per model).
    """
    cfg = settings if settings is not None else ReportConfig()
    if not results:
        raise InputError("no results given")
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out exists and is not a folder", out_dir)
    names = ["report.md", "report.json", *[f"zscores_{group}.{ext}" for group in GROUPS for ext in FIGURE_FORMATS]]
    with replaced_together({name: out_dir / name for name in names}, {"a results file": _input_paths(results)}) as outs:
        scores = [s for spec in results for s in read_results(spec, finetune_metric=cfg.finetune_metric)]
        models, tasks, table = score_table(scores)
        kinds = {s.task: s.kind for s in scores}
        z = zscores(models, tasks, table)
        figures: dict = {
            "models": models,
            "tasks": {t: kinds[t] for t in tasks},
            "scores": {m: {t: table[(m, t)] for t in tasks if (m, t) in table} for m in models},
            "zscores": {m: {t: z[(m, t)] for t in tasks if (m, t) in z} for m in models},
            "groups": {},
            "figures": [],
            "inputs": sorted({s.source for s in scores}),
        }
        for group in GROUPS:
            _group_figure(figures, group, models, tasks, kinds, z, outs)
        summary = ReportSummary(**figures)
        summary._out = str(out)
        atomic_write_text(outs.path("report.md"), _markdown(figures, models, tasks, kinds, table, z))
        atomic_write_text(outs.path("report.json"), json.dumps(summary.to_json(), indent=2, allow_nan=True) + "\n")
    return summary


FIGURE_FORMATS = ("png", "svg")
_FIGURE_NO = {"finetuning": 4, "zeroshot": 5, "all": 6}


def _input_paths(inputs: Sequence[str | Path]) -> list[Path]:
    """The files and folders named by the inputs (``NAME=PATH`` or a path)."""
    paths = []
    for spec in map(str, inputs):
        named = "=" in spec and not Path(spec).exists()
        paths.append(Path(spec.split("=", 1)[1] if named else spec))
    return paths


def _group_figure(summary: dict, group: str, models, tasks, kinds, z, outs) -> None:
    """A group's quartiles per model into ``summary``, and its box plot (or none, when it has no z-scores)."""
    gtasks = [t for t in group_tasks(tasks, kinds, group) if any((m, t) in z for m in models)]
    per_model = [[z[(m, t)] for t in gtasks if (m, t) in z] for m in models]
    stats = {}
    for m, vals in zip(models, per_model):
        if vals:
            med, q1, q3 = _quartiles(vals)
            stats[m] = {"median": med, "q1": q1, "q3": q3, "iqr": q3 - q1, "n_tasks": len(vals)}
    summary["groups"][group] = {"tasks": gtasks, "per_model": stats}
    names = {ext: f"zscores_{group}.{ext}" for ext in FIGURE_FORMATS}
    if not any(per_model):
        for name in names.values():
            outs.omit(name)
        return
    title = f"Figure {_FIGURE_NO[group]}: {GROUPS[group]} ({len(gtasks)}), z-scores per model"
    _box_figure(models, per_model, title, {ext: outs.path(name) for ext, name in names.items()})
    summary["figures"] += list(names.values())


def _markdown(summary, models, tasks, kinds, table, z) -> str:
    lines = [
        "# Model comparison",
        "",
        f"{len(models)} models, {len(tasks)} tasks. Scores are accuracies in percent "
        "(WUG: 100 x Spearman's rho). z-scores are per task across the models that have it "
        "(population sd). A model marked [official] was scored with `--protocol official` (the BabyLM pipeline's "
        "computation); the others with the standard protocol or by the official pipeline itself.",
        "",
    ]

    def table_md(title, cell):
        head = ["model"] + [f"{t} ({'FT' if kinds[t] == 'finetuning' else 'ZS'})" for t in tasks]
        rows = [f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m in models:
            rows.append("| " + " | ".join([m] + [cell(m, t) for t in tasks]) + " |")
        return rows + [""]

    lines += table_md("Scores", lambda m, t: _fmt(table.get((m, t))))
    lines += table_md("z-scores", lambda m, t: _fmt(z.get((m, t))))
    lines += [
        "## Median z-score and IQR per model",
        "",
        "| model | " + " | ".join(f"{GROUPS[g]} median [Q1, Q3] (n)" for g in GROUPS) + " |",
        "|---|" + "---|" * len(GROUPS),
    ]
    for m in models:
        cells = []
        for g in GROUPS:
            s = summary["groups"][g]["per_model"].get(m)
            cells.append("–" if s is None else f"{s['median']:.2f} [{s['q1']:.2f}, {s['q3']:.2f}] ({s['n_tasks']})")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append("")
    if summary["figures"]:
        lines += ["## Figures", ""]
        for g in GROUPS:
            png = f"zscores_{g}.png"
            if png in summary["figures"]:
                lines += [f"![{GROUPS[g]}]({png})", ""]
    return "\n".join(lines)
