"""``classit-train``: a thin typer layer over the training and evaluation API.

The options of ``pretrain`` and ``run`` are made from ``TrainConfig``, those of ``eval`` from ``EvalConfig``,
those of ``finetune`` from ``FinetuneConfig`` and those of ``report`` from ``ReportConfig`` (``core.commands``):
their defaults and help are written once, in the settings.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from classit_data.core.commands import command, new_app, run_app
from classit_data.core.console import Summary, console
from classit_train import finetune, report, train
from classit_train.evaluate import results as eval_results
from classit_train.evaluate.results import EvalConfig, evaluate_model
from classit_train.finetune import FinetuneConfig
from classit_train.train import TrainConfig, instruction_tune, pretrain

app = new_app("classit-train", "Pretrain, instruction-tune and evaluate BabyLM-sized models on CLASS-IT.")

RunFolder = Annotated[str, typer.Option("--out", help="Run folder: final model, checkpoints, configuration, card.")]
ConfigFile = Annotated[str | None, typer.Option("--config", help="YAML file of TrainConfig keys (flags win).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue from the run folder's last checkpoint.")]


@command(app, "tokenizer", json_flag=False)
def tokenizer_cmd(
    corpus: Annotated[list[str], typer.Option("--corpus", help="Text files (or Parquet/JSON-lines rows with "
                                              "`text`); repeat the option for several.")],
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Vocabulary size, special tokens included "
                                            "(16384 for llama100M, 32000 for llama140M).")],
    out: Annotated[str, typer.Option("--out", help="Folder to save the tokenizer to (AutoTokenizer loads it).")],
) -> None:
    """Train a byte-level BPE tokenizer with <s>, </s> and <pad>."""
    from classit_train.tokenizer import train_tokenizer

    tok = train_tokenizer(corpus, vocab_size, out)
    console.print(f"tokenizer with {len(tok):,} tokens -> {out}")


@command(app, "pretrain", TrainConfig, exclude=("base", "dataset", "curriculum", "num_cycles"),
         json_flag=False)
def pretrain_cmd(
    out: RunFolder,
    corpus: Annotated[list[str] | None, typer.Option(  # required, but may come from --config: help says so only
        "--corpus", help=f"{TrainConfig.model_fields['corpus'].description} {escape('[required]')}")] = None,
    config: ConfigFile = None,
    resume: Resume = False,
    **options,
) -> Summary:
    """Pretrain a preset LLaMA from scratch on text files."""
    summary = pretrain(corpus or [], out, config=config, resume=resume, **options)
    return Summary(summary, f"pretrain {summary['model_preset']} -> {out}", train.summary_rows(summary))


@command(app, "run", TrainConfig, exclude=("model", "tokenizer"), json_flag=False)
def run_cmd(out: RunFolder, config: ConfigFile = None, resume: Resume = False, **options) -> Summary:
    """Instruction-tune a model on CLASS-IT with a curriculum (loss on replies only)."""
    summary = instruction_tune(options.pop("dataset", None), options.pop("base", None), out, config=config,
                               resume=resume, **options)
    return Summary(summary, f"run ({summary['curriculum']}) -> {out}", train.summary_rows(summary))


@command(app, "eval", EvalConfig, progress=True)
def eval_cmd(
    model: Annotated[str, typer.Option("--model", help="AutoModelForCausalLM folder (or 'smollm2' for the "
                                       "embedded model).")],
    task: Annotated[str, typer.Option("--task", help="blimp | blimp_supplement | ewok | entity_tracking | wug | "
                                      "reading")],
    data: Annotated[list[str], typer.Option("--data", help="A .jsonl task file or a folder of them, or the "
                                            "reading CSV (repeatable).")],
    out: Annotated[str, typer.Option("--out", help="results.json to write (other tasks already in it are "
                                     "kept).")],
    **options,
) -> Summary:
    """Score a causal LM on a BabyLM 2025 zero-shot task; write results.json and every item's prediction."""
    entry = evaluate_model(model, task, data, out, **options)
    return Summary(entry, f"{task} -> {out}", eval_results.summary_rows(entry))


@command(app, "finetune", FinetuneConfig, progress=True)
def finetune_cmd(
    model: Annotated[str, typer.Option("--model", help="Model folder (its body gets a classification head).")],
    task: Annotated[str, typer.Option("--task", help="boolq | mnli | mrpc | multirc | qqp | rte | wsc")],
    train: Annotated[str, typer.Option("--train", help="Training .jsonl file (the pipeline's format).")],
    valid: Annotated[str, typer.Option("--valid", help="Validation .jsonl file (best epoch and metrics).")],
    out: Annotated[str, typer.Option("--out", help="results.json to write (other tasks already in it are "
                                     "kept).")],
    **options,
) -> Summary:
    """Fine-tune on a (Super)GLUE task as the BabyLM 2025 pipeline does; file the best epoch's metrics."""
    entry = finetune.finetune(model, task, train, valid, out, **options)
    return Summary(entry, f"{task} -> {out}", finetune.summary_rows(entry))


@command(app, "report", report.ReportConfig)
def report_cmd(
    results: Annotated[list[str], typer.Argument(help="results.json files, official pipeline result "
                                                 "folders/files; NAME=PATH names the model.")],
    out: Annotated[str, typer.Option("--out", help="Folder for report.md, report.json and the figures.")],
    **options,
) -> Summary:
    """Compare models: z-scores per task, Markdown tables, box plots (fine-tuning, zero-shot, all tasks)."""
    summary = report.make_report(results, out, **options)
    return Summary(summary, f"report -> {out}", report.summary_rows(summary))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (see ``classit_data.core.commands.run_app``)."""
    return run_app(app, "classit-train", argv)


if __name__ == "__main__":
    sys.exit(main())
