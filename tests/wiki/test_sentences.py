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
