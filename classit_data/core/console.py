"""Terminal output shared by the commands: one rich console on stderr, progress bars and summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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


@dataclass
class Summary:
    """What a command returns: its summary (for ``--json``) and how a person reads it (a table and notes)."""

    data: Mapping
    title: str
    rows: Mapping[str, object]
    notes: Iterable[str] = ()

    def show(self, as_json: bool) -> None:
        """The whole summary as JSON on stdout (for scripts), else the table and notes on stderr."""
        if as_json:
            print(json.dumps(self.data, indent=2, ensure_ascii=False))
            return
        console.print(summary_table(self.title, self.rows))
        for note in self.notes:
            console.print(note, markup=False)
