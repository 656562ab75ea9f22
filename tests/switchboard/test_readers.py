"""Every Switchboard form is read and converted: fixtures in tests/fixtures/switchboard, one per format."""

from __future__ import annotations

import zipfile

import polars as pl
import pytest

from classit_data.core.errors import InputError
from classit_data.core.schema import ITEM_SCHEMA, Item
from classit_data.core.template import render_text
from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.convert import DROP_REASONS, convert_switchboard
from tests.helpers import FIXTURES

FIX = FIXTURES / "switchboard"


def convert(tmp_path, inputs, name="out.parquet", rejects=None, **settings):
    out = tmp_path / name
    summary = convert_switchboard(
        [FIX / i if isinstance(i, str) else i for i in inputs],
        out,
        ConvertConfig(**settings),
        rejects=rejects,
        progress=False,
    )
    rows = pl.read_ndjson(out) if name.endswith(".jsonl") else pl.read_parquet(out)
    return summary, rows


def pairs(rows):
    return list(zip(rows["prompt"], rows["reply"]))


def check_rows(summary, rows):
    """What every conversion must satisfy, whatever the format."""
    assert rows.columns == list(ITEM_SCHEMA)
    assert dict(rows.schema) == ITEM_SCHEMA
    for row in rows.iter_rows(named=True):
        item = Item(**row)  # the pydantic schema accepts it
        assert item.source == "switchboard"
        assert item.text == render_text(item.prompt, item.reply)
        assert item.id == Item.make_id("switchboard", item.doc_id, item.position, item.prompt, item.reply)
    assert rows["id"].n_unique() == rows.height
    assert summary.items == rows.height
    assert summary.pairs == summary.items + sum(summary.dropped_by_reason.values())
    assert set(summary.dropped_by_reason) == set(DROP_REASONS)
    assert summary.words == sum(len(t.split()) for t in rows["prompt"]) + sum(len(t.split()) for t in rows["reply"])


def test_babylm_blank_line_starts_a_conversation_and_non_verbal_lines_vanish(tmp_path):
    summary, rows = convert(tmp_path, ["babylm.train"], min_words=1)
    check_rows(summary, rows)
    assert summary.conversations == 2 and summary.utterances == 15
    assert summary.non_verbal_utterances == 2  # "<laughter>." and the empty "A:" line
    assert set(rows["doc_id"]) == {"babylm.train#1", "babylm.train#2"}
    got = pairs(rows)
    # one-speaker runs are one turn; B's turn continues across A's "<laughter>." and the empty line
    assert (
        "Uh-huh.",
        "with the money they get. My kids went to the one down the street. And they, they turned out fine.",
    ) in got
    assert (
        "Okay. Um, so what do you think about, uh, public schools these days?",
        "Well, I think they're doing the best they can, you know,",
    ) in got
    # never across the blank line
    assert not any(p.startswith("Oh, really") for p, _ in got)
    assert rows.filter(pl.col("doc_id") == "babylm.train#2")["position"].to_list() == [1, 2]
    assert set(rows["origin"]) == {"babylm:babylm.train"}


def test_swda_pipe_folder_is_one_conversation_per_file(tmp_path):
    summary, rows = convert(tmp_path, ["pipe"])
    check_rows(summary, rows)
    assert summary.conversations == 2 and summary.formats == ["swda-pipe"]
    assert len(summary.skipped_files) == 1 and "LICENSE" in summary.skipped_files[0]
    assert pairs(rows.filter(pl.col("doc_id") == "0001")) == [
        ("Hello, is this the call about, uh, music?", "Yes, I think so, what do you listen to?"),
        ("Yes, I think so, what do you listen to?", "Mostly jazz, and some | blues too. My dad played the piano."),
        ("Mostly jazz, and some | blues too. My dad played the piano.", "Oh. That must have been fun growing up."),
        ("Oh. That must have been fun growing up.", "It was, mostly."),
    ]
    got = dict(pairs(rows.filter(pl.col("doc_id") == "0002")))
    assert got["Do you, uh, garden at all?"] == "I, I grow tomatoes mostly. And peppers when it is warm enough."


def test_swda_pipe_single_file(tmp_path):
    summary, rows = convert(tmp_path, ["pipe/0002.txt"])
    assert summary.conversations == 1 and set(rows["doc_id"]) == {"0002"}
    assert set(rows["origin"]) == {"swda-pipe:0002.txt"}


@pytest.mark.parametrize("fmt", ["nltk-tagged", "nltk-transcript", "nltk-disfluency"])
def test_nltk_sample_zip_and_folder_give_the_same_rows(tmp_path, fmt):
    zpath = tmp_path / "switchboard.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("switchboard/", "")
        for f in (FIX / "nltk" / "switchboard").iterdir():
            zf.write(f, f"switchboard/{f.name}")
    s_zip, r_zip = convert(tmp_path, [zpath], "zip.parquet", fmt=fmt)
    s_dir, r_dir = convert(tmp_path, ["nltk"], "dir.parquet", fmt=fmt)
    check_rows(s_zip, r_zip)
    assert s_zip.conversations == 2 and s_zip.formats == [fmt]
    assert pairs(r_zip) == pairs(r_dir)
    got = dict(pairs(r_zip))
    assert got["Uh, do you have a pet?"] == "Yeah, we have a poodle."
    big = got["Is it a big one or a little one?"]
    assert big.startswith("It isn't, uh, very big, she's small")  # partial "wh-" and MUMBLEx left out
    # A.5 says nothing, so B.4 and B.6 are one turn: no pair has the empty turn on either side
    assert big.endswith("We got her last year.")
    assert "Have you ever served on a jury?" in got


