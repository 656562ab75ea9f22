"""Sentence splitting: Punkt with parameters shipped as plain JSON."""

from __future__ import annotations

import json

import pytest

from classit_data.core.errors import InputError
from classit_data.wiki.sentences import (
    PUNKT_PARAMS, punkt_parameters_from_json, punkt_parameters_to_json, sentence_splitter, split_sentences,
)


def test_punkt_keeps_abbreviations_inside_sentences():
    text = "Dr. Smith moved to the U.S. in Jan. 1950. He met Mr. Jones in St. Louis. It rained! Did it stop?"
    assert split_sentences(text) == [
        "Dr. Smith moved to the U.S. in Jan. 1950.", "He met Mr. Jones in St. Louis.", "It rained!", "Did it stop?"]


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
    text = ("A few African toads (Nectophrynoides spp.) are viviparous. In 1954 the court ruled in Brown v. Board "
            "of Education that schools must admit all children. Par. 2 of the Basic Law protects life. See fig. 3 "
            "and sec. 4 of the report. The river is nr. the town.")
    assert split_sentences(text) == [
        "A few African toads (Nectophrynoides spp.) are viviparous.",
        "In 1954 the court ruled in Brown v. Board of Education that schools must admit all children.",
        "Par. 2 of the Basic Law protects life.", "See fig. 3 and sec. 4 of the report.", "The river is nr. the town."]


def test_a_sentence_does_not_start_in_lowercase():
    """An abbreviation Punkt does not know still cuts a sentence; the lowercase rest is joined back."""
    text = "The parcel weighs 3 lbs. and costs 5 dols. in all. It is green."
    assert split_sentences(text) == ["The parcel weighs 3 lbs. and costs 5 dols. in all.", "It is green."]
