"""Cleaning: wikitext and plain text become sections of prose; what is left out is counted."""

from __future__ import annotations

import json
import re
import sys
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classit_data.wiki import clean
from classit_data.wiki.clean import clean_plain, clean_wikitext
from classit_data.wiki.readers.dump import read_dump
from classit_data.wiki.templates import LOST
from tests.helpers import wiki_dump

SENTINEL = re.compile(r"[A-Z]+WORD")


def _prose(wikitext: str) -> str:
    clean = clean_wikitext(wikitext)
    return "\n".join(p for _, paras in clean.sections for p in paras)


def test_nested_templates_and_refs_with_templates_are_dropped():
    text = (
        "{{Infobox|a={{b|{{c|INFOBOXWORD}}}}}}Paris is a city.<ref>{{cite web|title={{nowrap|REFWORD}}}}</ref>"
        ' It is in France.<ref name=x/> It is old.<ref name="y">REFWORD</ref>'
    )
    assert _prose(text) == "Paris is a city. It is in France. It is old."


def test_file_links_with_nested_caption_links_are_dropped():
    text = (
        "[[File:Cat.jpg|thumb|left|A CAPTIONWORD with [[dog|a LINKWORD]] and [[cat]]s]]Cats are small animals "
        "that many people keep. [[Image:X.png|200px]]They sleep a lot."
    )
    assert _prose(text) == "Cats are small animals that many people keep. They sleep a lot."


def test_links_become_their_text_and_hidden_links_vanish():
    text = (
        "The [[river|rivers]] of [[France]] flow to the [[Atlantic Ocean]]s and the [[:fr:Seine|Seine]] is one, "
        "see [[wikt:estuary|estuaries]] and [[#History|history]]. [[Category:Rivers]][[de:Fluss]]"
    )
    assert _prose(text) == (
        "The rivers of France flow to the Atlantic Oceans and the Seine is one, see estuaries and history."
    )


def test_tables_galleries_comments_magic_words_and_entities():
    text = (
        "Rome is the capital of Italy.<!-- COMMENTWORD --> __NOTOC__ It has about&nbsp;3 million people.\n"
        '{| class="wikitable"\n! TABLEWORD !! x\n|-\n| TABLEWORD || 1\n|}\n'
        "<gallery>\nA.jpg|GALLERYWORD\n</gallery>\nIt is on the river [http://example.org Tiber] and "
        "http://example.org/bare has seven hills."
    )
    prose = _prose(text)
    assert not SENTINEL.search(prose)
    assert "Rome is the capital of Italy. It has about 3 million people." in prose
    assert "It is on the river Tiber and has seven hills." in prose


def test_headings_split_sections_and_boilerplate_sections_are_left_out():
    text = (
        "Lead text is here and it is long enough.\n== History ==\nThe history part is here.\n"
        "=== Early ''years'' ===\nEarly years are here for sure.\n== Other websites ==\nOTHERWORD is a site.\n"
        "== References ==\n{{reflist}}"
    )
    clean = clean_wikitext(text)
    assert [h for h, _ in clean.sections] == ["", "History", "Early years"]
    assert clean.boilerplate_sections == 2
    assert "OTHERWORD" not in json.dumps(clean.sections)


def test_lists_and_caption_fragments_are_counted_not_kept():
    text = (
        "Bees make honey and live in big groups.\n* LISTWORD one item\n# LISTWORD two\n: LISTWORD indent\n"
        "A caption\n\nBees can sting people."
    )
    clean = clean_wikitext(text)
    assert clean.sections[0][1] == ["Bees make honey and live in big groups.", "Bees can sting people."]
    assert clean.list_words == 7
    assert clean.fragment_words == 2


def test_inline_templates_that_stand_for_words_are_kept():
    text = (
        "Ada (born {{birth date|1815|12|10}}) ran {{convert|5|km|mi}} to {{lang|fr|Paris}} with "
        "{{nowrap|her friend}}.{{citation needed|date=May 2020}} The town had {{formatnum:12345}} people "
        "and is {{convert|5|to|10|km|abbr=on}} wide{{snd}}it is small."
    )
    assert _prose(text) == (
        "Ada (born 10 December 1815) ran 5 km to Paris with her friend. The town had 12345 "
        "people and is 5 to 10 km wide – it is small."
    )


def test_empty_parentheses_left_by_templates_are_removed():
    assert _prose("Paris ({{IPA|paʁi}}; {{lang-fr|}}) is a city in France.") == "Paris is a city in France."


