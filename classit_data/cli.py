"""``classit-data``: a thin typer layer over the Python API; every command's work lives in its module.

User mistakes raise ``InputError`` and come out as one line on stderr with exit code 2.
"""

from __future__ import annotations

import sys

import typer

from classit_data.console import console
from classit_data.errors import InputError

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

    from classit_data.console import summary_table
    from classit_data.passages import prepare_wiki

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

# --- validate, stats (issue 5) ---------------------------------------------------------------------

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
    json_summary: bool = typer.Option(False, "--json", help="Print the build record as JSON on stdout."),
) -> None:
    """Validate rows and write the Hub-layout dataset folder with its card."""
    import json
    import shlex

    from classit_data.build import build_dataset
    from classit_data.console import summary_table

    # what the user typed, for the card; None when called with arguments that are not the process's own
    command = "classit-data " + shlex.join(sys.argv[1:]) if "build" in sys.argv[1:2] else None
    record = build_dataset(switchboard or None, wiki or None, out, val_fraction=val_fraction, seed=seed,
                           max_shard_size=max_shard_size, force=force, stats_dir=stats_dir, passages=passages,
                           validate_config=validate_config, command=command, progress=not json_summary)
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

    from classit_data.console import summary_table
    from classit_data.publish import push_dataset

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
    try:
        app(args=argv, prog_name="classit-data", standalone_mode=True)
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
