"""Pretraining and instruction tuning with the transformers Trainer.

``pretrain(corpus, out, settings)`` trains a preset LLaMA from scratch on text files; ``run(dataset, base, out,
settings)`` (the ``classit-train run`` command) instruction-tunes a model folder on CLASS-IT. Both take a
``TrainConfig`` (Table 2 preset <- YAML file <- flags: ``TrainConfig.load(file, stage=..., **given)``), build a
plan (``classit_train.data``) and hand it to one ``Trainer`` walking it in order.

The LR schedule: ONE schedule spans the whole plan, phases included. A sequential curriculum
(``switch_wiki``, ``wiki_switch``) is warm-up, then a single linear / cosine(-with-restarts) decay across
phase 1 and phase 2, exactly as ``merged`` is: the three curricula see the same examples, the same number of
steps and the same learning rates step by step, and differ only in order. ``num_cycles`` > 1 restarts the
cosine at evenly spaced steps (not at phase boundaries, which depend on the sources' sizes).

Run folder (``out``): the final model and tokenizer (``AutoModelForCausalLM.from_pretrained(out)``),
``run_config.yaml`` (the full resolved configuration, written before training), ``run_summary.json``
(steps, losses, evaluation loss per source, tokens and words seen, phases), ``README.md`` (model card from
``cards/model_card.md.jinja``), ``checkpoints/`` (Trainer checkpoints, for ``--resume``) and ``revisions/``
(checkpoints by words seen, named as BabyLM's revisions: ``classit_train.revisions``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, PrivateAttr

from classit_data.core.errors import InputError, first_line
from classit_data.core.io import atomic_write_text
from classit_data.core.outputs import claimed
from classit_data.core.summary import Summary
from classit_train import data as D
from classit_train.config import CURRICULUM_PHASES, TrainConfig
from classit_train.presets import count_parameters, llama_config, model_preset
from classit_train.tokenizer import ROW_SUFFIXES, corpus_files, row_texts, tokenizer_folder

CONFIG_FILE = "run_config.yaml"
SUMMARY_FILE = "run_summary.json"
CHECKPOINTS = "checkpoints"
#: configuration keys that decide what is trained and in which order: a resumed run must keep them
PLAN_KEYS = (
    "stage",
    "model",
    "base",
    "corpus",
    "dataset",
    "curriculum",
    "template",
    "epochs",
    "seed",
    "packing",
    "max_length",
    "batch_size",
    "gradient_accumulation_steps",
    "eval_fraction",
)


class TrainSummary(Summary):
    """What ``pretrain`` or ``run`` trained (``run_summary.json``). The fields marked "pretrain" or "run" are
    the other stage's None, and not in its JSON."""

    model_config = ConfigDict(ser_json_inf_nan="constants")  # a NaN loss stays NaN, as json writes it

    stage: str
    steps: int
    planned_steps: int
    resumed_from: str | None
    train_loss: float | None
    eval_loss: dict[str, float]
    seconds: float
    tokens_seen: int
    words_seen: int
    phases: list[dict[str, Any]]
    log_history: list[dict[str, Any]]
    revisions: dict[str, dict[str, int]]  # the word-count checkpoints saved: step and words seen
    tokens_per_second: float | None
    model_preset: str | None = None  # pretrain
    curriculum: str | None = None  # run
    parameters: int
    documents: dict[str, int] | None = None  # pretrain: documents trained on and held out
    examples: int | dict[str, int]  # run: per source
    eval_examples: dict[str, int] | None = None  # run: per source
    plan_rows: int = Field(alias="rows")  # rows (packed or padded) of the plan; ``rows()`` is the table's
    truncated: int
    dropped: dict[str, int]
    babylm_words: dict[str, int]
    _out: str = PrivateAttr("")

    def title(self) -> str:
        if self.stage == "pretrain":
            return f"pretrain {self.model_preset} -> {self._out}"
        return f"run ({self.curriculum}) -> {self._out}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {
            "steps": self.steps,
            "tokens seen": self.tokens_seen,
            "words seen": self.words_seen,
            "train loss": f"{self.train_loss:.4f}" if self.train_loss is not None else "n/a",
        }
        rows.update({f"held-out loss, {k}": f"{v:.4f}" for k, v in self.eval_loss.items()})
        rows.update({f"BabyLM words, {k}": v for k, v in self.babylm_words.items()})
        if self.revisions:
            rows["revisions (words seen)"] = ", ".join(f"{k} ({v['words_seen']:,})" for k, v in self.revisions.items())
        rows["tokens/s"] = self.tokens_per_second
        return rows

    def to_json(self) -> dict[str, Any]:
        other = {"model_preset", "documents"} if self.stage == "instruction" else {"curriculum", "eval_examples"}
        return self.model_dump(mode="json", by_alias=True, exclude=other)


