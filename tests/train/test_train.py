"""classit-train end to end on the CPU: pretraining, the three curricula, resume, the run folder, CLI errors."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from classit_train import data as D
from classit_train.config import TrainConfig
from classit_train.train import run
from tests.helpers import FIXTURES, validated_inputs

ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
SMALL = {"batch_size": 2, "max_length": 96, "logging_steps": 1, "eval_fraction": 0.2}


def tuning(**given) -> TrainConfig:
    """Settings of an instruction-tuning run: Table 2's, then ``given``."""
    return TrainConfig.load(None, stage="instruction", **given)


@pytest.fixture(scope="module")
def inputs(train_root, corpus_file, base_model, dataset_dir):
    return {"root": train_root, "corpus": corpus_file, "base": base_model, "dataset": dataset_dir}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


def _record_visits(monkeypatch) -> list[tuple[int, set[str], int]]:
    """Record (phase, sources, dataset size) of every group the Trainer asks a dataset for, in order."""
    visits: list[tuple[int, set[str], int]] = []
    original = D.PlanDataset.__getitem__

    def getitem(self, i):
        item = original(self, i)
        visits.append((self.groups[i].phase, {e.source for e in item["examples"]}, len(self)))
        return item

    monkeypatch.setattr(D.PlanDataset, "__getitem__", getitem)
    return visits