def test_plain_text_headings_and_lists():
    clean = clean_plain(
        "Owls hunt at night. They have big eyes.\n\nFood\n\nOwls eat mice and insects.\n"
        "Mice\nInsects\n== Life ==\nOwls live for ten years or more."
    )
    assert [(h, ps) for h, ps in clean.sections] == [
        ("", ["Owls hunt at night. They have big eyes."]),
        ("Food", ["Owls eat mice and insects."]),
        ("Life", ["Owls live for ten years or more."]),
    ]
    assert clean.list_words == 2


def test_html_entities_left_as_text_are_decoded():
    """Entities inside link targets and plain text are not parsed as entities by the wikitext parser."""
    text = (
        "Apple sold [[OS&nbsp;X|Unix-based OS&nbsp;X]] and [[Édouard&nbsp;Manet]] liked the "
        "Kruskal&ndash;Wallis test &amp; more."
    )
    assert _prose(text) == "Apple sold Unix-based OS X and Édouard Manet liked the Kruskal–Wallis test & more."
    clean = clean_plain("The Kruskal&ndash;Wallis test compares the medians of several groups of numbers.")
    assert clean.sections[0][1] == ["The Kruskal–Wallis test compares the medians of several groups of numbers."]


def test_templates_that_stand_for_words_are_rendered():
    text = (
        "Of the population, 15% are natives. {{As of|2011}}, half were young. It grew {{as of|2013|4|lc=y}}. "
        "He lived ({{circa|1737}}–1812) and painted ''Falls'' ({{circa|1766}}) and ({{c.|1700|1710}}). "
        "A {{frac|1|2}} cup, {{frac|3|1|4}} miles, {{transl|ar|DIN|al-Jazāʼir}}, {{nowrap|10 km}}, "
        "{{ISBN|978-0-00-000000-0}}. It covers 5 km{{sup|2}} of {{flag|France}} and {{sortname|Jean|Valjean}}."
    )
    assert _prose(text) == (
        "Of the population, 15% are natives. As of 2011, half were young. It grew as of April 2013. "
        "He lived (c. 1737–1812) and painted Falls (c. 1766) and (c. 1700 – c. 1710). "
        "A 1/2 cup, 3 1/4 miles, al-Jazāʼir, 10 km, ISBN 978-0-00-000000-0. It covers 5 km2 of France and "
        "Jean Valjean."
    )


def test_pronunciations_leave_no_broken_parenthesis():
    """A parenthesis keeps only its parts that lost nothing: "(, occasionally)" goes, the dates stay."""
    asphalt = (
        "'''Asphalt''' ({{IPAc-en|ˈ|æ|s|f|æ|l|t}}, occasionally {{IPAc-en|ˈ|æ|s|f|ɔː|l|t}}), also known as "
        "bitumen, is a black liquid."
    )
    assert _prose(asphalt) == "Asphalt, also known as bitumen, is a black liquid."
    einstein = (
        "'''Albert Einstein''' ({{IPAc-en|ˈ|aɪ|n|s|t|aɪ|n}};<ref>{{cite book|title=X}}</ref> "
        "{{IPA-de|ˈalbɛɐ̯t ˈʔaɪnʃtaɪn|lang}}; 14 March 1879 – 18 April 1955) was a physicist."
    )
    assert _prose(einstein) == "Albert Einstein (14 March 1879 – 18 April 1955) was a physicist."


def test_a_removal_inside_a_sentence_is_marked_for_the_sentence_step():
    """Words lost mid-sentence stay marked (LOST) for the sentence to be dropped; losses between sentences,
    at a paragraph's ends, or in a parenthesis are repaired."""
    prose = _prose(
        "{{Infobox painting|title=X}}'''Falls''' is a picture.{{Unknown template}} It shows the falls "
        "{{circa}}. Either <math>a</math> or <math>b</math> works. {{Navbox}}"
    )
    assert prose == f"Falls is a picture. It shows the falls{LOST}. Either{LOST} or{LOST} works."
    # a paragraph that ends on a loss without a sentence end lost the end of its last sentence
    assert _prose("The painting is now in the permanent collection of the art museum of {{Unknown|x}}") == (
        f"The painting is now in the permanent collection of the art museum of{LOST}"
    )


def test_a_quotation_removed_after_its_lead_in_ends_the_paragraph():
    clean = clean_wikitext(
        "He left Germany in 1933 and never went back. He wrote to a friend:\n"
        "{{quote|Imagination is more important than knowledge.}}\n"
        "He moved to the United States and worked at Princeton."
    )
    assert clean.sections[0][1] == [
        "He left Germany in 1933 and never went back. He wrote to a friend:",
        "He moved to the United States and worked at Princeton.",
    ]