def _check_attention(cfg: TrainConfig) -> None:
    """Fail early when the attention implementation cannot run here (flash_attention_2 without its package):
    transformers checks it when a model is built, so build a tiny LLaMA on the meta device (no memory)."""
    import torch
    from transformers import LlamaForCausalLM

    try:
        with torch.device("meta"):
            LlamaForCausalLM(llama_config("tiny", attn_implementation=cfg.attn_implementation))
    except (ImportError, ValueError) as exc:
        raise InputError(
            f"cannot be used here: {first_line(exc)}", "attn_implementation", cfg.attn_implementation
        ) from exc


# --- the shared training loop ---------------------------------------------------------------------


@contextmanager
def _run_folder(out: Path, cfg: TrainConfig) -> Iterator[None]:
    """The run folder, checked and locked while the run lasts (``core.outputs.claimed``): never an input, inside
    one, or inside another command's output. A run that fails before its first checkpoint leaves no folder it
    made: a refused run is no run."""
    reads = {
        "--dataset": [cfg.dataset] if cfg.dataset and Path(cfg.dataset).exists() else [],
        "--base": [cfg.base] if cfg.base else [],
        "--corpus": list(cfg.corpus or []),
        "--tokenizer": [cfg.tokenizer] if cfg.tokenizer else [],
    }
    made = not out.exists()
    with claimed({"--out": out}, reads, own=CONFIG_FILE):
        try:
            yield
        except BaseException:
            if made and out.is_dir() and not (out / CHECKPOINTS).is_dir():
                shutil.rmtree(out, ignore_errors=True)
            raise


def _start(out: Path, cfg: TrainConfig, tokenizer=None) -> None:
    """Write ``run_config.yaml`` (and a tokenizer trained for this run) once every check has passed: a refused
    run leaves an earlier run's configuration as it was."""
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(str(out / "tokenizer"))
    atomic_write_text(out / CONFIG_FILE, yaml.safe_dump(cfg.model_dump(), sort_keys=False, allow_unicode=True))


def _prepare_out(out: Path, cfg: TrainConfig, resume: bool) -> str | None:
    """Check the run folder; the checkpoint to resume from (None: a fresh start). Nothing is written yet."""
    last = last_checkpoint(out / CHECKPOINTS)
    saved = out / CONFIG_FILE
    if last and not resume:
        raise InputError(
            "has checkpoints of an earlier run: pass --resume to continue it, or choose another --out", out
        )
    if resume and last and saved.exists():
        before = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
        now = cfg.model_dump()
        changed = [k for k in PLAN_KEYS if before.get(k) != now.get(k)]
        if changed:
            raise InputError(f"cannot resume with a different {', '.join(changed)} (see {CONFIG_FILE})", out)
    return last if resume else None


def last_checkpoint(folder: Path) -> str | None:
    """The Trainer's checkpoint of the highest step in ``folder`` (``checkpoint-<step>`` folders), as transformers'
    ``get_last_checkpoint`` finds it: its module imports torch, and a run folder in the way is refused before
    anything heavy loads."""
    steps = {}
    for path in folder.iterdir() if folder.is_dir() else ():
        found = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if found and path.is_dir():
            steps[int(found[1])] = str(path)
    return steps[max(steps)] if steps else None


