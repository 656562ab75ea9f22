"""Passages: an article's clean sections cut into sentences and packed; each step counts what it leaves out."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from classit_data.wiki.clean import clean_wikitext
from classit_data.wiki.config import PassageConfig
from classit_data.wiki.passages import PassageMaker, process_batch
from classit_data.wiki.readers.base import PLAIN, WIKITEXT, Article
from classit_data.wiki.sentences import split_sentences


def _maker(max_words: int = 160, min_words: int = 40) -> PassageMaker:
    return PassageMaker(PassageConfig(max_words=max_words, min_words=min_words))


def _sentences(sizes):
    """Sentence i is "S<i>" followed by filler words: ``sizes[i]`` words in all."""
    return [" ".join([f"S{i}"] + ["w"] * (n - 1)) + "." for i, n in enumerate(sizes)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=60), max_size=40),
       st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=100))
def test_packing_respects_bounds_and_order(sizes, min_words, extra):
    max_words = min_words + extra
    maker = _maker(max_words, min_words)
    passages = maker.pack(_sentences(sizes))
    seen = []
    for p in passages:
        assert min_words <= len(p.split()) <= max_words
        idx = [int(i) for i in re.findall(r"\bS(\d+)\b", p)]
        assert idx == list(range(idx[0], idx[0] + len(idx)))  # consecutive sentences
        assert all(sizes[i] <= max_words for i in idx)
        seen += idx
    assert seen == sorted(set(seen))  # in order, none repeated
    assert maker.stats.prose_dropped["long_sentence"] == sum(n for n in sizes if n > max_words)
    # every word is in a passage or dropped for a reason
    assert sum(len(p.split()) for p in passages) + sum(maker.stats.prose_dropped.values()) == sum(sizes)
    assert maker.stats["prose_words"] == sum(sizes)
    if all(n <= max_words for n in sizes) and sum(sizes) >= 2 * max_words:
        # a long run loses at most its short tail
        assert len(seen) >= len(sizes) - max(1, min_words)


def test_packing_balances_instead_of_leaving_a_short_tail():
    sentences = _sentences([30] * 7)  # 210 words, max 160: greedy would give 150 + 60
    passages = _maker().pack(sentences)
    assert [len(p.split()) for p in passages] == [120, 90]


def test_overlong_sentence_is_counted_and_splits_the_run():
    maker = _maker()
    passages = maker.pack(_sentences([50, 500, 50]))
    assert [len(p.split()) for p in passages] == [50, 50]
    assert maker.stats.prose_dropped == {"long_sentence": 500}


def test_sentences_with_markup_residue_are_left_out():
    """An unclosed template or link is plain text to the parser; its sentence must not reach a passage."""
    body = "Owls are birds that hunt at night and sleep in the day. They have big eyes and soft feathers. "
    text = body + "{{Infobox owl RESIDUEWORD. The tail is [[broken RESIDUEWORD link. " + body.upper()
    config = PassageConfig(min_words=10, min_article_words=20)
    rows, stats = process_batch([Article("7", "Owl", text, WIKITEXT)], config, None)
    assert [r["text"] for r in rows] == [body.strip(), body.upper().strip()]
    assert stats.prose_dropped["markup_sentence"] >= 6
    clean = clean_wikitext(text)
    sentences = [x for _, ps in clean.sections for p in ps for x in split_sentences(p)]
    maker = _maker(160, 20)
    maker.pack(sentences)
    assert maker.stats.prose_dropped["markup_sentence"] >= 6


def test_a_wikitext_failure_is_counted_and_named():
    good = Article("1", "Good", "Owls are birds. " * 30, WIKITEXT)
    broken = Article("2", "Broken", None, WIKITEXT)  # not text at all: the cleaner raises
    rows, stats = process_batch([good, broken], PassageConfig())
    assert stats["articles_kept"] == 1 and stats.skipped == {"parse_error": 1}
    assert stats.failures[0]["title"] == "Broken" and stats.failures[0]["article_id"] == "2"
    assert stats.failures[0]["error"].startswith("TypeError: ")  # the exception, named
    assert rows and all(r["article_id"] == "1" for r in rows)


_PIECES = [
    "Owls are birds that hunt at night. ", "They have very big eyes and soft wings. ", "\n", "\n\n",
    "{{Infobox|a=", "{{cite web|title=", "}}", "[[File:A.jpg|thumb|cap [[x]]", "[[", "]]", "[[link|text]] ",
    "<ref>", "</ref>", "<ref name=a/>", "{|", "|}", "|-", "| cell ", "== Head ==", "* item ", "'''", "''",
    "<!--", "-->", "&nbsp;", "[http://e.org label] ", "<gallery>", "</gallery>", "<div>", "</div>", "__TOC__",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=80))
def test_any_mix_of_markup_gives_clean_passages_or_none(pieces):
    text = "".join(pieces)
    rows, stats = process_batch([Article("9", "Mix", text, WIKITEXT)], PassageConfig(min_words=5, min_article_words=5))
    assert not stats.failures
    for row in rows:
        assert not re.search(r"\{\{|\}\}|\[\[|\]\]|\||<|>|''|&nbsp;|__TOC__", row["text"]), row["text"]
        assert 5 <= row["n_words"] <= 160


def test_each_step_counts_why_an_article_gave_no_passage():
    stub = Article("1", "Stub", "Owls are birds. They hunt at night.", PLAIN)
    listing = Article("2", "List", "Birds.\n" + "\n".join(f"* Bird number {i} of the list" for i in range(30)), PLAIN)
    short = Article("3", "Short", "Owls are birds that hunt at night. " * 3, PLAIN)
    rows, stats = process_batch([stub, listing, short], PassageConfig(min_words=40, min_article_words=10))
    assert rows == [] and stats["articles_kept"] == 0
    assert stats.skipped == {"stub": 1, "list": 1, "no_passage": 1}
    # 30 bulleted lines of 7 words, and "Birds.": a line too short to be prose
    assert stats["list_words_dropped"] == 30 * 7 + 1
    # the prose words of each article, by the reason they are not in a passage
    assert stats.prose_dropped == {"stub_article": 7, "list_article": 0, "short_text": 21}
    assert stats["prose_words"] == 7 + 0 + 21


def test_a_passage_met_twice_in_an_article_is_kept_once():
    """Same section title, same text: same passage id."""
    para = "Owls are birds that hunt at night and sleep all day long. " * 5
    article = Article("4", "Owl", f"== Life ==\n{para}\n== Life ==\n{para}", PLAIN)
    rows, stats = process_batch([article], PassageConfig(min_words=20))
    assert len(rows) == 1 and stats.prose_dropped["duplicate_passage"] == rows[0]["n_words"]
    assert stats["articles_kept"] == 1
