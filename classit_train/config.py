"""Settings of classit-train's commands: the one place their defaults and help live (the CLI is made from them).

Kept apart from the work modules, and importing neither polars, NumPy nor torch, so that the command line
starts quickly: ``classit_train.cli`` imports only this module until a command runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from classit_data.core.settings import FILE_ONLY, Flag, Settings
from classit_train.presets import model_presets, training_preset

#: the orders a run can train the dataset's sources in
CURRICULA = ("merged", "switch_wiki", "wiki_switch")
#: which sources each curriculum trains on, phase after phase (merged: one phase with both, shuffled together)
CURRICULUM_PHASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "merged": (("switchboard", "simple_wiki"),),
    "switch_wiki": (("switchboard",), ("simple_wiki",)),
    "wiki_switch": (("simple_wiki",), ("switchboard",)),
}

#: ends the help of a setting its command needs, from the flag or from the ``--config`` file: no default, yet
#: not required by the model (``pretrain`` needs model and corpus, ``run`` base and dataset), nor by typer
#: (which would refuse a value from the file); the stage checks it
_REQUIRED = " [required]"

#: transformers schedulers a run cannot drive: they need ``lr_scheduler_kwargs`` (not a setting here) or step on
#: an evaluation metric instead of the plan's steps
_UNUSABLE_SCHEDULERS = {
    "cosine_with_min_lr": "needs lr_scheduler_kwargs (min_lr), which classit-train does not set",
    "cosine_warmup_with_min_lr": "needs lr_scheduler_kwargs (min_lr), which classit-train does not set",
    "warmup_stable_decay": "needs lr_scheduler_kwargs (num_decay_steps), which classit-train does not set",
    "reduce_lr_on_plateau": "steps on an evaluation metric, not on the plan's steps",
    "greedy": "steps on an evaluation metric, not on the plan's steps",
}


class TrainConfig(Settings):
    """Everything a run depends on; saved in full as ``run_config.yaml``.

    The options of ``classit-train pretrain`` and ``run`` are made from these fields (their descriptions are
    the help); every field, flag or not, can be set in the ``--config`` file. The fields Table 2 sets
    (``presets/training.yaml``) default to the ``stage``'s values there:
    ``TrainConfig.load(file, stage="pretrain", **given)``.
    """

    stage: Annotated[Literal["pretrain", "instruction"], FILE_ONLY] = Field(
        description="Set by the command: pretrain, or instruction (run)."
    )
    # what to train
    model: str | None = Field(
        None, description=f"Model preset: {', '.join(model_presets())} (given here or in --config).{_REQUIRED}"
    )
    tokenizer: str | None = Field(
        None, description="Tokenizer folder (default: train one of the preset's vocabulary size on the corpus)."
    )
    corpus: Annotated[list[str], Flag("--corpus")] = Field(
        default_factory=list,
        description=f"Text files to pretrain on (repeatable; given here or in --config).{_REQUIRED}",
    )
    base: str | None = Field(
        None, description=f"Model folder to instruction-tune (given here or in --config).{_REQUIRED}"
    )
    dataset: str | None = Field(
        None, description=f"Folder made by `classit-data build`, or a Hub id (given here or in --config).{_REQUIRED}"
    )
    curriculum: str = Field(
        "merged", description=f"{' | '.join(CURRICULA)}: both sources shuffled together, or one source after the other."
    )
    template: Annotated[str | None, FILE_ONLY] = Field(
        None, description="Text template file; the dataset's by default."
    )
    # CLASS-IT Table 2 (presets/training.yaml): None here, the stage's value there
    learning_rate: Annotated[float | None, FILE_ONLY] = Field(None, gt=0, description="Peak learning rate (Table 2).")
    batch_size: int | None = Field(None, ge=1, description="Rows per device and step (Table 2: 8).")
    epochs: int | None = Field(
        None, ge=1, description="Epochs (Table 2: 8 for pretrain; 10 for run, per phase of the curriculum)."
    )
    lr_scheduler: Annotated[str | None, FILE_ONLY] = Field(
        None, description="transformers scheduler (Table 2: linear for pretrain, cosine_with_restarts for run)."
    )
    warmup_steps: Annotated[int | None, FILE_ONLY] = Field(None, ge=0, description="Warm-up steps (Table 2).")
    num_cycles: Annotated[int | None, Flag("--cycles")] = Field(
        None, ge=1, description="Cosine-with-restarts cycles (default 1)."
    )
    # the run
    max_steps: int | None = Field(None, ge=1, description="Stop after N optimizer steps.")
    seed: int = Field(
        0,
        ge=0,
        le=2**32 - 1,  # numpy's seeds (transformers' set_seed) stop at 2**32 - 1
        description="Seed of the shuffles (and of pretrain's initialisation).",
    )
    packing: bool = Field(True, description="Pack examples into rows without cross-attention (--no-packing: pad them).")
    max_length: int | None = Field(
        None, ge=8, description="Row length (default: the preset's for pretrain, the model's maximum for run)."
    )
    gradient_accumulation_steps: Annotated[int, FILE_ONLY] = Field(
        1, ge=1, description="Steps whose gradients make one update."
    )
    weight_decay: Annotated[float, FILE_ONLY] = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: Annotated[float, FILE_ONLY] = Field(1.0, gt=0, description="Gradient clipping norm.")
    eval_fraction: Annotated[float, FILE_ONLY] = Field(
        0.02,
        ge=0,
        lt=1,
        description="Share of documents held out for the evaluation loss when the data has no validation split.",
    )
    max_eval_examples: Annotated[int | None, FILE_ONLY] = Field(
        1000, ge=1, description="Most held-out examples per source."
    )
    eval_steps: Annotated[int | None, FILE_ONLY] = Field(
        None, ge=1, description="Evaluate every N steps (always at the end)."
    )
    save_steps: Annotated[int, FILE_ONLY] = Field(500, ge=1, description="Save a checkpoint every N steps.")
    checkpoint_words: Annotated[list[str], Flag("--checkpoint-words")] = Field(
        default_factory=list,
        description="Save RUN/revisions/chck_<N> when the words seen (BabyLM's count) reach N: 500K, 10M, 2000 "
        "(repeatable; default: the BabyLM 2025 schedule chck_1M..chck_9M, chck_10M..chck_100M, ..chck_1000M).",
    )
    checkpoint_word_scale: float = Field(
        1.0, gt=0, description="Multiply the checkpoint word counts by this, keeping their names (small test runs)."
    )
    save_total_limit: Annotated[int | None, FILE_ONLY] = Field(2, ge=1, description="Checkpoints kept (null: all).")
    logging_steps: Annotated[int, FILE_ONLY] = Field(50, ge=1, description="Log the loss every N steps.")
    attn_implementation: Annotated[str, FILE_ONLY] = Field(
        "sdpa", description="transformers attention: sdpa, eager, flash_attention_2, flex_attention..."
    )
    bf16: Annotated[bool, FILE_ONLY] = Field(False, description="bfloat16 mixed precision.")
    dataloader_num_workers: Annotated[int, FILE_ONLY] = Field(0, ge=0, description="Data loader worker processes.")
    memory_check: bool = Field(
        True,
        description="Refuse a run whose training step would not fit in the free "
        "memory (an estimate; --no-memory-check: try anyway).",
    )

    @model_validator(mode="before")
    @classmethod
    def _table_2(cls, values: Any) -> Any:
        """Table 2's values of the stage (``presets/training.yaml``) for the settings not given."""
        if not isinstance(values, dict) or values.get("stage") not in ("pretrain", "instruction"):
            return values
        preset = training_preset(values["stage"])
        return {**values, **{k: v for k, v in preset.items() if values.get(k) is None}}

    @field_validator("checkpoint_words")
    @classmethod
    def _word_counts(cls, value: list[str]) -> list[str]:
        from classit_train.revisions import parse_words

        for text in value:
            parse_words(text)
        return value

    @field_validator("curriculum")
    @classmethod
    def _known_curriculum(cls, value: str) -> str:
        if value not in CURRICULA:
            raise ValueError(f"unknown curriculum {value!r} (known: {', '.join(CURRICULA)})")
        return value

    @field_validator("lr_scheduler")
    @classmethod
    def _known_scheduler(cls, value: str | None) -> str | None:
        if value is None or value in table_2_schedulers():  # known without importing torch: a refusal stays quick
            return value
        known = scheduler_names()
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


