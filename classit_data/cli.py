"""``classit-data``: a thin typer layer over the Python API; every command's work lives in its stage package.

User mistakes raise ``InputError`` and come out as one line on stderr with exit code 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from classit_data.core.commands import command, new_app, run_app
from classit_data.core.console import Summary

#: the options several commands share
ItemRows = Annotated[list[str], typer.Argument(help="Item rows (.parquet or .jsonl).")]
PassageFile = Annotated[str | None, typer.Option(help="Passage file of the QA rows, for the grounding checks "
                                                 "(skipped without it).")]

app = new_app("classit-data", "Make, check and publish the CLASS-IT instruction dataset.")


@command(app, "convert-switchboard", "classit_data.switchboard.config:ConvertConfig", progress=True)
def convert_switchboard_cmd(
    inputs: Annotated[list[str], typer.Argument(help="BabyLM switchboard.train, SWDA pipe files or folders, NLTK's "
                                                "switchboard.zip or its folder, SWDA *.utt.csv, ConvoKit "
                                                "utterances.jsonl, ISIP ms98 *-trans.text side files.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Item file to write (.parquet, or .jsonl).")],
    rejects: Annotated[str | None, typer.Option(help="Also write the dropped pairs, with their reason, "
                                                "to this file.")] = None,
    **options,
) -> Summary:
    """Turn Switchboard transcripts into prompt/reply items (a turn and the next speaker's turn)."""
    from classit_data.switchboard.convert import convert_switchboard, summary_rows

    summary = convert_switchboard(inputs, out, rejects=rejects, **options)
    return Summary(summary, f"convert-switchboard -> {summary['out']}", summary_rows(summary),
                   [f"left out: {note}" for note in summary["skipped_files"]])


@command(app, "prepare-wiki", "classit_data.wiki.config:PrepareConfig", progress=True)
def prepare_wiki_cmd(
    inputs: Annotated[list[str], typer.Argument(help="Dumps (.xml, .xml.bz2, multistream), BabyLM simple_wiki "
                                                "files, wikimedia/wikipedia Parquet/JSON lines, or wikiextractor "
                                                "output.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Passage file to write (.parquet or .jsonl).")],
    **options,
) -> Summary:
    """Turn Simple English Wikipedia into clean passages for QA generation."""
    from classit_data.wiki.prepare import parse_failure_notes, prepare_wiki, summary_rows

    summary = prepare_wiki(inputs, out, **options)
    return Summary(summary, f"prepare-wiki -> {summary['out']}", summary_rows(summary),
                   parse_failure_notes(summary))


@command(app, "generate-wiki", "classit_data.generate.config:GenerationConfig", progress=True)
def generate_wiki_cmd(
    passages: Annotated[str, typer.Option("--passages", help="Passage file from `prepare-wiki` "
                                          "(.parquet/.jsonl).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder; rerunning the same command resumes it.")],
    config: Annotated[str | None, typer.Option("--config", help="YAML file with any of these settings (and "
                                               "engine, batch_size, concurrency, ...); options given here "
                                               "win.")] = None,
    **options,
) -> Summary:
    """Generate question/answer pairs from Wikipedia passages with vLLM, transformers or a server."""
    from classit_data.generate.runner import generate_wiki, summary_rows

    summary = generate_wiki(passages, out, config=config, **options)
    return Summary(summary, f"generate-wiki -> {summary['qa']}", summary_rows(summary))


@command(app, "judge", "classit_data.generate.config:JudgeConfig", progress=True)
def judge_cmd(
    rows: Annotated[str, typer.Option("--rows", help="QA rows from `generate-wiki` (.parquet/.jsonl).")],
    passages: Annotated[str, typer.Option("--passages", help="The passage file the rows were generated from.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder; rerunning the same command resumes it.")],
    config: Annotated[str | None, typer.Option("--config", help="YAML file with any of these settings; options "
                                               "given here win.")] = None,
    **options,
) -> Summary:
    """Score generated QA pairs against their passages with a judge model (rubric: prompts/judge.yaml)."""
    from classit_data.generate.judge import judge, judge_summary_rows

    summary = judge(rows, passages, out, config=config, **options)
    return Summary(summary, f"judge -> {summary['judged']}", judge_summary_rows(summary))


@command(app, "validate", "classit_data.validate.config:ValidationConfig")
def validate_cmd(
    inputs: ItemRows,
    out: Annotated[str, typer.Option("--out", "-o", help="Rows that pass (.parquet or .jsonl).")],
    quarantine: Annotated[str, typer.Option(help="Rows that fail, with reject_reason(s), reject_detail and "
                                            "duplicate_of.")],
    report: Annotated[str, typer.Option(help="Report JSON; a Markdown copy is written beside it (.md).")],
    passages: PassageFile = None,
    config: Annotated[str | None, typer.Option(help="Thresholds file (YAML or JSON); flags override it.")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="Local tokenizer folder, or `embedded`, for the token "
                                                  "bounds.")] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", help="Any threshold, KEY=VALUE (repeatable; "
                                                       "the value is read as YAML, so lists such as "
                                                       "question_words work too); see the README for the "
                                                       "names.")] = None,
    **options,
) -> Summary:
    """Check item rows, drop duplicates, and keep every rejected row aside with its reason."""
    from classit_data.validate import report as validation_report, validate_rows
    from classit_data.validate.config import parse_settings

    rep = validate_rows(inputs, out, quarantine, report, config=config, passages=passages, tokenizer=tokenizer,
                        **{**options, **parse_settings(settings or ())})
    return Summary(rep, f"validate -> {out}", validation_report.summary_rows(rep),
                   validation_report.summary_notes(rep))