def _training_args(cfg: TrainConfig, out: Path):
    from transformers import TrainingArguments

    kwargs = {}
    if cfg.lr_scheduler == "cosine_with_restarts" and cfg.num_cycles:
        kwargs["lr_scheduler_kwargs"] = {"num_cycles": cfg.num_cycles}
    return TrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_train_epochs=1,  # the epochs are in the plan
        max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_steps,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if cfg.eval_steps else "no",
        eval_steps=cfg.eval_steps,
        seed=cfg.seed,
        data_seed=cfg.seed,
        train_sampling_strategy="sequential",
        remove_unused_columns=False,
        report_to="none",
        bf16=cfg.bf16,
        dataloader_num_workers=cfg.dataloader_num_workers,
        dataloader_pin_memory=_has_cuda(),
        disable_tqdm=not _is_terminal(),
        **kwargs,
    )


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _is_terminal() -> bool:
    from classit_data.core.console import console

    return console.is_terminal


def fit(
    model,
    tokenizer,
    train_set: D.PlanDataset,
    eval_sets: dict[str, D.PlanDataset],
    cfg: TrainConfig,
    out: Path,
    *,
    last: str | None = None,
    callbacks: list | None = None,
) -> dict:
    """Train ``model`` on the plan (from checkpoint ``last`` when given) and save it in ``out``."""
    from transformers import Trainer

    from classit_train.revisions import saved_revisions, schedule, word_checkpoints

    args = _training_args(cfg, out)
    groups_per_step = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
    revisions = schedule(cfg.checkpoint_words, cfg.checkpoint_word_scale)
    callbacks = [*(callbacks or []), word_checkpoints(out, train_set, groups_per_step, revisions, tokenizer)]
    collator = D.Collator(pad_id=tokenizer.pad_token_id, packing=cfg.packing)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_sets or None,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    _quiet_unless_verbose(trainer)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    metrics = dict(result.metrics)
    if eval_sets:
        metrics.update(trainer.evaluate())
    trainer.save_model(str(out))
    steps = trainer.state.global_step
    summary = {
        "stage": cfg.stage,
        "steps": steps,
        "planned_steps": -(-len(train_set) // groups_per_step),
        "resumed_from": Path(last).name if last else None,
        "train_loss": metrics.get("train_loss"),
        "eval_loss": {
            k[len("eval_") : -len("_loss")]: v
            for k, v in metrics.items()
            if k.startswith("eval_") and k.endswith("_loss")
        },
        "seconds": round(seconds, 2),
        **_seen(train_set, steps, groups_per_step),
        "phases": D.phase_steps(train_set.groups, groups_per_step),
        "log_history": trainer.state.log_history,
        "revisions": saved_revisions(out),
    }
    summary["tokens_per_second"] = round(summary["tokens_seen"] / seconds, 1) if seconds else None
    return summary


def _quiet_unless_verbose(trainer) -> None:
    """The Trainer prints its log dicts on stdout (``PrinterCallback``, or through its progress bar on a
    terminal). stdout is for ``--json`` and the same figures are in ``run_summary.json``: they are printed on
    stderr, and only with ``--verbose``."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback, TrainerCallback

    from classit_data.core.console import console, verbose

    class LogsOnStderr(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_local_process_zero and logs:
                console.print(str(logs), markup=False, highlight=False, soft_wrap=True)

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if verbose():
        trainer.add_callback(LogsOnStderr)


def _seen(train_set: D.PlanDataset, steps: int, groups_per_step: int) -> dict:
    """Tokens (no padding) and words of the groups the first ``steps`` steps trained on.

    A pass over the plan takes ``ceil(groups / groups_per_step)`` steps, its last batch maybe short; the
    Trainer starts the plan again when told to take more steps than it has.
    """
    n = len(train_set)
    per_pass = -(-n // groups_per_step) if n else 1
    passes, rest = divmod(steps, per_pass)
    part = slice(0, min(rest * groups_per_step, n))
    return {
        "tokens_seen": passes * train_set.tokens() + train_set.tokens(part),
        "words_seen": passes * train_set.words() + train_set.words(part),
    }


def _write_outputs(out: Path, cfg: TrainConfig, figures: dict, tokenizer) -> TrainSummary:
    """The run's summary, and beside the model its tokenizer, ``run_summary.json`` and model card."""
    from classit_train.card import render_model_card

    summary = TrainSummary(**figures)
    summary._out = str(out)
    if not world_is_main():  # torchrun: the Trainer saved the model from rank 0; the rest is rank 0's too
        return summary
    tokenizer.save_pretrained(str(out))
    _as_umask_says(out)
    record = summary.to_json()
    atomic_write_text(out / SUMMARY_FILE, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "README.md", render_model_card(cfg.model_dump(), record))
    return summary


def _as_umask_says(out: Path) -> None:
    """Give the run's files the mode the umask gives any new file: safetensors writes the model 0600, and a
    colleague must be able to read the run as they read its card."""
    import stat

    from classit_data.core.io import current_umask

    mode = 0o666 & ~current_umask()
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)


