"""The converter over the real corpora in ../shared/corpora (skipped when they are absent)."""

from __future__ import annotations

import polars as pl
import pytest

from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.convert import convert_switchboard
from classit_data.switchboard.readers.detect import detect_format

pytestmark = pytest.mark.corpora


@pytest.fixture(scope="module")
def converted() -> dict:
    """Conversions made once for the module (the whole SWDA corpus takes seconds)."""
    return {}


@pytest.fixture
def swda_rows(corpora, converted, tmp_path_factory):
    if not (corpora / "swda").is_dir():
        pytest.skip("real SWDA pipe files not found")
    if "swda" not in converted:
        out = tmp_path_factory.mktemp("swda") / "swda.parquet"
        summary = convert_switchboard([corpora / "swda"], out, progress=False)
        converted["swda"] = summary, pl.read_parquet(out)
    return converted["swda"]


def test_swda_pipe_folder(corpora, swda_rows):
    summary, rows = swda_rows
    assert summary.conversations == 1155 and summary.utterances == 199_740
    assert summary.pairs == summary.turns - summary.conversations  # one pair per turn boundary
    assert 98_000 <= summary.pairs <= 99_800  # the corpus note: ~98,900 adjacent-turn pairs
    assert 38_000 <= summary.items <= 42_000  # ... ~40,000 with >= 3 words on both sides
    assert rows["doc_id"].n_unique() == 1155
    assert not rows["prompt"].str.contains(r"<|>|\{|\}|\[|\]|#|\(\(").any()
    assert not rows["reply"].str.contains(r"<|>|\{|\}|\[|\]|#|\(\(").any()


def test_babylm_file_matches_the_pipe_files_but_for_conversation_boundaries(corpora, swda_rows, tmp_path):
    src = corpora / "babylm" / "switchboard.train"
    assert detect_format(src) == "babylm"
    summary = convert_switchboard([src], tmp_path / "b.parquet", progress=False)
    rows = pl.read_parquet(tmp_path / "b.parquet")
    assert summary.conversations == 1 and summary.utterances == 199_740
    swda_summary, swda = swda_rows
    # the same words: only the pairing at the 1,154 hidden boundaries differs
    assert summary.words_in_turns == swda_summary.words_in_turns
    ours = set(zip(rows["prompt"], rows["reply"]))
    theirs = set(zip(swda["prompt"], swda["reply"]))
    assert len(ours & theirs) >= 0.95 * len(theirs)


@pytest.mark.parametrize("fmt", ["nltk-tagged", "nltk-transcript", "nltk-disfluency"])
def test_nltk_sample_zip(corpora, tmp_path, fmt):
    src = corpora / "nltk" / "switchboard.zip"
    summary = convert_switchboard([src], tmp_path / "n.jsonl", ConvertConfig(fmt=fmt), progress=False)
    rows = pl.read_ndjson(tmp_path / "n.jsonl")
    assert summary.conversations == 36
    assert 1_300 <= summary.items == rows.height
    text = pl.concat([rows["prompt"], rows["reply"]])
    assert not text.str.contains(r"\{[FDCEA] |<|>|\[|\]| / |-/|MUMBLEx|/UH").any()
    assert not text.str.contains(r" n't").any()  # tagged tokens were detokenised


@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("babylm/switchboard.train", None),
        ("swda", None),
        ("nltk/switchboard.zip", "nltk-tagged"),
        ("nltk/switchboard.zip", "nltk-disfluency"),
    ],
)
def test_no_orphan_parenthesis_or_doubled_punctuation_in_any_turn(corpora, tmp_path, rel, fmt):
    """Every turn of the real corpora (every pair kept): no lone "))" and no ".." or "?." left by removals."""
    convert_switchboard(
        [corpora / rel],
        tmp_path / "all.parquet",
        ConvertConfig(fmt=fmt, min_words=0, max_words=100_000),
        progress=False,
    )
    text = pl.concat([pl.read_parquet(tmp_path / "all.parquet")[c] for c in ("prompt", "reply")])
    assert text.len() > 4_000
    assert not text.str.contains(r"\(\(|\)\)").any()
    assert not text.str.replace_all(r"\([^()]*\)", "").str.contains(r"[()]").any()  # balanced "(A)" only
    runs = text.str.extract_all(r"[,.?!;:](?:\s*[,.?!;:])+").explode().drop_nulls()
    assert runs.filter(runs != "...").to_list() == []
    assert (runs == "...").sum() > 0  # ellipses are kept
