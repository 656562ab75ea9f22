"""``classit-train``: a thin typer layer over the training and evaluation API."""

from __future__ import annotations

import sys

import typer

from classit_data.console import console
from classit_data.errors import InputError

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
    from classit_train.evaluate import evaluate_model

    entry = evaluate_model(model, task, data, out, batch_size=batch_size, device=device, dtype=dtype, limit=limit,
                           first_token=first_token, ewok_contexts=ewok_contexts, name=name)
    from classit_data.console import summary_table

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
    from classit_data.console import summary_table

    rows = {"models": len(summary["models"]), "tasks": len(summary["tasks"])}
    for g, info in summary["groups"].items():
        rows[f"{g} tasks"] = ", ".join(info["tasks"]) or "–"
    rows["figures"] = ", ".join(f for f in summary["figures"] if f.endswith(".png")) or "none (need 2+ models)"
    console.print(summary_table(f"report -> {out}", rows))


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, prog_name="classit-train", standalone_mode=True)
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