def _settings(stage: str, settings: TrainConfig | None, **inputs: Any) -> TrainConfig:
    """``settings`` (Table 2's defaults of ``stage`` when None) with the inputs given as arguments."""
    cfg = settings if settings is not None else TrainConfig.load(None, stage=stage)
    if cfg.stage != stage:
        raise InputError(
            f"the settings are for stage {cfg.stage!r}, not {stage!r}: "
            f"TrainConfig.load(file, stage={stage!r}, ...) makes them"
        )
    return cfg.model_copy(update={k: v for k, v in inputs.items() if v is not None})


def _unique_words(examples: list[D.Example]) -> int:
    return sum(e.words for e in examples)


def _base_words(base: Path) -> int:
    """Words the base model was trained on, from its run summary (0 when unknown)."""
    try:
        s = json.loads((base / SUMMARY_FILE).read_text(encoding="utf-8"))
        return int(s.get("babylm_words", {}).get("total_unique", 0))
    except (OSError, ValueError, AttributeError):
        return 0


# --- pretraining ----------------------------------------------------------------------------------


def pretrain(
    corpus: Sequence[str | Path] | None,
    out: str | Path,
    settings: TrainConfig | None = None,
    *,
    resume: bool = False,
    callbacks: list | None = None,
) -> TrainSummary:
    """Pretrain a preset LLaMA from scratch on text files (every token carries loss).

    settings -> tokenizer (given, or trained on the corpus) -> documents, some held out -> examples -> plan ->
    a freshly initialised model -> fit -> the run folder.

    Inputs:
        corpus: text files, or Parquet / JSON-lines rows with ``text`` (None or empty: ``settings.corpus``).
        settings: :class:`~classit_train.config.TrainConfig` of stage ``pretrain`` (Table 2's when None); its
            ``model`` preset is needed.

    Outputs:
        out: the run folder: model, tokenizer, ``run_config.yaml``, ``run_summary.json``, model card and
            ``checkpoints/`` (``resume`` continues from the last; ``callbacks`` go to the Trainer).
    """
    out = Path(out)
    cfg = _settings("pretrain", settings, corpus=[str(c) for c in corpus] if corpus else None)
    with _run_folder(out, cfg):
        return _pretrain(out, cfg, resume, callbacks)


def _pretrain(out: Path, cfg: TrainConfig, resume: bool, callbacks: list | None) -> TrainSummary:
    preset = _pretrain_preset(cfg)
    last = _prepare_out(out, cfg, resume)
    import torch  # after the checks on settings and paths: a refused run costs no torch import
    from transformers import LlamaForCausalLM

    _check_attention(cfg)
    max_length = cfg.max_length or preset["max_length"]
    check_memory(llama_config(cfg.model, attn_implementation=cfg.attn_implementation), cfg, max_length)
    tok, trained = _pretrain_tokenizer(cfg, preset, out / "tokenizer", resume)
    stats = D.EncodeStats()
    train_docs, eval_docs = _split_documents(cfg)
    examples = D.encode_documents(train_docs, tok, max_length, "corpus", stats)
    if not examples:
        raise InputError("the corpus has no text", cfg.corpus[0])
    groups = D.make_plan(examples, "corpus", cfg.epochs, cfg.seed, packing=cfg.packing, max_length=max_length)
    eval_sets = {}
    if eval_docs:
        ev = D.encode_documents(eval_docs[: cfg.max_eval_examples], tok, max_length, "corpus")
        eval_sets["corpus"] = _eval_set(ev, cfg, max_length)
    torch.manual_seed(cfg.seed)
    net = LlamaForCausalLM(
        llama_config(
            cfg.model,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            attn_implementation=cfg.attn_implementation,
        )
    )
    _start(out, cfg, tok if trained else None)
    figures = fit(net, tok, D.PlanDataset(examples, groups), eval_sets, cfg, out, last=last, callbacks=callbacks)
    words = _unique_words(examples)  # held-out documents are never trained on
    return _write_outputs(
        out,
        cfg,
        {
            **figures,
            "model_preset": cfg.model,
            "parameters": sum(p.numel() for p in net.parameters()),
            "documents": {"train": len(train_docs), "eval": len(eval_docs)},
            "examples": len(examples),
            "rows": len(groups),
            "truncated": stats["truncated"],
            "dropped": dict(stats.dropped),
            "babylm_words": {"pretraining": words, "total_unique": words},
        },
        tok,
    )


