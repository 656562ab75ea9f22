"""``classit-train finetune``: (Super)GLUE fine-tuning of our causal LMs, as the BabyLM 2025 pipeline does it.

The official pipeline (``babylm/evaluation-pipeline-2025``: ``eval_finetuning.sh``,
``evaluation_pipeline/finetune/{run,trainer,dataset,classifier_model,utils}.py``) fine-tunes a classification
head and the whole model on each task and reports the validation metrics of the epoch that scored best. This
module does the same with our own code:

- **data**: the pipeline's JSON-lines files, one object a line with ``label`` and the task's text fields
  (``TASKS``: which fields form the two segments, and the WSC / MultiRC templates), encoded as a tokenizer
  *pair* (``tokenizer(first, second)``, truncated ``longest_first`` to ``sequence_length`` tokens), padded on
  the right; the training set is a seeded subsample of ``train_size`` examples when it is larger;
- **model**: the LM's body (``AutoModel``: hidden states) and the pipeline's head, LayerNorm -> Linear ->
  GELU -> LayerNorm -> Dropout -> Linear (the LayerNorms without weights); by default the head reads the
  hidden state of the *last* real token (``pooling="last"``), since the first token of a causal LM sees only
  itself. ``pooling="first"`` is the official pipeline's computation: ``eval_finetuning.sh`` passes neither
  ``--take_final`` nor ``--causal``, so its head reads ``encoding[:, 0]``. Its ``--take_final --causal`` path
  is no alternative: it computes a token position per row (``S - 2`` for a row whose last position is real,
  ``-1`` for a padded one) and uses it to index the *batch* dimension, reading ``encoding[position_b, b]``; it
  fails with an IndexError when the padded length exceeds the batch size + 1, and otherwise returns one vector
  per token position instead of one per row;
- **training**: AdamW with weight decay on every parameter, linear warm-up over 6% of the steps, then a cosine
  decay to 10% of the peak learning rate, the training set reshuffled every epoch and its last incomplete
  batch dropped; after every epoch the validation set is scored and the best epoch (``metric_for_valid``,
  strictly better) is the result, as the pipeline's ``keep_best_model``;
- **metrics**: scikit-learn's accuracy, F1 (of label 1) and Matthews correlation, as fractions.

Results go into the model's ``results.json`` (the file ``classit-train eval`` writes and ``report`` reads) as
task ``<task>`` with ``kind: finetuning``; every validation prediction goes to
``<stem>.<task>.predictions.jsonl`` beside it.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, PrivateAttr

from classit_data.core.console import ProgressBar
from classit_data.core.errors import InputError, first_line
from classit_data.core.io import json_lines
from classit_data.core.outputs import replaced_together
from classit_data.core.summary import Summary
from classit_train.config import FinetuneConfig
from classit_train.evaluate import results as eval_results
from classit_train.evaluate.scoring import model_path, resolve_device


@dataclass(frozen=True)
class TaskSpec:
    """How one task's rows become a text pair, and the pipeline's settings for it (``eval_finetuning.sh``)."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    template: str | None = None  # for ``first``; None joins its fields with spaces
    num_labels: int = 2
    metrics: tuple[str, ...] = ("accuracy", "f1", "mcc")
    valid_metric: str = "accuracy"
    batch_size: int = 32
    epochs: int = 10


TASKS: dict[str, TaskSpec] = {
    "boolq": TaskSpec(("question",), ("passage",), batch_size=16),
    "mnli": TaskSpec(("premise",), ("hypothesis",), num_labels=3, metrics=("accuracy",)),
    "mrpc": TaskSpec(("sentence1",), ("sentence2",), valid_metric="f1"),
    "multirc": TaskSpec(("question", "answer"), ("paragraph",), "Question: {} Answer: {}", batch_size=16),
    "qqp": TaskSpec(("question1",), ("question2",), valid_metric="f1"),
    "rte": TaskSpec(("sentence1",), ("sentence2",)),
    "wsc": TaskSpec(("span2_text", "span1_text"), ("text",), 'Does "{}" refer to "{}" in this passage?', epochs=30),
}


@dataclass
class Example:
    first: str
    second: str
    label: int
    source: str


# -- data ---------------------------------------------------------------------------------------------------
def _segment(row: dict, keys: Sequence[str], template: str | None, path: Path, line: int) -> str:
    values = []
    for key in keys:
        if not isinstance(row.get(key), str):
            raise InputError(f"field {key} is missing or not text", path, line)
        values.append(row[key])
    return template.format(*values) if template else " ".join(values)


