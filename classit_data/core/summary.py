"""What every stage returns: a typed summary whose fields are its figures.

A stage's summary is a subclass of :class:`Summary` (a pydantic model). The figures are its fields, so a
notebook reads ``summary.passages``; ``to_json()`` is the record written beside the outputs and printed by
``--json``; ``title()``, ``rows()`` and ``notes()`` are how a person reads it, as a table on stderr.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class Summary(BaseModel):
    """The figures of one run of a stage. Subclasses declare the fields and say how they read as a table."""

    model_config = ConfigDict(extra="forbid")

    def title(self) -> str:
        """The table's title: the command and what it wrote."""
        raise NotImplementedError

    def rows(self) -> dict[str, object]:
        """The table's rows, label to value (by default every scalar field, by name)."""
        return {name.replace("_", " "): value for name, value in self if isinstance(value, (int, float, str))}

    def notes(self) -> list[str]:
        """Lines printed under the table (none by default)."""
        return []

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON data: the step record beside the outputs, and what ``--json`` prints."""
        return self.model_dump(mode="json")

    def show(self, as_json: bool = False) -> None:
        """The whole summary as JSON on stdout (for scripts), else the table and notes on stderr."""
        if as_json:
            print(json.dumps(self.to_json(), indent=2, ensure_ascii=False))
            return
        from classit_data.core.console import console, summary_table

        console.print(summary_table(self.title(), self.rows()))
        for note in self.notes():
            console.print(note, markup=False)
