"""Zero-shot evaluation of causal LMs on the BabyLM 2025 tasks: summed log-probabilities, batched.

**What is scored.** For each candidate the model reads ``prefix + completion`` and we sum
``log p(token | everything before it)`` over the tokens of the completion: a token counts when its character
span ends inside the completion (a token straddling the prefix/completion boundary counts, as in the official
pipeline). For BLiMP and WUG the prefix is empty, so the whole sentence is scored; for EWoK the prefix is the
context and the completion ``" " + target``; for entity tracking the prefix is ``input_prefix``.

**The first token.** A causal LM cannot score the first token of its input: nothing precedes it.

- ``first_token="official"`` (default) tokenizes as the official BabyLM 2025 pipeline does
  (``tokenizer(text)`` with the tokenizer's own special tokens). If the tokenizer adds a BOS token (Llama,
  Mistral) the first word is scored given BOS; if it adds none (GPT-2, SmolLM2, most BPE tokenizers trained
  from scratch) the first token is *not* scored and the sentence score is
  ``log p(w2..wn | w1)``. Leaderboard numbers are computed this way.
- ``first_token="bos"`` always puts a start token (the tokenizer's BOS, else its EOS) before the text, so every
  token of the sentence is scored: ``log p(w1..wn | <s>)``. This is the usual definition of a sentence's
  probability; it can change BLiMP pairs whose sentences differ in the first word.

``results.json`` records which was used and whether the first token was scored.

**Batching.** Candidates of all items are sorted by length and run in batches, right-padded with an attention
mask; padding sits after every real token, so with causal attention it cannot change a real token's logits
(tests check batched scores against one-at-a-time scores within 1e-4 nats).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from classit_data.core.errors import InputError, first_line
from classit_data.core.io import atomic_path, atomic_write_text
from classit_train.evaluate.tasks import Item, read_task, result_key

RESULTS_FORMAT = "classit-eval/1"
FIRST_TOKEN_MODES = ("official", "bos")


@dataclass
class Encoded:
    ids: list[int]
    scored: list[bool]  # True where the token belongs to the completion (never at position 0)


class CausalScorer:
    """Sums completion log-probabilities under any ``AutoModelForCausalLM``; model and tokenizer are given."""

    def __init__(self, model, tokenizer, *, first_token: str = "official", device=None):
        import torch

        if first_token not in FIRST_TOKEN_MODES:
            raise InputError(f"first_token must be one of {', '.join(FIRST_TOKEN_MODES)}, not {first_token!r}",
                             where="--first-token")
        if not getattr(tokenizer, "is_fast", False):
            raise InputError("the model's tokenizer has no fast (Rust) version: character offsets are needed "
                             "to find the completion's tokens")
        self.model = model
        self.tokenizer = tokenizer
        self.first_token = first_token
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.start_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        if first_token == "bos" and self.start_id is None:
            raise InputError("first_token='bos' needs a tokenizer with a BOS or EOS token", where="--first-token")
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.start_id or 0)
        self.max_len = getattr(model.config, "max_position_embeddings", None)
        self._special = set(tokenizer.all_special_ids)

    # -- tokenization -------------------------------------------------------------------------------------
    def encode(self, prefix: str, completion: str) -> Encoded:
        text = prefix + completion
        official = self.first_token == "official"
        enc = self.tokenizer(text, return_offsets_mapping=True, add_special_tokens=official)
        ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
        if not official:
            ids, offsets = [self.start_id] + ids, [(0, 0)] + offsets
        boundary = len(prefix)
        scored = [i > 0 and end > boundary and end > start for i, (start, end) in enumerate(offsets)]
        return Encoded(ids, scored)

    def first_token_scored(self) -> bool:
        """Whether a sentence's first word is scored (a start token precedes it)."""
        if self.first_token == "bos":
            return True
        enc = self.tokenizer("hello", return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        return bool(ids) and ids[0] in self._special and tuple(offsets[0]) == (0, 0)

    # -- scoring ------------------------------------------------------------------------------------------
    def score_encoded(self, encoded: Sequence[Encoded], batch_size: int = 32, progress=None) -> list[float]:
        """Summed log-probabilities (nats) of the scored tokens of every sequence, in input order."""
        import torch

        if batch_size < 1:
            raise InputError("batch size must be at least 1", where="--batch-size")
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].ids))
        out = [0.0] * len(encoded)
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                width = len(encoded[idx[0]].ids)
                if self.max_len and width > self.max_len:
                    raise InputError(f"a candidate is {width} tokens long, more than the model's "
                                     f"{self.max_len} positions")
                ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                scored = torch.zeros((len(idx), width), dtype=torch.bool)
                for row, i in enumerate(idx):
                    n = len(encoded[i].ids)
                    ids[row, :n] = torch.tensor(encoded[i].ids)
                    mask[row, :n] = 1
                    scored[row, :n] = torch.tensor(encoded[i].scored)
                ids, mask, scored = ids.to(self.device), mask.to(self.device), scored.to(self.device)
                if width < 2:  # one token: nothing can be scored
                    sums = torch.zeros(len(idx))
                else:
                    logits = self.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1]).logits.float()
                    targets = ids[:, 1:]
                    token_lp = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)
                    sums = (token_lp * scored[:, 1:]).sum(-1).cpu()
                for row, i in enumerate(idx):
                    out[i] = float(sums[row])
                if progress is not None:
                    progress(len(idx))
        return out

    def score(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32, progress=None) -> list[float]:
        """Summed log-probability of each ``completion`` given its ``prefix``."""
        return self.score_encoded([self.encode(p, c) for p, c in pairs], batch_size, progress)