def read_examples(path: str | Path, task: str) -> list[Example]:
    """A task file's examples; labels must be whole numbers below the task's number of labels."""
    spec = task_spec(task)
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a file", path)
    out = []
    for line, row in json_lines(path):
        label = row.get("label")
        if isinstance(label, bool):
            label = int(label)
        if not isinstance(label, int) or not 0 <= label < spec.num_labels:
            raise InputError(f"label must be an integer from 0 to {spec.num_labels - 1}, not {label!r}", path, line)
        out.append(
            Example(
                _segment(row, spec.first, spec.template, path, line),
                _segment(row, spec.second, None, path, line),
                label,
                f"{path}:{line}",
            )
        )
    return out


def task_spec(task: str) -> TaskSpec:
    if task not in TASKS:
        raise InputError(f"unknown fine-tuning task {task!r} (known: {', '.join(TASKS)})", "--task")
    return TASKS[task]


def subsample(n: int, size: int | None, seed: int) -> list[int]:
    """Indices of a seeded random sample of ``size`` of ``n`` examples, in file order (all when ``n <= size``)."""
    import numpy as np

    if size is None or n <= size:
        return list(range(n))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n, size=size, replace=False))


def compute_metrics(labels: Sequence[int], predictions: Sequence[int], names: Sequence[str]) -> dict[str, float]:
    """scikit-learn's metrics, as fractions: accuracy, F1 of label 1 (binary tasks), Matthews correlation."""
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    def f1(y, p):  # where F1 is undefined, scikit-learn's default value (0) without its warning
        return f1_score(y, p, zero_division=0.0)

    functions = {"accuracy": accuracy_score, "f1": f1, "mcc": matthews_corrcoef}
    return {name: float(functions[name](labels, predictions)) for name in names}


# -- the model ----------------------------------------------------------------------------------------------
def classification_head(hidden_size: int, num_labels: int, dropout: float, eps: float = 1e-5):
    """The pipeline's head (``classifier_model.ClassifierHead``): two weightless LayerNorms around a GELU layer."""
    from torch import nn

    return nn.Sequential(
        nn.LayerNorm(hidden_size, eps, elementwise_affine=False),
        nn.Linear(hidden_size, hidden_size),
        nn.GELU(),
        nn.LayerNorm(hidden_size, eps, elementwise_affine=False),
        nn.Dropout(dropout),
        nn.Linear(hidden_size, num_labels),
    )


def _classifier_class():
    from torch import nn

    class SequenceClassifier(nn.Module):
        """An LM body and a classification head reading one token's last hidden state."""

        def __init__(self, backbone, num_labels: int, dropout: float = 0.1, pooling: str = "last"):
            super().__init__()
            self.backbone = backbone
            self.head = classification_head(backbone.config.hidden_size, num_labels, dropout)
            self.pooling = pooling

        def forward(self, input_ids, attention_mask):
            import torch

            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if self.pooling == "first":
                return self.head(hidden[:, 0])
            last = attention_mask.sum(dim=1) - 1  # right padding: the last real token
            return self.head(hidden[torch.arange(hidden.size(0), device=hidden.device), last])

    return SequenceClassifier


def sequence_classifier(backbone, num_labels: int, dropout: float = 0.1, pooling: str = "last"):
    """A classifier over ``backbone`` (a transformers base model returning ``last_hidden_state``)."""
    return _classifier_class()(backbone, num_labels, dropout, pooling)


def load_classifier(model_dir: str | Path, num_labels: int, cfg: FinetuneConfig, device: str):
    """The model folder's body (``AutoModel``) under a new head, and its tokenizer set to pad on the right."""
    path = model_path(model_dir)
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the LM head left unused is expected: no load report about it
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        backbone = AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load the model: {first_line(exc)}", path) from None
    finally:
        hf_logging.set_verbosity(level)
    tokenizer.padding_side = "right"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return sequence_classifier(backbone, num_labels, cfg.classifier_dropout, cfg.pooling).to(device), tokenizer, path


def batches(
    examples: Sequence[Example],
    order: Sequence[int],
    tokenizer,
    batch_size: int,
    max_length: int,
    device,
    drop_last: bool = False,
) -> Iterator:
    """``(input_ids, attention_mask, labels)`` batches of ``examples`` taken in ``order``: pairs, padded right."""
    import torch

    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    for start in range(0, stop, batch_size):
        chunk = [examples[i] for i in order[start : start + batch_size]]
        enc = tokenizer(
            [e.first for e in chunk],
            [e.second for e in chunk],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        yield (
            enc["input_ids"].to(device),
            enc["attention_mask"].to(device),
            torch.tensor([e.label for e in chunk], device=device),
        )


# -- training -----------------------------------------------------------------------------------------------
def make_optimizer(model, cfg: FinetuneConfig, total_steps: int):
    """AdamW on every parameter, and the pipeline's warm-up then cosine decay to ``min_factor``."""
    import torch
    from transformers.optimization import get_cosine_with_min_lr_schedule_with_warmup

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg.weight_decay
    )
    schedule = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, int(cfg.warmup_proportion * total_steps), total_steps, min_lr_rate=cfg.min_factor
    )
    return optimizer, schedule


