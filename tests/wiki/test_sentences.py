"""Sentence splitting: Punkt with parameters shipped as plain JSON."""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classit_data.core.errors import InputError
from classit_data.wiki import sentences
from classit_data.wiki.clean import clean_wikitext
from classit_data.wiki.readers.dump import read_dump
from classit_data.wiki.sentences import (
    PUNKT_PARAMS,
    punkt,
    punkt_parameters_from_json,
    punkt_parameters_to_json,
    sentence_splitter,
    split_sentences,
)
from tests.helpers import wiki_dump


def test_punkt_keeps_abbreviations_inside_sentences():
    text = "Dr. Smith moved to the U.S. in Jan. 1950. He met Mr. Jones in St. Louis. It rained! Did it stop?"
    assert split_sentences(text) == [
        "Dr. Smith moved to the U.S. in Jan. 1950.",
        "He met Mr. Jones in St. Louis.",
        "It rained!",
        "Did it stop?",
    ]


def test_punkt_parameters_are_plain_json():
    data = json.loads(PUNKT_PARAMS.read_text(encoding="utf-8"))
    assert {"abbrev_types", "collocations", "sent_starters", "ortho_context"} <= set(data)
    assert "e.g" in data["abbrev_types"] and "days" not in data["abbrev_types"]
    # the JSON round-trips through NLTK's parameters unchanged
    assert punkt_parameters_to_json(punkt_parameters_from_json(data)) == data


def test_a_bad_parameter_file_is_an_input_error(tmp_path):
    bad = tmp_path / "punkt.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read Punkt parameters"):
        sentence_splitter(str(bad))


def test_abbreviations_met_on_real_pages_do_not_end_sentences():
    text = (
        "A few African toads (Nectophrynoides spp.) are viviparous. In 1954 the court ruled in Brown v. Board "
        "of Education that schools must admit all children. Par. 2 of the Basic Law protects life. See fig. 3 "
        "and sec. 4 of the report. The river is nr. the town."
    )
    assert split_sentences(text) == [
        "A few African toads (Nectophrynoides spp.) are viviparous.",
        "In 1954 the court ruled in Brown v. Board of Education that schools must admit all children.",
        "Par. 2 of the Basic Law protects life.",
        "See fig. 3 and sec. 4 of the report.",
        "The river is nr. the town.",
    ]


def test_a_sentence_does_not_start_in_lowercase():
    """An abbreviation Punkt does not know still cuts a sentence; the lowercase rest is joined back."""
    text = "The parcel weighs 3 lbs. and costs 5 dols. in all. It is green."
    assert split_sentences(text) == ["The parcel weighs 3 lbs. and costs 5 dols. in all.", "It is green."]


def test_a_sentence_ends_after_its_closing_curly_quote():
    """NLTK 3.10.2 and later move a closing curly or angle quote to the sentence it closes (the pin in
    pyproject.toml): earlier releases keep the two sentences as one."""
    text = "The sign read “Closed for winter.” Visitors came back in May. She called it «the end.» Nobody agreed."
    assert split_sentences(text) == [
        "The sign read “Closed for winter.”",
        "Visitors came back in May.",
        "She called it «the end.»",
        "Nobody agreed.",
    ]


def _nltk_as_shipped():
    """Punkt exactly as NLTK builds it (its patterns under the ``regex`` engine), with our parameters."""
    params = punkt_parameters_from_json(json.loads(PUNKT_PARAMS.read_text(encoding="utf-8")))
    return punkt().PunktSentenceTokenizer(params)


#: text made of what Punkt decides on: words, initials, numbers, sentence ends, quotes, brackets, dashes
_PUNKT_TEXT = st.lists(
    st.sampled_from(
        [
            "The",
            "cat",
            "Dr.",
            "U.S.",
            "e.g.",
            "J.",
            "1950.",
            "3.5",
            "no.",
            "end.",
            "Why?",
            "Yes!",
            "...",
            "--",
            "(",
            ")",
            '"',
            "“",
            "”",
            "‘",
            "’",
            "«",
            "»",
            "[",
            "]",
            ";",
            ":",
            ",",
            "spp.",
            "A",
            "b.",
            "iPhone",
            "1.",
            "II.",
        ]
    ),
    min_size=1,
    max_size=40,
).map(lambda words: " ".join(words))


@given(_PUNKT_TEXT, st.sampled_from([" ", "", "\n"]))
def test_sentences_are_those_nltk_finds(text, joiner):
    """The splitter compiles NLTK's own patterns with ``re``: it must cut exactly where NLTK's Punkt cuts."""
    text = text.replace(" ", joiner, 3)  # some words glued or on a new line
    assert sentence_splitter().tokenize(text) == _nltk_as_shipped().tokenize(text)


def _paragraphs(dump) -> list[str]:
    return [
        p
        for article in read_dump(dump)
        if not article.skip
        for _, paragraphs in clean_wikitext(article.text).sections
        for p in paragraphs
    ]