def _pretrain_preset(cfg: TrainConfig) -> dict:
    """The model preset, once the preset, the corpus files and the tokenizer folder given are known to be there."""
    if not cfg.model:
        raise InputError("no model preset given", "--model")
    preset = model_preset(cfg.model)
    for f in corpus_files(cfg.corpus):
        if f.suffix in ROW_SUFFIXES:
            row_texts(f)  # a row file's `text` column must hold strings: say so before anything is written
    if cfg.tokenizer:
        tokenizer_folder(cfg.tokenizer)
    return preset


def _pretrain_tokenizer(cfg: TrainConfig, preset: dict, tok_dir: Path, resume: bool) -> tuple[Any, bool]:
    """The given tokenizer, the one trained when a resumed run started, or a new one trained on the corpus
    (saved in the run folder only when the run starts); and whether it was trained here."""
    from classit_train.tokenizer import load_tokenizer, train_tokenizer

    trained = False
    if cfg.tokenizer:
        tok = load_tokenizer(cfg.tokenizer)
    elif resume and tok_dir.is_dir():
        tok = load_tokenizer(tok_dir)
    else:
        tok, trained = train_tokenizer(cfg.corpus, preset["vocab_size"]), True
    if len(tok) > preset["vocab_size"]:
        raise InputError(
            f"the tokenizer has {len(tok):,} tokens, more than {cfg.model}'s {preset['vocab_size']:,}",
            cfg.tokenizer or tok_dir,
        )
    return tok, trained


def _split_documents(cfg: TrainConfig) -> tuple[list[str], list[str]]:
    """The corpus's documents: (trained on, held out for the evaluation loss), chosen by a stable hash."""
    docs = list(D.corpus_documents(cfg.corpus))
    held = [bool(cfg.eval_fraction) and D.in_heldout(f"doc{i}", cfg.eval_fraction) for i in range(len(docs))]
    return [d for d, h in zip(docs, held) if not h], [d for d, h in zip(docs, held) if h]


def _eval_set(examples: list[D.Example], cfg: TrainConfig, max_length: int) -> D.PlanDataset:
    """Held-out examples in one pass, packed as training packs them."""
    return D.PlanDataset(
        examples, D.make_plan(examples, "corpus", 1, cfg.seed, packing=cfg.packing, max_length=max_length)
    )


# --- instruction tuning ---------------------------------------------------------------------------


def run(
    dataset: str | None,
    base: str | Path | None,
    out: str | Path,
    settings: TrainConfig | None = None,
    *,
    resume: bool = False,
    callbacks: list | None = None,
) -> TrainSummary:
    """Instruction-tune the model folder ``base`` on a CLASS-IT dataset with a curriculum (``classit-train run``).

    Loss on reply tokens only; the examples are rendered with the same template as the dataset's ``text``.
    settings -> template, tokenizer -> the dataset's sources (train and held-out rows) -> examples -> the
    curriculum's plan -> fit -> the run folder.

    Inputs:
        dataset: a folder made by ``classit-data build``, or a Hub id (None: ``settings.dataset``).
        base: the model folder to tune (None: ``settings.base``).
        settings: :class:`~classit_train.config.TrainConfig` of stage ``instruction`` (Table 2's when None).

    Outputs:
        out: the run folder: model, tokenizer, ``run_config.yaml``, ``run_summary.json``, model card and
            ``checkpoints/`` (``resume`` continues from the last; ``callbacks`` go to the Trainer).
    """
    out = Path(out)
    cfg = _settings(
        "instruction", settings, dataset=str(dataset) if dataset else None, base=str(base) if base else None
    )
    with _run_folder(out, cfg):
        return _run(out, cfg, resume, callbacks)