# -- model loading ------------------------------------------------------------------------------------------
def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for but no CUDA GPU is available", where="--device")
    return device


def load_model(model_dir: str | Path, *, device: str | None = None, dtype: str = "float32"):
    """Any ``AutoModelForCausalLM`` folder (or cached Hub id) and its tokenizer, offline."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from classit_data.core.models import resolve_model

    hf_logging.disable_progress_bar()  # our own progress bar is enough

    path = resolve_model(str(model_dir))
    if isinstance(path, Path) and not (path / "config.json").exists():
        raise InputError("not a model folder (no config.json)", path)
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in dtypes:
        raise InputError(f"dtype must be one of {', '.join(dtypes)}, not {dtype!r}", where="--dtype")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtypes[dtype])
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a causal LM: {first_line(exc)}", path) from None
    model.to(resolve_device(device))
    model.eval()
    return model, tokenizer, path


# -- aggregation --------------------------------------------------------------------------------------------
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


def summarise(task: str, items: Sequence[Item], scores: Sequence[Sequence[float]]) -> tuple[dict, list[dict]]:
    """Accuracies (percent; macro over UIDs) or WUG's Spearman, and one prediction row per item."""
    rows: list[dict] = []
    counters: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    uid_seen: dict[str, int] = defaultdict(int)
    for item, cand_scores in zip(items, scores):
        pred = _argmax(cand_scores)
        correct = pred == item.label
        for key, value in [("UID", item.uid), *item.groups.items()]:
            c = counters[key][value]
            c[0] += correct
            c[1] += 1
        row = {
            "id": f"{item.uid}_{uid_seen[item.uid]}", "uid": item.uid, "source": item.source,
            "prefix": item.prefix, "completions": item.completions, "scores": list(cand_scores),
            "label": item.label, "prediction": pred, "pred": item.completions[pred], "correct": correct,
            **({"groups": item.groups} if item.groups else {}),
        }
        uid_seen[item.uid] += 1
        rows.append(row)

    by_uid = {uid: _pct(*c) for uid, c in sorted(counters["UID"].items())}
    groups = {key: {v: _pct(*c) for v, c in sorted(vals.items())} for key, vals in counters.items() if key != "UID"}
    result: dict = {"n_items": len(items), "n_uids": len(by_uid)}
    if task == "wug":
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
        result.update({"metric": "spearman", "spearman": rho, "score": 100.0 * rho,
                       "first_option_preferred": _pct(sum(r["prediction"] == 0 for r in rows), len(rows))})
        return result, rows

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
    result.update({"metric": "accuracy", "accuracy": accuracy, "score": accuracy,
                   "micro_accuracy": _pct(sum(r["correct"] for r in rows), len(rows)),
                   "by_uid": by_uid, "by_field": groups.pop("field", {}), "groups": groups})
    return result, rows


