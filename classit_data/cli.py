"""``classit-data``: a thin typer layer over the Python API; every command's work lives in its module.

User mistakes raise ``InputError`` and come out as one line on stderr with exit code 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from classit_data.core.console import console, run_app, show_summary
from classit_data.core.errors import InputError
from classit_data.core.options import settings_options
from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.convert import convert_switchboard, summary_rows

#: every command's --json flag
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]

app = typer.Typer(
    name="classit-data",
    help="Make, check and publish the CLASS-IT instruction dataset.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Make, check and publish the CLASS-IT instruction dataset."""


# --- convert-switchboard (issue 2) ---------------------------------------------------------------


@app.command("convert-switchboard")
@settings_options(ConvertConfig)
def convert_switchboard_cmd(
    inputs: Annotated[list[str], typer.Argument(help="BabyLM switchboard.train, SWDA pipe files or folders, NLTK's "
                                                "switchboard.zip or its folder, SWDA *.utt.csv, ConvoKit "
                                                "utterances.jsonl, ISIP ms98 *-trans.text side files.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Item file to write (.parquet, or .jsonl).")],
    rejects: Annotated[str | None, typer.Option(help="Also write the dropped pairs, with their reason, "
                                                "to this file.")] = None,
    json_summary: JsonFlag = False,
    **options,
) -> None:
    """Turn Switchboard transcripts into prompt/reply items (a turn and the next speaker's turn)."""
    summary = convert_switchboard(inputs, out, rejects=rejects, progress=not json_summary, **options)
    show_summary(summary, json_summary, f"convert-switchboard -> {summary['out']}", summary_rows(summary),
                 [f"left out: {note}" for note in summary["skipped_files"]])


# --- prepare-wiki (issue 3) ------------------------------------------------------------------------


