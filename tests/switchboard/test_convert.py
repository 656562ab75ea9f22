"""The conversion's steps one by one (merge turns, pair, filter, ids and text), its counters and its summary."""

from __future__ import annotations

import pytest

from classit_data.core.lengths import count_words
from classit_data.core.schema import Item
from classit_data.core.template import TextTemplate, default_template
from classit_data.switchboard.convert import (
    DROP_REASONS,
    ConvertStats,
    ConvertSummary,
    convert_switchboard,
    drop_reason,
    fast_renderer,
    filter_pairs,
    item_id,
    merge_turns,
    pair_turns,
    speaker_labels,
)
from tests.helpers import FIXTURES

FIX = FIXTURES / "switchboard"
TURNS = [("A", "Okay, so music?"), ("B", "Yes."), ("A", "Jazz maybe, or blues."), ("B", "Mostly jazz, really.")]


def test_merge_turns_joins_one_speaker_runs_and_skips_empty_utterances():
    utts = [
        ("A", "Okay."),
        ("A", "So, music?"),
        ("B", ""),
        ("A", "Jazz maybe."),
        ("B", "Yes,"),
        ("B", "mostly jazz."),
        ("A", ""),
    ]
    assert merge_turns(utts) == [("A", "Okay. So, music? Jazz maybe."), ("B", "Yes, mostly jazz.")]
    assert merge_turns([]) == []


def test_speaker_labels_keep_short_names_and_letter_long_ids():
    assert speaker_labels([("B", "x"), ("A", "y")]) == {"B": "B", "A": "A"}
    assert speaker_labels([("1632", "x"), ("1519", "y"), ("1632", "z")]) == {"1632": "A", "1519": "B"}


def test_drop_reason_order_and_bounds():
    assert drop_reason(3, 3, 3, 10) is None
    assert drop_reason(10, 10, 3, 10) is None
    assert drop_reason(2, 1, 3, 10) == "prompt_too_short"
    assert drop_reason(3, 2, 3, 10) == "reply_too_short"
    assert drop_reason(11, 11, 3, 10) == "prompt_too_long"
    assert drop_reason(5, 11, 3, 10) == "reply_too_long"
    assert count_words("Uh-huh, I know.") == 3


def test_fast_renderer_equals_jinja():

    for tpl in (
        default_template(),
        TextTemplate("{{ prompt | trim }}\n>> {{ reply }}"),
        TextTemplate("{% if prompt %}Q: {{ prompt }}{% endif %} A: {{ reply }}"),
    ):
        render = fast_renderer(tpl)
        for p, r in [("A: hi\nB: there ", " yes"), ("", "x"), ("Uh, {{ no }}", "Okay.")]:
            assert render(p, r) == tpl.render(p, r)


def test_item_id_equals_the_schema_id():

    assert item_id("sw2005", 3, "A: hi\nB: yo", "Yes.") == Item.make_id(
        "switchboard", "sw2005", 3, "A: hi\nB: yo", "Yes."
    )


def test_pair_turns_pairs_each_turn_with_the_next():
    assert pair_turns(TURNS) == (
        ["Okay, so music?", "Yes.", "Jazz maybe, or blues."],
        ["Yes.", "Jazz maybe, or blues.", "Mostly jazz, really."],
    )
    assert pair_turns([]) == ([], []) and pair_turns(TURNS[:1]) == ([], [])


@pytest.mark.parametrize("context_turns", [1, 2, 5])
def test_pair_turns_with_context_puts_up_to_k_earlier_turns_in_the_prompt(context_turns):
    prompts, replies = pair_turns(TURNS, context_turns)
    for i, prompt in enumerate(prompts, 1):
        earlier = TURNS[max(0, i - 1 - context_turns) : i]
        assert prompt == "\n".join(f"{s}: {t}" for s, t in earlier)
        assert replies[i - 1] == TURNS[i][1]


def test_filter_pairs_gives_each_pair_its_drop_reason_and_counts_them():
    stats = ConvertStats()
    #        turns: 1 word, 5, 5, 12, 2
    reasons = filter_pairs([1, 5, 5, 12, 2], 3, 10, stats)
    assert reasons == ["prompt_too_short", None, "reply_too_long", "reply_too_short"]
    assert reasons == [drop_reason(p, r, 3, 10) for p, r in [(1, 5), (5, 5), (5, 12), (12, 2)]]
    assert stats.dropped_by_reason == {
        "prompt_too_short": 1,
        "reply_too_short": 1,
        "prompt_too_long": 0,
        "reply_too_long": 1,
    }
    assert stats.dropped == 3
    assert filter_pairs([], 3, 10) == [] and filter_pairs([4], 3, 10) == []


def test_convert_stats_update_and_add():
    one, two = ConvertStats(), ConvertStats()
    one.update("turns", 4)
    one.update("items")
    one.update("reply_too_long", 2)
    two.update("turns", 1)
    two.update("prompt_too_short")
    one.add(two)
    assert (one["turns"], one["items"], one.dropped) == (5, 1, 3)
    assert list(one.dropped_by_reason) == list(DROP_REASONS)
    assert one.dropped_by_reason["reply_too_long"] == 2 and one.dropped_by_reason["prompt_too_short"] == 1
    with pytest.raises(KeyError):
        one.update("no_such_counter")


def test_summary_keys_and_rows(tmp_path):
    summary = convert_switchboard(FIX / "babylm.train", tmp_path / "o.parquet", progress=False)
    assert isinstance(summary, ConvertSummary)
    assert list(summary.to_json()) == [
        "out",
        "rejects",
        "inputs",
        "formats",
        "skipped_files",
        "conversations",
        "utterances",
        "non_verbal_utterances",
        "turns",
        "pairs",
        "items",
        "dropped",
        "dropped_by_reason",
        "words",
        "words_prompt",
        "words_reply",
        "words_in_turns",
        "config",
        "seconds",
    ]
    assert list(summary.inputs[0]) == ["input", "paths", "conversations", "utterances", "turns", "items"]
    assert list(summary.dropped_by_reason) == list(DROP_REASONS)
    assert summary.config == {
        "format": None,
        "context_turns": 0,
        "drop_fillers": False,
        "min_words": 3,
        "max_words": 200,
    }
    assert summary.title() == f"convert-switchboard -> {tmp_path / 'o.parquet'}" and summary.notes() == []
    rows = summary.rows()
    assert rows["items"] == summary.items and rows["formats"] == "babylm"
    assert rows["dropped: reply_too_short"] == summary.dropped_by_reason["reply_too_short"]
    assert "files left out" not in rows