@pytest.mark.parametrize(
    "curriculum, order",
    [
        ("merged", [{"switchboard", "simple_wiki"}]),
        ("switch_wiki", [{"switchboard"}, {"simple_wiki"}]),
        ("wiki_switch", [{"simple_wiki"}, {"switchboard"}]),
    ],
)
def test_curricula_run_end_to_end(inputs, tmp_path, monkeypatch, curriculum, order):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    visits = _record_visits(monkeypatch)
    out = tmp_path / curriculum
    summary = run(str(inputs["dataset"]), inputs["base"], out, tuning(curriculum=curriculum, epochs=2, **SMALL))
    # the training plan is walked in order: group indices of the train set, phases never going back
    n_train = summary.plan_rows
    train_visits = [(phase, srcs) for phase, srcs, n in visits if n == n_train]
    phases_seen: list[set[str]] = []
    for phase, srcs in train_visits:
        if len(phases_seen) <= phase:
            phases_seen.append(set())
        phases_seen[phase] |= srcs
    assert phases_seen == order
    assert [p for p, _ in train_visits] == sorted(p for p, _ in train_visits)
    assert summary.steps == summary.planned_steps == -(-n_train // 2)
    assert [s["sources"] for s in summary.phases if s["epoch"] == 0] == [
        sorted(o, reverse=True) if len(o) > 1 else list(o) for o in order
    ]
    # evaluation loss per source on held-out documents (the dataset's validation split)
    assert set(summary.eval_loss) == {"switchboard", "simple_wiki"}
    assert summary.eval_examples == {"switchboard": 5, "simple_wiki": 5}
    # words: every trained example twice (2 epochs), and the BabyLM total adds the instruction data once
    assert summary.words_seen == 2 * summary.babylm_words["instruction"] > 0
    assert summary.babylm_words["total_unique"] == summary.babylm_words["instruction"]  # base: no summary
    # the run folder
    model = AutoModelForCausalLM.from_pretrained(out)
    assert sum(p.numel() for p in model.parameters()) == summary.parameters
    AutoTokenizer.from_pretrained(out)
    saved = yaml.safe_load((out / "run_config.yaml").read_text())
    assert saved["curriculum"] == curriculum and saved["learning_rate"] == 2e-5 and saved["epochs"] == 2
    record = json.loads((out / "run_summary.json").read_text())
    assert record["steps"] == summary.steps and record == summary.to_json()
    assert list(record) == [
        "stage",
        "steps",
        "planned_steps",
        "resumed_from",
        "train_loss",
        "eval_loss",
        "seconds",
        "tokens_seen",
        "words_seen",
        "phases",
        "log_history",
        "revisions",
        "tokens_per_second",
        "curriculum",
        "parameters",
        "examples",
        "eval_examples",
        "rows",
        "truncated",
        "dropped",
        "babylm_words",
    ]
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and f"({curriculum})" in card and "total_unique" in card


def test_resumed_run_matches_an_uninterrupted_one(inputs, tmp_path):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        def __init__(self, step):
            self.step = step

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == self.step:
                control.should_training_stop = True

    cfg = dict(
        SMALL,
        curriculum="switch_wiki",
        max_steps=6,
        save_steps=3,
        learning_rate=1e-2,
        warmup_steps=0,
        lr_scheduler="linear",
        epochs=1,
        seed=3,
    )
    whole = run(str(inputs["dataset"]), inputs["base"], tmp_path / "whole", tuning(**cfg))
    first = run(str(inputs["dataset"]), inputs["base"], tmp_path / "parts", tuning(**cfg), callbacks=[StopAt(3)])
    assert first.steps == 3 and (tmp_path / "parts" / "checkpoints" / "checkpoint-3").is_dir()
    second = run(str(inputs["dataset"]), inputs["base"], tmp_path / "parts", tuning(**cfg), resume=True)
    assert second.resumed_from == "checkpoint-3" and second.steps == 6

    def losses(s):
        return {h["step"]: h["loss"] for h in s.log_history if "loss" in h}

    assert losses(second).keys() >= {4, 5, 6}
    for step in (4, 5, 6):
        assert losses(second)[step] == pytest.approx(losses(whole)[step], rel=1e-4)
    a, b = load_file(tmp_path / "whole" / "model.safetensors"), load_file(tmp_path / "parts" / "model.safetensors")
    base = load_file(inputs["base"] / "model.safetensors")
    moved = max((a[k] - base[k]).abs().max().item() for k in a)
    assert moved > 1e-3  # training changed the weights, so equality below means something
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_resume_refuses_a_changed_plan_and_fresh_run_refuses_checkpoints(inputs, tmp_path):
    from classit_data.core.errors import InputError

    cfg = dict(SMALL, max_steps=2, save_steps=1)
    run(str(inputs["dataset"]), inputs["base"], tmp_path / "r", tuning(**cfg))
    with pytest.raises(InputError, match="--resume"):
        run(str(inputs["dataset"]), inputs["base"], tmp_path / "r", tuning(**cfg))
    with pytest.raises(InputError, match="curriculum"):
        run(
            str(inputs["dataset"]),
            inputs["base"],
            tmp_path / "r",
            tuning(**dict(cfg, curriculum="wiki_switch")),
            resume=True,
        )


def test_padded_mode_trains_the_same_examples(inputs, tmp_path):
    packed = run(str(inputs["dataset"]), inputs["base"], tmp_path / "packed", tuning(epochs=1, **SMALL))
    padded = run(str(inputs["dataset"]), inputs["base"], tmp_path / "padded", tuning(epochs=1, packing=False, **SMALL))
    assert padded.plan_rows == sum(padded.examples.values()) > packed.plan_rows
    assert padded.tokens_seen == packed.tokens_seen and padded.words_seen == packed.words_seen
    for source, loss in packed.eval_loss.items():  # same weights before training, tiny LR: close losses
        assert padded.eval_loss[source] == pytest.approx(loss, rel=1e-3)


def test_pretrain_cli_trains_a_tokenizer_and_the_base_feeds_the_word_budget(inputs, tmp_path, cli):
    out = tmp_path / "pre"
    res = cli(
        "pretrain",
        "--corpus",
        inputs["corpus"],
        "--model",
        "tiny",
        "--out",
        out,
        "--max-steps",
        "3",
        "--max-length",
        "64",
        module="classit_train",
        env=ENV,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    # quiet by default: the summary on stderr, nothing on stdout, none of the Trainer's log dicts or bars
    assert res.stdout == "" and "pretrain tiny" in res.stderr
    assert "'train_runtime'" not in res.stderr and "Writing model shards" not in res.stderr
    s = json.loads((out / "run_summary.json").read_text())
    assert s["steps"] == 3 and s["model_preset"] == "tiny" and (out / "tokenizer" / "tokenizer.json").is_file()
    assert s["babylm_words"]["pretraining"] == s["babylm_words"]["total_unique"] > 1000
    assert list(s)[-9:] == [
        "tokens_per_second",
        "model_preset",
        "parameters",
        "documents",
        "examples",
        "rows",
        "truncated",
        "dropped",
        "babylm_words",
    ]
    cfg = yaml.safe_load((out / "run_config.yaml").read_text())
    assert (cfg["learning_rate"], cfg["lr_scheduler"], cfg["warmup_steps"]) == (2e-4, "linear", 5000)
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {"dataset": str(inputs["dataset"]), "base": str(out), "curriculum": "wiki_switch", "max_steps": 2, **SMALL}
        )
    )
    res = cli("run", "--config", config, "--out", tmp_path / "it", "--cycles", "2", module="classit_train", env=ENV)
    assert res.returncode == 0, res.stderr[-2000:]
    it = json.loads((tmp_path / "it" / "run_summary.json").read_text())
    assert it["curriculum"] == "wiki_switch" and it["steps"] == 2
    assert it["babylm_words"]["total_unique"] == s["babylm_words"]["total_unique"] + it["babylm_words"]["instruction"]
    assert yaml.safe_load((tmp_path / "it" / "run_config.yaml").read_text())["num_cycles"] == 2