def table_2_schedulers() -> set[str]:
    """The schedulers of Table 2 (``presets/training.yaml``): transformers knows them (a test checks)."""
    return {training_preset(stage)["lr_scheduler"] for stage in ("pretrain", "instruction")}


def scheduler_names() -> list[str]:
    """The ``lr_scheduler_type`` names this transformers knows (its ``SchedulerType``; importing it imports torch)."""
    from transformers import SchedulerType

    return [s.value for s in SchedulerType]


def attention_implementations() -> list[str]:
    """The ``attn_implementation`` names this transformers accepts (``eager`` plus its registered ones)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return ["eager", *ALL_ATTENTION_FUNCTIONS.valid_keys()]


class EvalConfig(Settings):
    """How a task is scored (``classit-train eval``)."""

    batch_size: int = Field(32, ge=1, description="Candidates per forward pass.")
    device: str | None = Field("auto", description="auto | cpu | cuda | cuda:N (auto: a GPU when there is one).")
    dtype: str = Field("float32", description="float32 | bfloat16 | float16")
    limit: int | None = Field(None, description="At most N items per UID (phenomenon).")
    protocol: Literal["standard", "official"] = Field(
        "standard",
        description="standard: ours (reading: ' word' in context); official: the BabyLM 2025 pipeline's "
        "computation exactly (reading: its get_p2 tokenization; zero-shot: its settings, no other choice).",
    )
    first_token: str = Field(
        "official",
        description="official: tokenize as the BabyLM pipeline (first token "
        "scored only if the tokenizer adds BOS); bos: always prepend BOS so it is scored.",
    )
    ewok_contexts: str = Field("first", description="first: Context1 only (official); both: also Context2 -> Target2.")
    revision: str | None = Field(
        None, description="A word-count checkpoint of a run folder (chck_10M: RUN/revisions/chck_10M) or Hub branch."
    )
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


class FinetuneConfig(Settings):
    """Fine-tuning settings (``classit-train finetune``); the defaults are the official pipeline's."""

    train_size: int | None = Field(
        10000,
        ge=1,
        description="Train on a seeded random sample of this many "
        "training examples when the file has more (the pipeline's 10k).",
    )
    seed: int = Field(42, description="Seed of the sample, the head's initialisation and the shuffles.")
    learning_rate: float = Field(3e-5, gt=0, description="Peak learning rate (AdamW).")
    batch_size: int | None = Field(
        None,
        ge=1,
        description="Training batch size (default: the pipeline's, 16 for boolq and multirc, 32 for the others).",
    )
    valid_batch_size: int = Field(64, ge=1, description="Batch size when scoring the validation set.")
    epochs: int | None = Field(None, ge=1, description="Epochs (default: 30 for wsc, 10 for the others).")
    sequence_length: int = Field(
        512, ge=2, description="Longest input in tokens (at most the model's positions); longer pairs are truncated."
    )
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    warmup_proportion: float = Field(0.06, ge=0, le=1, description="Share of the steps spent warming up.")
    min_factor: float = Field(0.1, ge=0, le=1, description="Final learning rate as a share of the peak.")
    classifier_dropout: float = Field(0.1, ge=0, lt=1, description="Dropout before the head's last layer.")
    pooling: Literal["last", "first"] = Field(
        "last",
        description="Token whose hidden state the head reads: last (the last real token; ours) or first (the "
        "official pipeline's default, encoding[:, 0]).",
    )
    metric_for_valid: str | None = Field(
        None,
        description="accuracy | f1 | mcc: the metric choosing the best epoch (default: f1 for mrpc and qqp, "
        "else accuracy).",
    )
    device: str | None = Field("auto", description="auto | cpu | cuda | cuda:N (auto: a GPU when there is one).")
    name: str | None = Field(None, description="Model name shown in reports (default: folder name).")

    @field_validator("metric_for_valid")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value not in (None, "accuracy", "f1", "mcc"):
            raise ValueError("must be accuracy, f1 or mcc")
        return value


class ExportConfig(Settings):
    """How results are laid out for the BabyLM pipeline (``classit-train export``)."""

    model_name: str | None = Field(
        None, description="The MODEL folder name (default: the evaluated model folder's name, as the pipeline's stem)."
    )
    revision: str | None = Field(
        None, description="The REVISION folder: main, chck_10M... (default: the one evaluated, else main)."
    )
    fast: bool | None = Field(
        None,
        description="Name the data folders as the fast evaluation (blimp_fast...) rather than the full one "
        "(blimp_filtered...); default: fast for every revision but main.",
    )


class ReportConfig(Settings):
    """How results are read (``classit-train report``)."""

    finetune_metric: Literal["accuracy", "f1", "mcc"] = Field(
        "accuracy", description="Metric read from the official fine-tuning results.txt (accuracy|f1|mcc)."
    )
