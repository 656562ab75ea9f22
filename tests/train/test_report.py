"""classit-train report: several models and tasks, our results.json and the official pipeline's outputs."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from classit_data.core.errors import InputError

ZERO_SHOT = {  # model -> task -> score (percent; WUG 100 x rho)
    "base-100M": {"blimp": 70.1, "blimp_supplement": 60.2, "ewok": 51.0, "entity_tracking": 30.5, "wug_adj": 40.0},
    "it-merged-100M": {"blimp": 69.0, "blimp_supplement": 61.0, "ewok": 50.2, "entity_tracking": 33.0, "wug_adj": 35.0},
    "it-sequential-100M": {
        "blimp": 68.5,
        "blimp_supplement": 58.7,
        "ewok": 52.3,
        "entity_tracking": 31.0,
        "wug_adj": 45.0,
    },
}
FINETUNE = {  # model -> task -> accuracy (fraction, as the official results.txt has it)
    "base-100M": {"boolq": 0.62, "mnli": 0.55, "mrpc": 0.70, "multirc": 0.58, "qqp": 0.71, "rte": 0.52, "wsc": 0.61},
    "it-merged-100M": {
        "boolq": 0.64,
        "mnli": 0.56,
        "mrpc": 0.72,
        "multirc": 0.57,
        "qqp": 0.72,
        "rte": 0.55,
        "wsc": 0.59,
    },
    "it-sequential-100M": {
        "boolq": 0.66,
        "mnli": 0.57,
        "mrpc": 0.71,
        "multirc": 0.60,
        "qqp": 0.73,
        "rte": 0.56,
        "wsc": 0.63,
    },
}


def write_ours(path: Path, model: str, scores: dict) -> Path:
    tasks = {
        t: {"task": t, "metric": "spearman" if t.startswith("wug") else "accuracy", "score": v}
        for t, v in scores.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"format": "classit-eval/1", "model": f"/models/{model}", "model_name": model, "tasks": tasks})
    )
    return path


def write_official_finetune(root: Path, model: str, scores: dict, revision: str = "main") -> Path:
    for task, acc in scores.items():
        d = root / model / revision / "finetune" / task
        d.mkdir(parents=True, exist_ok=True)
        lines = [f"accuracy: {acc}"] + ([f"f1: {acc - 0.05}", "mcc: 0.1"] if task != "mnli" else [])
        (d / "results.txt").write_text("\n".join(lines))
    return root / model


@pytest.fixture
def results_tree(tmp_path):
    """Three models: zero-shot from our results.json, fine-tuning from the official pipeline's folders."""
    inputs = []
    for model in ZERO_SHOT:
        ours = write_ours(tmp_path / "ours" / model / "results.json", model, ZERO_SHOT[model])
        inputs.append(str(ours))
    write_official = tmp_path / "official" / "results"
    for model in FINETUNE:
        write_official_finetune(write_official, model, FINETUNE[model])
    inputs.append(str(write_official))
    return tmp_path, inputs


