"""What ``prepare-wiki``'s steps did, each step counting its own work; the summary's counts come from here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: what the cleaning and packing steps leave out, in the order the summary lists it
DROPPED = ("list_words_dropped", "fragment_words_dropped", "boilerplate_sections_dropped",
           "long_sentences_dropped", "markup_sentences_dropped", "short_text_dropped",
           "duplicate_passages_dropped")
#: articles named in the summary when their wikitext could not be handled (the rest are only counted)
MAX_NAMED_FAILURES = 100


@dataclass
class PrepareStats:
    """Counts by name (``update``), articles left out by reason (``skip``) and the articles that failed.

    Each worker fills one per batch and sends it back; the run adds them up (``add``).
    """

    counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)

    def update(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def fail(self, article_id: str, title: str, exc: Exception) -> None:
        """An article whose wikitext could not be handled: left out, and named in the summary."""
        self.skip("parse_error")
        self.failures.append({"article_id": article_id, "title": title,
                              "error": f"{type(exc).__name__}: {exc}"[:200]})

    def add(self, other: PrepareStats) -> None:
        self.counts.update(other.counts)
        self.skipped.update(other.skipped)
        self.failures.extend(other.failures[: max(0, MAX_NAMED_FAILURES - len(self.failures))])

    def totals(self) -> dict:
        """The counting part of the summary, in its order."""
        return {
            "pages_read": self["pages_read"],
            "articles_read": self["articles_read"],
            "articles_kept": self["articles_kept"],
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "parse_failures": self.failures,
            "passages": self["passages"],
            "words": self["words"],
            "dropped": {name: self[name] for name in DROPPED},
        }
