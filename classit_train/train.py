"""Pretraining and instruction tuning with the transformers Trainer.

``pretrain(corpus, out, model=...)`` trains a preset LLaMA from scratch on text files;
``instruction_tune(dataset, base, out, curriculum=...)`` (the ``classit-train run`` command) instruction-tunes a
model folder on CLASS-IT. Both resolve a ``TrainConfig`` (Table 2 preset <- YAML file <- arguments), build a plan
(``classit_train.data``) and hand it to one ``Trainer`` walking it in order.

The LR schedule: ONE schedule spans the whole plan, phases included. A sequential curriculum
(``switch_wiki``, ``wiki_switch``) is warm-up, then a single linear / cosine(-with-restarts) decay across
phase 1 and phase 2, exactly as ``merged`` is: the three curricula see the same examples, the same number of
steps and the same learning rates step by step, and differ only in order. ``num_cycles`` > 1 restarts the
cosine at evenly spaced steps (not at phase boundaries, which depend on the sources' sizes).

Run folder (``out``): the final model and tokenizer (``AutoModelForCausalLM.from_pretrained(out)``),
``run_config.yaml`` (the full resolved configuration, written before training), ``run_summary.json``
(steps, losses, evaluation loss per source, tokens and words seen, phases), ``README.md`` (model card from
``cards/model_card.md.jinja``) and ``checkpoints/`` (Trainer checkpoints, for ``--resume``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from classit_data.core.errors import InputError, checked_settings, first_line
from classit_data.core.io import atomic_write_text, read_yaml_mapping
from classit_train import data as D
from classit_train.presets import count_parameters, llama_config, model_preset, model_presets, training_preset
from classit_train.tokenizer import ROW_SUFFIXES, row_texts

CONFIG_FILE = "run_config.yaml"
SUMMARY_FILE = "run_summary.json"
CHECKPOINTS = "checkpoints"
#: configuration keys that decide what is trained and in which order: a resumed run must keep them
PLAN_KEYS = ("stage", "model", "base", "corpus", "dataset", "curriculum", "template", "epochs", "seed", "packing",
             "max_length", "batch_size", "gradient_accumulation_steps", "eval_fraction")


#: a setting only a ``--config`` file (or the Python API) sets: the command lines keep to what runs usually change
_FILE_ONLY = {"cli": False}
#: a setting the command needs, from its flag or from the ``--config`` file: its help says ``[required]``
_REQUIRED = {"required": True}


class TrainConfig(BaseModel):
    """Everything a run depends on; saved in full as ``run_config.yaml``.

    The options of ``classit-train pretrain`` and ``run`` are made from these fields (their descriptions are
    the help); every field, flag or not, can be set in the ``--config`` file.
    """

    model_config = ConfigDict(extra="forbid")

    stage: Literal["pretrain", "instruction"] = Field(description="Set by the command: pretrain, or instruction "
                                                      "(run).", json_schema_extra=_FILE_ONLY)
    # what to train
    model: str | None = Field(None, description=f"Model preset: {', '.join(model_presets())} (given here or in "
                              "--config).", json_schema_extra=_REQUIRED)
    tokenizer: str | None = Field(None, description="Tokenizer folder (default: train one of the preset's "
                                  "vocabulary size on the corpus).")
    corpus: list[str] = Field(default_factory=list, description="Text files to pretrain on (repeatable; given "
                              "here or in --config).", json_schema_extra=_REQUIRED)
    base: str | None = Field(None, description="Model folder to instruction-tune (given here or in --config).",
                             json_schema_extra=_REQUIRED)
    dataset: str | None = Field(None, description="Folder made by `classit-data build`, or a Hub id (given here "
                                "or in --config).", json_schema_extra=_REQUIRED)
    curriculum: str = Field("merged", description=f"{' | '.join(D.CURRICULA)}: both sources shuffled together, "
                            "or one source after the other.")
    template: str | None = Field(None, description="Text template file; the dataset's by default.",
                                 json_schema_extra=_FILE_ONLY)
    # CLASS-IT Table 2 (presets/training.yaml)
    learning_rate: float = Field(gt=0, description="Peak learning rate (Table 2).", json_schema_extra=_FILE_ONLY)
    batch_size: int = Field(ge=1, description="Rows per device and step (Table 2: 8).")
    epochs: int = Field(ge=1, description="Epochs (Table 2: 8 for pretrain; 10 for run, per phase of the "
                        "curriculum).")
    lr_scheduler: str = Field(description="transformers scheduler (Table 2: linear for pretrain, "
                              "cosine_with_restarts for run).", json_schema_extra=_FILE_ONLY)
    warmup_steps: int = Field(ge=0, description="Warm-up steps (Table 2).", json_schema_extra=_FILE_ONLY)
    num_cycles: int | None = Field(None, ge=1, description="Cosine-with-restarts cycles (default 1).",
                                   json_schema_extra={"flags": ["--cycles"]})
    # the run
    max_steps: int | None = Field(None, ge=1, description="Stop after N optimizer steps.")
    seed: int = Field(0, ge=0, le=2**32 - 1,  # numpy's seeds (transformers' set_seed) stop at 2**32 - 1
                      description="Seed of the shuffles (and of pretrain's initialisation).")
    packing: bool = Field(True, description="Pack examples into rows without cross-attention (--no-packing: "
                          "pad them).")
    max_length: int | None = Field(None, ge=8, description="Row length (default: the preset's for pretrain, "
                                   "the model's maximum for run).")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Steps whose gradients make one update.",
                                             json_schema_extra=_FILE_ONLY)
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.", json_schema_extra=_FILE_ONLY)
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.", json_schema_extra=_FILE_ONLY)
    eval_fraction: float = Field(0.02, ge=0, lt=1, description="Share of documents held out for the evaluation "
                                 "loss when the data has no validation split.", json_schema_extra=_FILE_ONLY)
    max_eval_examples: int | None = Field(1000, ge=1, description="Most held-out examples per source.",
                                          json_schema_extra=_FILE_ONLY)
    eval_steps: int | None = Field(None, ge=1, description="Evaluate every N steps (always at the end).",
                                   json_schema_extra=_FILE_ONLY)
    save_steps: int = Field(500, ge=1, description="Save a checkpoint every N steps.", json_schema_extra=_FILE_ONLY)
    save_total_limit: int | None = Field(2, ge=1, description="Checkpoints kept (null: all).",
                                         json_schema_extra=_FILE_ONLY)
    logging_steps: int = Field(50, ge=1, description="Log the loss every N steps.", json_schema_extra=_FILE_ONLY)
    attn_implementation: str = Field("sdpa", description="transformers attention: sdpa, eager, "
                                     "flash_attention_2, flex_attention...", json_schema_extra=_FILE_ONLY)
    bf16: bool = Field(False, description="bfloat16 mixed precision.", json_schema_extra=_FILE_ONLY)
    dataloader_num_workers: int = Field(0, ge=0, description="Data loader worker processes.",
                                        json_schema_extra=_FILE_ONLY)
    memory_check: bool = Field(True, description="Refuse a run whose training step would not fit in the free "
                               "memory (an estimate; --no-memory-check: try anyway).")

    @field_validator("curriculum")
    @classmethod
    def _known_curriculum(cls, value: str) -> str:
        if value not in D.CURRICULA:
            raise ValueError(f"unknown curriculum {value!r} (known: {', '.join(D.CURRICULA)})")
        return value

    @field_validator("lr_scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        from transformers import SchedulerType

        known = [s.value for s in SchedulerType]
        usable = [s for s in known if s not in _UNUSABLE_SCHEDULERS]
        if value not in known:
            raise ValueError(f"unknown scheduler {value!r} (known: {', '.join(usable)})")
        if value in _UNUSABLE_SCHEDULERS:
            raise ValueError(f"scheduler {value!r} {_UNUSABLE_SCHEDULERS[value]} (usable: {', '.join(usable)})")
        return value

    @field_validator("attn_implementation")
    @classmethod
    def _known_attention(cls, value: str) -> str:
        known = attention_implementations()
        if value not in known:
            raise ValueError(f"unknown attention implementation {value!r} (known: {', '.join(known)})")
        return value


#: transformers schedulers a run cannot drive: they need ``lr_scheduler_kwargs`` (not a setting here) or step on
#: an evaluation metric instead of the plan's steps
_UNUSABLE_SCHEDULERS = {
    "cosine_with_min_lr": "needs lr_scheduler_kwargs (min_lr), which classit-train does not set",
    "cosine_warmup_with_min_lr": "needs lr_scheduler_kwargs (min_lr), which classit-train does not set",
    "warmup_stable_decay": "needs lr_scheduler_kwargs (num_decay_steps), which classit-train does not set",
    "reduce_lr_on_plateau": "steps on an evaluation metric, not on the plan's steps",
    "greedy": "steps on an evaluation metric, not on the plan's steps",
}


def attention_implementations() -> list[str]:
    """The ``attn_implementation`` names this transformers accepts (``eager`` plus its registered ones)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return ["eager", *ALL_ATTENTION_FUNCTIONS.valid_keys()]