def test_report_zscores_tables_and_figures(results_tree):
    from classit_train.report import report

    tmp_path, inputs = results_tree
    out = tmp_path / "report"
    summary = report(inputs, out)
    assert summary.models == list(ZERO_SHOT)
    assert list(summary.tasks) == [
        "boolq",
        "mnli",
        "mrpc",
        "multirc",
        "qqp",
        "rte",
        "wsc",
        "blimp",
        "blimp_supplement",
        "ewok",
        "entity_tracking",
        "wug_adj",
    ]
    assert summary.scores["base-100M"]["boolq"] == pytest.approx(62.0)
    # z-scores: per task, mean 0 and population sd 1 across the three models, order kept
    for task in summary.tasks:
        zs = [summary.zscores[m][task] for m in summary.models]
        assert statistics.fmean(zs) == pytest.approx(0, abs=1e-9)
        assert statistics.pstdev(zs) == pytest.approx(1)
        raw = [summary.scores[m][task] for m in summary.models]
        assert sorted(range(3), key=lambda i: zs[i]) == sorted(range(3), key=lambda i: raw[i])
    # the sequential model is best on every fine-tuning task but rte... its median z there is the highest
    ft = summary.groups["finetuning"]["per_model"]
    assert ft["it-sequential-100M"]["median"] > ft["it-merged-100M"]["median"] > ft["base-100M"]["median"]
    assert ft["base-100M"]["n_tasks"] == 7 and summary.groups["zeroshot"]["per_model"]["base-100M"]["n_tasks"] == 5
    assert summary.groups["all"]["per_model"]["base-100M"]["n_tasks"] == 12
    seq = [summary.zscores["it-sequential-100M"][t] for t in summary.groups["finetuning"]["tasks"]]
    assert ft["it-sequential-100M"]["median"] == pytest.approx(statistics.median(seq))
    for group in ("finetuning", "zeroshot", "all"):
        for ext in ("png", "svg"):
            f = out / f"zscores_{group}.{ext}"
            assert f.exists() and f.stat().st_size > 5000
    assert (out / "zscores_all.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "| it-merged-100M |" in md and "boolq (FT)" in md and "blimp (ZS)" in md
    assert "## z-scores" in md and "![Fine-tuning tasks](zscores_finetuning.png)" in md
    assert json.loads((out / "report.json").read_text())["models"] == list(ZERO_SHOT)


def test_name_equals_path_merges_halves_and_revisions(tmp_path):
    from classit_train.report import read_results, report

    root = tmp_path / "results"
    write_official_finetune(root, "llama100M", {"boolq": 0.6, "rte": 0.5}, revision="chck_10M")
    scores = read_results(root)
    assert {s.model for s in scores} == {"llama100M@chck_10M"}
    a = write_ours(tmp_path / "a.json", "whatever", {"blimp": 70.0})
    b = write_ours(tmp_path / "b.json", "whatever2", {"blimp": 72.0})
    write_official_finetune(tmp_path / "ftb", "x", {"boolq": 0.7, "rte": 0.6})
    summary = report([f"A={a}", f"A={root}", f"B={b}", f"B={tmp_path / 'ftb'}"], tmp_path / "rep")
    assert summary.models == ["A", "B"]
    assert summary.zscores["A"] == {"boolq": -1.0, "rte": -1.0, "blimp": -1.0}
    assert summary.scores["B"]["rte"] == pytest.approx(60.0)


def test_official_zero_shot_report_and_f1_metric(tmp_path):
    from classit_train.report import read_results

    d = tmp_path / "results" / "m1" / "main" / "zero_shot" / "causal" / "wug" / "wug_adj_nominalization"
    d.mkdir(parents=True)
    (d / "best_temperature_report.txt").write_text(
        "TEMPERATURE: 1.00\n\n### UID SPEARMAN'S RHO\navg: 0.42\n\n### AVERAGE SPEARMAN'S RHO\n0.42\n\n"
    )
    e = tmp_path / "results" / "m1" / "main" / "zero_shot" / "causal" / "blimp" / "blimp_filtered"
    e.mkdir(parents=True)
    (e / "best_temperature_report.txt").write_text("TEMPERATURE: 1.00\n\n### AVERAGE ACCURACY\n71.53\n")
    write_official_finetune(tmp_path / "results", "m1", {"mrpc": 0.8})
    scores = {s.task: s for s in read_results(tmp_path / "results")}
    assert scores["wug_adj"].value == pytest.approx(42.0) and scores["wug_adj"].kind == "zeroshot"
    assert scores["blimp"].value == pytest.approx(71.53) and scores["blimp"].model == "m1"
    assert scores["mrpc"].value == pytest.approx(80.0) and scores["mrpc"].kind == "finetuning"
    f1 = {s.task: s.value for s in read_results(tmp_path / "results", finetune_metric="f1")}
    assert f1["mrpc"] == pytest.approx(75.0)


def test_report_errors(tmp_path):
    from classit_train.report import report

    with pytest.raises(InputError, match="no such file"):
        report([tmp_path / "nope.json"], tmp_path / "out")
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(InputError, match="empty file"):
        report([empty], tmp_path / "out")
    other = tmp_path / "other.json"
    other.write_text('{"accuracy": 3}')
    with pytest.raises(InputError, match="not a results file"):
        report([other], tmp_path / "out")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InputError, match="holds no results"):
        report([tmp_path / "emptydir"], tmp_path / "out")
    a = write_ours(tmp_path / "a.json", "same", {"blimp": 70.0})
    b = write_ours(tmp_path / "b.json", "same", {"blimp": 71.0})
    with pytest.raises(InputError, match="twice"):
        report([a, b], tmp_path / "out")
    bad_txt = tmp_path / "results" / "m" / "main" / "finetune" / "rte" / "results.txt"
    bad_txt.parent.mkdir(parents=True)
    bad_txt.write_text("accuracy = high\n")
    with pytest.raises(InputError, match="metric: number"):
        report([bad_txt], tmp_path / "out")
    assert not (tmp_path / "out" / "report.md").exists()


