"""What ``prepare-wiki``'s steps did, each step counting its own work; the summary's counts come from here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from classit_data.core.counts import Counts

#: what the cleaning step leaves out before prose is read, in the order the summary lists it
DROPPED = ("list_words_dropped", "fragment_words_dropped", "boilerplate_sections_dropped")
#: why words of prose do not reach a passage, in the order the summary lists them: a stub or list article;
#: a sentence too long, holding markup residue, that lost words where a template or formula was removed,
#: the lead-in of a removed list or quotation (ending with ":"), holding a ``formula_N``/``codice_N``
#: placeholder, or broken by a removal (opening on a comma, "c." without its year); text too short for a
#: passage; a passage met twice in an article
PROSE_DROPPED = (
    "stub_article",
    "list_article",
    "long_sentence",
    "markup_sentence",
    "lost_words",
    "lead_in",
    "placeholder",
    "broken_sentence",
    "short_text",
    "duplicate_passage",
)
#: articles named in the summary when their wikitext could not be handled (the rest are only counted)
MAX_NAMED_FAILURES = 100


@dataclass
class PrepareStats(Counts):
    """Counts by name (``update``), articles left out by reason (``skip``) and the articles that failed.

    Each worker fills one per batch and sends it back; the run adds them up (``add``).
    """

    skipped: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)
    prose_dropped: Counter = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def drop(self, reason: str, words: int) -> None:
        """Words of prose that do not reach a passage, by reason (one of ``PROSE_DROPPED``)."""
        self.prose_dropped[reason] += words

    def fail(self, article_id: str, title: str, exc: Exception) -> None:
        """An article whose wikitext could not be handled: left out, and named in the summary."""
        self.skip("parse_error")
        self.failures.append({"article_id": article_id, "title": title, "error": f"{type(exc).__name__}: {exc}"[:200]})

    def add(self, other: PrepareStats) -> None:
        """The counters summed; the failures named up to ``MAX_NAMED_FAILURES``."""
        super().add(other)
        self.failures.extend(other.failures[: max(0, MAX_NAMED_FAILURES - len(self.failures))])

    def totals(self) -> dict:
        """The counting part of the summary, in its order.

        ``words`` (in passages) plus the ``prose_words_dropped`` add up to ``prose_words`` (read).
        """
        return {
            "pages_read": self["pages_read"],
            "articles_read": self["articles_read"],
            "articles_kept": self["articles_kept"],
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "parse_failures": self.failures,
            "passages": self["passages"],
            "words": self["words"],
            "dropped": {name: self[name] for name in DROPPED},
            "prose_words": self["prose_words"],
            "prose_words_dropped": {reason: self.prose_dropped[reason] for reason in PROSE_DROPPED},
        }
