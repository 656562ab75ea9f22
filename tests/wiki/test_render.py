"""Rendering wikitext: reading the parser's tokens writes what rendering the whole parse tree writes."""

from __future__ import annotations

from pathlib import Path

import mwparserfromhell
import pytest

from classit_data.wiki.readers.dump import read_dump
from classit_data.wiki.render import _render, render_wikitext
from tests.helpers import ROOT

#: wikitext where reading the tokens could go wrong: markup inside markup, constructs kept whole, broken markup
EDGE_WIKITEXT = [
    "'''Bold {{lang|fr|oui}}''' and ''italic [[Paris|the city]]''.",
    "[[File:X.jpg|thumb|A [[caption]] with {{convert|5|km}}]] Text after the file.",
    "[[Category:Foo]] [[:Category:Foo]] [[fr:Paris]] [[wikt:word]] [[wikt:word|shown]] [[Paris#History]] "
    "[[#Section]] [[ :Paris ]]",
    "[[{{x}}|text]] and [[a{{b}}c]] and [[Link with ''italic'' title]] and [[a|''b'' [[c]] d]]",
    "{| class=wikitable\n|-\n| {{flag|France}} || cell\n|}\nAfter the table.",
    '<br>a<br/>b<hr>c <span style="{{x}}">{{nowrap|kept}}</span> <div>{{cite web|x}}</div> <br></br>',
    "<math>x^2</math> and <code>y</code> and <ref>x</ref> <ref name=a/> <chem>H2O</chem> <sup>2</sup>",
    "{{{1|default}}} <!-- comment --> &nbsp;&amp;&#160;&#x41; text",
    "== Heading with {{lang|de|Wort}} and [[link]] ==\nText.\n=== {{cn}} [[File:a.png]] ===\nMore.",
    "* item {{x}}\n# numbered [[a|b]]\n; term : definition\n:: indented ''x''",
    "[http://example.com shown ''text''] and [http://example.com] and http://bare.example.com and "
    "[//example.org {{nowrap|kept}}]",
    "{{as of|2011}}, {{circa|1763}}, {{frac|1|2}}, {{IPAc-en|x}}, {{unknown template|a=1}}, {{cn}}, {{nbsp}}, "
    "{{Template:Nowrap|x}} {{formatnum:1234}} {{ #if: a | b }} {{convert|5}} {{lang}} {{sortname|A|B}}",
    "<small>small {{sup|2}}</small> <b>bold <i>both</i></b> <unclosed> text </orphan> <p>para</p>",
    "''unclosed italic\nnext line '''bold''' end",
    "<table><tr><td>x</td></tr></table> <gallery>\nFile:a.jpg|cap\n</gallery> <poem>line</poem>",
    "<nowiki>{{x}} [[y]]</nowiki> <pre>{{x}}</pre> <syntaxhighlight lang=c>int x;</syntaxhighlight>",
    "{{unclosed template and [[unclosed link and <b>unclosed tag {{a|{{b}}",
    "{{nowrap|{{cn}} [[a|b]] {{lang|fr|x}}}} {{lang|fr|{{nowrap|y}}}} {{transl|ar|DIN|z}}",
    "[[a]][[b|c]]''d''{{e}}<f>g</f>",
    "==Plain==\ntext\n== Spaced ==\n===Deeper=== \n==Uneven===\n= Top =\n== a &amp; b ==\n==''x''==\n== ==",
]


def _rendered_from_tokens(wikitext: str) -> str:
    out: list[str] = []
    render_wikitext(wikitext, out)
    return "".join(out)


def _rendered_from_tree(wikitext: str) -> str:
    out: list[str] = []
    _render(mwparserfromhell.parse(wikitext), out)
    return "".join(out)


@pytest.mark.parametrize("wikitext", EDGE_WIKITEXT)
def test_reading_the_tokens_writes_what_rendering_the_whole_tree_writes(wikitext):
    assert _rendered_from_tokens(wikitext) == _rendered_from_tree(wikitext)


def _articles_render_as_their_whole_tree(*dumps: Path) -> int:
    texts = [a.text for dump in dumps for a in read_dump(dump) if a.text]
    for text in texts:
        assert _rendered_from_tokens(text) == _rendered_from_tree(text)
    return len(texts)


def test_every_article_of_the_sample_renders_as_its_whole_tree():
    assert (
        _articles_render_as_their_whole_tree(
            ROOT / "samples" / "simplewiki_sample.xml.bz2", ROOT / "tests" / "fixtures" / "wiki" / "hard_cases.xml"
        )
        > 30
    )


def test_every_article_of_the_real_export_renders_as_its_whole_tree(corpora):
    assert _articles_render_as_their_whole_tree(corpora / "wiki_real" / "enwiki-special-export-20171220.xml.bz2") > 80
