"""From candidate scores to a task's numbers: one prediction per item, accuracies or WUG's Spearman.

The highest-scoring candidate is the prediction (ties go to the earlier one); an item is correct when that is
its ``label``. Accuracies are percentages, the macro average over UIDs (phenomena), as on the BabyLM
leaderboard; every other grouping key of the items (``field``, ``linguistics_term``, EWoK's ``ContextType``...)
gets its own accuracies, over the items of each value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from classit_train.evaluate.tasks import EvalItem

#: ``[correct, total]`` per value of each grouping key (``UID`` first)
Tally = dict[str, dict[str, list[int]]]


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def _pct(correct: int, total: int) -> float:
    return 100.0 * correct / total if total else float("nan")


def _argmax(scores: Sequence[float]) -> int:
    best = 0
    for i, s in enumerate(scores):
        if s > scores[best]:  # ties go to the earlier candidate, as torch.max does in the official pipeline
            best = i
    return best


def summarise(task: str, items: Sequence[EvalItem], scores: Sequence[Sequence[float]]) -> tuple[dict, list[dict]]:
    """Accuracies (percent; macro over UIDs) or WUG's Spearman, and one prediction row per item."""
    rows = prediction_rows(items, scores)
    tally = _tally(items, rows)
    result: dict = {"n_items": len(items), "n_uids": len(tally["UID"])}
    if task == "wug":
        result.update(_wug_correlation(items, rows))
    else:
        result.update(_accuracies(task, items, rows, tally))
    return result, rows


def prediction_rows(items: Sequence[EvalItem], scores: Sequence[Sequence[float]]) -> list[dict]:
    """Every item with its candidates' scores, the prediction and whether it is right; ids ``<uid>_<n>``."""
    rows: list[dict] = []
    uid_seen: dict[str, int] = defaultdict(int)
    for item, cand_scores in zip(items, scores):
        pred = _argmax(cand_scores)
        rows.append(
            {
                "id": f"{item.uid}_{uid_seen[item.uid]}",
                "uid": item.uid,
                "source": item.source,
                "prefix": item.prefix,
                "completions": item.completions,
                "scores": list(cand_scores),
                "label": item.label,
                "prediction": pred,
                "pred": item.completions[pred],
                "correct": pred == item.label,
                **({"groups": item.groups} if item.groups else {}),
            }
        )
        uid_seen[item.uid] += 1
    return rows


def _tally(items: Sequence[EvalItem], rows: Sequence[dict]) -> Tally:
    counters: Tally = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for item, row in zip(items, rows):
        for key, value in [("UID", item.uid), *item.groups.items()]:
            c = counters[key][value]
            c[0] += row["correct"]
            c[1] += 1
    return counters


def _wug_correlation(items: Sequence[EvalItem], rows: list[dict]) -> dict:
    """Spearman's rho between the first sentence's softmax probability and the human ``ratio``.

    Adds ``prob`` and ``ratio`` to every prediction row.
    """
    from scipy.stats import spearmanr

    probs = []
    for row in rows:
        m = max(row["scores"])
        exps = [math.exp(s - m) for s in row["scores"]]
        probs.append(exps[0] / sum(exps))
        row["prob"] = probs[-1]
    ratios = [item.ratio for item in items]
    for row, ratio in zip(rows, ratios):
        row["ratio"] = ratio
    rho = float(spearmanr(probs, ratios)[0]) if len(items) > 1 else float("nan")
    return {
        "metric": "spearman",
        "spearman": rho,
        "score": 100.0 * rho,
        "first_option_preferred": _pct(sum(r["prediction"] == 0 for r in rows), len(rows)),
    }


def _accuracies(task: str, items: Sequence[EvalItem], rows: Sequence[dict], tally: Tally) -> dict:
    by_uid = {uid: _pct(*c) for uid, c in sorted(tally["UID"].items())}
    groups = {key: {v: _pct(*c) for v, c in sorted(vals.items())} for key, vals in tally.items() if key != "UID"}
    if task == "entity_tracking":
        # as in the official pipeline: average the UIDs (numops) of each split file, then average the splits
        split_of = {item.uid: item.groups.get("split", item.uid) for item in items}
        splits: dict[str, list[float]] = defaultdict(list)
        for uid, acc in by_uid.items():
            splits[split_of[uid]].append(acc)
        by_split = {s: _mean(v) for s, v in sorted(splits.items())}
        accuracy = _mean(by_split.values())
        groups["split"] = by_split
    else:
        accuracy = _mean(by_uid.values())
    return {
        "metric": "accuracy",
        "accuracy": accuracy,
        "score": accuracy,
        "micro_accuracy": _pct(sum(r["correct"] for r in rows), len(rows)),
        "by_uid": by_uid,
        "by_field": groups.pop("field", {}),
        "groups": groups,
    }
