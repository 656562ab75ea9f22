"""``classit-data``: a thin typer layer over the Python API; every command's work lives in its stage.

Each command's signature lists all its options: its own inputs and outputs, and one option per setting of its
stage's settings model, whose flags, default and help are written once, in the model (``setting(...)``). It
loads the settings with ``XConfig.load(--config file, **given(XConfig, locals()))``, calls the stage function,
which a notebook calls the same way, and shows the summary it returns. User mistakes raise ``InputError`` and come out
as one line on stderr with exit code 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from classit_data.core.commands import JsonFlag, command_line, given, new_app, run_app, setting
from classit_data.dataset.config import BuildConfig, ReportConfig, StatsConfig
from classit_data.generate.config import GenerationConfig, JudgeConfig
from classit_data.publish.config import PushConfig
from classit_data.switchboard.config import ConvertConfig
from classit_data.validate.config import ContaminationConfig, ValidationConfig
from classit_data.wiki.config import PrepareConfig

#: the options several commands share
ItemRows = Annotated[list[str], typer.Argument(help="Item rows (.parquet or .jsonl).")]
PassageFile = Annotated[
    str | None, typer.Option(help="Passage file of the QA rows, for the grounding checks (skipped without it).")
]

app = new_app("classit-data", "Make, check and publish the CLASS-IT instruction dataset.")


@app.command("convert-switchboard")
def convert_switchboard_cmd(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="BabyLM switchboard.train, SWDA pipe files or folders, NLTK's "
            "switchboard.zip or its folder, SWDA *.utt.csv, ConvoKit "
            "utterances.jsonl, ISIP ms98 *-trans.text side files."
        ),
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="Item file to write (.parquet, or .jsonl).")],
    rejects: Annotated[
        str | None, typer.Option(help="Also write the dropped pairs, with their reason, to this file.")
    ] = None,
    fmt: Annotated[str | None, setting(ConvertConfig, "fmt")] = None,
    context_turns: Annotated[int | None, setting(ConvertConfig, "context_turns")] = None,
    drop_fillers: Annotated[bool | None, setting(ConvertConfig, "drop_fillers")] = None,
    min_words: Annotated[int | None, setting(ConvertConfig, "min_words")] = None,
    max_words: Annotated[int | None, setting(ConvertConfig, "max_words")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Turn Switchboard transcripts into prompt/reply items (a turn and the next speaker's turn)."""
    from classit_data.switchboard.convert import convert_switchboard

    settings = ConvertConfig.load(None, **given(ConvertConfig, locals()))
    convert_switchboard(inputs, out, settings, rejects=rejects, progress=not json_summary).show(json_summary)