def _check_attention(cfg: TrainConfig) -> None:
    """Fail early when the attention implementation cannot run here (flash_attention_2 without its package):
    transformers checks it when a model is built, so build a tiny LLaMA on the meta device (no memory)."""
    import torch
    from transformers import LlamaForCausalLM

    try:
        with torch.device("meta"):
            LlamaForCausalLM(llama_config("tiny", attn_implementation=cfg.attn_implementation))
    except (ImportError, ValueError) as exc:
        raise InputError(f"cannot be used here: {first_line(exc)}", "attn_implementation",
                         cfg.attn_implementation) from exc


def resolve_config(stage: str, config_file: str | Path | dict | None = None, **overrides: Any) -> TrainConfig:
    """Table 2's preset for ``stage``, then the YAML file, then the non-None ``overrides``."""
    values: dict[str, Any] = {"stage": stage, **training_preset(stage)}
    source = "configuration"
    if isinstance(config_file, dict):
        values.update(config_file)
    elif config_file is not None:
        source = str(config_file)
        values.update(read_yaml_mapping(config_file, "the configuration", "configuration keys"))
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["stage"] = stage
    given = {k for k, v in overrides.items() if v is not None}
    return checked_settings(TrainConfig, values, file=source, from_file=set(values) - given)


# --- the shared training loop ---------------------------------------------------------------------


