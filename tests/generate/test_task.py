"""The QA task without an engine: prompt files, messages, and the parser against what weak models write."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classit_data.core.errors import InputError
from classit_data.core.resources import resource_path
from classit_data.generate.prompts import PromptSet
from classit_data.generate.task import MAX_ANSWER_CHARS, Parsed, QATask, Reject

PASSAGE = {
    "passage_id": "p1",
    "article_id": "7",
    "title": "Moon",
    "section": "",
    "text": "The Moon is the only natural satellite of the Earth. People first walked on it in 1969.",
}
GOOD = [
    {"question": "What is the Moon?", "answer": "The only natural satellite of the Earth."},
    {"question": "When did people first walk on the Moon?", "answer": "In 1969."},
]


@pytest.fixture(scope="module")
def task() -> QATask:
    return QATask(PromptSet.load(), num_pairs=3)


def pairs_of(result) -> list[tuple[str, str]]:
    assert isinstance(result, Parsed), result
    return [(p.question, p.answer) for p in result.pairs]


EXPECTED = [(g["question"], g["answer"]) for g in GOOD]


def test_messages_have_system_fewshot_and_passage(task):
    msgs = task.messages(PASSAGE)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert PASSAGE["text"] in msgs[-1]["content"] and "Title: Moon" in msgs[-1]["content"]
    assert "Section:" not in msgs[-1]["content"]  # empty section is left out
    assert "Write 3 question" in msgs[-1]["content"]
    # the worked example's answer is itself valid output for the parser
    assert len(pairs_of(task.parse(msgs[2]["content"], "stop"))) == 3


def test_fewshot_follows_num_pairs():
    one = QATask(PromptSet.load(), num_pairs=1)
    msgs = one.messages({**PASSAGE, "section": "History"})
    assert len(json.loads(msgs[2]["content"])) == 1
    assert "Write 1 question and answer pair about" in msgs[-1]["content"]
    assert "Section: History" in msgs[-1]["content"]
    assert one.schema["maxItems"] == 1


def test_prompt_hash_tracks_files_and_num_pairs(tmp_path):
    src = resource_path("prompts")
    for f in src.glob("qa*"):
        shutil.copy(f, tmp_path / f.name)
    base = PromptSet.load()
    copy = PromptSet.load(tmp_path)
    assert copy.prompt_hash() == base.prompt_hash()
    assert base.prompt_hash(2) != base.prompt_hash(3)
    (tmp_path / "qa_system.txt").write_text(base.system + " Be brief.\n")
    assert PromptSet.load(tmp_path).prompt_hash() != base.prompt_hash()


def test_bad_prompt_files_are_input_errors(tmp_path):
    for f in resource_path("prompts").glob("qa*"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "qa_schema.json").write_text("{not json")
    with pytest.raises(InputError, match="bad JSON") as err:
        PromptSet.load(tmp_path)
    assert err.value.path.endswith("qa_schema.json")
    (tmp_path / "qa.yaml").write_text("system: qa_system.txt\n")
    with pytest.raises(InputError, match="missing key"):
        PromptSet.load(tmp_path)


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        "Sure! Here are the pairs:\n" + json.dumps(GOOD) + "\nI hope this helps.",
        json.dumps({"pairs": GOOD}),
        json.dumps({"QA": [{"Question": g["question"], "Answer": g["answer"]} for g in GOOD]}),
        json.dumps([{"q": g["question"], "a": g["answer"]} for g in GOOD]),
        json.dumps([[g["question"], g["answer"]] for g in GOOD]),
        "```\n" + json.dumps(GOOD) + "\n```\n```json\n[]\n```",
        json.dumps(
            [{"question": "  What is the Moon?\n", "answer": "The only natural\tsatellite of the Earth. "}, GOOD[1]]
        ),
    ],
)
def test_tolerated_shapes(task, raw):
    assert pairs_of(task.parse(raw, "stop")) == EXPECTED


def test_single_object_and_numbers(task):
    assert pairs_of(task.parse('{"question": "When did people first walk on the Moon?", "answer": 1969}')) == [
        ("When did people first walk on the Moon?", "1969")
    ]


@pytest.mark.parametrize(
    "raw, finish, reason",
    [
        ("", "stop", "empty"),
        ("   \n ", "stop", "empty"),
        (None, "stop", "empty"),
        (json.dumps(GOOD)[:-20], "length", "truncated"),
        (json.dumps(GOOD), "length", "truncated"),  # cut exactly at the limit: it may have wanted more
        ('[{"question": "What is the Moon?", "answer": "The only', "stop", "bad_json"),
        ("The Moon is a satellite. Questions: what is it?", "stop", "no_json"),
        ("[]", "stop", "no_pairs"),
        ('{"pairs": []}', "stop", "no_pairs"),
        ('{"title": "Moon", "facts": "many"}', "stop", "wrong_shape"),
        ('[{"title": "Moon", "text": "x"}]', "stop", "no_valid_pairs"),
        ('[{"question": "", "answer": "x"}]', "stop", "no_valid_pairs"),
        ('[{"question": ["a"], "answer": "x"}]', "stop", "no_valid_pairs"),
        ("[1, 2, 3]", "stop", "no_valid_pairs"),
    ],
)
def test_rejects_keep_raw_and_reason(task, raw, finish, reason):
    result = task.parse(raw, finish)
    assert isinstance(result, Reject)
    assert result.reason == reason
    assert result.raw == (raw or "")


def test_partly_bad_output_keeps_good_pairs_and_records_the_rest(task):
    raw = json.dumps(
        [
            GOOD[0],
            {"question": "What?"},
            GOOD[0],
            GOOD[1],
            {"question": "Is the Moon big?", "answer": "x" * (MAX_ANSWER_CHARS + 1)},
            {"question": "Where is the Moon?", "answer": "In space."},
            {"question": "Who walked there?", "answer": "Astronauts."},
        ]
    )
    result = task.parse(raw, "stop")
    assert pairs_of(result) == EXPECTED + [("Where is the Moon?", "In space.")]
    assert [(d.reason, d.position) for d in result.dropped] == [
        ("wrong_keys", 1),
        ("duplicate_question", 2),
        ("too_long", 4),
        ("extra_pair", 6),
    ]


@pytest.mark.serial  # a timing check
def test_huge_output_is_bounded(task):
    import time

    raw = "[" * 200_000 + "{" * 100_000  # pathological: must not take quadratic time or recurse to death
    t0 = time.perf_counter()
    result = task.parse(raw, "stop")
    assert isinstance(result, Reject) and result.reason == "too_long" and result.raw == raw
    assert time.perf_counter() - t0 < 5
    long_answer = json.dumps([{"question": "Q?", "answer": "word " * 2_000}])
    assert task.parse(long_answer, "stop").reason == "no_valid_pairs"
    assert task.parse(json.dumps([{"question": "Q?", "answer": "word " * 50_000}]), "stop").reason == "too_long"
    assert task.parse("[" * 5000, "stop").reason == "bad_json"


text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(lambda s: s.strip())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pairs=st.lists(st.tuples(text, text), min_size=1, max_size=3, unique_by=lambda p: p[0].lower()),
    prefix=st.sampled_from(["", "Here you go:\n", "```json\n", "Answer: "]),
    suffix=st.sampled_from(["", "\n```", "\nThese questions cover the passage.", " {"]),
    indent=st.sampled_from([None, 2]),
)
def test_property_valid_json_round_trips(task, pairs, prefix, suffix, indent):
    raw = (
        prefix
        + json.dumps([{"question": q, "answer": a} for q, a in pairs], indent=indent, ensure_ascii=bool(indent))
        + suffix
    )
    result = task.parse(raw, "stop")
    norm = [(" ".join(q.split()), " ".join(a.split())) for q, a in pairs]
    import re

    keys = [re.sub(r"\W+", " ", q.lower()).strip() for q, _ in norm]
    if len(set(keys)) < len(keys):  # questions equal up to punctuation count as duplicates
        return
    assert pairs_of(result) == norm


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.text(max_size=400),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
        ).map(json.dumps),
    ),
    cut=st.integers(0, 400),
    finish=st.sampled_from(["stop", "length", None]),
)
def test_property_never_raises(task, raw, cut, finish):
    result = task.parse(raw[:cut] if cut else raw, finish)
    assert isinstance(result, (Parsed, Reject))
    if isinstance(result, Parsed):
        assert 1 <= len(result.pairs) <= task.num_pairs
        assert all(p.question.strip() and p.answer.strip() for p in result.pairs)
    else:
        assert result.reason