@app.command("prepare-wiki")
def prepare_wiki_cmd(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Dumps (.xml, .xml.bz2, multistream), BabyLM simple_wiki "
            "files, wikimedia/wikipedia Parquet/JSON lines, or wikiextractor "
            "output."
        ),
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="Passage file to write (.parquet or .jsonl).")],
    max_words: Annotated[int | None, setting(PrepareConfig, "max_words")] = None,
    min_words: Annotated[int | None, setting(PrepareConfig, "min_words")] = None,
    min_article_words: Annotated[int | None, setting(PrepareConfig, "min_article_words")] = None,
    limit_articles: Annotated[int | None, setting(PrepareConfig, "limit_articles")] = None,
    workers: Annotated[int | None, setting(PrepareConfig, "workers")] = None,
    index: Annotated[str | None, setting(PrepareConfig, "index")] = None,
    fmt: Annotated[str | None, setting(PrepareConfig, "fmt")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Turn Simple English Wikipedia into clean passages for QA generation."""
    from classit_data.wiki.prepare import prepare_wiki

    settings = PrepareConfig.load(None, **given(PrepareConfig, locals()))
    prepare_wiki(inputs, out, settings, progress=not json_summary).show(json_summary)


@app.command("generate-wiki")
def generate_wiki_cmd(
    passages: Annotated[str, typer.Option("--passages", help="Passage file from `prepare-wiki` (.parquet/.jsonl).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder; rerunning the same command resumes it.")],
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="YAML file with any of these settings (and "
            "engine, batch_size, concurrency, ...); options given here "
            "win.",
        ),
    ] = None,
    model: Annotated[str | None, setting(GenerationConfig, "model")] = None,
    backend: Annotated[str | None, setting(GenerationConfig, "backend")] = None,
    base_url: Annotated[str | None, setting(GenerationConfig, "base_url")] = None,
    prompts: Annotated[str | None, setting(GenerationConfig, "prompts")] = None,
    num_pairs: Annotated[int | None, setting(GenerationConfig, "num_pairs")] = None,
    chunk_size: Annotated[int | None, setting(GenerationConfig, "chunk_size")] = None,
    num_shards: Annotated[int | None, setting(GenerationConfig, "num_shards")] = None,
    shard_index: Annotated[int | None, setting(GenerationConfig, "shard_index")] = None,
    seed: Annotated[int | None, setting(GenerationConfig, "seed")] = None,
    max_passages: Annotated[int | None, setting(GenerationConfig, "max_passages")] = None,
    deterministic: Annotated[bool | None, setting(GenerationConfig, "deterministic")] = None,
    verify: Annotated[int | None, setting(GenerationConfig, "verify")] = None,
    price_per_mtok: Annotated[str | None, setting(GenerationConfig, "price_per_mtok")] = None,
    executor: Annotated[str | None, setting(GenerationConfig, "executor")] = None,
    ray_address: Annotated[str | None, setting(GenerationConfig, "ray_address")] = None,
    ray_max_replicas: Annotated[int | None, setting(GenerationConfig, "ray_max_replicas")] = None,
    temperature: Annotated[float | None, setting(GenerationConfig, "temperature")] = None,
    top_p: Annotated[float | None, setting(GenerationConfig, "top_p")] = None,
    max_tokens: Annotated[int | None, setting(GenerationConfig, "max_tokens")] = None,
    repetition_penalty: Annotated[float | None, setting(GenerationConfig, "repetition_penalty")] = None,
    tensor_parallel_size: Annotated[int | None, setting(GenerationConfig, "tensor_parallel_size")] = None,
    data_parallel_size: Annotated[int | None, setting(GenerationConfig, "data_parallel_size")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Generate question/answer pairs from Wikipedia passages with vLLM, transformers or a server."""
    from classit_data.generate.generate import generate_wiki

    settings = GenerationConfig.load(config, **given(GenerationConfig, locals()))
    generate_wiki(passages, out, settings, progress=not json_summary).show(json_summary)


@app.command("judge")
def judge_cmd(
    rows: Annotated[str, typer.Option("--rows", help="QA rows from `generate-wiki` (.parquet/.jsonl).")],
    passages: Annotated[str, typer.Option("--passages", help="The passage file the rows were generated from.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder; rerunning the same command resumes it.")],
    config: Annotated[
        str | None, typer.Option("--config", help="YAML file with any of these settings; options given here win.")
    ] = None,
    model: Annotated[str | None, setting(JudgeConfig, "model")] = None,
    backend: Annotated[str | None, setting(JudgeConfig, "backend")] = None,
    base_url: Annotated[str | None, setting(JudgeConfig, "base_url")] = None,
    prompts: Annotated[str | None, setting(JudgeConfig, "prompts")] = None,
    num_pairs: Annotated[int | None, setting(JudgeConfig, "num_pairs")] = None,
    chunk_size: Annotated[int | None, setting(JudgeConfig, "chunk_size")] = None,
    num_shards: Annotated[int | None, setting(JudgeConfig, "num_shards")] = None,
    shard_index: Annotated[int | None, setting(JudgeConfig, "shard_index")] = None,
    seed: Annotated[int | None, setting(JudgeConfig, "seed")] = None,
    max_passages: Annotated[int | None, setting(JudgeConfig, "max_passages")] = None,
    deterministic: Annotated[bool | None, setting(JudgeConfig, "deterministic")] = None,
    verify: Annotated[int | None, setting(JudgeConfig, "verify")] = None,
    price_per_mtok: Annotated[str | None, setting(JudgeConfig, "price_per_mtok")] = None,
    executor: Annotated[str | None, setting(JudgeConfig, "executor")] = None,
    ray_address: Annotated[str | None, setting(JudgeConfig, "ray_address")] = None,
    ray_max_replicas: Annotated[int | None, setting(JudgeConfig, "ray_max_replicas")] = None,
    temperature: Annotated[float | None, setting(JudgeConfig, "temperature")] = None,
    top_p: Annotated[float | None, setting(JudgeConfig, "top_p")] = None,
    max_tokens: Annotated[int | None, setting(JudgeConfig, "max_tokens")] = None,
    repetition_penalty: Annotated[float | None, setting(JudgeConfig, "repetition_penalty")] = None,
    tensor_parallel_size: Annotated[int | None, setting(JudgeConfig, "tensor_parallel_size")] = None,
    data_parallel_size: Annotated[int | None, setting(JudgeConfig, "data_parallel_size")] = None,
    roundtrip: Annotated[bool | None, setting(JudgeConfig, "roundtrip")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Score generated QA pairs against their passages with a judge model (rubric: prompts/judge.yaml)."""
    from classit_data.generate.judge import judge

    settings = JudgeConfig.load(config, **given(JudgeConfig, locals()))
    judge(rows, passages, out, settings, progress=not json_summary).show(json_summary)


@app.command("validate")
def validate_cmd(
    inputs: ItemRows,
    out: Annotated[str, typer.Option("--out", "-o", help="Rows that pass (.parquet or .jsonl).")],
    quarantine: Annotated[
        str, typer.Option(help="Rows that fail, with reject_reason(s), reject_detail and duplicate_of.")
    ],
    report: Annotated[str, typer.Option(help="Report JSON; a Markdown copy is written beside it (.md).")],
    passages: PassageFile = None,
    config: Annotated[str | None, typer.Option(help="Thresholds file (YAML or JSON); flags override it.")] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help="Local tokenizer folder, or `embedded`, for the token bounds.")
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any threshold, KEY=VALUE (repeatable; "
            "the value is read as YAML, so lists such as "
            "question_words work too); see the README for the "
            "names.",
        ),
    ] = None,
    min_prompt_words: Annotated[int | None, setting(ValidationConfig, "min_prompt_words")] = None,
    max_prompt_words: Annotated[int | None, setting(ValidationConfig, "max_prompt_words")] = None,
    min_reply_words: Annotated[int | None, setting(ValidationConfig, "min_reply_words")] = None,
    max_reply_words: Annotated[int | None, setting(ValidationConfig, "max_reply_words")] = None,
    min_prompt_tokens: Annotated[int | None, setting(ValidationConfig, "min_prompt_tokens")] = None,
    max_prompt_tokens: Annotated[int | None, setting(ValidationConfig, "max_prompt_tokens")] = None,
    min_reply_tokens: Annotated[int | None, setting(ValidationConfig, "min_reply_tokens")] = None,
    max_reply_tokens: Annotated[int | None, setting(ValidationConfig, "max_reply_tokens")] = None,
    ngram_size: Annotated[int | None, setting(ValidationConfig, "ngram_size")] = None,
    max_repeated_ngram_ratio: Annotated[float | None, setting(ValidationConfig, "max_repeated_ngram_ratio")] = None,
    repetition_min_words: Annotated[int | None, setting(ValidationConfig, "repetition_min_words")] = None,
    max_token_run: Annotated[int | None, setting(ValidationConfig, "max_token_run")] = None,
    max_prompt_reply_overlap: Annotated[float | None, setting(ValidationConfig, "max_prompt_reply_overlap")] = None,
    min_question_words: Annotated[int | None, setting(ValidationConfig, "min_question_words")] = None,
    min_grounding: Annotated[float | None, setting(ValidationConfig, "min_grounding")] = None,
    max_answer_passage_share: Annotated[float | None, setting(ValidationConfig, "max_answer_passage_share")] = None,
    min_judge_grounded: Annotated[int | None, setting(ValidationConfig, "min_judge_grounded")] = None,
    min_judge_correct: Annotated[int | None, setting(ValidationConfig, "min_judge_correct")] = None,
    min_judge_self_contained: Annotated[int | None, setting(ValidationConfig, "min_judge_self_contained")] = None,
    min_judge_quality: Annotated[int | None, setting(ValidationConfig, "min_judge_quality")] = None,
    min_judge_roundtrip_f1: Annotated[float | None, setting(ValidationConfig, "min_judge_roundtrip_f1")] = None,
    check_text: Annotated[bool | None, setting(ValidationConfig, "check_text")] = None,
    strict_schema: Annotated[bool | None, setting(ValidationConfig, "strict_schema")] = None,
    dedup: Annotated[bool | None, setting(ValidationConfig, "dedup")] = None,
    near_dup_threshold: Annotated[float | None, setting(ValidationConfig, "near_dup_threshold")] = None,
    dedup_shingle_size: Annotated[int | None, setting(ValidationConfig, "dedup_shingle_size")] = None,
    dedup_num_perm: Annotated[int | None, setting(ValidationConfig, "dedup_num_perm")] = None,
    dedup_seed: Annotated[int | None, setting(ValidationConfig, "dedup_seed")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Check item rows, drop duplicates, and keep every rejected row aside with its reason."""
    from classit_data.validate.config import parse_settings
    from classit_data.validate.validate import validate

    values = {**given(ValidationConfig, locals()), **parse_settings(set_values or ())}  # --set wins over a flag
    settings = ValidationConfig.load(config, **values)
    validate(inputs, out, quarantine, report, settings, passages=passages, tokenizer=tokenizer).show(json_summary)


@app.command("contamination")
def contamination_cmd(
    inputs: ItemRows,
    eval_paths: Annotated[
        list[str],
        typer.Option(
            "--eval",
            help="BabyLM eval files or folders (BLiMP, BLiMP "
            "supplement, EWoK, entity tracking, WUG .jsonl); repeatable.",
        ),
    ],
    out: Annotated[str | None, typer.Option("--out", "-o", help="Also write the report here (JSON).")] = None,
    ngram: Annotated[int | None, setting(ContaminationConfig, "ngram")] = None,
    min_sentence_words: Annotated[int | None, setting(ContaminationConfig, "min_sentence_words")] = None,
    examples: Annotated[int | None, setting(ContaminationConfig, "examples")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Which BabyLM eval items appear in the rows' text (same sentence, or a shared word 13-gram)."""
    from classit_data.validate.contamination import contamination

    settings = ContaminationConfig.load(None, **given(ContaminationConfig, locals()))
    contamination(inputs, eval_paths, out, settings).show(json_summary)


@app.command("stats")
def stats_cmd(
    inputs: ItemRows,
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for stats.json, stats.md, figure1.png, figure1.svg.")],
    quantile: Annotated[float | None, setting(StatsConfig, "quantile")] = None,
    tokenizer: Annotated[str | None, setting(StatsConfig, "tokenizer")] = None,
    scale: Annotated[str | None, setting(StatsConfig, "scale")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Length statistics per source and in total, and Figure 1 (prompt vs reply length)."""
    from classit_data.dataset.stats import stats

    settings = StatsConfig.load(None, **given(StatsConfig, locals()))
    stats(inputs, out, settings).show(json_summary)


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    *,
    switchboard: Annotated[
        list[str] | None,
        typer.Option(help="Switchboard item rows (.parquet/.jsonl), normally the kept rows of `validate`; repeatable."),
    ] = None,
    wiki: Annotated[
        list[str] | None,
        typer.Option(
            help="Simple Wikipedia QA item rows; repeatable. The same file "
            "may be given to --switchboard and --wiki when it holds "
            "both."
        ),
    ] = None,
    out: Annotated[str, typer.Option("--out", "-o", help="Dataset folder to write (replaced as a whole).")],
    stats_dir: Annotated[
        str | None,
        typer.Option(help="Output of `classit-data stats` for the card (default: computed from the built rows)."),
    ] = None,
    passages: PassageFile = None,
    validate_config: Annotated[str | None, typer.Option(help="Validator thresholds file.")] = None,
    generation_run: Annotated[
        list[str] | None,
        typer.Option(help="Output folder (or run.json) of `generate-wiki`, recorded in the card; repeatable."),
    ] = None,
    val_fraction: Annotated[float | None, setting(BuildConfig, "val_fraction")] = None,
    seed: Annotated[int | None, setting(BuildConfig, "seed")] = None,
    max_shard_size: Annotated[str | None, setting(BuildConfig, "max_shard_size")] = None,
    force: Annotated[bool | None, setting(BuildConfig, "force")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Validate rows and write the Hub-layout dataset folder with its card."""
    from classit_data.dataset.build import build

    settings = BuildConfig.load(None, **given(BuildConfig, locals()))
    build(
        switchboard or None,
        wiki or None,
        out,
        settings,
        stats_dir=stats_dir,
        passages=passages,
        validate_config=validate_config,
        generation_runs=generation_run or (),
        command=command_line(ctx),
        progress=not json_summary,
    ).show(json_summary)


@app.command("report")
def report_cmd(
    dataset_dir: Annotated[str, typer.Argument(help="A folder made by `classit-data build`.")],
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="HTML file to write (default: report.html in the build folder).")
    ] = None,
    previous: Annotated[str | None, typer.Option(help="An earlier build folder to compare with.")] = None,
    eval_paths: Annotated[
        list[str] | None,
        typer.Option("--eval", help="BabyLM eval files or folders: add the contamination check; repeatable."),
    ] = None,
    samples: Annotated[int | None, setting(ReportConfig, "samples")] = None,
    seed: Annotated[int | None, setting(ReportConfig, "seed")] = None,
    tokenizer: Annotated[str | None, setting(ReportConfig, "tokenizer")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """One self-contained HTML page about a build: funnel, lengths, samples, provenance, diff."""
    from classit_data.dataset.report import report

    settings = ReportConfig.load(None, **given(ReportConfig, locals()))
    report(dataset_dir, out, settings, previous=previous, eval_paths=eval_paths or ()).show(json_summary)


@app.command("push")
def push_cmd(
    dataset_dir: Annotated[str, typer.Argument(help="A folder made by `classit-data build`.")],
    repo_id: Annotated[str, typer.Option(help="Dataset repo, ORG/NAME (created if missing).")],
    private: Annotated[bool | None, setting(PushConfig, "private")] = None,
    revision: Annotated[str | None, setting(PushConfig, "revision")] = None,
    commit_message: Annotated[str | None, setting(PushConfig, "commit_message")] = None,
    tag: Annotated[str | None, setting(PushConfig, "tag")] = None,
    retries: Annotated[int | None, setting(PushConfig, "retries")] = None,
    json_summary: JsonFlag = False,
) -> None:
    """Publish a built dataset folder to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    from classit_data.publish.push import push

    settings = PushConfig.load(None, **given(PushConfig, locals()))
    push(dataset_dir, repo_id, settings, progress=not json_summary).show(json_summary)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the app and turns user errors into one line and exit code 2."""
    return run_app(app, "classit-data", argv)


if __name__ == "__main__":
    sys.exit(main())
