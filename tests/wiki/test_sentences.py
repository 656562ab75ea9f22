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
