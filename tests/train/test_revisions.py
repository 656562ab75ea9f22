"""Checkpoints by words seen: the BabyLM 2025 schedule and names, a scaled-down schedule on a tiny pretraining
run, and evaluating one revision."""

from __future__ import annotations

import json

import pytest

from classit_data.core.errors import InputError

ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def test_schedule_is_the_pipelines_revisions():
    from classit_train.revisions import babylm_schedule, revision_name, schedule

    # the revisions the official collate_preds.py walks (evaluation_pipeline/collate_preds.py,
    # STRICT_SMALL_FAST_REVISIONS and OTHER_FAST_REVISIONS)
    strict_small = [f"chck_{i}M" for i in range(1, 10)] + [f"chck_{i * 10}M" for i in range(1, 11)]
    other = strict_small[:-1] + [f"chck_{i * 100}M" for i in range(1, 11)]
    names = [revision_name(w) for w in babylm_schedule()]
    assert names[:19] == strict_small and names == other and len(set(names)) == 28
    assert schedule([2_000_000, 1_000_000], scale=1e-3) == [("chck_1M", 1000), ("chck_2M", 2000)]
    assert revision_name(1500) == "chck_1500" and revision_name(20_000) == "chck_20K"
    assert schedule(["10M", "500K", "2000"]) == [("chck_2K", 2000), ("chck_500K", 500_000), ("chck_10M", 10**7)]
    with pytest.raises(InputError, match="positive"):
        schedule(["0"])
    with pytest.raises(InputError, match="not a word count: 'ten'"):
        schedule(["ten"])


def test_tiny_pretraining_saves_revisions_by_words_and_eval_reads_one(corpus_file, tmp_path, monkeypatch, cli):
    from transformers import AutoModelForCausalLM

    from classit_train.config import TrainConfig
    from classit_train.train import pretrain

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    words = ["1M", "2M", "1000M"]  # scaled by 1e-3: 1,000 and 2,000 words are reached, 1M not
    cfg = TrainConfig.load(
        None,
        stage="pretrain",
        model="tiny",
        max_steps=8,
        max_length=64,
        checkpoint_words=words,
        checkpoint_word_scale=1e-3,
    )
    out = tmp_path / "pre"
    summary = pretrain([corpus_file], out, cfg)
    assert summary.words_seen > 2000
    assert list(summary.revisions) == ["chck_1M", "chck_2M"] == sorted(p.name for p in (out / "revisions").iterdir())
    one, two = summary.revisions["chck_1M"], summary.revisions["chck_2M"]
    assert 1000 <= one["words_seen"] < 2000 <= two["words_seen"] <= summary.words_seen
    assert 0 < one["step"] < two["step"] <= summary.steps
    per_step = summary.words_seen / summary.steps
    assert one["words_seen"] - 1000 < 3 * per_step  # saved at the step that crossed the count, not later
    record = json.loads((out / "revisions" / "chck_2M" / "words_seen.json").read_text())
    assert record == {"revision": "chck_2M", **two}
    assert json.loads((out / "run_summary.json").read_text())["revisions"] == summary.revisions
    early = AutoModelForCausalLM.from_pretrained(out / "revisions" / "chck_1M")
    final = AutoModelForCausalLM.from_pretrained(out)
    assert any((a != b).any() for a, b in zip(early.parameters(), final.parameters()))

    from tests.helpers import FIXTURES

    res = cli(
        "eval",
        "--model",
        out,
        "--revision",
        "chck_1M",
        "--task",
        "blimp",
        "--data",
        FIXTURES / "eval" / "blimp",
        "--out",
        tmp_path / "results.json",
        "--device",
        "cpu",
        module="classit_train",
        env=ENV,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model_name"] == "pre@chck_1M" and results["model"] == str(out / "revisions" / "chck_1M")
    assert results["tasks"]["blimp"]["scoring"]["revision"] == "chck_1M"
    res = cli(
        "eval",
        "--model",
        out,
        "--revision",
        "chck_9M",
        "--task",
        "blimp",
        "--data",
        FIXTURES / "eval" / "blimp",
        "--out",
        tmp_path / "other.json",
        module="classit_train",
        env=ENV,
    )
    assert res.returncode == 2 and "no revision 'chck_9M' (has: chck_1M, chck_2M)" in res.stderr
    assert not (tmp_path / "other.json").exists()