@pytest.mark.parametrize("where", ["sample", "real export"])
def test_every_paragraph_of_real_pages_splits_as_nltk_splits_it(where, request):
    dump = wiki_dump(where, request)
    paragraphs = _paragraphs(dump)
    assert len(paragraphs) > 50
    nltk_punkt = _nltk_as_shipped()
    assert [sentence_splitter().tokenize(p) for p in paragraphs] == [nltk_punkt.tokenize(p) for p in paragraphs]


def _split_by_punkt_alone(text: str) -> list[str]:
    """``split_sentences`` with Punkt run on every paragraph (its shortcut never taken)."""
    with mock.patch.object(sentences, "_period_context", lambda: re.compile("")):
        return split_sentences(text)


@given(_PUNKT_TEXT, st.sampled_from([" ", "", "\n", "  \n"]))
def test_a_paragraph_without_a_cut_comes_back_as_punkt_returns_it(text, joiner):
    """The shortcut for a paragraph where Punkt has no place to cut gives what Punkt gives, with or without a
    place to cut, with whitespace at either end."""
    for case in (text, joiner + text.replace(" ", joiner, 3) + joiner, text.replace(".", "").replace("!", "")):
        assert split_sentences(case) == _split_by_punkt_alone(case)


@pytest.mark.parametrize("where", ["sample", "real export"])
def test_real_paragraphs_split_the_same_with_and_without_the_shortcut(where, request):
    dump = wiki_dump(where, request)
    paragraphs = _paragraphs(dump)
    uncut = [p for p in paragraphs if sentences._period_context().search(p) is None]
    assert uncut  # the shortcut is taken on real pages
    assert [split_sentences(p) for p in paragraphs] == [_split_by_punkt_alone(p) for p in paragraphs]


def _contexts(paragraphs: list[str]) -> list[str]:
    """Every context NLTK's Punkt decides on while it splits the paragraphs (each candidate sentence end)."""
    nltk_punkt = _nltk_as_shipped()
    seen: list[str] = []
    decide = nltk_punkt.text_contains_sentbreak

    def record(context: str) -> bool:
        seen.append(context)
        return decide(context)

    with mock.patch.object(nltk_punkt, "text_contains_sentbreak", record):
        for p in paragraphs:
            nltk_punkt.tokenize(p)
    return seen


@pytest.mark.parametrize("where", ["sample", "real export"])
def test_plain_contexts_of_real_pages_are_decided_as_nltk_decides(where, request):
    """The contexts decided without Punkt's annotation are ones where Punkt finds a break; every context, plain
    or not, gets the decision NLTK's Punkt gives."""
    contexts = _contexts(_paragraphs(wiki_dump(where, request)))
    nltk_punkt, splitter = _nltk_as_shipped(), sentence_splitter()
    plain = [c for c in contexts if splitter.plain.certain_break(c)]
    assert len(plain) > len(contexts) / 2  # most contexts are plain on real pages
    assert all(nltk_punkt.text_contains_sentbreak(c) for c in plain)
    assert [splitter.text_contains_sentbreak(c) for c in contexts] == [
        nltk_punkt.text_contains_sentbreak(c) for c in contexts
    ]


#: pieces of a context: words (known abbreviations, the collocation "spring in", sentence starters), initials,
#: numbers (ASCII and other digits), hyphens, quotes, brackets, periods
_CONTEXT_PIECE = st.sampled_from(
    ["word", "Word", "spp", "fig", "u.s", "spring", "in", "The", "it", "J", "x", "1950", "3.5", "II", "-", "--"]
    + ["mid", "s2", "٣", "é", "ß", "İ", "²", "_", '"', "”", "'", ")", "(", "]", "}", ":", ",", ".", "..", "?", "!"]
)
_WHITESPACE = st.sampled_from([" ", "  ", "\n", "\t", "\xa0", " \n "])


@st.composite
def _punkt_contexts(draw) -> str:
    """A context as Punkt cuts one out: the word before a sentence end, the end, and what follows it."""
    word = "".join(draw(st.lists(_CONTEXT_PIECE, min_size=0, max_size=4)))
    end = draw(st.sampled_from([".", ".", ".", "?", "!"]))
    follow = draw(st.one_of(st.sampled_from(['"', ")", "”", "'", "]", ";", ":", "?"]), _WHITESPACE))
    if follow.isspace():
        follow += "".join(draw(st.lists(_CONTEXT_PIECE, min_size=1, max_size=3)))
    return word + end + follow


@given(st.one_of(_punkt_contexts(), st.text(alphabet=st.sampled_from("aZé-.\"')]} \n1?"), max_size=12)))
def test_generated_contexts_are_decided_as_punkt_decides(context):
    """The splitter's decision is the one Punkt's own ``text_contains_sentbreak`` makes with the same patterns."""
    splitter = sentence_splitter()
    punkt_decides = punkt().PunktSentenceTokenizer.text_contains_sentbreak
    assert splitter.text_contains_sentbreak(context) == punkt_decides(splitter, context)
