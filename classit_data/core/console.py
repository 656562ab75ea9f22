"""Terminal output shared by the commands: one rich console on stderr, the progress bar and summary tables."""

from __future__ import annotations

import time
from collections.abc import Mapping

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


class ProgressBar:
    """The one progress bar of the commands: on a terminal only, on stderr, gone when done.

    ``ProgressBar(description, total, *columns, **fields)``: ``columns`` replace the default ``done/total`` count
    (e.g. rich's ``DownloadColumn``), ``fields`` are the starting values of the ``{task.fields[...]}`` they show.
    With ``redraw_every`` (seconds) the bar is drawn by ``update`` rather than by rich's refresh thread, so a
    process that forks workers runs no other thread. Use it as a context manager, or call ``close``.
    """

    def __init__(
        self,
        description: str,
        total: float | None,
        *columns,
        enabled: bool = True,
        redraw_every: float | None = None,
        **fields,
    ):
        self.redraw_every, self.drawn = redraw_every, 0.0
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            *(columns or (MofNCompleteColumn(),)),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            auto_refresh=redraw_every is None,
            disable=not (enabled and console.is_terminal),
        )
        self.task = self.bar.add_task(description, total=total, **fields)
        self.bar.start()

    def update(self, *, advance: float | None = None, completed: float | None = None, **fields) -> None:
        self.bar.update(self.task, advance=advance, completed=completed, **fields)
        if self.redraw_every is not None and time.monotonic() - self.drawn >= self.redraw_every:
            self.drawn = time.monotonic()
            self.bar.refresh()

    def close(self) -> None:
        self.bar.stop()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def summary_table(title: str, rows: Mapping[str, object]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    return table


#: the environment variable that says whether the engines' own logs show (``--verbose``): an environment
#: variable so that the processes a command starts (an engine replica, vLLM's EngineCore) know it too
VERBOSE_ENV = "CLASSIT_VERBOSE"


def set_verbose(on: bool) -> None:
    """Show the engines' own logs (vLLM's start-up and shutdown notes, transformers' warnings and bars, the
    Trainer's log lines) or not. Called before any engine is imported: vLLM and transformers read their log
    level from the environment when first imported, and a level the user set there wins."""
    import os
    import warnings

    os.environ[VERBOSE_ENV] = "1" if on else "0"
    if on:
        return
    # read by the engines' own processes too, which inherit the environment
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' loading and saving bars
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")  # torch's C++ notes (NUMA binding...)
    # the libraries' notices to their own developers, and the shared-memory note vLLM's processes leave at exit
    os.environ.setdefault(
        "PYTHONWARNINGS", "ignore::FutureWarning,ignore::DeprecationWarning,ignore:resource_tracker:UserWarning"
    )
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    quiet_vllm()


def quiet_vllm() -> None:
    """vLLM logs a note or two while it is imported, before its own log level applies: its logger gets that
    level first (``VLLM_LOGGING_LEVEL``; INFO, vLLM's default, when unset). Called before importing vLLM."""
    import logging
    import os

    logging.getLogger("vllm").setLevel(os.environ.get("VLLM_LOGGING_LEVEL", "INFO").upper())


def verbose() -> bool:
    """Whether the engines' own logs show (``set_verbose``, in this process or the command that started it)."""
    import os

    return os.environ.get(VERBOSE_ENV) == "1"