# -- the whole evaluation -----------------------------------------------------------------------------------
def predictions_path(out: Path, key: str) -> Path:
    return out.with_name(f"{out.stem}.{key}.predictions.jsonl")


def _write_jsonl(rows: Sequence[dict], path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def evaluate_model(model: str | Path, task: str, data: str | Path | Sequence[str | Path], out: str | Path, *,
                   batch_size: int = 32, device: str | None = "auto", dtype: str = "float32",
                   limit: int | None = None, first_token: str = "official", ewok_contexts: str = "first",
                   name: str | None = None, progress: bool = True) -> dict:
    """Score one task with one model and file it in ``out`` (a results.json; other tasks in it are kept).

    Writes ``<out stem>.<task>.predictions.jsonl`` beside it: every item's candidates, scores and prediction.
    Returns the task's entry of results.json.
    """
    out = Path(out)
    data_paths = [data] if isinstance(data, (str, Path)) else list(data)
    items = read_task(task, data_paths, limit=limit, ewok_contexts=ewok_contexts)
    existing = _read_existing(out)

    dev = resolve_device(device)
    t0 = time.perf_counter()
    mdl, tok, path = load_model(model, device=dev, dtype=dtype)
    load_s = time.perf_counter() - t0
    scorer = CausalScorer(mdl, tok, first_token=first_token)
    model_id = str(path)
    if existing and existing.get("model") not in (None, model_id):
        raise InputError(f"holds results of another model ({existing['model']}); choose another --out", out)

    flat = [(i, c) for i, item in enumerate(items) for c in range(len(item.completions))]
    encoded = [scorer.encode(items[i].prefix, items[i].completions[c]) for i, c in flat]
    t1 = time.perf_counter()
    if progress:
        from classit_data.core.console import make_progress

        with make_progress() as bar:
            job = bar.add_task(f"{task}: scoring", total=len(encoded))
            flat_scores = scorer.score_encoded(encoded, batch_size, progress=lambda n: bar.advance(job, n))
    else:
        flat_scores = scorer.score_encoded(encoded, batch_size)
    score_s = time.perf_counter() - t1
    scores: list[list[float]] = [[] for _ in items]
    for (i, _c), s in zip(flat, flat_scores):
        scores[i].append(s)

    key = result_key(task, data_paths)
    summary, rows = summarise(task, items, scores)
    pred_path = predictions_path(out, key)
    _write_jsonl(rows, pred_path)
    entry = {
        "task": task,
        **summary,
        "data": [str(p) for p in data_paths],
        "predictions": pred_path.name,
        "scoring": {
            "method": "sum of log-probabilities (nats) of the completion's tokens given the prefix; "
                      "highest-scoring candidate chosen, ties to the first",
            "first_token": first_token,
            "first_token_scored": scorer.first_token_scored(),
            "start_token": tok.convert_ids_to_tokens(scorer.start_id) if first_token == "bos" else None,
            "temperature": 1.0,
            "padding": "right, attention mask",
            "batch_size": batch_size,
            "device": dev,
            "dtype": dtype,
            "limit_per_uid": limit,
            **({"ewok_contexts": ewok_contexts} if task == "ewok" else {}),
        },
        "timing": {"load_s": round(load_s, 2), "score_s": round(score_s, 2),
                   "sequences": len(encoded), "sequences_per_s": round(len(encoded) / score_s, 2) if score_s else None},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    previous = existing or {}
    results = {"format": RESULTS_FORMAT, "model": model_id,
               "model_name": name or previous.get("model_name") or _model_name(path),
               "tasks": {**previous.get("tasks", {}), key: entry}}
    atomic_write_text(out, json.dumps(results, indent=2, ensure_ascii=False, allow_nan=True) + "\n")
    return entry


def _model_name(path: Path | str) -> str:
    p = Path(str(path))
    if p.name.startswith("checkpoint-") and p.parent.name:
        return f"{p.parent.name}/{p.name}"
    return p.name


def _read_existing(out: Path) -> dict | None:
    if not out.exists():
        return None
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"exists but is not a results JSON ({exc}); remove it or choose another --out", out) from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise InputError("exists and is not a classit-train results file; choose another --out", out)
    return data