def train_step(model, optimizer, schedule, batch) -> float:
    """One update on one batch; its cross-entropy loss."""
    import torch.nn.functional as F

    input_ids, attention_mask, labels = batch
    loss = F.cross_entropy(model(input_ids, attention_mask), labels)
    loss.backward()
    optimizer.step()
    schedule.step()
    optimizer.zero_grad()
    return float(loss.detach())


def predict(model, examples: Sequence[Example], tokenizer, batch_size: int, max_length: int, device) -> list[int]:
    """The predicted label of every example, in order."""
    import torch

    model.eval()
    preds: list[int] = []
    with torch.inference_mode():
        for ids, mask, _ in batches(examples, range(len(examples)), tokenizer, batch_size, max_length, device):
            preds.extend(model(ids, mask).argmax(-1).tolist())
    return preds


@dataclass
class Plan:
    """What a run does, resolved from the task's defaults and the settings."""

    batch_size: int
    epochs: int
    metric: str
    steps_per_epoch: int
    max_length: int  # the sequence length, at most the model's number of positions


def run_epochs(
    model,
    tokenizer,
    train: Sequence[Example],
    valid: Sequence[Example],
    spec: TaskSpec,
    cfg: FinetuneConfig,
    plan: Plan,
    device,
    tick=None,
) -> dict:
    """Train ``plan.epochs`` epochs, scoring the validation set after each; the best epoch's metrics."""
    import torch

    optimizer, schedule = make_optimizer(model, cfg, plan.steps_per_epoch * plan.epochs)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    best: dict | None = None
    history = []
    for epoch in range(1, plan.epochs + 1):
        model.train()
        order = torch.randperm(len(train), generator=shuffle).tolist()
        losses = [
            train_step(model, optimizer, schedule, batch)
            for batch in batches(train, order, tokenizer, plan.batch_size, plan.max_length, device, drop_last=True)
        ]
        preds = predict(model, valid, tokenizer, cfg.valid_batch_size, plan.max_length, device)
        metrics = compute_metrics([e.label for e in valid], preds, spec.metrics)
        history.append({"epoch": epoch, "train_loss": sum(losses) / len(losses), **metrics})
        if best is None or metrics[plan.metric] > best["metrics"][plan.metric]:
            best = {"epoch": epoch, "metrics": metrics, "predictions": preds}
        if tick is not None:
            tick()
    assert best is not None
    return {**best, "history": history}


def _plan(spec: TaskSpec, cfg: FinetuneConfig, n_train: int, train_path: Path) -> Plan:
    batch_size = cfg.batch_size or spec.batch_size
    metric = cfg.metric_for_valid or spec.valid_metric
    if metric not in spec.metrics:
        raise InputError(
            f"{metric} is not computed for this task (only {', '.join(spec.metrics)})", "--metric-for-valid"
        )
    if n_train < batch_size:
        raise InputError(
            f"{n_train} training examples, fewer than one batch of {batch_size} (--batch-size)", train_path
        )
    return Plan(batch_size, cfg.epochs or spec.epochs, metric, n_train // batch_size, cfg.sequence_length)


class FinetuneSummary(Summary):
    """The task's entry of results.json: the best epoch's validation metrics (fractions); ``score`` is its
    accuracy in percent, as the report reads it."""

    model_config = ConfigDict(ser_json_inf_nan="constants")

    task: str
    kind: str
    metric: str
    score: float
    metrics: dict[str, float]
    best_epoch: int
    history: list[dict[str, Any]]
    n_train: int
    n_train_available: int
    n_valid: int
    data: list[str]
    predictions: str
    settings: dict[str, Any]
    timing: dict[str, Any]
    date: str
    _out: str = PrivateAttr("")

    def title(self) -> str:
        return f"{self.task} -> {self._out}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {
            "train examples": f"{self.n_train:,} of {self.n_train_available:,}",
            "validation examples": self.n_valid,
            "best epoch": self.best_epoch,
        }
        rows.update({name: f"{value:.4f}" for name, value in self.metrics.items()})
        rows["train examples/s"] = str(self.timing["train_examples_per_s"])
        rows["predictions"] = self.predictions
        return rows


def _load(model: str | Path, spec, cfg: FinetuneConfig, plan, device: str):
    """The classifier, its tokenizer and its folder; the plan's rows kept within the model's positions."""
    classifier, tokenizer, path = load_classifier(model, spec.num_labels, cfg, device)
    positions = getattr(classifier.backbone.config, "max_position_embeddings", None)
    plan.max_length = min(plan.max_length, positions or plan.max_length)
    return classifier, tokenizer, path


