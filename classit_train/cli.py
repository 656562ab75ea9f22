"""``classit-train``: a thin typer layer over the training and evaluation API."""

from __future__ import annotations

import sys

import typer

from classit_data.core.console import console, run_app

app = typer.Typer(
    name="classit-train",
    help="Pretrain, instruction-tune and evaluate BabyLM-sized models on CLASS-IT.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Pretrain, instruction-tune and evaluate BabyLM-sized models on CLASS-IT."""


# --- tokenizer, pretrain, run (issue 7) ------------------------------------------------------------


def _print_run_summary(title: str, summary: dict) -> None:
    from classit_data.core.console import summary_table

    rows = {"steps": summary["steps"], "tokens seen": summary["tokens_seen"], "words seen": summary["words_seen"],
            "train loss": f"{summary['train_loss']:.4f}" if summary.get("train_loss") is not None else "n/a"}
    rows.update({f"held-out loss, {k}": f"{v:.4f}" for k, v in summary["eval_loss"].items()})
    rows.update({f"BabyLM words, {k}": v for k, v in summary["babylm_words"].items()})
    rows["tokens/s"] = summary["tokens_per_second"]
    console.print(summary_table(title, rows))


@app.command("tokenizer")
def tokenizer_cmd(
    corpus: list[str] = typer.Option(..., "--corpus", help="Text files (or Parquet/JSON-lines rows with `text`); "
                                     "repeat the option for several."),
    vocab_size: int = typer.Option(..., "--vocab-size", help="Vocabulary size, special tokens included "
                                   "(16384 for llama100M, 32000 for llama140M)."),
    out: str = typer.Option(..., "--out", help="Folder to save the tokenizer to (AutoTokenizer loads it)."),
) -> None:
    """Train a byte-level BPE tokenizer with <s>, </s> and <pad>."""
    from classit_train.tokenizer import train_tokenizer

    tok = train_tokenizer(corpus, vocab_size, out)
    console.print(f"tokenizer with {len(tok):,} tokens -> {out}")


@app.command("pretrain")
def pretrain_cmd(
    corpus: list[str] = typer.Option(None, "--corpus", help="Text files to pretrain on (repeatable)."),
    model: str | None = typer.Option(None, "--model", help="Model preset: llama100M, llama140M, tiny, tiny-wide."),
    out: str = typer.Option(..., "--out", help="Run folder: final model, checkpoints, configuration, card."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Tokenizer folder (default: train one of the "
                                         "preset's vocabulary size on the corpus)."),
    config: str | None = typer.Option(None, "--config", help="YAML file of TrainConfig keys (flags win)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after N optimizer steps."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epochs (Table 2: 8)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the shuffles and the initialisation (0)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Rows per device and step (Table 2: 8)."),
    max_length: int | None = typer.Option(None, "--max-length", help="Row length (default: the preset's)."),
    packing: bool | None = typer.Option(None, "--packing/--no-packing", help="Pack documents into rows (default)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run folder's last checkpoint."),
) -> None:
    """Pretrain a preset LLaMA from scratch on text files."""
    from classit_train.train import pretrain

    summary = pretrain(corpus or [], out, model=model, tokenizer=tokenizer, config=config, resume=resume,
                       max_steps=max_steps, epochs=epochs, seed=seed, batch_size=batch_size,
                       max_length=max_length, packing=packing)
    _print_run_summary(f"pretrain {summary['model_preset']} -> {out}", summary)


@app.command("run")
def run_cmd(
    dataset: str | None = typer.Option(None, "--dataset", help="Folder made by `classit-data build`, or a Hub id."),
    base: str | None = typer.Option(None, "--base", help="Model folder to instruction-tune."),
    curriculum: str | None = typer.Option(None, "--curriculum", help="merged | switch_wiki | wiki_switch."),
    out: str = typer.Option(..., "--out", help="Run folder: final model, checkpoints, configuration, card."),
    config: str | None = typer.Option(None, "--config", help="YAML file of TrainConfig keys (flags win)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after N optimizer steps."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epochs per phase (Table 2: 10)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the shuffles (0)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Rows per device and step (Table 2: 8)."),
    max_length: int | None = typer.Option(None, "--max-length", help="Row length (default: the model's maximum)."),
    packing: bool | None = typer.Option(None, "--packing/--no-packing",
                                        help="Pack examples into rows without cross-attention (default) or pad."),
    cycles: int | None = typer.Option(None, "--cycles", help="Cosine-with-restarts cycles (default 1)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run folder's last checkpoint."),
) -> None:
    """Instruction-tune a model on CLASS-IT with a curriculum (loss on replies only)."""
    from classit_train.train import run

    summary = run(dataset, base, out, curriculum=curriculum, config=config, resume=resume, max_steps=max_steps,
                  epochs=epochs, seed=seed, batch_size=batch_size, max_length=max_length, packing=packing,
                  num_cycles=cycles)
    _print_run_summary(f"run ({summary['curriculum']}) -> {out}", summary)

# --- eval, report (issue 8) ------------------------------------------------------------------------


@app.command("eval")
def eval_cmd(
    model: str = typer.Option(..., "--model", help="AutoModelForCausalLM folder (or 'smollm2' for the embedded model)."),
    task: str = typer.Option(..., "--task", help="blimp | blimp_supplement | ewok | entity_tracking | wug"),
    data: list[str] = typer.Option(..., "--data", help="A .jsonl task file or a folder of them (repeatable)."),
    out: str = typer.Option(..., "--out", help="results.json to write (other tasks already in it are kept)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Candidates per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | cuda:N"),
    dtype: str = typer.Option("float32", "--dtype", help="float32 | bfloat16 | float16"),
    limit: int | None = typer.Option(None, "--limit", help="At most N items per UID (phenomenon)."),
    first_token: str = typer.Option("official", "--first-token",
                                    help="official: tokenize as the BabyLM pipeline (first token scored only if "
                                         "the tokenizer adds BOS); bos: always prepend BOS so it is scored."),
    ewok_contexts: str = typer.Option("first", "--ewok-contexts",
                                      help="first: Context1 only (official); both: also Context2 -> Target2."),
    name: str | None = typer.Option(None, "--name", help="Model name shown in reports (default: folder name)."),
) -> None:
    """Score a causal LM on a BabyLM 2025 zero-shot task; write results.json and every item's prediction."""
    from classit_train.evaluate.scoring import evaluate_model

    entry = evaluate_model(model, task, data, out, batch_size=batch_size, device=device, dtype=dtype, limit=limit,
                           first_token=first_token, ewok_contexts=ewok_contexts, name=name)
    from classit_data.core.console import summary_table

    rows = {"items": entry["n_items"], "UIDs": entry["n_uids"]}
    if entry["metric"] == "spearman":
        rows["Spearman rho"] = f"{entry['spearman']:.4f}"
    else:
        rows["accuracy (macro over UIDs, %)"] = f"{entry['accuracy']:.2f}"
        for fld, acc in entry.get("by_field", {}).items():
            rows[f"  {fld}"] = f"{acc:.2f}"
    rows["first token scored"] = str(entry["scoring"]["first_token_scored"])
    rows["candidates/s"] = str(entry["timing"]["sequences_per_s"])
    rows["predictions"] = entry["predictions"]
    console.print(summary_table(f"{task} -> {out}", rows))


@app.command("report")
def report_cmd(
    results: list[str] = typer.Argument(..., help="results.json files, official pipeline result folders/files; "
                                                  "NAME=PATH names the model."),
    out: str = typer.Option(..., "--out", help="Folder for report.md, report.json and the figures."),
    finetune_metric: str = typer.Option("accuracy", "--finetune-metric",
                                        help="Metric read from official fine-tuning results.txt (accuracy|f1|mcc)."),
) -> None:
    """Compare models: z-scores per task, Markdown tables, box plots (fine-tuning, zero-shot, all tasks)."""
    from classit_train.report import make_report

    summary = make_report(results, out, finetune_metric=finetune_metric)
    from classit_data.core.console import summary_table

    rows = {"models": len(summary["models"]), "tasks": len(summary["tasks"])}
    for g, info in summary["groups"].items():
        rows[f"{g} tasks"] = ", ".join(info["tasks"]) or "–"
    rows["figures"] = ", ".join(f for f in summary["figures"] if f.endswith(".png")) or "none (need 2+ models)"
    console.print(summary_table(f"report -> {out}", rows))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (see ``classit_data.core.console.run_app``)."""
    return run_app(app, "classit-train", argv)


if __name__ == "__main__":
    sys.exit(main())