def test_plain_text_keeps_the_signs_of_removed_words():
    """wikiextractor removed templates before we got the text: "(, ,", "(; )" and " , " are what is left."""
    clean = clean_plain(
        "Algeria (; , ; ), officially the Republic of Algeria (, , abbreviated as RADP), is a "
        "country. Wages rose to $10.10. , Algeria has the sixth highest poverty rate. "
        "Einstein (; 14 March 1879 – 18 April 1955) was a physicist."
    )
    assert clean.sections[0][1] == [
        f"Algeria, officially the Republic of Algeria, is a country. Wages rose to $10.10. {LOST}, Algeria has the "
        "sixth highest poverty rate. Einstein (14 March 1879 – 18 April 1955) was a physicist."
    ]


def test_plain_text_headings_must_look_like_headings():
    """Lead-ins whose list was removed, formula and markup leftovers and cut sentences are not headings."""
    prose = "Albedo is the measure of the diffuse reflection of the light of the sun."
    lines = [
        "formula_7,",
        "]]",
        "Eric Foner argues that",
        "instead of",
        "According to Clifford Geertz,",
        "Andorra consists of seven parishes:",
        "The most important temples are",
        "Early history",
        "Climate.",
    ]
    clean = clean_plain("\n\n".join(f"{line}\n\n{prose}" for line in lines))
    assert [h for h, _ in clean.sections] == ["", "Early history", "Climate"]
    assert clean.list_words == sum(len(line.split()) for line in lines[:7])


def test_plain_text_line_that_continues_a_sentence_is_joined():
    clean = clean_plain(
        "During the 20th century his work was criticised. The philosopher Bertrand Russell\n"
        "argued that every advance began with an attack on his doctrine."
    )
    assert clean.sections[0][1] == [
        "During the 20th century his work was criticised. The philosopher Bertrand "
        "Russell argued that every advance began with an attack on his doctrine."
    ]


def test_control_characters_used_as_markers_are_removed_from_the_input():
    text = f"Owls{LOST} hunt at night\x04 and sleep\x01 in the\x02 day time."
    assert clean_plain(text).sections[0][1] == ["Owls hunt at night and sleep in the day time."]
    assert _prose(text) == "Owls hunt at night and sleep in the day time."


def test_the_space_is_the_only_printable_whitespace():
    """What the shortcuts of ``tidy`` rest on: a printable text has no whitespace but spaces."""
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and c.isprintable()] == [" "]


def _without_shortcuts():
    """``tidy`` with every step run in full: whitespace by regular expression, the space check always true."""
    return mock.patch.multiple(
        clean,
        _single_spaces=lambda text: re.sub(r"\s+", " ", text),
        _trimmed=lambda text: " ".join(text.split()),
        _SPACE_BEFORE_SIGN=re.compile(""),
    )


@pytest.mark.parametrize("where", ["sample", "real export"])
def test_real_pages_clean_the_same_without_the_shortcuts(where, request):
    """Wikitext, and the same pages read as plain text (raw lines, much whitespace), give the same sections,
    counts and words of prose with the shortcuts as without them."""
    dump = wiki_dump(where, request)
    texts = [article.text for article in read_dump(dump) if not article.skip]
    fast = [(clean_wikitext(t), clean_plain(t)) for t in texts]
    with _without_shortcuts():
        full = [(clean_wikitext(t), clean_plain(t)) for t in texts]
    assert len(texts) > 20 and fast == full
    for cleaned in (c for pair in fast for c in pair):
        assert cleaned.prose_words == sum(len(p.split()) for _, ps in cleaned.sections for p in ps)


def test_spaces_inside_brackets_and_before_punctuation_are_removed_whatever_the_whitespace():
    """``tidy`` looks for ``"( "`` and ``" ,"`` only once other whitespace has become single spaces."""
    assert clean.tidy("born (\t1950 ) in [\n Paris ] \u00a0, France .") == "born (1950) in [Paris], France."
    assert clean.tidy("plain words, nothing to mend.") == "plain words, nothing to mend."


@given(st.text(alphabet=st.sampled_from("ab .!?…\"'’”)]\n"), max_size=12).map(str.strip))
def test_a_paragraph_ends_like_a_sentence_as_the_pattern_says(text):
    """A paragraph or line (stripped) ends like a sentence where a sentence end, then only closing quotes and
    brackets, ends it."""
    assert clean._terminal(text) == bool(re.search(r"[.!?][\"'’”)\]]*$", text))