def test_verbose_shows_the_trainers_log_lines_on_stderr(inputs, tmp_path, cli):
    args = ["pretrain", "--corpus", inputs["corpus"], "--model", "tiny", "--max-steps", "2", "--max-length", "64"]
    res = cli("--verbose", *args, "--out", tmp_path / "pre", module="classit_train", env=ENV)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "'train_runtime'" in res.stderr and res.stdout == ""  # the Trainer's own log line, on stderr


#: what a refusal must not wait for: each takes seconds to import
HEAVY = {"torch", "transformers", "datasets"}


#: an eval of the BLiMP fixtures, but for its --model (and a bad setting)
EVAL_BLIMP = ["eval", "--task", "blimp", "--data", "{eval}/blimp", "--out", "{tmp}/r.json"]


def _imported(stderr: str) -> set[str]:
    """The top-level packages named in the ``import time:`` lines that ``python -X importtime`` writes."""
    lines = [line for line in stderr.splitlines() if line.startswith("import time:") and "|" in line]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


@pytest.mark.parametrize(
    "args, message",
    [
        (["pretrain", "--corpus", "{root}/corpus.txt", "--out", "{tmp}/o"], "--model: no model preset given"),
        (
            ["pretrain", "--corpus", "{root}/corpus.txt", "--model", "llama7B", "--out", "{tmp}/o"],
            "unknown model preset",
        ),
        (["pretrain", "--corpus", "{root}/nope.txt", "--model", "tiny", "--out", "{tmp}/o"], "no such file"),
        (["pretrain", "--corpus", "{root}", "--model", "tiny", "--out", "{tmp}/o"], "not a file"),
        (["pretrain", "--model", "tiny", "--out", "{tmp}/o"], "--corpus: no corpus files given"),
        (
            ["pretrain", "--corpus", "{root}/corpus.txt", "--model", "tiny", "--out", "{tmp}/o"]
            + ["--tokenizer", "{root}/no"],
            "no such tokenizer folder",
        ),
        (
            ["pretrain", "--corpus", "{root}/corpus.txt", "--model", "tiny", "--out", "{tmp}/ran"],
            "has checkpoints of an earlier run",
        ),
        (["run", "--dataset", "{root}/missing", "--base", "{base}", "--out", "{tmp}/o"], "no such dataset folder"),
        (
            ["run", "--dataset", "{root}/corpus.txt", "--base", "{base}", "--out", "{tmp}/o"],
            "expected a dataset folder",
        ),
        (["run", "--dataset", "{dataset}", "--base", "{root}", "--out", "{tmp}/o"], "not a model folder"),
        (
            ["run", "--dataset", "{dataset}", "--base", "{base}", "--out", "{tmp}/o", "--curriculum", "wiki"],
            "--curriculum",
        ),
        (["run", "--base", "{base}", "--out", "{tmp}/o"], "--dataset: no dataset given"),
        (["run", "--dataset", "{dataset}", "--base", "{base}", "--out", "{tmp}/ran"], "has checkpoints"),
        (["eval", "--model", "{base}", "--task", "blimpp", "--data", "{eval}/blimp", "--out", "{tmp}/r"], "--task"),
        ([*EVAL_BLIMP, "--model", "{base}", "--data", "{root}/no"], "no such file or folder"),
        ([*EVAL_BLIMP, "--model", "{root}"], "not a model folder"),
        ([*EVAL_BLIMP, "--model", "{base}", "--dtype", "f8"], "--dtype: dtype must be one of"),
        ([*EVAL_BLIMP, "--model", "{base}", "--first-token", "first"], "--first-token: first_token must be one of"),
        ([*EVAL_BLIMP, "--model", "{base}", "--revision", "chck_1M"], "no revision 'chck_1M'"),
        (
            ["finetune", "--model", "{base}", "--task", "rtee", "--train", "{finetune}/rte.jsonl"]
            + ["--valid", "{finetune}/rte.jsonl", "--out", "{tmp}/r.json"],
            "unknown fine-tuning task",
        ),
        (
            ["finetune", "--model", "{base}", "--task", "rte", "--train", "{root}/nope.jsonl"]
            + ["--valid", "{finetune}/rte.jsonl", "--out", "{tmp}/r.json"],
            "no such file",
        ),
        (
            ["finetune", "--model", "{root}", "--task", "rte", "--train", "{finetune}/rte.jsonl"]
            + ["--valid", "{finetune}/rte.jsonl", "--out", "{tmp}/r.json", "--batch-size", "2"],
            "not a model folder",
        ),
        (["export", "{root}/results.json", "--out", "{tmp}/ex"], "no such results file"),
        (["report", "{root}/results.json", "--out", "{tmp}/rep"], "no such file or folder"),
        (["tokenizer", "--corpus", "{root}/corpus.txt", "--vocab-size", "10", "--out", "{tmp}/t"], "--vocab-size"),
        (["tokenizer", "--corpus", "{root}/nope.txt", "--vocab-size", "300", "--out", "{tmp}/t"], "no such file"),
    ],
)
@pytest.mark.fresh_interpreter  # what a new process imports
def test_cli_errors_are_one_line_before_torch_is_imported(inputs, tmp_path, cli, args, message):
    """A refusal that depends only on the settings and on what the paths are costs no torch import."""
    (tmp_path / "ran" / "checkpoints" / "checkpoint-3").mkdir(parents=True)  # an earlier run's folder
    fill = {**inputs, "tmp": tmp_path, "eval": FIXTURES / "eval", "finetune": FIXTURES / "finetune"}
    env = {**ENV, "PYTHONPROFILEIMPORTTIME": "1"}  # python -X importtime: one stderr line per module imported
    res = cli(*[a.format(**fill) for a in args], module="classit_train", env=env)
    imported = _imported(res.stderr)
    assert {"classit_train", "typer"} <= imported, res.stderr[-2000:]  # profiled: no torch line is no torch
    assert not imported & HEAVY, sorted(imported & HEAVY)
    assert res.returncode == 2
    lines = [line for line in res.stderr.strip().splitlines() if not line.startswith("import time:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "o").exists() and res.stdout == ""


def test_last_checkpoint_is_the_one_transformers_resumes_from(tmp_path):
    from transformers.trainer_utils import get_last_checkpoint

    from classit_train.train import last_checkpoint

    folder = tmp_path / "checkpoints"
    assert last_checkpoint(folder) is None  # no folder yet
    folder.mkdir()
    assert last_checkpoint(folder) is None and get_last_checkpoint(str(folder)) is None
    for name in ("checkpoint-3", "checkpoint-12", "checkpoint-9", "checkpoint-x", "checkpoint-5-old", "runs"):
        (folder / name).mkdir()
    (folder / "checkpoint-99").write_text("a file, not a checkpoint")
    assert last_checkpoint(folder) == get_last_checkpoint(str(folder)) == str(folder / "checkpoint-12")


def test_runs_on_a_folder_made_by_classit_data_build(inputs, tmp_path):
    """The real build step's output (Hub layout, validation split by document) feeds a run directly."""
    pytest.importorskip("classit_data.validate.checks")
    from classit_data.dataset.build import build
    from classit_data.dataset.config import BuildConfig

    rows = validated_inputs(tmp_path / "rows")
    build(
        rows["switchboard"],
        rows["wiki"],
        tmp_path / "CLASS_IT",
        BuildConfig(val_fraction=0.2, seed=7),
        passages=rows["passages"],
        progress=False,
    )
    s = run(
        str(tmp_path / "CLASS_IT"),
        inputs["base"],
        tmp_path / "run",
        tuning(curriculum="wiki_switch", max_steps=2, **SMALL),
    )
    assert s.steps == 2 and set(s.eval_loss) == {"switchboard", "simple_wiki"}
    assert all(n > 0 for n in s.examples.values()) and s.phases[0]["sources"] == ["simple_wiki"]
