"""What ``generate-wiki``'s steps did, each step counting its own work; the summary's counts come from here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Self

from classit_data.core.counts import Counts


@dataclass
class GenerationStats(Counts):
    """Counts by name (``update``), whole outputs rejected (``reject``) and pairs dropped (``drop``) by reason,
    and this run's engine time. Each data-parallel replica fills its own; the run adds them up (``add``)."""

    rejected: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    #: seconds inside the engines' generate calls; replicas run side by side, so theirs is the longest
    generation_seconds: float = 0.0
    engine_load_seconds: float | None = None
    engine_close_seconds: float | None = None

    def reject(self, reason: str) -> None:
        """A whole output that gave no row."""
        self.rejected[reason] += 1

    def drop(self, reason: str) -> None:
        """One pair of a usable output that gave no row."""
        self.dropped[reason] += 1

    def add(self, other: Self) -> None:
        """The counters summed; the engine time is the longer one (replicas generate side by side)."""
        super().add(other)
        self.generation_seconds = max(self.generation_seconds, other.generation_seconds)

    def totals(self) -> dict:
        """The counting part of the summary, in its order."""
        return {
            "passages_in_file": self["passages_in_file"],
            "duplicate_passage_ids": self["duplicate_passage_ids"],
            "passages_selected": self["passages_selected"],
            "passages_done": self["passages_done"],
            "passages_resumed": self["passages_resumed"],
            "passages_generated": self["passages_generated"],
            "passages_missing": self["passages_selected"] - self["passages_done"],
            "duplicate_records": self["duplicate_records"],
            "pairs": self["pairs"],
            "passages_with_pairs": self["passages_with_pairs"],
            "rejected_outputs_by_reason": dict(self.rejected.most_common()),
            "dropped_pairs_by_reason": dict(self.dropped.most_common()),
            "prompt_tokens": self["prompt_tokens"],
            "output_tokens": self["output_tokens"],
        }

    def this_run(self) -> dict:
        """The engine work of this run alone (a resumed run counts only what it generated)."""
        seconds = round(self.generation_seconds, 3)
        return {
            "chunks": self["chunks"],
            "engine_load_seconds": self.engine_load_seconds,
            "engine_close_seconds": self.engine_close_seconds,
            "prompt_tokens": self["prompt_tokens_generated"],
            "output_tokens": self["output_tokens_generated"],
            "generation_seconds": seconds,
            "passages_per_s": round(self["passages_generated"] / seconds, 3) if seconds else None,
            "output_tokens_per_s": round(self["output_tokens_generated"] / seconds, 1) if seconds else None,
        }
