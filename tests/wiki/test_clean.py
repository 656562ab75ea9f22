"""Cleaning: wikitext and plain text become sections of prose; what is left out is counted."""

from __future__ import annotations

import json
import re

from classit_data.wiki.clean import clean_plain, clean_wikitext

SENTINEL = re.compile(r"[A-Z]+WORD")


def _prose(wikitext: str) -> str:
    clean = clean_wikitext(wikitext)
    return "\n".join(p for _, paras in clean.sections for p in paras)


def test_nested_templates_and_refs_with_templates_are_dropped():
    text = ("{{Infobox|a={{b|{{c|INFOBOXWORD}}}}}}Paris is a city.<ref>{{cite web|title={{nowrap|REFWORD}}}}</ref>"
            " It is in France.<ref name=x/> It is old.<ref name=\"y\">REFWORD</ref>")
    assert _prose(text) == "Paris is a city. It is in France. It is old."


def test_file_links_with_nested_caption_links_are_dropped():
    text = ("[[File:Cat.jpg|thumb|left|A CAPTIONWORD with [[dog|a LINKWORD]] and [[cat]]s]]Cats are small animals "
            "that many people keep. [[Image:X.png|200px]]They sleep a lot.")
    assert _prose(text) == "Cats are small animals that many people keep. They sleep a lot."


def test_links_become_their_text_and_hidden_links_vanish():
    text = ("The [[river|rivers]] of [[France]] flow to the [[Atlantic Ocean]]s and the [[:fr:Seine|Seine]] is one, "
            "see [[wikt:estuary|estuaries]] and [[#History|history]]. [[Category:Rivers]][[de:Fluss]]")
    assert _prose(text) == ("The rivers of France flow to the Atlantic Oceans and the Seine is one, "
                            "see estuaries and history.")


def test_tables_galleries_comments_magic_words_and_entities():
    text = ('Rome is the capital of Italy.<!-- COMMENTWORD --> __NOTOC__ It has about&nbsp;3 million people.\n'
            '{| class="wikitable"\n! TABLEWORD !! x\n|-\n| TABLEWORD || 1\n|}\n'
            "<gallery>\nA.jpg|GALLERYWORD\n</gallery>\nIt is on the river [http://example.org Tiber] and "
            "http://example.org/bare has seven hills.")
    prose = _prose(text)
    assert not SENTINEL.search(prose)
    assert "Rome is the capital of Italy. It has about 3 million people." in prose
    assert "It is on the river Tiber and has seven hills." in prose


def test_headings_split_sections_and_boilerplate_sections_are_left_out():
    text = ("Lead text is here and it is long enough.\n== History ==\nThe history part is here.\n"
            "=== Early ''years'' ===\nEarly years are here for sure.\n== Other websites ==\nOTHERWORD is a site.\n"
            "== References ==\n{{reflist}}")
    clean = clean_wikitext(text)
    assert [h for h, _ in clean.sections] == ["", "History", "Early years"]
    assert clean.boilerplate_sections == 2
    assert "OTHERWORD" not in json.dumps(clean.sections)


def test_lists_and_caption_fragments_are_counted_not_kept():
    text = ("Bees make honey and live in big groups.\n* LISTWORD one item\n# LISTWORD two\n: LISTWORD indent\n"
            "A caption\n\nBees can sting people.")
    clean = clean_wikitext(text)
    assert clean.sections[0][1] == ["Bees make honey and live in big groups.", "Bees can sting people."]
    assert clean.list_words == 7
    assert clean.fragment_words == 2


def test_inline_templates_that_stand_for_words_are_kept():
    text = ("Ada (born {{birth date|1815|12|10}}) ran {{convert|5|km|mi}} to {{lang|fr|Paris}} with "
            "{{nowrap|her friend}}.{{citation needed|date=May 2020}} The town had {{formatnum:12345}} people "
            "and is {{convert|5|to|10|km|abbr=on}} wide{{snd}}it is small.")
    assert _prose(text) == ("Ada (born 10 December 1815) ran 5 km to Paris with her friend. The town had 12345 "
                            "people and is 5 to 10 km wide – it is small.")


def test_empty_parentheses_left_by_templates_are_removed():
    assert _prose("Paris ({{IPA|paʁi}}; {{lang-fr|}}) is a city in France.") == "Paris is a city in France."


def test_plain_text_headings_and_lists():
    clean = clean_plain("Owls hunt at night. They have big eyes.\n\nFood\n\nOwls eat mice and insects.\n"
                        "Mice\nInsects\n== Life ==\nOwls live for ten years or more.")
    assert [(h, ps) for h, ps in clean.sections] == [
        ("", ["Owls hunt at night. They have big eyes."]),
        ("Food", ["Owls eat mice and insects."]),
        ("Life", ["Owls live for ten years or more."]),
    ]
    assert clean.list_words == 2
