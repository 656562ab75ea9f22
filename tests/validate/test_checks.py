"""The validators: each check with rows that must pass and rows that must fail, the config, the schema."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classit_data.core.errors import InputError
from classit_data.core.schema import ITEM_SCHEMA
from classit_data.core.template import default_template
from classit_data.validate import ValidationConfig, validate_frame
from classit_data.validate.checks import CHECKS
from classit_data.validate.features import _rendered_text, _schema_failure, pydantic_refuses
from classit_data.validate.inputs import check_schema_types
from classit_data.validate.validate import validate
from tests.helpers import (
    PASSAGES,
    good_rows,
    items_frame,
    passages_frame,
    qa,
    sw,
    switchboard_rows,
    wiki_rows_and_passages,
)

CHECK_NAMES = [check.name for check in CHECKS]


@pytest.fixture
def run():
    """Validate rows (dicts) against the hand-written passages (``passages=False``: without them)."""

    def run(rows, passages=True, **config):
        return validate_frame(items_frame(rows), config or None, passages=passages_frame() if passages else None)

    return run


def test_good_rows_of_both_sources_pass(run):
    res = run(good_rows())
    assert res.quarantined.height == 0, res.quarantined.select("prompt", "reject_reason", "reject_detail").to_dicts()
    assert res.kept.height == len(good_rows())
    assert res.kept.columns == list(ITEM_SCHEMA)  # kept rows keep exactly the input's columns


def test_rows_made_for_the_build_tests_pass():
    """The synthetic rows are the normal input of `build`, whose gate runs these validators."""
    wiki, passages = wiki_rows_and_passages()
    res = validate_frame(pl.concat([switchboard_rows(), wiki]), passages=passages)
    assert res.quarantined.height == 0, res.quarantined.select("prompt", "reject_reason", "reject_detail").to_dicts()


# every failing row below is otherwise good
BASE_SW = "I think they're doing the best they can with the money they get."


def cases() -> dict[str, tuple[list[dict], list[dict]]]:
    """reason -> (rows that must fail with it first, rows that must pass), made with the hand-written row builders."""
    return {
        "schema": ([sw(source="reddit"), sw(position=-1, prompt="p2"), sw(id="abc", prompt="p3")], []),
        "empty_prompt": ([sw(prompt=" \t\n ")], [sw(prompt="Hm?")]),
        "empty_reply": ([sw(reply="")], [sw(reply="Yeah.")]),
        "text_mismatch": ([sw(text="Something else entirely.")], [sw()]),
        "control_chars": (
            [
                sw(prompt="Hello\x07 there, how are you?"),
                sw(prompt="Zero\u200bwidth space here?"),
                sw(prompt="Right to left \u202e mark"),
            ],
            [sw(prompt="Line one\nline two\twith a tab?")],
        ),
        "broken_encoding": (
            [
                sw(prompt="We went to a cafÃ© downtown."),
                sw(prompt="It costs \ufffd five."),
                sw(prompt="It\u00e2\u20ac\u2122s fine."),
                sw(prompt="AT&amp;T called me."),
            ],
            [sw(prompt="We went to a café downtown."), sw(prompt="SÃO PAULO is big."), sw(prompt="AT&T called me.")],
        ),
        "transcription_markup": (
            [
                sw(prompt="{F Uh, } I think so."),
                sw(prompt="[ I, + I ] think so."),
                sw(prompt="Yeah <laughter> sure."),
                sw(prompt="It was ((unclear)) fine."),
                sw(prompt="#Right.# Okay."),
                sw(prompt="Well / I think so."),
                sw(prompt="Uh/UH yeah/UH okay."),
                sw(prompt="A: Hello there."),
            ],
            [
                sw(prompt="I think so - yes, I do."),
                sw(prompt="It was 5/8 of an inch, a bit more."),
                qa(prompt="What is C + D in the story?", reply="The Moon has no air."),
            ],
        ),
        "leftover_label": (
            [
                qa(reply="Answer: The Moon is the only natural satellite of the Earth."),
                qa(prompt="Question: What is the only natural satellite of the Earth?"),
            ],
            [qa(reply="The Moon has no air, so there is no weather there.")],
        ),
        "prompt_too_short": ([qa(prompt="Why?")], [sw(prompt="Why?")]),
        "looping": (
            [sw(reply="no " * 8), qa(reply="The the the the the the the the Moon.")],
            [sw(prompt="No, no, no, no, no, no, no, it's not expensive at all.")],
        ),
        "repetition": (
            [
                sw(reply="the cat sat on the mat " * 4),
                qa(reply="The Moon is a satellite. The Moon is a satellite. The Moon is a satellite."),
            ],
            [sw(reply="I know, I know."), sw(reply=BASE_SW)],
        ),
        "reply_copies_prompt": (
            [sw(prompt="Well, it was nice talking to you.", reply="Well it was nice talking to you!")],
            [
                qa(
                    prompt="What is the only natural satellite of the Earth?",
                    reply="The only natural satellite of the Earth is the Moon.",
                )
            ],
        ),
        "not_a_question": (
            [qa(prompt="The only natural satellite of the Earth.")],
            [
                qa(prompt="Name the only natural satellite of the Earth."),
                qa(prompt="The Moon walk happened in which year?"),
            ],
        ),
        "unknown_passage": ([qa(passage="not-a-passage")], []),
        "ungrounded": (
            [qa(reply="Jupiter has many moons and storms of gas.")],
            [qa(reply="Yes, it is."), qa(reply="It has no air.")],
        ),
        "answer_is_passage": (
            [qa(reply=PASSAGES["moon"])],
            [qa(reply="It is about one quarter the size of the Earth.")],
        ),
    }


#: the row checks with cases above (parametrized by name: the rows are built in the test)
CASE_NAMES = sorted(
    [
        "schema",
        "empty_prompt",
        "empty_reply",
        "text_mismatch",
        "control_chars",
        "broken_encoding",
        "transcription_markup",
        "leftover_label",
        "prompt_too_short",
        "looping",
        "repetition",
        "reply_copies_prompt",
        "not_a_question",
        "unknown_passage",
        "ungrounded",
        "answer_is_passage",
    ]
)


def test_the_cases_cover_the_named_checks():
    assert sorted(cases()) == CASE_NAMES
    assert set(CASE_NAMES) <= set(CHECK_NAMES)


@pytest.mark.parametrize("reason", CASE_NAMES)
def test_each_check_fails_bad_rows_and_passes_good_ones(reason, run):
    failing, passing = cases()[reason]
    for row in failing:  # each row on its own, so no duplicate check interferes
        res = run([row])
        assert res.quarantined.height == 1, f"{reason}: not rejected: {row['prompt']!r} / {row['reply']!r}"
        got = res.quarantined.row(0, named=True)
        assert got["reject_reason"] == reason, got
        assert got["reject_detail"] and reason in got["reject_reasons"]
    for row in passing:
        res = run([row])
        assert res.quarantined.height == 0, f"{reason}: wrongly rejected: {res.quarantined.to_dicts()}"


def test_length_bounds_in_words_follow_the_config(run):
    rows = [
        sw(prompt=" ".join(["word"] * 20) + "?", reply=" ".join(["fine"] * 3) + " ok"),
        sw(prompt=" ".join(["other"] * 21) + "?", reply="a b"),
        sw(prompt="Short one?", reply=" ".join(["x"] * 31)),
    ]
    res = run(
        rows,
        passages=False,
        max_prompt_words=20,
        min_reply_words=3,
        max_reply_words=30,
        max_token_run=100,
        max_repeated_ngram_ratio=1.0,
    )
    reasons = dict(res.quarantined.select("prompt", "reject_reason").iter_rows())
    assert rows[0]["prompt"] not in reasons
    assert reasons[rows[1]["prompt"]] == "prompt_too_long"
    assert "reply_too_short" in res.quarantined.filter(pl.col("prompt") == rows[1]["prompt"])["reject_reasons"][0]
    assert reasons[rows[2]["prompt"]] == "reply_too_long"


def test_token_bounds_with_the_embedded_tokenizer():
    from classit_data.core.lengths import load_counting_tokenizer

    tok = load_counting_tokenizer("embedded")
    rows = [
        sw(prompt="Do you have any pets?", reply="Yes."),
        sw(prompt="And how about you then?", reply="We have two dogs and a cat, and a bird too."),
    ]
    n = len(tok("We have two dogs and a cat, and a bird too.", add_special_tokens=False)["input_ids"])
    res = validate_frame(items_frame(rows), {"max_reply_tokens": n - 1}, tokenizer=tok)
    assert res.quarantined["reject_reason"].to_list() == ["reply_tokens"]
    assert f"{n} tokens" in res.quarantined["reject_detail"][0]
    assert validate_frame(items_frame(rows), {"max_reply_tokens": n}, tokenizer=tok).quarantined.height == 0


def test_grounding_checks_need_passages_and_say_so(tmp_path, run):
    rows = [qa(reply="Jupiter has many moons and storms of gas.")]
    assert run(rows, passages=False).quarantined.height == 0
    path = tmp_path / "rows.parquet"
    items_frame(rows).write_parquet(path)
    rep = validate(path, tmp_path / "k.parquet", tmp_path / "q.parquet", tmp_path / "r.json")
    assert rep.checks_skipped["ungrounded"] == "no --passages"


def test_all_reasons_are_kept_and_the_first_in_check_order_names_the_row(run):
    row = sw(prompt="{F Uh, } cafÃ© \x07", reply="no " * 9)
    res = run([row], passages=False)
    q = res.quarantined.row(0, named=True)
    assert q["reject_reasons"] == ["control_chars", "broken_encoding", "transcription_markup", "looping"]
    assert q["reject_reason"] == "control_chars" and "\\x07" in q["reject_detail"]
    assert CHECK_NAMES.index("control_chars") < CHECK_NAMES.index("looping")


def test_duplicates_first_occurrence_stays_and_is_named(run):
    a = sw("Are you there?", "Yeah, I'm here.", doc="sw1")
    b = sw("are you there", "Yeah -- I'm HERE!", doc="sw2")  # the same once normalised
    c = qa("Where does the Nile flow?", "It flows north into the Mediterranean Sea.", passage="nile")
    d = sw("Where does the Nile flow?", "It flows north into the Mediterranean Sea.")  # across sources
    res = run([a, b, c, d])
    q = {r["id"]: r for r in res.quarantined.iter_rows(named=True)}
    assert set(q) == {b["id"], d["id"]}
    assert q[b["id"]]["reject_reason"] == "duplicate" and q[b["id"]]["duplicate_of"] == a["id"]
    assert q[d["id"]]["duplicate_of"] == c["id"]


def test_near_duplicates_and_repeated_questions(run):
    long_reply = (
        "Well, we go camping every summer up in the mountains, and the kids love it, they fish all day "
        "and we cook whatever they catch over the fire at night."
    )
    a = sw("Do you go camping much?", long_reply, doc="sw1")
    b = sw("Do you go camping much?", long_reply.replace("at night.", "at night, really."), doc="sw2")
    q1 = qa("Where does the Nile flow?", "It flows north into the Mediterranean Sea.", passage="nile", position=0)
    q2 = qa("Where does the Nile flow ?", "North, into the Mediterranean Sea.", passage="nile", position=1)
    q3 = qa("Where does the Nile flow?", "It flows north.", passage="moon", position=2)  # another passage
    res = run([a, b, q1, q2, q3], min_grounding=0.0)
    q = {r["id"]: r for r in res.quarantined.iter_rows(named=True)}
    assert set(q) == {b["id"], q2["id"]}
    assert q[b["id"]]["reject_reason"] == "near_duplicate" and q[b["id"]]["duplicate_of"] == a["id"]
    assert q[b["id"]]["reject_detail"].startswith("Jaccard 0.")
    assert q[q2["id"]]["reject_reason"] == "repeated_question" and q[q2["id"]]["duplicate_of"] == q1["id"]
    assert run([a, b], dedup=False).quarantined.height == 0


def test_a_bad_first_copy_does_not_push_out_a_good_later_one(run):
    bad = sw("Are you there?", "Yeah, I'm \x07here.", doc="sw1")
    good = sw("Are you there?", "Yeah, I'm here.", doc="sw2")
    res = run([bad, good], passages=False)
    assert res.kept["id"].to_list() == [good["id"]]
    assert res.quarantined["reject_reason"].to_list() == ["control_chars"]


def test_a_repeated_id_is_quarantined(run):
    a = sw("Are you there?", "Yeah, I'm here.")
    b = sw("Something different?", "Quite different indeed.", id=a["id"])
    res = run([a, b], passages=False)
    assert res.quarantined["reject_reason"].to_list() == ["duplicate_id"]


def test_schema_rows_are_explained_by_pydantic(run):
    res = run([sw(source="reddit"), sw(prompt="Hi there?", position=-3)], passages=False)
    details = dict(res.quarantined.select("prompt", "reject_detail").iter_rows())
    assert "source" in details[sw()["prompt"]] and "switchboard" in details[sw()["prompt"]]
    assert "position" in details["Hi there?"] and "greater than or equal to 0" in details["Hi there?"]


any_item_row = st.fixed_dictionaries(
    {
        "id": st.one_of(st.none(), st.text(min_size=0, max_size=12)),
        "source": st.one_of(st.none(), st.sampled_from(["switchboard", "simple_wiki", "reddit", ""])),
        "prompt": st.one_of(st.none(), st.text(max_size=5)),
        "reply": st.one_of(st.none(), st.text(max_size=5)),
        "text": st.one_of(st.none(), st.just("t")),
        "doc_id": st.one_of(st.none(), st.just("d")),
        "position": st.one_of(st.none(), st.integers(-3, 3)),
        "origin": st.one_of(st.none(), st.just("o")),
        "passage_id": st.one_of(st.none(), st.just("p")),
        "seed": st.one_of(st.none(), st.integers(-2, 2)),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_item_row, min_size=1, max_size=12))
def test_vectorised_schema_check_agrees_with_pydantic(rows):
    df = pl.DataFrame(rows, schema=ITEM_SCHEMA, strict=False)
    vectorised = df.select(_schema_failure()).to_series()
    assert vectorised.to_list() == pydantic_refuses(df).to_list()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), min_size=1, max_size=8))
def test_vectorised_text_rendering_equals_the_template(pairs):
    tpl = default_template()
    df = pl.DataFrame({"prompt": [p for p, _ in pairs], "reply": [r for _, r in pairs]})
    assert df.select(_rendered_text(tpl)).to_series().to_list() == [tpl.render(p, r) for p, r in pairs]


def test_wrong_types_and_missing_columns_are_input_errors():
    df = items_frame(good_rows())
    with pytest.raises(InputError, match="column position has type String, expected Int64"):
        check_schema_types(df.with_columns(pl.col("position").cast(pl.String)), "x.parquet")
    with pytest.raises(InputError, match="missing column"):
        check_schema_types(df.drop("origin"))
    with pytest.raises(InputError, match="column prompt has type"):
        check_schema_types(df.with_columns(pl.lit(3).alias("prompt")))
    # an all-null JSON column and a narrower integer column are fine; extra columns are kept
    ok = check_schema_types(
        df.with_columns(pl.lit(None).alias("model"), pl.col("position").cast(pl.Int32), pl.lit("x").alias("extra"))
    )
    assert ok.schema["model"] == pl.String and ok.schema["position"] == pl.Int64 and ok.columns[-1] == "extra"


def test_extra_columns_travel_with_the_rows():
    df = items_frame(good_rows() + [sw(reply="")]).with_columns(pl.lit("batch-7").alias("note"))
    res = validate_frame(df, passages=passages_frame())
    assert res.kept.columns == [*ITEM_SCHEMA, "note"]
    assert res.quarantined.columns == [
        *ITEM_SCHEMA,
        "note",
        "reject_reason",
        "reject_reasons",
        "reject_detail",
        "duplicate_of",
    ]


def test_config_defaults_files_and_overrides(tmp_path):
    load = ValidationConfig.load
    assert load().max_token_run == ValidationConfig().max_token_run == 7
    yml = tmp_path / "c.yaml"
    yml.write_text("max_token_run: 3\nmin_grounding: 0.7\n")
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"max_token_run": 4}))
    assert load(yml).max_token_run == 3 and load(yml).min_grounding == 0.7
    assert load(js).max_token_run == 4
    assert load(yml, max_token_run=9, min_grounding=None).model_dump()["max_token_run"] == 9
    assert load(yml, min_grounding=None).min_grounding == 0.7  # None = flag not given
    with pytest.raises(InputError, match="unknown setting bogus"):
        load({"bogus": 1})
    with pytest.raises(InputError, match="min_reply_words"):
        load({"min_reply_words": 10, "max_reply_words": 5})
    with pytest.raises(InputError, match="--max-token-run 0: "):  # a bad flag is named by its flag
        load(yml, max_token_run=0)
    (tmp_path / "low.yaml").write_text("max_token_run: 0\n")
    with pytest.raises(InputError) as err:  # a bad value in the file is the file's, by its key
        load(tmp_path / "low.yaml")
    assert f"{tmp_path / 'low.yaml'}: max_token_run: " in err.value.one_line()
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_token_run: [1, 2\n")
    with pytest.raises(InputError) as err:
        load(bad)
    assert str(bad) in err.value.one_line()
    with pytest.raises(InputError, match="mapping"):
        (tmp_path / "list.yaml").write_text("- 1\n")
        load(tmp_path / "list.yaml")


def test_a_stricter_config_rejects_more(run):
    rows = good_rows()
    default = run(rows)
    strict = run(rows, min_grounding=1.0, max_token_run=2)
    assert default.quarantined.height == 0 and strict.quarantined.height > 0
    assert set(strict.quarantined["reject_reason"]) <= {"ungrounded", "looping"}


def test_each_check_is_declared_once_and_the_report_reads_the_same_list(run):
    from classit_data.validate.checks import NOT_GIVEN, skipped_checks

    assert len(set(CHECK_NAMES)) == len(CHECK_NAMES)
    assert all(check.needs in (None, *NOT_GIVEN) for check in CHECKS)
    # the duplicate checks come last: a row reaches them only after passing every row check
    decided_later = [check.name for check in CHECKS if check.fails is None]
    assert (
        CHECK_NAMES[-len(decided_later) :]
        == decided_later
        == ["duplicate_id", "repeated_question", "duplicate", "near_duplicate"]
    )
    report = run(good_rows(), passages=False, dedup=False).report
    assert list(report["checks"]) == CHECK_NAMES
    assert (
        report["checks_skipped"]
        == skipped_checks(tokens=False, passages=False, dedup=False)
        == {
            "prompt_tokens": "no --tokenizer",
            "reply_tokens": "no --tokenizer",
            "unknown_passage": "no --passages",
            "ungrounded": "no --passages",
            "answer_is_passage": "no --passages",
            **{
                f"judge_{s}": f"off (min_judge_{s} not set)"
                for s in ("grounded", "correct", "self_contained", "quality", "roundtrip_f1")
            },
            "eval_contamination": "no eval_contamination folders set (off by default)",
            "duplicate": "--no-dedup",
            "near_duplicate": "--no-dedup",
        }
    )
    judged = ValidationConfig(
        min_judge_grounded=1,
        min_judge_correct=1,
        min_judge_self_contained=1,
        min_judge_quality=1,
        min_judge_roundtrip_f1=0,
    )
    assert skipped_checks(tokens=True, passages=True, dedup=True, eval=True, cfg=judged) == {}


def test_set_values_are_read_as_yaml():
    from classit_data.validate.config import parse_settings

    assert parse_settings(["min-grounding=0.4", "question_words=[what, how]", "dedup=false"]) == {
        "min_grounding": 0.4,
        "question_words": ["what", "how"],
        "dedup": False,
    }
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_settings(["min_grounding"])
    with pytest.raises(InputError, match="--set no_such: unknown setting"):
        parse_settings(["no_such=1"])
    with pytest.raises(InputError, match="cannot read value"):
        parse_settings(["question_words=[what"])
