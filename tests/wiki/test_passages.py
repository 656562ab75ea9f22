"""Passages: an article's clean sections cut into sentences and packed; each step counts what it leaves out."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classit_data.wiki.clean import clean_wikitext
from classit_data.wiki.config import PassageConfig
from classit_data.wiki.passages import _SUSPECT, PassageMaker, may_be_suspect, process_batch
from classit_data.wiki.readers.base import PLAIN, WIKITEXT, Article
from classit_data.wiki.sentences import split_sentences
from tests.helpers import FIXTURES, ROOT


def _maker(max_words: int = 160, min_words: int = 40) -> PassageMaker:
    return PassageMaker(PassageConfig(max_words=max_words, min_words=min_words))


def _sentences(sizes):
    """Sentence i is "S<i>" followed by filler words: ``sizes[i]`` words in all."""
    return [" ".join([f"S{i}"] + ["w"] * (n - 1)) + "." for i, n in enumerate(sizes)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=60), max_size=40),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=100),
)
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
    "Owls are birds that hunt at night. ",
    "They have very big eyes and soft wings. ",
    "\n",
    "\n\n",
    "{{Infobox|a=",
    "{{cite web|title=",
    "}}",
    "[[File:A.jpg|thumb|cap [[x]]",
    "[[",
    "]]",
    "[[link|text]] ",
    "<ref>",
    "</ref>",
    "<ref name=a/>",
    "{|",
    "|}",
    "|-",
    "| cell ",
    "== Head ==",
    "* item ",
    "'''",
    "''",
    "<!--",
    "-->",
    "&nbsp;",
    "[http://e.org label] ",
    "<gallery>",
    "</gallery>",
    "<div>",
    "</div>",
    "__TOC__",
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
    # every word of prose read is in a passage or dropped for a reason
    assert sum(r["n_words"] for r in rows) + sum(stats.prose_dropped.values()) == stats["prose_words"]


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


WIKI = FIXTURES / "wiki"
#: traces of words removed mid-sentence that no passage may keep
BROKEN = re.compile(
    r"LOSTWORD|\(\s*[,;:)]|(?:^|[.!?]\s+)[,;:]|\s[,;]\s|(?<![&\w])c\.(?=\s*(?:[^\w\s(]|$))|&\w+;|"
    r"formula_\d|codice_\d|:$|^[a-z]"
)


def _defect_articles() -> list[Article]:
    sys.path.insert(0, str(ROOT / "samples"))
    from make_wiki_sample import read_pages

    pages = read_pages(WIKI / "real_defects.pages.txt")
    return [Article(str(p["id"]), p["title"], p["text"], WIKITEXT) for p in pages]


def test_sentences_broken_by_removals_are_dropped_and_counted():
    """Words lost mid-sentence, lead-ins of removed quotations: the sentence goes, its words are counted."""
    rows, stats = process_batch(_defect_articles(), PassageConfig(), None)
    texts = {r["title"]: r["text"] for r in rows}
    for text in texts.values():
        assert not BROKEN.search(text), text
    assert "As of 2011, 50.7% of Alaska's population" in texts["Alaska"]
    assert "Unix-based OS X computers" in texts["Alaska"] and "Kruskal–Wallis" in texts["Alaska"]
    assert texts["Asphalt"].startswith("Asphalt, also known as bitumen, is")
    assert "Albert Einstein (14 March 1879 – 18 April 1955) was" in "\n".join(r["text"] for r in rows)
    assert "(c. 1766)" in texts["Niagara Falls from Above"] and "(c. 1763–68)" in texts["Niagara Falls from Above"]
    dropped = stats.prose_dropped
    # the sentences with a LOSTWORD: two around <math> (13 and 8 words), "the falls {{circa}}." (9), and the
    # lead-in of a {{quote}} (9)
    assert dropped["lost_words"] == 13 + 8 + 9 and dropped["lead_in"] == 9
    assert sum(r["n_words"] for r in rows) + sum(dropped.values()) == stats["prose_words"]


def test_passages_start_and_end_at_sentence_boundaries():
    """Abbreviations ("spp.", "v.", "Par.") do not end a passage: each passage is whole sentences."""
    config = PassageConfig(max_words=40, min_words=10, min_article_words=20)
    rows, _ = process_batch([a for a in _defect_articles() if a.title == "Toad"], config, None)
    assert len(rows) >= 3
    for row in rows:
        assert row["text"][0].isupper() and row["text"].endswith("."), row["text"]
        assert not re.search(r"\b(?:spp|v|Par|fig)\.$", row["text"]), row["text"]


def test_short_sections_are_joined_to_the_next_section():
    """Simple Wikipedia's sections are short: a lead of 17 words and a section of 12 join the next one."""
    rows, stats = process_batch([a for a in _defect_articles() if a.title == "Owl"], PassageConfig(), None)
    assert [(r["section"], r["n_words"]) for r in rows] == [("", 17 + 12 + 48)]
    assert "about 200 kinds of owls. Owls eat mice" in rows[0]["text"]
    assert "They swallow their food whole. Most owls live alone" in rows[0]["text"]
    assert stats.prose_dropped["short_text"] == 0 and stats["prose_words"] == 77