@command(app, "contamination", "classit_data.validate.config:ContaminationConfig")
def contamination_cmd(
    inputs: ItemRows,
    eval_paths: Annotated[list[str], typer.Option("--eval", help="BabyLM eval files or folders (BLiMP, BLiMP "
                                                  "supplement, EWoK, entity tracking, WUG .jsonl); repeatable.")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="Also write the report here (JSON).")] = None,
    **options,
) -> Summary:
    """Which BabyLM eval items appear in the rows' text (same sentence, or a shared word 13-gram)."""
    from classit_data.validate import contamination

    rep = contamination.contamination(inputs, eval_paths, out, **options)
    return Summary(rep, "contamination", contamination.summary_rows(rep))


@command(app, "stats", "classit_data.build.config:StatsConfig")
def stats_cmd(
    inputs: ItemRows,
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for stats.json, stats.md, figure1.png, "
                                     "figure1.svg.")],
    **options,
) -> Summary:
    """Length statistics per source and in total, and Figure 1 (prompt vs reply length)."""
    from classit_data.build import stats

    summary = stats.compute_stats(inputs, out, **options)
    return Summary(summary, f"stats -> {out}", stats.summary_rows(summary))


@command(app, "build", "classit_data.build.config:BuildConfig", progress=True)
def build_cmd(
    *,
    switchboard: Annotated[list[str] | None, typer.Option(help="Switchboard item rows (.parquet/.jsonl), normally "
                                                          "the kept rows of `validate`; repeatable.")] = None,
    wiki: Annotated[list[str] | None, typer.Option(help="Simple Wikipedia QA item rows; repeatable. The same file "
                                                   "may be given to --switchboard and --wiki when it holds "
                                                   "both.")] = None,
    out: Annotated[str, typer.Option("--out", "-o", help="Dataset folder to write (replaced as a whole).")],
    stats_dir: Annotated[str | None, typer.Option(help="Output of `classit-data stats` for the card (default: "
                                                  "computed from the built rows).")] = None,
    passages: PassageFile = None,
    validate_config: Annotated[str | None, typer.Option(help="Validator thresholds file.")] = None,
    generation_run: Annotated[list[str] | None, typer.Option(help="Output folder (or run.json) of "
                                                             "`generate-wiki`, recorded in the card; "
                                                             "repeatable.")] = None,
    **options,
) -> Summary:
    """Validate rows and write the Hub-layout dataset folder with its card."""
    import shlex

    from classit_data.build import build

    # what the user typed, for the card; None when called with arguments that are not the process's own
    typed = "classit-data " + shlex.join(sys.argv[1:]) if "build" in sys.argv[1:2] else None
    record = build.build_dataset(switchboard or None, wiki or None, out, stats_dir=stats_dir, passages=passages,
                                 validate_config=validate_config, generation_runs=generation_run or (),
                                 command=typed, **options)
    return Summary(record, f"build -> {record['out']}", build.summary_rows(record))


@command(app, "report", "classit_data.build.config:ReportConfig")
def report_cmd(
    dataset_dir: Annotated[str, typer.Argument(help="A folder made by `classit-data build`.")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="HTML file to write (default: report.html in the "
                                            "build folder).")] = None,
    previous: Annotated[str | None, typer.Option(help="An earlier build folder to compare with.")] = None,
    eval_paths: Annotated[list[str] | None, typer.Option("--eval", help="BabyLM eval files or folders: add the "
                                                         "contamination check; repeatable.")] = None,
    **options,
) -> Summary:
    """One self-contained HTML page about a build: funnel, lengths, samples, provenance, diff."""
    from classit_data.build import report

    result = report.write_report(dataset_dir, out, previous=previous, eval_paths=eval_paths or (), **options)
    return Summary(result, f"report -> {result['out']}", report.summary_rows(result))


@command(app, "push", "classit_data.publish.config:PushConfig", progress=True)
def push_cmd(
    dataset_dir: Annotated[str, typer.Argument(help="A folder made by `classit-data build`.")],
    repo_id: Annotated[str, typer.Option(help="Dataset repo, ORG/NAME (created if missing).")],
    **options,
) -> Summary:
    """Publish a built dataset folder to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    from classit_data.publish import push

    result = push.push_dataset(dataset_dir, repo_id, **options)
    return Summary(result, f"push -> {result['repo_id']}", push.summary_rows(result))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the app and turns user errors into one line and exit code 2."""
    return run_app(app, "classit-data", argv)


if __name__ == "__main__":
    sys.exit(main())
