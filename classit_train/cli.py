"""``classit-train``: a thin typer layer over the training and evaluation API.

Each setting of a command is an option made from its settings model (``classit_train.config``: ``TrainConfig``,
``EvalConfig``, ``FinetuneConfig``, ``ReportConfig``), where its default and help are written once. At start-up
this module imports only those models: a command imports its stage (torch, transformers, polars) when it runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from classit_data.core.commands import JsonFlag, given, new_app, run_app, setting
from classit_train.config import EvalConfig, ExportConfig, FinetuneConfig, ReportConfig, TrainConfig

app = new_app("classit-train", "Pretrain, instruction-tune and evaluate BabyLM-sized models on CLASS-IT.")

RunFolder = Annotated[str, typer.Option("--out", help="Run folder: final model, checkpoints, configuration, card.")]
ConfigFile = Annotated[str | None, typer.Option("--config", help="YAML file of TrainConfig keys (flags win).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue from the run folder's last checkpoint.")]
ResultsFile = Annotated[str, typer.Option("--out", help="results.json to write (other tasks already in it are kept).")]


@app.command("tokenizer")
def tokenizer_cmd(
    corpus: Annotated[
        list[str],
        typer.Option(
            "--corpus", help="Text files (or Parquet/JSON-lines rows with `text`); repeat the option for several."
        ),
    ],
    vocab_size: Annotated[
        int,
        typer.Option(
            "--vocab-size", help="Vocabulary size, special tokens included (16384 for llama100M, 32000 for llama140M)."
        ),
    ],
    out: Annotated[str, typer.Option("--out", help="Folder to save the tokenizer to (AutoTokenizer loads it).")],
) -> None:
    """Train a byte-level BPE tokenizer with <s>, </s> and <pad>."""
    from classit_data.core.console import console
    from classit_train.tokenizer import train_tokenizer

    tok = train_tokenizer(corpus, vocab_size, out)
    console.print(f"tokenizer with {len(tok):,} tokens -> {out}")


@app.command("pretrain")
def pretrain_cmd(
    out: RunFolder,
    corpus: Annotated[list[str] | None, setting(TrainConfig, "corpus")] = None,
    config: ConfigFile = None,
    resume: Resume = False,
    model: Annotated[str | None, setting(TrainConfig, "model")] = None,
    tokenizer: Annotated[str | None, setting(TrainConfig, "tokenizer")] = None,
    batch_size: Annotated[int | None, setting(TrainConfig, "batch_size")] = None,
    epochs: Annotated[int | None, setting(TrainConfig, "epochs")] = None,
    max_steps: Annotated[int | None, setting(TrainConfig, "max_steps")] = None,
    seed: Annotated[int | None, setting(TrainConfig, "seed")] = None,
    packing: Annotated[bool | None, setting(TrainConfig, "packing")] = None,
    max_length: Annotated[int | None, setting(TrainConfig, "max_length")] = None,
    memory_check: Annotated[bool | None, setting(TrainConfig, "memory_check")] = None,
    checkpoint_words: Annotated[list[str] | None, setting(TrainConfig, "checkpoint_words")] = None,
    checkpoint_word_scale: Annotated[float | None, setting(TrainConfig, "checkpoint_word_scale")] = None,
) -> None:
    """Pretrain a preset LLaMA from scratch on text files."""
    from classit_train.train import pretrain

    settings = TrainConfig.load(config, stage="pretrain", **given(TrainConfig, locals()))
    pretrain(settings.corpus, out, settings, resume=resume).show()


@app.command("run")
def run_cmd(
    out: RunFolder,
    config: ConfigFile = None,
    resume: Resume = False,
    base: Annotated[str | None, setting(TrainConfig, "base")] = None,
    dataset: Annotated[str | None, setting(TrainConfig, "dataset")] = None,
    curriculum: Annotated[str | None, setting(TrainConfig, "curriculum")] = None,
    batch_size: Annotated[int | None, setting(TrainConfig, "batch_size")] = None,
    epochs: Annotated[int | None, setting(TrainConfig, "epochs")] = None,
    num_cycles: Annotated[int | None, setting(TrainConfig, "num_cycles")] = None,
    max_steps: Annotated[int | None, setting(TrainConfig, "max_steps")] = None,
    seed: Annotated[int | None, setting(TrainConfig, "seed")] = None,
    packing: Annotated[bool | None, setting(TrainConfig, "packing")] = None,
    max_length: Annotated[int | None, setting(TrainConfig, "max_length")] = None,
    memory_check: Annotated[bool | None, setting(TrainConfig, "memory_check")] = None,
    checkpoint_words: Annotated[list[str] | None, setting(TrainConfig, "checkpoint_words")] = None,
    checkpoint_word_scale: Annotated[float | None, setting(TrainConfig, "checkpoint_word_scale")] = None,
) -> None:
    """Instruction-tune a model on CLASS-IT with a curriculum (loss on replies only)."""
    from classit_train.train import run

    settings = TrainConfig.load(config, stage="instruction", **given(TrainConfig, locals()))
    run(settings.dataset, settings.base, out, settings, resume=resume).show()


@app.command("eval")
def eval_cmd(
    model: Annotated[
        str, typer.Option("--model", help="AutoModelForCausalLM folder (or 'smollm2' for the embedded model).")
    ],
    task: Annotated[
        str, typer.Option("--task", help="blimp | blimp_supplement | ewok | entity_tracking | wug | reading")
    ],
    data: Annotated[
        list[str],
        typer.Option("--data", help="A .jsonl task file or a folder of them, or the reading CSV (repeatable)."),
    ],
    out: ResultsFile,
    batch_size: Annotated[int | None, setting(EvalConfig, "batch_size")] = None,
    device: Annotated[str | None, setting(EvalConfig, "device")] = None,
    dtype: Annotated[str | None, setting(EvalConfig, "dtype")] = None,
    limit: Annotated[int | None, setting(EvalConfig, "limit")] = None,
    protocol: Annotated[str | None, setting(EvalConfig, "protocol")] = None,
    first_token: Annotated[str | None, setting(EvalConfig, "first_token")] = None,
    ewok_contexts: Annotated[str | None, setting(EvalConfig, "ewok_contexts")] = None,
    revision: Annotated[str | None, setting(EvalConfig, "revision")] = None,
    name: Annotated[str | None, setting(EvalConfig, "name")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Score a causal LM on a BabyLM 2025 zero-shot task; write results.json and every item's prediction."""
    from classit_train.evaluate.results import evaluate

    settings = EvalConfig.load(None, **given(EvalConfig, locals()))
    evaluate(model, task, data, out, settings, progress=not json_summary).show(json_summary)