def _timings(load_s: float, train_s: float, examples_seen: int) -> dict:
    return {
        "load_s": round(load_s, 2),
        "train_s": round(train_s, 2),
        "train_examples_per_s": round(examples_seen / train_s, 2) if train_s else None,
    }


def finetune(
    model: str | Path,
    task: str,
    train: str | Path,
    valid: str | Path,
    out: str | Path,
    settings: FinetuneConfig | None = None,
    *,
    progress: bool = True,
) -> FinetuneSummary:
    """Fine-tune ``model`` on one task and file the best epoch's validation metrics in ``out`` (a results.json).

    Inputs:
        model: a model folder (its body gets a classification head).
        task: boolq, mnli, mrpc, multirc, qqp, rte or wsc.
        train, valid: the task's training and validation files (the pipeline's JSON lines).
        settings: :class:`~classit_train.config.FinetuneConfig` (the pipeline's defaults when None).

    Outputs:
        out: results.json, the task's entry (this summary) added; beside it
            ``<out stem>.<task>.predictions.jsonl``: every validation example's prediction.

    References: the BabyLM 2025 evaluation pipeline (``babylm/evaluation-pipeline-2025``), whose fine-tuning
    this follows.
    """
    cfg = settings if settings is not None else FinetuneConfig()
    spec, out = task_spec(task), Path(out)
    preds_path = eval_results.predictions_path(out, task)
    with replaced_together(
        {"--out": out, "predictions": preds_path}, {"--train": [train], "--valid": [valid], "the --model": [model]}
    ) as outs:
        all_train, valid_examples = read_examples(train, task), read_examples(valid, task)
        keep = subsample(len(all_train), cfg.train_size, cfg.seed)
        train_examples = [all_train[i] for i in keep]
        plan = _plan(spec, cfg, len(train_examples), Path(train))
        existing = eval_results.read_existing(out)
        model = model_path(model)  # before torch loads: a refused model costs no torch import
        import torch

        device = resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        t0 = time.perf_counter()
        classifier, tokenizer, path = _load(model, spec, cfg, plan, device)
        eval_results.check_same_model(existing, path, out)
        t1 = time.perf_counter()
        with ProgressBar(f"{task}: epochs", plan.epochs, enabled=progress) as bar:
            best = run_epochs(
                classifier,
                tokenizer,
                train_examples,
                valid_examples,
                spec,
                cfg,
                plan,
                device,
                tick=lambda: bar.update(advance=1),
            )
        train_s = time.perf_counter() - t1
        eval_results.write_jsonl(_prediction_rows(valid_examples, best["predictions"]), outs.path("predictions"))
        summary = _summary(
            task,
            spec,
            cfg,
            plan,
            best,
            (len(all_train), keep, len(valid_examples)),
            [train, valid],
            preds_path.name,
            device,
            _timings(t1 - t0, train_s, len(keep) * plan.epochs),
        )
        summary._out = str(out)
        eval_results.file_entry(outs.path("--out"), existing, path, cfg.name, task, summary.to_json())
    return summary


def _prediction_rows(examples: Sequence[Example], preds: Sequence[int]) -> list[dict]:
    return [
        {"id": i, "source": e.source, "label": e.label, "prediction": p, "correct": p == e.label}
        for i, (e, p) in enumerate(zip(examples, preds))
    ]


def _summary(
    task: str,
    spec: TaskSpec,
    cfg: FinetuneConfig,
    plan: Plan,
    best: dict,
    sizes: tuple,
    data: list,
    predictions: str,
    device: str,
    timing: dict,
) -> FinetuneSummary:
    """The task's entry of results.json: ``score`` is accuracy in percent, as the report reads it."""
    n_available, keep, n_valid = sizes
    return FinetuneSummary(
        task=task,
        kind="finetuning",
        metric="accuracy",
        score=100.0 * best["metrics"]["accuracy"],
        metrics=best["metrics"],
        best_epoch=best["epoch"],
        history=best["history"],
        n_train=len(keep),
        n_train_available=n_available,
        n_valid=n_valid,
        data=[str(p) for p in data],
        predictions=predictions,
        settings={
            **cfg.model_dump(exclude={"name", "device"}),
            "batch_size": plan.batch_size,
            "epochs": plan.epochs,
            "metric_for_valid": plan.metric,
            "num_labels": spec.num_labels,
            "sequence_length": plan.max_length,
            "steps": plan.steps_per_epoch * plan.epochs,
            "device": device,
        },
        timing=timing,
        date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