@app.command("prepare-wiki")
def prepare_wiki_cmd(
    inputs: list[str] = typer.Argument(..., help="Dumps (.xml, .xml.bz2, multistream), BabyLM simple_wiki "
                                       "files, wikimedia/wikipedia Parquet/JSON lines, or wikiextractor output."),
    out: str = typer.Option(..., "--out", "-o", help="Passage file to write (.parquet or .jsonl)."),
    max_words: int = typer.Option(160, "--max-words", help="Most words in a passage."),
    min_words: int = typer.Option(40, "--min-words", help="Fewest words in a passage."),
    min_article_words: int = typer.Option(60, "--min-article-words",
                                          help="Articles with less prose are stubs and are left out."),
    limit_articles: int | None = typer.Option(None, "--limit-articles", help="Stop after this many articles."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes (default: every core)."),
    fmt: str | None = typer.Option(None, "--format", help="Force the input format: mediawiki, babylm, hf, "
                                   "wikiextractor (default: detected from the content)."),
    json_summary: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Turn Simple English Wikipedia into clean passages for QA generation."""
    import json

    from classit_data.core.console import summary_table
    from classit_data.wiki.passages import prepare_wiki

    summary = prepare_wiki(inputs, out, fmt=fmt, max_words=max_words, min_words=min_words,
                           min_article_words=min_article_words, limit_articles=limit_articles,
                           workers=workers, progress=not json_summary)
    if json_summary:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    rows = {"pages read": summary["pages_read"], "articles read": summary["articles_read"],
            "articles kept": summary["articles_kept"]}
    rows.update({f"skipped: {k}": v for k, v in summary["skipped_by_reason"].items()})
    rows.update({"passages": summary["passages"], "words": summary["words"],
                 "seconds": summary["seconds"], "articles/s": summary["articles_per_s"]})
    console.print(summary_table(f"prepare-wiki -> {summary['out']}", rows))
    for failure in summary["parse_failures"]:
        console.print(f"skipped (wikitext not understood): {failure['title']} [{failure['article_id']}]: "
                      f"{failure['error']}", markup=False)


# --- generate-wiki (issue 4) -----------------------------------------------------------------------


@app.command("generate-wiki")
def generate_wiki_cmd(
    passages: str = typer.Option(..., "--passages", help="Passage file from `prepare-wiki` (.parquet/.jsonl)."),
    out: str = typer.Option(..., "--out", "-o", help="Output folder; rerunning the same command resumes it."),
    model: str | None = typer.Option(None, "--model", help="Hub id, local folder, or `smollm2` (default: the "
                                     "embedded SmolLM2-135M-Instruct); with --backend openai the served name."),
    backend: str = typer.Option("auto", "--backend", help="auto | vllm | transformers | openai (auto: openai "
                                "with --base-url, else vllm when importable, else transformers)."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible server, e.g. "
                                        "http://host:8000/v1."),
    num_pairs: int | None = typer.Option(None, "--num-pairs", help="Pairs per passage (default: prompts/qa.yaml)."),
    chunk_size: int | None = typer.Option(None, "--chunk-size", help="Passages per engine call and per chunk "
                                          "file (default 256)."),
    num_shards: int | None = typer.Option(None, "--num-shards", help="Split the passages into N shards (job "
                                          "arrays)."),
    shard_index: int | None = typer.Option(None, "--shard-index", help="Which shard this run does (0-based)."),
    seed: int | None = typer.Option(None, "--seed", help="Global seed; each passage's seed derives from it "
                                    "(default 0)."),
    temperature: float | None = typer.Option(None, "--temperature", help="Default 0.7 (0 = greedy)."),
    top_p: float | None = typer.Option(None, "--top-p", help="Default 0.9."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Most generated tokens per passage "
                                          "(default 384); longer outputs are rejected as truncated."),
    repetition_penalty: float | None = typer.Option(None, "--repetition-penalty", help="Default 1.1."),
    config: str | None = typer.Option(None, "--config", help="YAML file with any of these settings (and "
                                      "engine, batch_size, concurrency, ...); options given here win."),
    tensor_parallel_size: int | None = typer.Option(None, "--tensor-parallel-size", help="GPUs per vLLM engine."),
    data_parallel_size: int | None = typer.Option(None, "--data-parallel-size", help="Engine replicas, one "
                                                  "process each on its own GPUs."),
    max_passages: int | None = typer.Option(None, "--max-passages", help="Only the first N passages of the "
                                            "shard."),
    prompts: str | None = typer.Option(None, "--prompts", help="Prompt config (default prompts/qa.yaml)."),
    json_summary: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Generate question/answer pairs from Wikipedia passages with vLLM, transformers or a server."""
    import json

    from classit_data.core.console import summary_table
    from classit_data.generate import generate_wiki

    summary = generate_wiki(passages, out, model=model, backend=backend, base_url=base_url, num_pairs=num_pairs,
                            chunk_size=chunk_size, num_shards=num_shards, shard_index=shard_index, seed=seed,
                            max_passages=max_passages, progress=True, config=config, temperature=temperature,
                            top_p=top_p, max_tokens=max_tokens, repetition_penalty=repetition_penalty,
                            tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size,
                            prompts=prompts)
    if json_summary:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    run = summary["this_run"]
    rows = {"model": f"{summary['model']} ({summary['backend']})", "passages": summary["passages_selected"],
            "generated now": summary["passages_generated"], "resumed": summary["passages_resumed"],
            "pairs": summary["pairs"], "passages with pairs": summary["passages_with_pairs"]}
    rows.update({f"rejected: {k}": v for k, v in summary["rejected_outputs_by_reason"].items()})
    rows.update({f"pairs dropped: {k}": v for k, v in summary["dropped_pairs_by_reason"].items()})
    rows.update({"prompt tokens": summary["prompt_tokens"], "output tokens": summary["output_tokens"],
                 "passages/s": run["passages_per_s"] or "-", "output tokens/s": run["output_tokens_per_s"] or "-",
                 "seconds": summary["seconds"]})
    console.print(summary_table(f"generate-wiki -> {summary['qa']}", rows))

# --- validate, stats (issue 5) ---------------------------------------------------------------------


def _parse_settings(settings: list[str]) -> dict:
    """``--set KEY=VALUE`` pairs; values read as YAML scalars/lists (``0.4``, ``true``, ``[what, how]``)."""
    import yaml

    out = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set wants KEY=VALUE, got {item!r}")
        try:
            out[key.strip().replace("-", "_")] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InputError(f"--set {key}: cannot read value {value!r}") from exc
    return out


@app.command("validate")
def validate_cmd(
    inputs: list[str] = typer.Argument(..., help="Item rows (.parquet or .jsonl): converter / generator outputs."),
    out: str = typer.Option(..., "--out", "-o", help="Rows that pass (.parquet or .jsonl)."),
    quarantine: str = typer.Option(..., "--quarantine", help="Rows that fail, with reject_reason(s), "
                                   "reject_detail and duplicate_of."),
    report: str = typer.Option(..., "--report", help="Report JSON; a Markdown copy is written beside it (.md)."),
    passages: str | None = typer.Option(None, "--passages", help="Passage file of the QA rows (grounding checks "
                                        "are skipped without it)."),
    config: str | None = typer.Option(None, "--config", help="Thresholds file (YAML or JSON); flags override it."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Local tokenizer folder, or `embedded`, for "
                                         "the token bounds."),
    no_dedup: bool = typer.Option(False, "--no-dedup", help="Keep duplicates (all other checks still run)."),
    min_prompt_words: int | None = typer.Option(None, "--min-prompt-words", help="Default 1."),
    max_prompt_words: int | None = typer.Option(None, "--max-prompt-words", help="Default 500."),
    min_reply_words: int | None = typer.Option(None, "--min-reply-words", help="Default 1."),
    max_reply_words: int | None = typer.Option(None, "--max-reply-words", help="Default 500."),
    max_prompt_tokens: int | None = typer.Option(None, "--max-prompt-tokens", help="Needs --tokenizer."),
    max_reply_tokens: int | None = typer.Option(None, "--max-reply-tokens", help="Needs --tokenizer."),
    max_repeated_ngram_ratio: float | None = typer.Option(None, "--max-repeated-ngram-ratio", help="Default 0.5."),
    max_token_run: int | None = typer.Option(None, "--max-token-run", help="Default 7."),
    max_prompt_reply_overlap: float | None = typer.Option(None, "--max-prompt-reply-overlap", help="Default 0.9."),
    min_grounding: float | None = typer.Option(None, "--min-grounding", help="Default 0.5."),
    max_answer_passage_share: float | None = typer.Option(None, "--max-answer-passage-share", help="Default 0.8."),
    near_dup_threshold: float | None = typer.Option(None, "--near-dup-threshold", help="Default 0.8."),
    settings: list[str] = typer.Option([], "--set", help="Any other threshold, KEY=VALUE (repeatable); see the "
                                       "README for the names."),
    json_summary: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
) -> None:
    """Check item rows, drop duplicates, and keep every rejected row aside with its reason."""
    import json

    from classit_data.core.console import summary_table
    from classit_data.validate.checks import load_config, validate_rows

    flags = {"min_prompt_words": min_prompt_words, "max_prompt_words": max_prompt_words,
             "min_reply_words": min_reply_words, "max_reply_words": max_reply_words,
             "max_prompt_tokens": max_prompt_tokens, "max_reply_tokens": max_reply_tokens,
             "max_repeated_ngram_ratio": max_repeated_ngram_ratio, "max_token_run": max_token_run,
             "max_prompt_reply_overlap": max_prompt_reply_overlap, "min_grounding": min_grounding,
             "max_answer_passage_share": max_answer_passage_share, "near_dup_threshold": near_dup_threshold,
             **_parse_settings(settings)}
    if no_dedup:
        flags["dedup"] = False
    cfg = load_config(config, flags)
    rep = validate_rows(inputs, out, quarantine, report, config=cfg, passages=passages, tokenizer=tokenizer)
    if json_summary:
        print(json.dumps(rep, indent=2, ensure_ascii=False))
        return
    rows: dict[str, object] = {"input rows": rep["input_rows"], "kept": rep["kept"], "quarantined": rep["quarantined"]}
    rows.update({f"  {reason}": n for reason, n in rep["by_reason"].items()})
    for source, v in rep["by_source"].items():
        rows[f"{source}"] = f"{v['kept']:,} kept of {v['input']:,}"
    rows["report"] = f"{report} (+ .md)"
    rows["seconds"] = rep["seconds"]["total"]
    console.print(summary_table(f"validate -> {out}", rows))
    for reason, skipped_because in rep["checks_skipped"].items():
        if reason in ("ungrounded",):
            console.print(f"not checked: grounding of QA answers ({skipped_because})")


@app.command("stats")
def stats_cmd(
    inputs: list[str] = typer.Argument(..., help="Item rows (.parquet or .jsonl), normally the kept rows."),
    out: str = typer.Option(..., "--out", "-o", help="Folder for stats.json, stats.md, figure1.png, figure1.svg."),
    quantile: float = typer.Option(1.0, "--quantile", "-q", help="Figure 1 trims each source at this quantile of "
                                   "its prompt and reply lengths (1 = all rows, as in the paper)."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Local tokenizer folder, a model already in "
                                         "the local HF cache, or `embedded`: count tokens too (no download)."),
    scale: str = typer.Option("log", "--scale", help="Figure axes: log (default) or linear."),
    json_summary: bool = typer.Option(False, "--json", help="Print stats.json on stdout."),
) -> None:
    """Length statistics per source and in total, and Figure 1 (prompt vs reply length)."""
    import json

    from classit_data.core.console import summary_table
    from classit_data.build.stats import compute_stats

    stats = compute_stats(inputs, out, quantile=quantile, tokenizer=tokenizer, scale=scale)
    if json_summary:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return
    rows: dict[str, object] = {}
    for source, v in [*stats["sources"].items(), ("total", stats["total"])]:
        rows[source] = (f"{v['rows']:,} rows, {v['total_words']['sum']:,} words (prompt median "
                        f"{v['prompt_words']['median']:g}, reply median {v['reply_words']['median']:g})")
    rows["figure"] = ", ".join(stats["figure"]["files"].values())
    rows["seconds"] = stats["seconds"]["total"]
    console.print(summary_table(f"stats -> {out}", rows))

# --- build, push (issue 6) -------------------------------------------------------------------------


@app.command("build")
def build_cmd(
    switchboard: list[str] = typer.Option([], "--switchboard", help="Switchboard item rows (.parquet/.jsonl), "
                                          "normally the kept rows of `validate`; repeatable."),
    wiki: list[str] = typer.Option([], "--wiki", help="Simple Wikipedia QA item rows; repeatable. The same "
                                   "file may be given to --switchboard and --wiki when it holds both."),
    out: str = typer.Option(..., "--out", "-o", help="Dataset folder to write (replaced as a whole)."),
    val_fraction: float | None = typer.Option(None, "--val-fraction", help="Share of documents (conversations, "
                                              "articles) put in a `validation` split; none by default."),
    seed: int = typer.Option(0, "--seed", help="Shuffle seed of the `merged` config."),
    max_shard_size: str = typer.Option("500MB", "--max-shard-size", help="Most Arrow bytes per Parquet shard "
                                       "(e.g. 500MB, 1GB, 200MiB)."),
    force: bool = typer.Option(False, "--force", help="Build from the rows that pass even when validation "
                               "rejects some (such a build cannot be pushed)."),
    stats_dir: str | None = typer.Option(None, "--stats-dir", help="Output of `classit-data stats` for the card "
                                         "(default: computed from the built rows)."),
    passages: str | None = typer.Option(None, "--passages", help="Passage file, for the validators' grounding "
                                        "check of QA rows."),
    validate_config: str | None = typer.Option(None, "--validate-config", help="Validator thresholds file."),
    generation_run: list[str] = typer.Option([], "--generation-run", help="Output folder (or run.json) of "
                                             "`generate-wiki`, recorded in the card; repeatable."),
    json_summary: bool = typer.Option(False, "--json", help="Print the build record as JSON on stdout."),
) -> None:
    """Validate rows and write the Hub-layout dataset folder with its card."""
    import json
    import shlex

    from classit_data.build.build import build_dataset
    from classit_data.core.console import summary_table

    # what the user typed, for the card; None when called with arguments that are not the process's own
    command = "classit-data " + shlex.join(sys.argv[1:]) if "build" in sys.argv[1:2] else None
    record = build_dataset(switchboard or None, wiki or None, out, val_fraction=val_fraction, seed=seed,
                           max_shard_size=max_shard_size, force=force, stats_dir=stats_dir, passages=passages,
                           validate_config=validate_config, generation_runs=generation_run, command=command,
                           progress=not json_summary)
    if json_summary:
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return
    rows: dict[str, object] = {}
    for name, cfg in record["configs"].items():
        for split, s in cfg["splits"].items():
            rows[f"{name}/{split}"] = f"{s['num_examples']:,} rows, {len(s['files'])} shard(s)"
    v = record["validation"]
    rows["validation gate"] = ("passed" if v["passed"] else "FAILED (forced)") + \
        f": {v['kept']:,} kept, {v['quarantined']:,} rejected"
    rows["words (text)"] = record["counts"]["words_text"]
    rows["BabyLM budget share"] = f"{100 * record['babylm']['share']:.2f}%"
    rows["card"] = f"{record['out']}/README.md"
    rows["seconds"] = record["seconds"]
    console.print(summary_table(f"build -> {record['out']}", rows))


@app.command("push")
def push_cmd(
    dataset_dir: str = typer.Argument(..., help="A folder made by `classit-data build`."),
    repo_id: str = typer.Option(..., "--repo-id", help="Dataset repo, ORG/NAME (created if missing)."),
    private: bool = typer.Option(False, "--private", help="Create the repo private (an existing repo keeps "
                                 "its visibility)."),
    revision: str | None = typer.Option(None, "--revision", help="Branch to commit to (created from main if "
                                        "missing; default main)."),
    commit_message: str | None = typer.Option(None, "--commit-message", help="Commit title (default: rows and "
                                              "package version)."),
    tag: str | None = typer.Option(None, "--tag", help="Tag the pushed commit, e.g. v1.0."),
    retries: int = typer.Option(4, "--retries", help="Retries after transient Hub failures (5xx, 429, "
                                "dropped connections), with exponential backoff from 1 s."),
    json_summary: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Publish a built dataset folder to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    import json

    from classit_data.core.console import summary_table
    from classit_data.publish.push import push_dataset

    result = push_dataset(dataset_dir, repo_id, private=private, revision=revision, commit_message=commit_message,
                          tag=tag, retries=retries, progress=not json_summary)
    if json_summary:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    rows = {"repo": result["url"], "revision": result["revision"],
            "commit": result["commit"] or f"none (already at {result['head'][:12]})",
            "uploaded": f"{len(result['uploaded'])} file(s), {result['bytes_uploaded']:,} bytes",
            "deleted": len(result["deleted"]), "unchanged": len(result["kept"])}
    if result["tag"]:
        rows["tag"] = result["tag"]["name"] + ("" if result["tag"]["created"] else " (already there)")
    rows["attempts"] = result["attempts"]
    rows["seconds"] = result["seconds"]
    console.print(summary_table(f"push -> {result['repo_id']}", rows))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the app and turns user errors into one line and exit code 2."""
    return run_app(app, "classit-data", argv)


if __name__ == "__main__":
    sys.exit(main())