def test_nltk_tagged_is_detokenised(tmp_path):
    _s, rows = convert(tmp_path, ["nltk/switchboard/tagged"])
    assert "I was called once but they didn't pick me." in set(rows["reply"])
    assert not any("n't" in r and " n't" in r for r in rows["reply"])


def test_swda_csv_conversations_and_markup(tmp_path):
    summary, rows = convert(tmp_path, ["sw_0001_4325.utt.csv"])
    check_rows(summary, rows)
    assert summary.conversations == 2 and set(rows["doc_id"]) == {"4325", "4330"}
    got = dict(pairs(rows))
    assert (
        got["Okay. So, what kind of experience do you, do you have, then with child care?"]
        == "I think, I think, I really think it's the most important thing"
    )
    assert "Uh-huh." not in got  # one word: dropped by the default --min-words 3
    # B's "<Laughter>." is non-verbal: A's answer and question are one turn
    s1, r1 = convert(tmp_path, ["sw_0001_4325.utt.csv"], "min1.parquet", min_words=1)
    assert ("Do you follow basketball at all?", "Oh, yeah, every game this season. Who's your team, then?") in pairs(r1)
    assert ("Uh-huh.", "you can do for your kids, uh, honestly.") in pairs(r1)
    assert s1.non_verbal_utterances == 1


def test_convokit_long_speaker_ids_are_lettered_in_context(tmp_path):
    summary, rows = convert(tmp_path, ["utterances.jsonl"], context_turns=2, min_words=1)
    check_rows(summary, rows)
    assert summary.conversations == 2
    got = rows.filter(pl.col("doc_id") == "4325").sort("position")
    assert got["prompt"].to_list() == [
        "A: Okay. So, do you have any kids?",
        "A: Okay. So, do you have any kids?\nB: Yes, two girls, um, six and nine.",
    ]
    assert got["reply"].to_list() == ["Yes, two girls, um, six and nine.", "That's a busy house."]


def test_isip_sides_are_merged_by_start_time(tmp_path):
    summary, rows = convert(tmp_path, ["isip"], min_words=1)
    check_rows(summary, rows)
    assert summary.conversations == 1 and set(rows["doc_id"]) == {"sw4001"}
    assert any("word" in s for s in summary.skipped_files)
    assert pairs(rows) == [
        ("hi um i'm calling about the topic of recycling", "oh okay sure"),
        ("oh okay sure", "do you recycle much at your house"),
        ("do you recycle much at your house", "we do the cans the cans and the bottles and newspapers"),
        # A's laughed "yeah" overlaps B's turn but starts before B's next noise: A's two segments are one turn
        ("we do the cans the cans and the bottles and newspapers", "yeah okay that's about what we do too"),
    ]


def test_isip_side_files_given_one_by_one(tmp_path):
    _s, rows = convert(tmp_path, ["isip/sw4001B-ms98-a-trans.text", "isip/sw4001A-ms98-a-trans.text"], min_words=1)
    assert len(rows) == 4


def test_isip_side_without_partner_is_an_error(tmp_path):
    with pytest.raises(InputError, match="without side B"):
        convert_switchboard([FIX / "isip/sw4001A-ms98-a-trans.text"], tmp_path / "o.parquet", progress=False)
    assert not (tmp_path / "o.parquet").exists()


def test_context_turns_stay_inside_the_conversation(tmp_path):
    _s, rows = convert(tmp_path, ["pipe"], context_turns=5, min_words=1)
    for row in rows.iter_rows(named=True):
        lines = row["prompt"].split("\n")
        assert len(lines) == min(row["position"], 6)
        assert all(line[:3] in ("A: ", "B: ") for line in lines)
    first = rows.filter((pl.col("doc_id") == "0002") & (pl.col("position") == 1))
    assert first["prompt"].item() == "A: Do you, uh, garden at all?"


def test_filters_count_every_dropped_pair_and_rejects_file_keeps_them(tmp_path):
    summary, rows = convert(tmp_path, ["babylm.train"], min_words=4, max_words=10, rejects=tmp_path / "rejects.jsonl")
    check_rows(summary, rows)
    rej = pl.read_ndjson(tmp_path / "rejects.jsonl")
    assert rej.height == summary.dropped > 0
    assert dict(rej["reason"].value_counts().iter_rows()) == {k: v for k, v in summary.dropped_by_reason.items() if v}
    for row in rows.iter_rows(named=True):
        assert 4 <= len(row["prompt"].split()) <= 10 and 4 <= len(row["reply"].split()) <= 10
    assert set(rej["position"]).isdisjoint(set(rows["position"]))


def test_drop_fillers_option(tmp_path):
    _s, rows = convert(tmp_path, ["pipe"], drop_fillers=True, min_words=1)
    assert "Do you, garden at all?" in set(rows["prompt"])  # {F uh, } goes; the comma before it stays
    assert "Hello, is this the call about, music?" in set(rows["prompt"])
    assert not any(" uh" in t.lower() or t.lower().startswith("uh,") for t in rows["prompt"])


def test_output_is_deterministic_and_jsonl_matches_parquet(tmp_path):
    s1, r1 = convert(tmp_path, ["babylm.train", "pipe", "utterances.jsonl"], "a.parquet")
    s2, r2 = convert(tmp_path, ["babylm.train", "pipe", "utterances.jsonl"], "b.jsonl")
    assert r1.equals(r2.cast(ITEM_SCHEMA))
    assert s1.formats == ["babylm", "convokit", "swda-pipe"]


def test_same_conversation_twice_is_an_error(tmp_path):
    with pytest.raises(InputError, match="already read"):
        convert_switchboard([FIX / "pipe/0001.txt", FIX / "pipe/0001.txt"], tmp_path / "o.parquet", progress=False)