def test_a_short_section_joins_the_section_before_it():
    long_a = " ".join(f"Owls of kind {i} hunt at night in the woods." for i in range(6))  # 60 words
    long_b = " ".join(f"Owls of kind {i} sleep in the day in trees." for i in range(6))
    text = f"{long_a}\n== Food ==\nOwls eat mice and insects.\n== Life ==\n{long_b}"
    rows, stats = process_batch([Article("8", "Owl", text, PLAIN)], PassageConfig(), None)
    assert [(r["section"], r["n_words"]) for r in rows] == [("", 65), ("Life", 60)]
    assert rows[0]["text"].endswith("in the woods. Owls eat mice and insects.")
    # a short section cut off from its neighbours by a dropped sentence is counted, in words
    text = f"{long_a} A lead-in to nothing:\n== Food ==\nOwls eat mice and insects. The formula_1 is a formula."
    rows, stats = process_batch([Article("9", "Owl", text, WIKITEXT)], PassageConfig(), None)
    assert [r["n_words"] for r in rows] == [60]
    assert stats.prose_dropped["lead_in"] == 4 and stats.prose_dropped["placeholder"] == 5
    assert stats.prose_dropped["short_text"] == 5 and stats["prose_words"] == 60 + 4 + 5 + 5


def test_wikiextractor_placeholders_and_stray_lines_never_reach_a_passage(tmp_path):
    from classit_data.wiki.readers.extractor import read_wikiextractor

    articles = list(read_wikiextractor(WIKI / "real_defects_wikiextractor"))
    rows, stats = process_batch(articles, PassageConfig(), None)
    assert {(r["title"], r["section"]) for r in rows} == {("Albedo", "Early history"), ("Algeria", "")}
    for row in rows:
        assert not BROKEN.search(row["text"]), row["text"]
    assert "Algeria, officially the People's Democratic Republic of Algeria, is a country" in rows[1]["text"]
    assert "The philosopher Bertrand Russell argued that" in rows[2]["text"]
    assert stats.prose_dropped["placeholder"] == 18 and stats.prose_dropped["lost_words"] == 14


def test_a_paragraph_starting_in_lowercase_is_dropped_unless_it_starts_with_a_name():
    text = (
        "argued that every advance of science begins with an attack on an older doctrine of some kind.\n\n"
        "de Gaulle was a French general who led the Free French Forces during the Second World War.\n\n"
        "iPhone is a line of phones made by Apple that was first sold in the year 2007 in America."
    )
    rows, stats = process_batch(
        [Article("5", "Mix", text, WIKITEXT)], PassageConfig(min_words=10, min_article_words=10)
    )
    assert [r["text"].split()[0] for r in rows] == ["de"]
    assert rows[0]["text"].endswith("in America.")
    assert stats.prose_dropped["broken_sentence"] == 17


#: pieces of every defect the sentence scan looks for, and of prose around them
_DEFECT_PIECES = [
    "\x03",
    "{{",
    "}}",
    "[[",
    "]]",
    "{|",
    "|}",
    "|",
    "<br>",
    "</b >",
    "<!--",
    "-->",
    "http://",
    "https://x",
    "formula_3",
    "codice_12",
    "c.",
    "c. 1900",
    "etc.",
    "&c.",
    ",",
    ";",
    ":",
    ")",
    "]",
    "}",
    "<",
    "a",
    "The",
    " ",
    "1900",
    "_",
    "h",
    "ttp",
]


def _passes_what_the_scan_flags(sentence: str) -> None:
    if _SUSPECT.search(sentence):
        assert may_be_suspect(sentence), sentence


@pytest.mark.parametrize("piece", _DEFECT_PIECES)
def test_the_cheap_defect_test_passes_each_defect_the_scan_flags(piece):
    """``may_be_suspect`` only skips the scan: whatever the scan would flag, it lets through."""
    for sentence in (piece, f"{piece} it rained.", f"It rained {piece} all day.", f"It rained {piece}"):
        _passes_what_the_scan_flags(sentence)


@given(st.lists(st.sampled_from(_DEFECT_PIECES), max_size=12).map("".join))
def test_the_cheap_defect_test_passes_every_mix_the_scan_flags(sentence):
    _passes_what_the_scan_flags(sentence)


def test_the_cheap_defect_test_skips_plain_prose():
    assert not may_be_suspect("The river (about 40 km long) flows into the sea near Hull, a port city.")
    assert may_be_suspect("It was built c. 1900 by the Smith & Co. firm.")