def _prepare_out(out: Path, cfg: TrainConfig, resume: bool) -> str | None:
    """Check the run folder; the checkpoint to resume from (None: a fresh start)."""
    from transformers.trainer_utils import get_last_checkpoint

    ckpt_dir = out / CHECKPOINTS
    last = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    saved = out / CONFIG_FILE
    if last and not resume:
        raise InputError("has checkpoints of an earlier run: pass --resume to continue it, or choose another --out",
                         out)
    if resume and last and saved.exists():
        before = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
        now = cfg.model_dump()
        changed = [k for k in PLAN_KEYS if before.get(k) != now.get(k)]
        if changed:
            raise InputError(f"cannot resume with a different {', '.join(changed)} (see {CONFIG_FILE})", out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(saved, yaml.safe_dump(cfg.model_dump(), sort_keys=False, allow_unicode=True))
    return last if resume else None


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


def fit(model, tokenizer, train_set: D.PlanDataset, eval_sets: dict[str, D.PlanDataset], cfg: TrainConfig,
        out: Path, *, last: str | None = None, callbacks: list | None = None) -> dict:
    """Train ``model`` on the plan (from checkpoint ``last`` when given) and save it in ``out``."""
    from transformers import Trainer

    args = _training_args(cfg, out)
    collator = D.Collator(pad_id=tokenizer.pad_token_id, packing=cfg.packing)
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_sets or None,
                      data_collator=collator, processing_class=tokenizer, callbacks=callbacks)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    metrics = dict(result.metrics)
    if eval_sets:
        metrics.update(trainer.evaluate())
    trainer.save_model(str(out))
    groups_per_step = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
    steps = trainer.state.global_step
    summary = {
        "stage": cfg.stage,
        "steps": steps,
        "planned_steps": -(-len(train_set) // groups_per_step),
        "resumed_from": Path(last).name if last else None,
        "train_loss": metrics.get("train_loss"),
        "eval_loss": {k[len("eval_"):-len("_loss")]: v for k, v in metrics.items()
                      if k.startswith("eval_") and k.endswith("_loss")},
        "seconds": round(seconds, 2),
        **_seen(train_set, steps, groups_per_step),
        "phases": D.phase_steps(train_set.groups, groups_per_step),
        "log_history": trainer.state.log_history,
    }
    summary["tokens_per_second"] = round(summary["tokens_seen"] / seconds, 1) if seconds else None
    return summary


def _seen(train_set: D.PlanDataset, steps: int, groups_per_step: int) -> dict:
    """Tokens (no padding) and words of the groups the first ``steps`` steps trained on.

    A pass over the plan takes ``ceil(groups / groups_per_step)`` steps, its last batch maybe short; the
    Trainer starts the plan again when told to take more steps than it has.
    """
    n = len(train_set)
    per_pass = -(-n // groups_per_step) if n else 1
    passes, rest = divmod(steps, per_pass)
    part = slice(0, min(rest * groups_per_step, n))
    return {"tokens_seen": passes * train_set.tokens() + train_set.tokens(part),
            "words_seen": passes * train_set.words() + train_set.words(part)}


def _write_outputs(out: Path, cfg: TrainConfig, summary: dict, tokenizer, extra: dict) -> dict:
    from classit_train.card import render_model_card

    summary = {**summary, **extra}
    if not world_is_main():  # torchrun: the Trainer saved the model from rank 0; the rest is rank 0's too
        return summary
    tokenizer.save_pretrained(str(out))
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "README.md", render_model_card(cfg.model_dump(), summary))
    return summary


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


def pretrain(corpus: list[str | Path], out: str | Path, *, model: str | None = None, tokenizer: str | Path | None = None,
             config: str | Path | dict | None = None, resume: bool = False, callbacks: list | None = None,
             **overrides: Any) -> dict:
    """Pretrain a preset LLaMA from scratch on text files (every token carries loss).

    settings -> tokenizer (given, or trained on the corpus) -> documents, some held out -> examples -> plan ->
    a freshly initialised model -> fit -> the run folder.
    """
    import torch
    from transformers import LlamaForCausalLM

    out = Path(out)
    cfg = resolve_config("pretrain", config, model=model, tokenizer=str(tokenizer) if tokenizer else None,
                         corpus=[str(c) for c in corpus] or None, **overrides)
    preset = _pretrain_preset(cfg)
    _check_attention(cfg)
    max_length = cfg.max_length or preset["max_length"]
    check_memory(llama_config(cfg.model, attn_implementation=cfg.attn_implementation), cfg, max_length)
    last = _prepare_out(out, cfg, resume)
    tok = _pretrain_tokenizer(cfg, preset, out / "tokenizer", resume)
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
    net = LlamaForCausalLM(llama_config(cfg.model, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                        pad_token_id=tok.pad_token_id, attn_implementation=cfg.attn_implementation))
    summary = fit(net, tok, D.PlanDataset(examples, groups), eval_sets, cfg, out, last=last, callbacks=callbacks)
    words = _unique_words(examples)  # held-out documents are never trained on
    return _write_outputs(out, cfg, summary, tok, {
        "model_preset": cfg.model,
        "parameters": sum(p.numel() for p in net.parameters()),
        "documents": {"train": len(train_docs), "eval": len(eval_docs)},
        "examples": len(examples), "rows": len(groups), "truncated": stats.truncated, "dropped": stats.dropped,
        "babylm_words": {"pretraining": words, "total_unique": words},
    })


def _pretrain_preset(cfg: TrainConfig) -> dict:
    """The model preset, once the preset and the corpus files are known to be there."""
    if not cfg.model:
        raise InputError("no model preset given", "--model")
    preset = model_preset(cfg.model)
    if not cfg.corpus:
        raise InputError("no corpus files given", "--corpus")
    for f in map(Path, cfg.corpus):
        if not f.is_file():
            raise InputError("no such file" if not f.exists() else "not a file", f)
        if f.suffix in ROW_SUFFIXES:
            row_texts(f)  # a row file's `text` column must hold strings: say so before anything is written
    return preset


def _pretrain_tokenizer(cfg: TrainConfig, preset: dict, tok_dir: Path, resume: bool):
    """The given tokenizer, the one trained when a resumed run started, or a new one trained on the corpus."""
    from classit_train.tokenizer import load_tokenizer, train_tokenizer

    if cfg.tokenizer:
        tok = load_tokenizer(cfg.tokenizer)
    elif resume and tok_dir.is_dir():
        tok = load_tokenizer(tok_dir)
    else:
        tok = train_tokenizer(cfg.corpus, preset["vocab_size"], tok_dir)
    if len(tok) > preset["vocab_size"]:
        raise InputError(f"the tokenizer has {len(tok):,} tokens, more than {cfg.model}'s {preset['vocab_size']:,}",
                         cfg.tokenizer or tok_dir)
    return tok


def _split_documents(cfg: TrainConfig) -> tuple[list[str], list[str]]:
    """The corpus's documents: (trained on, held out for the evaluation loss), chosen by a stable hash."""
    docs = list(D.corpus_documents(cfg.corpus))
    held = [bool(cfg.eval_fraction) and D.in_heldout(f"doc{i}", cfg.eval_fraction) for i in range(len(docs))]
    return [d for d, h in zip(docs, held) if not h], [d for d, h in zip(docs, held) if h]


def _eval_set(examples: list[D.Example], cfg: TrainConfig, max_length: int) -> D.PlanDataset:
    """Held-out examples in one pass, packed as training packs them."""
    return D.PlanDataset(examples, D.make_plan(examples, "corpus", 1, cfg.seed, packing=cfg.packing,
                                               max_length=max_length))


# --- instruction tuning ---------------------------------------------------------------------------


def instruction_tune(dataset: str | None, base: str | Path | None, out: str | Path, *, curriculum: str | None = None,
                     config: str | Path | dict | None = None, resume: bool = False, callbacks: list | None = None,
                     **overrides: Any) -> dict:
    """Instruction-tune the model folder ``base`` on a CLASS-IT dataset with a curriculum (``classit-train run``).

    Loss on reply tokens only; the examples are rendered with the same template as the dataset's ``text``.
    settings -> template, tokenizer -> the dataset's sources (train and held-out rows) -> examples -> the
    curriculum's plan -> fit -> the run folder.
    """
    from classit_data.core.template import TextTemplate
    from classit_train.tokenizer import load_tokenizer

    out = Path(out)
    cfg = resolve_config("instruction", config, dataset=str(dataset) if dataset else None,
                         base=str(base) if base else None, curriculum=curriculum, **overrides)
    base_dir = _instruction_base(cfg)
    _check_attention(cfg)
    template = TextTemplate.load(cfg.template)
    tok = load_tokenizer(base_dir)
    model_config = _model_config(base_dir)
    sources = D.load_instruction_sources(cfg.dataset, eval_fraction=cfg.eval_fraction,
                                         max_eval_examples=cfg.max_eval_examples)
    max_length = cfg.max_length or model_config.max_position_embeddings
    stats = D.EncodeStats()
    examples: list[D.Example] = []
    eval_sets: dict[str, D.PlanDataset] = {}
    for source, parts in sources.items():
        examples += D.encode_instructions(parts["train"], source, tok, template, max_length, stats)
        ev = D.encode_instructions(parts["eval"], source, tok, template, max_length)
        if ev:
            eval_sets[source] = _eval_set(ev, cfg, max_length)
    groups = D.make_plan(examples, cfg.curriculum, cfg.epochs, cfg.seed, packing=cfg.packing, max_length=max_length)
    plan = D.PlanDataset(examples, groups)
    check_memory(model_config, cfg, D.Collator(pad_id=0).row_width(plan.longest_row()))
    last = _prepare_out(out, cfg, resume)
    net = _load_model(base_dir, cfg)
    summary = fit(net, tok, plan, eval_sets, cfg, out, last=last, callbacks=callbacks)
    words = _unique_words(examples)
    base_words = _base_words(base_dir)
    phase_sources = D.CURRICULUM_PHASES[cfg.curriculum]
    for span in summary["phases"]:
        span["sources"] = list(phase_sources[span["phase"]])
    return _write_outputs(out, cfg, summary, tok, {
        "curriculum": cfg.curriculum,
        "parameters": sum(p.numel() for p in net.parameters()),
        "examples": {s: sum(e.source == s for e in examples) for s in sources},
        "eval_examples": {s: len(v.examples) for s, v in eval_sets.items()},
        "rows": len(groups), "truncated": stats.truncated, "dropped": stats.dropped,
        "babylm_words": {"pretraining": base_words, "instruction": words, "total_unique": base_words + words},
    })


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

    check_step_fits(model_config, count_parameters(model_config), cfg.batch_size, length,
                    attn_implementation=cfg.attn_implementation, bf16=cfg.bf16)


def _load_model(base: Path, cfg: TrainConfig):
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(base), attn_implementation=cfg.attn_implementation,
                                                    dtype="float32")
    except (OSError, ValueError, ImportError) as exc:  # ImportError: an attention implementation's package
        raise InputError(f"cannot load the model: {first_line(exc)}", base) from exc


def world_is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def summary_rows(summary: dict) -> dict[str, object]:
    """The closing table of ``classit-train pretrain`` and ``run``."""
    rows = {"steps": summary["steps"], "tokens seen": summary["tokens_seen"], "words seen": summary["words_seen"],
            "train loss": f"{summary['train_loss']:.4f}" if summary.get("train_loss") is not None else "n/a"}
    rows.update({f"held-out loss, {k}": f"{v:.4f}" for k, v in summary["eval_loss"].items()})
    rows.update({f"BabyLM words, {k}": v for k, v in summary["babylm_words"].items()})
    rows["tokens/s"] = summary["tokens_per_second"]
    return rows
