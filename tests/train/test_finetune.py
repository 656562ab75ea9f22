"""classit-train finetune: the pipeline's task formats, the seeded subsample, scikit-learn's metrics, the head's
pooling, the schedule, a tiny model learning a separable task, and the report reading the results."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from classit_data.core.errors import InputError
from tests.helpers import FIXTURES

torch = pytest.importorskip("torch")

FINETUNE = FIXTURES / "finetune"


# -- data ---------------------------------------------------------------------------------------------------
def test_every_task_format_reads_as_the_pipeline_pairs_it():
    from classit_train.finetune import TASKS, read_examples

    firsts = {}
    for task in TASKS:
        examples = read_examples(FINETUNE / f"{task}.jsonl", task)
        assert len(examples) == 3 and all(e.first and e.second for e in examples)
        assert examples[0].source == f"{FINETUNE / task}.jsonl:1"
        firsts[task] = examples
    assert firsts["boolq"][0].first == "is the river longer than the canal"
    assert firsts["boolq"][0].second.startswith("The river runs")
    assert firsts["multirc"][0].first == "Question: What did Maria reach at the end of the day? Answer: The village"
    assert firsts["wsc"][0].first == 'Does "it" refer to "trophy" in this passage?'
    assert firsts["wsc"][0].second.startswith("The trophy does not fit")
    assert [e.label for e in firsts["mnli"]] == [0, 1, 2]
    assert firsts["qqp"][1].second == "Where can I buy a guitar?"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"sentence1": "a", "sentence2": "b", "label": 2}', "label must be an integer from 0 to 1"),
        ('{"sentence1": "a", "sentence2": "b", "label": "entailment"}', "label must be an integer"),
        ('{"sentence1": "a", "label": 0}', "field sentence2 is missing"),
        ("not json", "malformed JSON line"),
    ],
)
def test_bad_rows_are_one_line_naming_file_and_line(tmp_path, line, message):
    from classit_train.finetune import read_examples

    path = tmp_path / "rte.jsonl"
    path.write_text('{"sentence1": "a", "sentence2": "b", "label": 0}\n' + line + "\n")
    with pytest.raises(InputError) as err:
        read_examples(path, "rte")
    assert message in str(err.value) and f"{path}:2" in str(err.value)


def test_unknown_task_and_missing_file():
    from classit_train.finetune import read_examples

    with pytest.raises(InputError, match="unknown fine-tuning task 'cola'"):
        read_examples(FINETUNE / "rte.jsonl", "cola")
    with pytest.raises(InputError, match="no such file"):
        read_examples(FINETUNE / "nope.jsonl", "rte")


def test_subsample_is_reproducible_and_changes_with_the_seed():
    from classit_train.finetune import subsample

    a, b = subsample(50_000, 10_000, 42), subsample(50_000, 10_000, 42)
    assert a == b and len(a) == 10_000 and len(set(a)) == 10_000 and a == sorted(a)
    assert 0 <= a[0] and a[-1] < 50_000
    other = subsample(50_000, 10_000, 43)
    assert other != a and len(set(other) & set(a)) < 5_000  # ~2,000 shared by chance
    assert subsample(300, 10_000, 42) == list(range(300))
    assert subsample(300, None, 42) == list(range(300))


def test_metrics_are_scikit_learns():
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    from classit_train.finetune import compute_metrics

    rng = random.Random(3)
    labels = [rng.randint(0, 1) for _ in range(200)]
    preds = [y if rng.random() < 0.7 else 1 - y for y in labels]
    got = compute_metrics(labels, preds, ("accuracy", "f1", "mcc"))
    assert got == {
        "accuracy": accuracy_score(labels, preds),
        "f1": f1_score(labels, preds),
        "mcc": matthews_corrcoef(labels, preds),
    }
    # by hand: TP 2, TN 1, FP 0, FN 1
    small = compute_metrics([1, 0, 1, 1], [1, 0, 0, 1], ("accuracy", "f1", "mcc"))
    assert small["accuracy"] == 0.75 and small["f1"] == pytest.approx(0.8)
    assert small["mcc"] == pytest.approx(2 / 12**0.5)


# -- the model and the schedule -----------------------------------------------------------------------------
def test_last_token_pooling_ignores_right_padding(base_model):
    from classit_train.finetune import FinetuneConfig, batches, load_classifier, read_examples

    torch.manual_seed(0)
    model, tok, _ = load_classifier(base_model, 2, FinetuneConfig(), "cpu")
    model.eval()
    examples = read_examples(FINETUNE / "boolq.jsonl", "boolq")
    with torch.no_grad():
        ids, mask, _ = next(batches(examples, [0, 1, 2], tok, 3, 512, "cpu"))
        assert (mask == 0).any()  # the batch is padded
        together = model(ids, mask)
        alone = [model(*next(batches(examples, [i], tok, 1, 512, "cpu"))[:2])[0] for i in range(3)]
    assert torch.allclose(together, torch.stack(alone), atol=1e-5)
    assert ids[0, 0].item() == tok.bos_token_id  # the pair as the tokenizer makes it: <s> A <s> B


def test_first_pooling_reads_the_hidden_state_of_position_0_as_the_official_pipeline(base_model):
    """The pipeline's default head input is ``encoding[:, 0]`` of the AutoModel's last hidden state."""
    from classit_train.finetune import FinetuneConfig, batches, load_classifier, read_examples

    torch.manual_seed(0)
    model, tok, _ = load_classifier(base_model, 2, FinetuneConfig(pooling="first"), "cpu")
    model.eval()
    examples = read_examples(FINETUNE / "boolq.jsonl", "boolq")
    with torch.no_grad():
        ids, mask, _ = next(batches(examples, [0, 1, 2], tok, 3, 512, "cpu"))
        hidden = model.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
        assert torch.equal(model(ids, mask), model.head(hidden[:, 0]))
        last = FinetuneConfig().pooling
    assert last == "last"


def test_schedule_warms_up_then_decays_to_the_min_factor():
    from classit_train.finetune import FinetuneConfig, make_optimizer

    param = torch.nn.Parameter(torch.zeros(1))
    cfg = FinetuneConfig(learning_rate=1e-3)
    optimizer, schedule = make_optimizer(torch.nn.ParameterList([param]), cfg, 100)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[0] == 0 and max(lrs) == pytest.approx(1e-3) and lrs.index(max(lrs)) == 6  # 6% of 100 steps
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01) and all(a >= b for a, b in zip(lrs[6:], lrs[7:]))
    assert optimizer.defaults["weight_decay"] == 0.01


# -- a run --------------------------------------------------------------------------------------------------
def separable_rows(n: int, seed: int) -> list[dict]:
    """RTE-format pairs whose label is which of two word sets the second sentence ends with."""
    from tests.helpers import NOUNS

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        word = rng.choice(NOUNS[10:20] if label else NOUNS[:10])
        rows.append(
            {
                "sentence1": f"The {rng.choice(NOUNS)} crossed the {rng.choice(NOUNS)}.",
                "sentence2": f"It was the {word}",
                "label": label,
                "idx": i,
            }
        )
    return rows


@pytest.fixture(scope="module")
def separable(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("separable")
    paths = []
    for split, n, seed in (("train", 64, 0), ("valid", 32, 1)):
        path = root / f"rte.{split}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in separable_rows(n, seed)))
        paths.append(path)
    return paths[0], paths[1]


FAST = {"learning_rate": 1e-3, "batch_size": 8, "epochs": 3, "device": "cpu"}


@pytest.fixture(scope="module")
def finetuned(base_model, separable, tmp_path_factory) -> Path:
    from classit_train.finetune import FinetuneConfig, finetune

    out = tmp_path_factory.mktemp("ft") / "results.json"
    finetune(base_model, "rte", *separable, out, FinetuneConfig(name="tiny-a", **FAST), progress=False)
    return out


def test_tiny_model_learns_a_separable_task_above_chance(finetuned):
    entry = json.loads(finetuned.read_text())["tasks"]["rte"]
    assert entry["kind"] == "finetuning" and entry["metrics"]["accuracy"] > 0.8
    assert entry["score"] == pytest.approx(100 * entry["metrics"]["accuracy"])
    assert [h["epoch"] for h in entry["history"]] == [1, 2, 3]
    best = max(entry["history"], key=lambda h: h["accuracy"])  # the first of the best, as "strictly better"
    assert entry["best_epoch"] == best["epoch"] and entry["metrics"]["accuracy"] == best["accuracy"]
    assert entry["settings"]["steps"] == 3 * (64 // 8) and entry["settings"]["metric_for_valid"] == "accuracy"
    assert entry["n_train"] == entry["n_train_available"] == 64 and entry["n_valid"] == 32
    assert entry["settings"]["sequence_length"] == 256  # 512 asked, the tiny preset has 256 positions


def test_filed_metrics_are_scikit_learns_on_the_filed_predictions(finetuned):
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    entry = json.loads(finetuned.read_text())["tasks"]["rte"]
    rows = [json.loads(line) for line in (finetuned.parent / entry["predictions"]).read_text().splitlines()]
    assert len(rows) == 32 and rows[0]["source"].endswith("rte.valid.jsonl:1")
    labels, preds = [r["label"] for r in rows], [r["prediction"] for r in rows]
    assert entry["metrics"] == pytest.approx(
        {
            "accuracy": accuracy_score(labels, preds),
            "f1": f1_score(labels, preds),
            "mcc": matthews_corrcoef(labels, preds),
        }
    )


def test_same_seed_same_run_and_the_subsample_is_used(base_model, separable, tmp_path):
    from classit_train.finetune import FinetuneConfig, finetune

    settings = {**FAST, "epochs": 1, "train_size": 24}
    a = finetune(base_model, "rte", *separable, tmp_path / "a.json", FinetuneConfig(**settings), progress=False)
    b = finetune(base_model, "rte", *separable, tmp_path / "b.json", FinetuneConfig(**settings), progress=False)
    c = finetune(
        base_model, "rte", *separable, tmp_path / "c.json", FinetuneConfig(**{**settings, "seed": 7}), progress=False
    )
    assert a.n_train == 24 and a.n_train_available == 64 and a.settings["steps"] == 3
    assert a.history == b.history
    assert c.history[0]["train_loss"] != a.history[0]["train_loss"]
    assert json.loads((tmp_path / "a.json").read_text())["tasks"]["rte"] == a.to_json()


def test_report_reads_our_finetuning_results(finetuned, tmp_path):
    from classit_train.report import ReportConfig, report

    entry = json.loads(finetuned.read_text())
    other = json.loads(json.dumps(entry))
    other["model_name"], other["model"] = "tiny-b", "/elsewhere/tiny-b"
    other["tasks"]["rte"]["metrics"].update(accuracy=0.5, f1=0.4)
    second = tmp_path / "b" / "results.json"
    second.parent.mkdir()
    second.write_text(json.dumps(other))
    summary = report([str(finetuned), str(second)], tmp_path / "report")
    assert summary.scores["tiny-a"]["rte"] == pytest.approx(100 * entry["tasks"]["rte"]["metrics"]["accuracy"])
    assert summary.scores["tiny-b"]["rte"] == pytest.approx(50.0)
    assert summary.zscores["tiny-a"]["rte"] == pytest.approx(1.0)
    assert (tmp_path / "report" / "zscores_finetuning.png").exists()
    assert (tmp_path / "report" / "zscores_all.png").exists()
    f1 = report([str(finetuned), str(second)], tmp_path / "report-f1", ReportConfig(finetune_metric="f1"))
    assert f1.scores["tiny-b"]["rte"] == pytest.approx(40.0)
    assert f1.scores["tiny-a"]["rte"] == pytest.approx(100 * entry["tasks"]["rte"]["metrics"]["f1"])


def test_settings_that_cannot_work_are_one_line(base_model, separable, tmp_path):
    from classit_train.finetune import FinetuneConfig, finetune

    with pytest.raises(InputError, match="fewer than one batch of 128"):
        finetune(base_model, "rte", *separable, tmp_path / "r.json", FinetuneConfig(batch_size=128), progress=False)
    mnli = tmp_path / "mnli.jsonl"
    mnli.write_text((FINETUNE / "mnli.jsonl").read_text())
    with pytest.raises(InputError, match="--metric-for-valid"):
        finetune(
            base_model, "mnli", mnli, mnli, tmp_path / "r.json", FinetuneConfig(metric_for_valid="f1"), progress=False
        )
    with pytest.raises(InputError, match="--learning-rate"):
        finetune(
            base_model,
            "rte",
            *separable,
            tmp_path / "r.json",
            FinetuneConfig.load(None, learning_rate=0),
            progress=False,
        )
    assert not (tmp_path / "r.json").exists()


def test_cli_finetune_writes_results_and_refuses_bad_input(base_model, separable, tmp_path, capsys):
    from classit_data.core.commands import run_app
    from classit_train.cli import app

    out = tmp_path / "results.json"
    args = [
        "finetune",
        "--model",
        str(base_model),
        "--task",
        "rte",
        "--train",
        str(separable[0]),
        "--valid",
        str(separable[1]),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--learning-rate",
        "1e-3",
        "--device",
        "cpu",
        "--json",
    ]
    assert run_app(app, "classit-train", args) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["task"] == "rte" and json.loads(out.read_text())["tasks"]["rte"]["metrics"] == shown["metrics"]
    bad = [a if a != "rte" else "cola" for a in args]
    assert run_app(app, "classit-train", bad) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --task") and "cola" in err and "\n" not in err