@app.command("finetune")
def finetune_cmd(
    model: Annotated[str, typer.Option("--model", help="Model folder (its body gets a classification head).")],
    task: Annotated[str, typer.Option("--task", help="boolq | mnli | mrpc | multirc | qqp | rte | wsc")],
    train: Annotated[str, typer.Option("--train", help="Training .jsonl file (the pipeline's format).")],
    valid: Annotated[str, typer.Option("--valid", help="Validation .jsonl file (best epoch and metrics).")],
    out: ResultsFile,
    train_size: Annotated[int | None, setting(FinetuneConfig, "train_size")] = None,
    seed: Annotated[int | None, setting(FinetuneConfig, "seed")] = None,
    learning_rate: Annotated[float | None, setting(FinetuneConfig, "learning_rate")] = None,
    batch_size: Annotated[int | None, setting(FinetuneConfig, "batch_size")] = None,
    valid_batch_size: Annotated[int | None, setting(FinetuneConfig, "valid_batch_size")] = None,
    epochs: Annotated[int | None, setting(FinetuneConfig, "epochs")] = None,
    sequence_length: Annotated[int | None, setting(FinetuneConfig, "sequence_length")] = None,
    weight_decay: Annotated[float | None, setting(FinetuneConfig, "weight_decay")] = None,
    warmup_proportion: Annotated[float | None, setting(FinetuneConfig, "warmup_proportion")] = None,
    min_factor: Annotated[float | None, setting(FinetuneConfig, "min_factor")] = None,
    classifier_dropout: Annotated[float | None, setting(FinetuneConfig, "classifier_dropout")] = None,
    pooling: Annotated[str | None, setting(FinetuneConfig, "pooling")] = None,
    metric_for_valid: Annotated[str | None, setting(FinetuneConfig, "metric_for_valid")] = None,
    device: Annotated[str | None, setting(FinetuneConfig, "device")] = None,
    name: Annotated[str | None, setting(FinetuneConfig, "name")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Fine-tune on a (Super)GLUE task as the BabyLM 2025 pipeline does; file the best epoch's metrics."""
    from classit_train.finetune import finetune

    settings = FinetuneConfig.load(None, **given(FinetuneConfig, locals()))
    finetune(model, task, train, valid, out, settings, progress=not json_summary).show(json_summary)


@app.command("export")
def export_cmd(
    results: Annotated[list[str], typer.Argument(help="results.json files of one model and revision.")],
    out: Annotated[str, typer.Option("--out", help="The pipeline's results folder (OUT/MODEL/REVISION is replaced).")],
    model_name: Annotated[str | None, setting(ExportConfig, "model_name")] = None,
    revision: Annotated[str | None, setting(ExportConfig, "revision")] = None,
    fast: Annotated[bool | None, setting(ExportConfig, "fast")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Write predictions in the BabyLM 2025 pipeline's layout (collate_preds.py reads them)."""
    from classit_train.export import export

    settings = ExportConfig.load(None, **given(ExportConfig, locals()))
    export(results, out, settings).show(json_summary)


@app.command("report")
def report_cmd(
    results: Annotated[
        list[str],
        typer.Argument(help="results.json files, official pipeline result folders/files; NAME=PATH names the model."),
    ],
    out: Annotated[str, typer.Option("--out", help="Folder for report.md, report.json and the figures.")],
    finetune_metric: Annotated[str | None, setting(ReportConfig, "finetune_metric")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Compare models: z-scores per task, Markdown tables, box plots (fine-tuning, zero-shot, all tasks)."""
    from classit_train.report import report

    settings = ReportConfig.load(None, **given(ReportConfig, locals()))
    report(results, out, settings).show(json_summary)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (see ``classit_data.core.commands.run_app``)."""
    return run_app(app, "classit-train", argv)


if __name__ == "__main__":
    sys.exit(main())
