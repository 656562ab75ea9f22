"""Terminal output shared by the commands: one rich console on stderr, progress bars and summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

#: messages and progress go to stderr so that stdout stays clean for data and JSON
console = Console(stderr=True, highlight=False)


def make_progress(*extra_columns) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def summary_table(title: str, rows: Mapping[str, object]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    return table


def show_summary(summary: Mapping, as_json: bool, title: str, rows: Mapping[str, object],
                 notes: Iterable[str] = ()) -> None:
    """A command's result: the whole summary as JSON on stdout (for scripts), else a table and notes on stderr."""
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(summary_table(title, rows))
    for note in notes:
        console.print(note, markup=False)


def run_app(app, prog_name: str, argv: list[str] | None = None) -> int:
    """Run a typer app as a console script: user errors (``InputError``) become one line and exit code 2."""
    from classit_data.core.errors import InputError

    try:
        app(args=argv, prog_name=prog_name, standalone_mode=True)
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
