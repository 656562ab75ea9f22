"""Passages: an article -> clean sections -> sentences -> passages, each step counting what it leaves out.

1. clean (:mod:`classit_data.wiki.clean`): an article with less prose than ``min_article_words`` is a stub
   (or a list, when list items outweigh its prose) and is left out;
2. sentences (:mod:`classit_data.wiki.sentences`): Punkt, paragraph by paragraph;
3. pack: consecutive sentences of one section, cut into near-equal runs of at most ``max_words`` and at
   least ``min_words`` words, never crossing a section or an article; a passage met twice in an article
   is kept once.

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

#: what is left of markup the parser could not close (a broken page): such a sentence is not prose
_RESIDUE = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|\||</?[a-zA-Z][^>]*>|<!--|-->|https?://")


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
                got = self.article(article)
            except Exception as exc:  # one broken page must not end a 15-minute run; it is named in the summary
                self.stats.fail(article.article_id, article.title, exc)
                continue
            if got:
                self.stats.update("articles_kept")
                rows.extend(got)
        return rows

    def article(self, article: Article) -> list[dict]:
        """Passage rows of one article; why it gave none is counted as a skip reason."""
        clean = self.clean(article)
        if clean is None:
            return []
        rows: list[dict] = []
        seen: set[str] = set()
        for section, paragraphs in clean.sections:
            sentences = [s for p in paragraphs for s in split_sentences(p, self.params_path)]
            for text in self.pack(sentences):
                pid = Passage.make_id(article.article_id, section, text)
                if pid in seen:
                    self.stats.update("duplicate_passages_dropped")
                    continue
                seen.add(pid)
                rows.append({"passage_id": pid, "article_id": article.article_id, "title": article.title,
                             "section": section, "text": text, "n_words": len(text.split())})
        if not rows:
            self.stats.skip("no_passage")
        return rows

    def clean(self, article: Article) -> CleanArticle | None:
        """The article as sections of prose; None for a stub or a list (too little prose)."""
        clean = clean_plain(article.text) if article.markup == PLAIN else clean_wikitext(article.text)
        self.stats.update("list_words_dropped", clean.list_words)
        self.stats.update("fragment_words_dropped", clean.fragment_words)
        self.stats.update("boilerplate_sections_dropped", clean.boilerplate_sections)
        prose = clean.prose_words
        if prose < self.config.min_article_words:
            self.stats.skip("list" if clean.list_words > max(prose, 1) else "stub")
            return None
        return clean

    def pack(self, sentences: Sequence[str]) -> list[str]:
        """Consecutive sentences -> passages of at most ``max_words`` and at least ``min_words`` words.

        A run of sentences is cut into ``ceil(words / max_words)`` pieces of near-equal length (rather than
        greedily, which leaves a short tail). A sentence longer than ``max_words``, or holding what is left of
        markup the parser could not close (``{{``, ``[[``, ``|``, tags, URLs), ends the run and is left out.
        """
        max_words = self.config.max_words
        passages: list[str] = []
        run: list[tuple[str, int]] = []
        for s in sentences:
            n = len(s.split())
            if n > max_words or _RESIDUE.search(s):
                self.stats.update("long_sentences_dropped" if n > max_words else "markup_sentences_dropped")
                passages.extend(self._pack_run(run))
                run = []
            else:
                run.append((s, n))
        passages.extend(self._pack_run(run))
        return passages

    def _pack_run(self, run: list[tuple[str, int]]) -> list[str]:
        max_words, min_words = self.config.max_words, self.config.min_words
        total = sum(n for _, n in run)
        if total == 0:
            return []
        if total < min_words:
            self.stats.update("short_text_dropped")
            return []
        k = math.ceil(total / max_words)
        target = total / k
        chunks: list[list[tuple[str, int]]] = [[]]
        size = 0
        for s, n in run:
            if chunks[-1] and (size + n > max_words or (size + n / 2 > target and len(chunks) < k)):
                chunks.append([])
                size = 0
            chunks[-1].append((s, n))
            size += n
        sizes = [sum(n for _, n in c) for c in chunks]
        if len(chunks) > 1 and sizes[-1] < min_words and sizes[-2] + sizes[-1] <= max_words:
            chunks[-2].extend(chunks.pop())
            sizes[-2] += sizes.pop()
        out = []
        for chunk, size in zip(chunks, sizes):
            if size < min_words:
                self.stats.update("short_text_dropped")
                continue
            out.append(" ".join(s for s, _ in chunk))
        return out


def process_batch(batch: Sequence[Article], config: PassageConfig,
                  params_path: str | None = None) -> tuple[list[dict], PrepareStats]:
    """Clean a batch of articles: (passage rows, what was counted while making them)."""
    maker = PassageMaker(config, params_path)
    rows = maker.batch(batch)
    return rows, maker.stats