def test_single_model_report_has_no_zscores_but_no_crash(tmp_path):
    from classit_train.report import report

    a = write_ours(tmp_path / "a.json", "solo", {"blimp": 70.0, "ewok": 55.0})
    summary = report([a], tmp_path / "out")
    assert summary.zscores == {"solo": {}} and summary.figures == []
    assert "| solo | 70.00 | 55.00 |" in (tmp_path / "out" / "report.md").read_text()


def test_cli_report(results_tree, cli):
    tmp_path, inputs = results_tree
    out = tmp_path / "cli-report"
    r = cli("report", *inputs, "--out", out, module="classit_train")
    assert r.returncode == 0, r.stderr
    assert (out / "zscores_zeroshot.png").exists() and (out / "report.md").exists()
    bad = cli("report", tmp_path / "missing.json", "--out", out, module="classit_train")
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "no such file" in bad.stderr


def test_official_finetune_results_in_percent_are_kept(tmp_path):
    """results.txt may hold fractions (0.715, the pipeline's) or percentages (71.5): both are 71.5 in the report."""
    from classit_train.report import read_results, report

    root = tmp_path / "results"
    for model, value in (("fractions", "0.715"), ("percent", "71.5")):
        d = root / model / "main" / "finetune" / "boolq"
        d.mkdir(parents=True)
        (d / "results.txt").write_text(f"accuracy: {value}\nmcc: {'-0.25' if model == 'fractions' else '-25.0'}\n")
    scores = {s.model: s.value for s in read_results(root)}
    assert scores == {"fractions": pytest.approx(71.5), "percent": pytest.approx(71.5)}
    mcc = {s.model: s.value for s in read_results(root, finetune_metric="mcc")}
    assert mcc == {"fractions": pytest.approx(-25.0), "percent": pytest.approx(-25.0)}
    summary = report([root], tmp_path / "rep")
    assert summary.scores["percent"]["boolq"] == pytest.approx(71.5)
    assert "| percent | 71.50 |" in (tmp_path / "rep" / "report.md").read_text()


def test_an_official_finetune_value_past_100_is_one_line(tmp_path, cli):
    d = tmp_path / "results" / "m" / "main" / "finetune" / "rte"
    d.mkdir(parents=True)
    (d / "results.txt").write_text("accuracy: 7150\n")
    r = cli("report", tmp_path / "results", "--out", tmp_path / "rep", module="classit_train")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0] == f"error: {d / 'results.txt'}: accuracy 7150.0 is neither a fraction nor a percentage"
    )
    assert not (tmp_path / "rep").exists()
