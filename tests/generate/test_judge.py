"""judge: the rubric's messages, the tolerant parser, and the command through the transformers backend: judged
rows and rejects kept aside on the embedded model; resume after ``kill -9``, replicas and shards on the
embedded model's tokenizer over a tiny random LLaMA (``tiny_model``), where what the model writes does not
matter; refused reruns and bad input."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.io import write_rows
from classit_data.generate.config import JudgeConfig
from classit_data.generate.judge_task import DEFAULT_RUBRIC, Judgement, JudgeTask, token_f1
from classit_data.generate.prompts import PromptSet
from classit_data.generate.task import Reject
from tests.helpers import kill_after_first_chunk

pytestmark = pytest.mark.fresh_interpreter  # a resumed run's rows compared with an uninterrupted run's

ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
ARGS = ["--backend", "transformers", "--chunk-size", "1", "--max-tokens", "40"]
N = 3
QUESTIONS = [
    ("When did people first walk on the Moon?", "In 1969."),
    ("Which way does the Nile flow?", "South."),
    ("How many queens does a colony have?", "One."),
    ("What does the passage say?", "It has no air."),
]


@pytest.fixture(scope="module")
def task() -> JudgeTask:
    return JudgeTask(PromptSet.load(None, DEFAULT_RUBRIC))


def test_messages_carry_rubric_examples_and_every_pair(task):
    unit = {
        "title": "Moon",
        "section": "",
        "text": "The Moon has no air.",
        "pairs": [
            {"id": "a", "question": "Q one?", "answer": "A one."},
            {"id": "b", "question": "Q two?", "answer": "A two."},
        ],
    }
    msgs = task.messages(unit)
    assert msgs[0]["role"] == "system" and "self_contained" in msgs[0]["content"]
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "user"]
    assert json.loads(msgs[2]["content"])[1]["correct"] == 1  # the worked example's wrong answer
    assert "Pair 2\nQuestion: Q two?\nAnswer: A two." in msgs[-1]["content"]
    assert "your own short answer" not in msgs[-1]["content"]
    rt = JudgeTask(PromptSet.load(None, DEFAULT_RUBRIC), roundtrip=True)
    assert "your own short answer" in rt.messages(unit)[-1]["content"] and rt.prompt_hash != task.prompt_hash
    assert rt.schema["items"]["required"][0] == "answer" and "answer" not in task.schema["items"]["required"]


def test_parse_scores_per_pair_and_keeps_the_unreadable(task):
    raw = (
        'Sure!\n```json\n[{"grounded": 5, "correct": "4", "self_contained": 4.0, "quality": "3/5", '
        '"reason": "ok  fine"}, {"grounded": 9, "correct": 1, "self_contained": 1, "quality": 1, "reason": "x"}]'
        "\n```"
    )
    out = task.parse(raw, "stop", 3)
    assert out[0] == Judgement({"grounded": 5, "correct": 4, "self_contained": 4, "quality": 3}, "ok fine")
    assert isinstance(out[1], Reject) and out[1].reason == "bad_score" and "grounded" in out[1].detail
    assert isinstance(out[2], Reject) and out[2].reason == "missing_judgement" and out[2].position == 2
    one = task.parse('{"judgements": [{"Grounded": 1, "correct": 1, "self_contained": 1, "quality": 1}]}', "stop", 1)
    assert one[0].scores["grounded"] == 1 and one[0].reason == ""
    assert task.parse("", "stop", 1).reason == "empty"
    assert task.parse('[{"grounded": 5', "length", 1).reason == "truncated"
    assert task.parse("I think they are good.", "stop", 1).reason == "no_json"
    assert task.parse('{"verdict": "good"}', "stop", 1).reason == "wrong_shape"
    rt = JudgeTask(PromptSet.load(None, DEFAULT_RUBRIC), roundtrip=True)
    no_answer = rt.parse('[{"grounded": 5, "correct": 5, "self_contained": 5, "quality": 5, "reason": "r"}]', "stop", 1)
    assert no_answer[0].reason == "no_roundtrip_answer"


def test_token_f1():
    assert token_f1("In 1969.", "in 1969") == 1.0
    assert token_f1("The Moon", "Mars") == 0.0
    assert token_f1("one queen", "the queen bee") == pytest.approx(2 * 0.5 * 0.5 / 1.0)


# --- the command --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def judge_inputs(tmp_path_factory, write_passages, passage_rows) -> tuple[Path, Path]:
    """Three passages and two hand-written pairs on each (the second passage's pairs first)."""
    d = tmp_path_factory.mktemp("judge_in")
    passages = write_passages(d / "passages.parquet", N)
    rows = passage_rows(N)
    qa = [
        {"id": f"q{i}", "prompt": q, "reply": a, "passage_id": rows[(i + 1) % N]["passage_id"], "source": "simple_wiki"}
        for i, (q, a) in enumerate(QUESTIONS + QUESTIONS[:2])
    ]
    pl.DataFrame(qa).write_parquet(d / "qa.parquet")
    return d / "qa.parquet", passages


@pytest.fixture(scope="session")
def judge_cli(cli):
    return functools.partial(cli, "judge")


@pytest.fixture(scope="module")
def full_judge(judge_inputs, tmp_path_factory, judge_cli) -> tuple[Path, dict]:
    qa, passages = judge_inputs
    out = tmp_path_factory.mktemp("judged") / "out"
    proc = judge_cli("--rows", qa, "--passages", passages, "--out", out, *ARGS, "--json", env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads(proc.stdout)


@pytest.mark.slow
def test_judge_end_to_end(full_judge, judge_inputs):
    out, s = full_judge
    assert (s["backend"], s["model"], s["roundtrip"]) == ("transformers", "HuggingFaceTB/SmolLM2-135M-Instruct", False)
    assert s["passages_selected"] == s["passages_generated"] == s["this_run"]["chunks"] == N
    judged, rejects = pl.read_parquet(out / "judged.parquet"), pl.read_parquet(out / "judge_rejects.parquet")
    qa = pl.read_parquet(judge_inputs[0])
    # every input row is judged or kept aside with its raw reply and reason, never both, never neither
    assert sorted(judged["id"].to_list() + rejects["id"].to_list()) == sorted(qa["id"].to_list())
    assert judged.height == s["pairs"] and rejects["reason"].is_not_null().all() and rejects["raw"].is_not_null().all()
    assert judged.columns[: qa.width] == qa.columns
    assert judged["id"].to_list() == [i for i in qa["id"] if i in set(judged["id"])]  # input order
    for col in ("judge_grounded", "judge_correct", "judge_self_contained", "judge_quality"):
        assert judged[col].is_between(1, 5).all()
    assert (judged["judge_prompt_hash"] == s["prompt_hash"]).all()
    run = json.loads((out / "run.json").read_text())
    assert (
        run["command"] == "judge"
        and run["rows"] == os.path.relpath(judge_inputs[0], out)
        and run["config"]["temperature"] == 0.0
    )


@pytest.fixture(scope="module")
def tiny_judge(judge_inputs, tmp_path_factory, judge_cli, tiny_model) -> tuple[Path, list[str]]:
    """An uninterrupted run on the tiny model: (its folder, its arguments)."""
    qa, passages = judge_inputs
    args = ["--rows", qa, "--passages", passages, *ARGS, "--model", tiny_model]
    out = tmp_path_factory.mktemp("judged-tiny") / "out"
    proc = judge_cli(*args, "--out", out, "--json", env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, [str(a) for a in args]


@pytest.mark.slow
def test_judge_resume_after_kill_matches_uninterrupted_run(tiny_judge, tmp_path, judge_cli):
    ref, args = tiny_judge
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "classit_data", "judge", *args, "--out", str(out), "--json"]
    done_at_kill = kill_after_first_chunk(cmd, out, {**os.environ, **ENV})
    assert 1 <= done_at_kill < N and not (out / "judged.parquet").exists()
    again = judge_cli(*args, "--out", out, "--json", env=ENV)
    s = json.loads(again.stdout)
    assert s["passages_resumed"] == done_at_kill and s["passages_generated"] == N - done_at_kill
    records = pl.read_parquet(list((out / "chunks").glob("*/chunk-*.parquet")))
    assert records["passage_id"].n_unique() == records.height == N  # each passage judged exactly once
    for name in ("judged.parquet", "judge_rejects.parquet"):  # the same bytes, not only equal frames
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    proc = judge_cli(*args, "--out", out, "--roundtrip", env=ENV)
    assert proc.returncode == 2 and "prompt_hash" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_judge_rerun_with_other_rows_is_refused(full_judge, judge_inputs, tmp_path, judge_cli):
    out, _ = full_judge
    qa, passages = judge_inputs
    changed = pl.read_parquet(qa).with_columns(
        pl.when(pl.col("id") == "q0").then(pl.lit("In 1959.")).otherwise(pl.col("reply")).alias("reply")
    )
    proc = judge_cli(
        "--rows", write_rows(changed, tmp_path / "qa.parquet"), "--passages", passages, "--out", out, *ARGS, env=ENV
    )
    assert proc.returncode == 2 and "passages_fingerprint" in proc.stderr and "Traceback" not in proc.stderr


def test_judge_bad_inputs(judge_inputs, tmp_path, judge_cli, write_passages):
    qa, _ = judge_inputs
    one = write_passages(tmp_path / "one.parquet", 1)
    proc = judge_cli("--rows", qa, "--passages", one, "--out", tmp_path / "o", *ARGS, env=ENV)
    assert proc.returncode == 2 and "not in --passages" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "judged.parquet").exists()
    bare = tmp_path / "bare.parquet"
    pl.DataFrame({"id": ["a"], "prompt": ["q"], "reply": ["a"]}).write_parquet(bare)
    proc = judge_cli("--rows", bare, "--passages", one, "--out", tmp_path / "o", env=ENV)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {bare}: missing column(s) passage_id"


@pytest.mark.slow
def test_judge_data_parallel_replicas_and_shards(judge_inputs, tmp_path, monkeypatch, tiny_model):
    from classit_data.generate.judge import judge

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # read by torch in the spawned replicas
    qa, passages = judge_inputs
    s = judge(
        qa,
        passages,
        tmp_path / "dp",
        JudgeConfig(backend="transformers", model=tiny_model, data_parallel_size=2, max_tokens=4, chunk_size=2),
        progress=False,
    )
    dirs = sorted(p.name for p in (tmp_path / "dp" / "chunks").iterdir() if p.is_dir())
    assert all(".dp-" in d for d in dirs) and s.passages_generated == N and s.duplicate_records == 0
    rejects = pl.read_parquet(tmp_path / "dp" / "judge_rejects.parquet")
    assert s.rejected_outputs_by_reason == {"truncated": N}  # 4 tokens are too few for any judgement
    assert sorted(rejects["id"]) == sorted(pl.read_parquet(qa)["id"]) and (rejects["reason"] == "truncated").all()
    assert pl.read_parquet(tmp_path / "dp" / "judged.parquet").height == 0
    parts = [
        judge(
            qa,
            passages,
            tmp_path / "sh",
            JudgeConfig(backend="transformers", model=tiny_model, num_shards=2, shard_index=i, max_tokens=4),
            progress=False,
        )
        for i in range(2)
    ]
    assert sum(p.passages_selected for p in parts) == N
    assert (tmp_path / "sh" / "judge_rejects.shard-00001-of-00002.parquet").exists()
