"""Passages: an article -> clean sections -> sentences -> passages, each step counting what it leaves out.

1. clean (:mod:`classit_data.wiki.clean`): an article with less prose than ``min_article_words`` is a stub
   (or a list, when list items outweigh its prose) and is left out;
2. sentences (:mod:`classit_data.wiki.sentences`): Punkt, paragraph by paragraph; a sentence that cannot
   be part of a passage (too long, markup residue, words lost where a template was removed, a ":" lead-in,
   a ``formula_N`` placeholder, broken by a removal) is dropped and ends the run of sentences;
3. pack: consecutive sentences of one section, cut into near-equal passages of at most ``max_words`` and at
   least ``min_words`` words, never crossing an article; a section too short for a passage is joined to the
   section next to it; a passage met twice in an article is kept once.

Every word of prose read is either in a passage or counted as dropped, by reason
(:data:`~classit_data.wiki.stats.PROSE_DROPPED`).

This is the work of the worker processes: :func:`process_batch` turns a batch of articles into passage
rows and the :class:`~classit_data.wiki.stats.PrepareStats` of that batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from classit_data.core.schema import Passage
from classit_data.wiki.clean import CleanArticle, clean_plain, clean_wikitext
from classit_data.wiki.config import PassageConfig
from classit_data.wiki.readers.base import PLAIN, Article
from classit_data.wiki.sentences import split_sentences
from classit_data.wiki.stats import PrepareStats
from classit_data.wiki.templates import LOST

#: what is left of markup the parser could not close (a broken page): such a sentence is not prose
_RESIDUE = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|\||</?[a-zA-Z][^>]*>|<!--|-->|https?://")
#: wikiextractor's stand-ins for a formula or code it removed
_PLACEHOLDER = re.compile(r"\b(?:formula|codice)_\d+")
#: a sentence whose structure a removal broke: it opens on a comma, or keeps "c." without its year (or it
#: does not end like a sentence, or starts in lowercase: see ``_SENTENCE_ENDS`` and ``_starts_mid_sentence``)
_BROKEN = re.compile(r"^[,;:)\]}]|(?<![&\w])c\.(?=\s*(?:[^\w\s\"'‘“(]|$))")
#: how a sentence ends, before its closing quotes and brackets ("...in Paris" without it, or an attribution
#: "(Albert Gleizes)", is not one; ":" ends a lead-in)
_SENTENCE_ENDS = frozenset(".!?…")
_CLOSERS = "\"'’”)]"
#: any of the defects above, in one scan
_SUSPECT = re.compile("|".join((LOST, _RESIDUE.pattern, _PLACEHOLDER.pattern, _BROKEN.pattern)))
#: the first characters of a sentence that ``_SUSPECT`` matches
_SUSPECT_FIRST = ",;:)]}"

#: lowercase words and prefixes that start names ("de Gaulle was", "van Gogh painted", "al-Idrisi drew")
_NAME_PARTICLES = frozenset("de van von der den du da di del della dos das la le al el bin ibn ben ter ten zu".split())
_NAME_PREFIXES = ("al-", "el-", "ad-", "as-", "an-", "ar-", "d'", "l'", "d’", "l’")

Item = tuple[str, str, int]  # (section, sentence, words)


def may_be_suspect(sentence: str) -> bool:
    """False when ``_SUSPECT`` cannot match: it holds none of the characters and pieces of text that every match
    of ``_SUSPECT`` holds, nor starts with one of its first characters. A dozen substring tests, several times
    cheaper than its scan; written out, as a generator over them costs more than the tests themselves."""
    return (
        LOST in sentence
        or "{" in sentence
        or "}" in sentence
        or "[" in sentence
        or "]" in sentence
        or "|" in sentence
        or "<" in sentence
        or "_" in sentence
        or "-->" in sentence
        or "http" in sentence
        or "c." in sentence
        or sentence[:1] in _SUSPECT_FIRST
    )


def _starts_mid_sentence(sentence: str) -> bool:
    """A paragraph that starts in lowercase is the rest of a sentence ("argued that ..."); not "iPhone is",
    "de Gaulle was" or "al-Idrisi drew"."""
    if not sentence[:1].islower():
        return False
    first = sentence.split(None, 1)[0]
    if not first.islower():
        return False
    return first not in _NAME_PARTICLES and not first.startswith(_NAME_PREFIXES)


class PassageMaker:
    """Articles -> passage rows under one :class:`PassageConfig`; what each step leaves out goes to ``stats``."""

    def __init__(self, config: PassageConfig, params_path: str | None = None):
        self.config = config
        self.params_path = params_path
        self.stats = PrepareStats()

    def batch(self, articles: Sequence[Article]) -> list[dict]:
        """Passage rows of several articles; one whose wikitext cannot be handled is counted and named."""
        rows: list[dict] = []
        for article in articles:
            try:
                got, stats = self.article(article)
            except Exception as exc:  # one broken page must not end a 15-minute run; it is named in the summary
                self.stats.fail(article.article_id, article.title, exc)
                continue
            self.stats.add(stats)
            if got:
                self.stats.update("articles_kept")
                rows.extend(got)
        return rows

    def article(self, article: Article) -> tuple[list[dict], PrepareStats]:
        """Passage rows of one article and what was counted making them (why it gave none, what it dropped)."""
        stats = PrepareStats()
        clean = self.clean(article, stats)
        if clean is None:
            return [], stats
        rows: list[dict] = []
        seen: set[str] = set()
        sections = [
            (section, [s for p in paragraphs for s in split_sentences(p, self.params_path)])
            for section, paragraphs in clean.sections
        ]
        for run in self.runs(sections, stats):
            for section, text, n in self.pack_run(run, stats):
                pid = Passage.make_id(article.article_id, section, text)
                if pid in seen:
                    stats.drop("duplicate_passage", n)
                    continue
                seen.add(pid)
                rows.append(
                    {
                        "passage_id": pid,
                        "article_id": article.article_id,
                        "title": article.title,
                        "section": section,
                        "text": text,
                        "n_words": n,
                    }
                )
        if not rows:
            stats.skip("no_passage")
        return rows, stats

    def clean(self, article: Article, stats: PrepareStats) -> CleanArticle | None:
        """The article as sections of prose; None for a stub or a list (too little prose)."""
        clean = clean_plain(article.text) if article.markup == PLAIN else clean_wikitext(article.text)
        stats.update("list_words_dropped", clean.list_words)
        stats.update("fragment_words_dropped", clean.fragment_words)
        stats.update("boilerplate_sections_dropped", clean.boilerplate_sections)
        prose = clean.prose_words
        if prose < self.config.min_article_words:
            reason = "list" if clean.list_words > max(prose, 1) else "stub"
            stats.skip(reason)
            stats.update("prose_words", prose)
            stats.drop(f"{reason}_article", prose)
            return None
        return clean

    def defect(self, sentence: str, n: int) -> str | None:
        """Why a sentence cannot be part of a passage, or None when it can."""
        if n > self.config.max_words:
            return "long_sentence"
        last = sentence.rstrip(_CLOSERS)[-1:]
        if (
            last in _SENTENCE_ENDS
            and not _starts_mid_sentence(sentence)
            and not (may_be_suspect(sentence) and _SUSPECT.search(sentence))
        ):
            return None  # most sentences
        if LOST in sentence:
            return "lost_words"
        if _RESIDUE.search(sentence):
            return "markup_sentence"
        if _PLACEHOLDER.search(sentence):
            return "placeholder"
        if last == ":":
            return "lead_in"
        return "broken_sentence"

    def runs(self, sections: Sequence[tuple[str, Sequence[str]]], stats: PrepareStats) -> list[list[Item]]:
        """Sentences of an article's sections -> runs of consecutive sentences that passages are cut from.

        A sentence that cannot be part of a passage (:meth:`defect`) is dropped and ends the run. A section
        ends it too, unless the text on one side of the section break is too short for a passage (under
        ``min_words``): then the two are joined, so that short sections are not lost.
        """
        pieces: list[tuple[list[Item], bool]] = []  # (sentences, joinable to the piece before it)
        for section, sentences in sections:
            piece: list[Item] = []
            joinable = bool(pieces) and bool(pieces[-1][0])
            for s in sentences:
                n = len(s.split())
                stats.update("prose_words", n)
                why = self.defect(s, n)
                if why is None:
                    piece.append((section, s, n))
                    continue
                stats.drop(why, n)
                pieces.append((piece, joinable))
                piece, joinable = [], False
            pieces.append((piece, joinable))
        min_words = self.config.min_words
        runs: list[list[Item]] = []
        size = 0
        for piece, joinable in pieces:
            words = sum(n for _, _, n in piece)
            if runs and joinable and piece and (words < min_words or size < min_words):
                runs[-1].extend(piece)
                size += words
            elif piece:
                runs.append(piece)
                size = words
        return runs

    def pack(self, sentences: Sequence[str], section: str = "") -> list[str]:
        """The passages of one section's sentences (see :meth:`pack_run`), counted in ``self.stats``."""
        return [
            text
            for run in self.runs([(section, sentences)], self.stats)
            for _, text, _ in self.pack_run(run, self.stats)
        ]

    def pack_run(self, run: list[Item], stats: PrepareStats) -> list[Item]:
        """A run of sentences -> passages (section of their first sentence, text, words).

        The run is cut into ``ceil(words / max_words)`` pieces of near-equal length (rather than greedily,
        which leaves a short tail) of at most ``max_words`` words; a piece under ``min_words`` is merged
        into the one before it when they fit, else dropped and counted.
        """
        max_words, min_words = self.config.max_words, self.config.min_words
        total = sum(n for _, _, n in run)
        if total < min_words:
            stats.drop("short_text", total)
            return []
        k = math.ceil(total / max_words)
        target = total / k
        chunks: list[list[Item]] = [[]]
        size = 0
        for item in run:
            n = item[2]
            if chunks[-1] and (size + n > max_words or (size + n / 2 > target and len(chunks) < k)):
                chunks.append([])
                size = 0
            chunks[-1].append(item)
            size += n
        sizes = [sum(n for _, _, n in c) for c in chunks]
        if len(chunks) > 1 and sizes[-1] < min_words and sizes[-2] + sizes[-1] <= max_words:
            chunks[-2].extend(chunks.pop())
            sizes[-2] += sizes.pop()
        out = []
        for chunk, size in zip(chunks, sizes):
            if size < min_words:
                stats.drop("short_text", size)
                continue
            out.append((chunk[0][0], " ".join(s for _, s, _ in chunk), size))
        return out


def process_batch(
    batch: Sequence[Article], config: PassageConfig, params_path: str | None = None
) -> tuple[list[dict], PrepareStats]:
    """Clean a batch of articles: (passage rows, what was counted while making them)."""
    maker = PassageMaker(config, params_path)
    rows = maker.batch(batch)
    return rows, maker.stats
