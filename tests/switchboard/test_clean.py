"""Markup cleaning (``switchboard.clean``): every format's markup goes, plain text stays, the batch path agrees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classit_data.switchboard.clean import clean_batch, clean_text
from tests.helpers import FIXTURES

FIX = FIXTURES / "switchboard"

CASES = [
    # SWDA disfluency markup: braces and repair brackets keep their words, slash units go
    (
        "{D Well, } {F um, } [ I wouldn't, + {F uh, } I definitely wouldn't ] dispute that, / [ it, + it's ] mine. /",
        "Well, um, I wouldn't, uh, I definitely wouldn't dispute that, it, it's mine.",
    ),
    (
        "{F Oh, } {D well, } {F uh, } is it, {F uh, } -/ how old is the dog? /",
        "Oh, well, uh, is it, uh, how old is the dog?",
    ),
    (
        "[ [ I think, + I think, ] + I really think ] it's the most important thing --",
        "I think, I think, I really think it's the most important thing",
    ),
    ("-- you can do for your kids", "you can do for your kids"),
    ("It was -- I mean -- good.", "It was I mean good."),
    ("it, it - she's", "it, it she's"),
    # non-verbal events, uncertain transcription, overlap marks
    ("Oh, sure <laughter>.", "Oh, sure."),
    ("<Children> Uh-huh.", "Uh-huh."),
    ("you know, <laughter>, yeah", "you know, yeah"),
    ("so my dress code is very, very (( )).", "so my dress code is very, very."),
    ("it was ((Tuesday)) I think", "it was Tuesday I think"),
    ("#My kids# went there. # Yeah. #", "My kids went there. Yeah."),
    # partial words, in SWDA and in ISIP spelling; hyphenated words stay
    ("And they, they turned out fi-, fine.", "And they, they turned out fine."),
    ("t-, whether my dentist or", "whether my dentist or"),
    ("one of the most intelligent dogs uh a[round]- around", "one of the most intelligent dogs uh around"),
    ("-[th]at's right, it's twenty-five", "right, it's twenty-five"),
    ("she has the [cha[pe]-/shape] the shape", "she has the shape the shape"),
    ("Uh-huh. Bye-bye, Tex-Mex.", "Uh-huh. Bye-bye, Tex-Mex."),
    # ISIP events, laughed words, coinages, variants
    ("[noise] okay_1 [laughter-yeah] right [vocalized-noise]", "okay yeah right"),
    ("i call it a uh a {chowpherd}", "i call it a uh a chowpherd"),
    # whitespace and punctuation left beside removed markup
    ("Chowperd .", "Chowperd."),
    ("  two   spaces  ", "two spaces"),
    ("Uh, ,, well", "Uh, well"),
    # an uncertain-transcription bracket opened or closed in another utterance: the orphan goes, "(A)" stays
    ("was very pleasant)).", "was very pleasant."),
    ("More money )),", "More money,"),
    ("(( I think it was", "I think it was"),
    ("we should find (A) a place", "we should find (A) a place"),
    ("it ((was)) fine) really", "it was fine really"),
    # removed markup leaves one mark, not two; an ellipsis stays one
    ("Do you think most states have that / {C or? } <child>. -/", "Do you think most states have that or?"),
    ("at the end I had to be too serious. / (( )) .", "at the end I had to be too serious."),
    ("and then the new place leaked again. .", "and then the new place leaked again."),
    ("you know. I-, i-, number one", "you know. number one"),
    ("A-cha! .", "A-cha!"),
    ("in the background Where at? . someone", "in the background Where at? someone"),
    ("the not so... , and", "the not so... and"),
    ("so . . .", "so..."),
]


@pytest.mark.parametrize(("raw", "clean"), CASES)
def test_markup_is_cleaned(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    "raw", ["<laughter>.", "[silence]", "[noise] [laughter]", "(( ))", "", "  ", "-/ /", "# #", "wh-,", "MUMBLE-"]
)
def test_non_verbal_utterances_become_empty(raw):
    assert clean_text(raw) == ""


def test_plain_text_is_returned_unchanged():
    line = "Well, of course, it's, you know, one of the last things you'd want to do."
    assert clean_text(line) == line


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Uh, first, um, I need to know, uh, how do you feel?", "First, I need to know, how do you feel?"),
        ("{F Oh, } {D well, } {F uh, } is it, {F uh, } how old is the dog? /", "Well, is it, how old is the dog?"),
        ("uh-huh, um, yes", "uh-huh, yes"),  # a backchannel is not a filler
        (
            "the umbrella, hmm, and the erm, errand",
            "the umbrella, and the errand",
        ),  # words that start like fillers stay
    ],
)
def test_drop_fillers(raw, clean):
    assert clean_text(raw, drop_fillers=True) == clean


def test_fillers_are_kept_by_default():
    assert clean_text("Uh, first, um, I need") == "Uh, first, um, I need"
    assert clean_text("Um.", drop_fillers=True) == ""


def fixture_texts() -> list[str]:
    """The text part of every line of the BabyLM, SWDA pipe, ISIP and NLTK fixtures (markup left in)."""
    return [
        line.split("\t", 1)[-1].split("|")[1] if "|" in line else line.split("\t", 1)[-1]
        for f in sorted(FIX.rglob("*"))
        if f.is_file() and f.suffix in (".train", ".txt", "")
        for line in f.read_text().splitlines()
    ]


@pytest.mark.parametrize("drop_fillers", [False, True])
def test_clean_batch_equals_clean_text_on_fixture_and_markup_lines(drop_fillers):
    texts = fixture_texts() + [raw for raw, _ in CASES] + ["plain text here", "a\ttab", "end.,", "x -y", "'", "?"]
    assert clean_batch(texts, drop_fillers) == [clean_text(t, drop_fillers) for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="aUh m-,. ?!{}[]<>()#/+_\t'F", max_size=25), min_size=16, max_size=40), st.booleans())
def test_clean_batch_equals_clean_text_on_random_markup(texts, drop_fillers):
    assert clean_batch(texts, drop_fillers) == [clean_text(t, drop_fillers) for t in texts]
