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
