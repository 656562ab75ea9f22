"""What a step did, counted as it goes: the one base of every stage's counters.

A stage's counters are a dataclass that subclasses :class:`Counts`: named counts (``update``, ``self[name]``)
plus any ``Counter`` fields of its own (reasons, by name). Worker processes and replicas each fill one; the run
adds them up with ``add``, which sums every ``Counter`` field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Self


@dataclass
class Counts:
    """Named counts; a subclass adds ``Counter`` fields (summed by ``add``) and fields of its own."""

    counts: Counter = field(default_factory=Counter)

    def update(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def add(self, other: Self) -> None:
        """Add ``other``'s counters to these (a subclass extends this for fields that are not counters)."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