def _run(out: Path, cfg: TrainConfig, resume: bool, callbacks: list | None) -> TrainSummary:
    from classit_data.core.template import TextTemplate
    from classit_train.tokenizer import load_tokenizer

    base_dir = _instruction_base(cfg)
    template = TextTemplate.load(cfg.template)
    last = _prepare_out(out, cfg, resume)
    _check_attention(cfg)
    tok = load_tokenizer(base_dir)
    model_config = _model_config(base_dir)
    sources = D.load_instruction_sources(
        cfg.dataset, eval_fraction=cfg.eval_fraction, max_eval_examples=cfg.max_eval_examples
    )
    max_length = cfg.max_length or model_config.max_position_embeddings
    stats = D.EncodeStats()
    examples, eval_sets = _instruction_examples(sources, tok, template, cfg, max_length, stats)
    groups = D.make_plan(examples, cfg.curriculum, cfg.epochs, cfg.seed, packing=cfg.packing, max_length=max_length)
    plan = D.PlanDataset(examples, groups)
    check_memory(model_config, cfg, D.Collator(pad_id=0).row_width(plan.longest_row()))
    net = _load_model(base_dir, cfg)
    _start(out, cfg)
    figures = fit(net, tok, plan, eval_sets, cfg, out, last=last, callbacks=callbacks)
    words = _unique_words(examples)
    base_words = _base_words(base_dir)
    for span in figures["phases"]:
        span["sources"] = list(CURRICULUM_PHASES[cfg.curriculum][span["phase"]])
    return _write_outputs(
        out,
        cfg,
        {
            **figures,
            "curriculum": cfg.curriculum,
            "parameters": sum(p.numel() for p in net.parameters()),
            "examples": {s: sum(e.source == s for e in examples) for s in sources},
            "eval_examples": {s: len(v.examples) for s, v in eval_sets.items()},
            "rows": len(groups),
            "truncated": stats["truncated"],
            "dropped": dict(stats.dropped),
            "babylm_words": {"pretraining": base_words, "instruction": words, "total_unique": base_words + words},
        },
        tok,
    )


def _instruction_examples(
    sources: dict, tok, template, cfg: TrainConfig, max_length: int, stats: D.EncodeStats
) -> tuple[list[D.Example], dict[str, D.PlanDataset]]:
    """The training examples of every source, and each source's held-out examples as an evaluation set."""
    examples: list[D.Example] = []
    eval_sets: dict[str, D.PlanDataset] = {}
    for source, parts in sources.items():
        examples += D.encode_instructions(parts["train"], source, tok, template, max_length, stats)
        ev = D.encode_instructions(parts["eval"], source, tok, template, max_length)
        if ev:
            eval_sets[source] = _eval_set(ev, cfg, max_length)
    return examples, eval_sets


def _instruction_base(cfg: TrainConfig) -> Path:
    """The base model folder, once the dataset and the base are known to be there."""
    if not cfg.dataset:
        raise InputError("no dataset given", "--dataset")
    if not cfg.base:
        raise InputError("no base model given", "--base")
    D.dataset_location(cfg.dataset)
    base_dir = Path(cfg.base)
    if not (base_dir / "config.json").is_file():
        raise InputError("not a model folder (no config.json)", base_dir)
    return base_dir


def _model_config(base: Path):
    """The base model's configuration, read without its weights."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(base))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the model's configuration: {first_line(exc)}", base) from exc


def check_memory(model_config, cfg: TrainConfig, length: int) -> None:
    """Refuse, in one line naming --max-length and --batch-size, a training step that would not fit in the free
    memory (``classit_train.memory``): without this the kernel kills the run minutes later, silently."""
    if not cfg.memory_check:
        return
    from classit_train.memory import check_step_fits

    check_step_fits(
        model_config,
        count_parameters(model_config),
        cfg.batch_size,
        length,
        attn_implementation=cfg.attn_implementation,
        bf16=cfg.bf16,
    )


def _load_model(base: Path, cfg: TrainConfig):
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(
            str(base), attn_implementation=cfg.attn_implementation, dtype="float32"
        )
    except (OSError, ValueError, ImportError) as exc:  # ImportError: an attention implementation's package
        raise InputError(f"cannot load the model: {first_line(exc)}", base) from exc


def world_is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0
