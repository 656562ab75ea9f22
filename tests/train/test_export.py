"""classit-train export: our predictions in the BabyLM 2025 pipeline's layout, with its names, keys and sizes.

The facts checked here are those of the official ``evaluation_pipeline/collate_preds.py``
(babylm/evaluation-pipeline-2025): the files ``_check_validity_of_dir`` looks for in a fast revision, and the
sizes ``_check_size`` requires of each UID (``BLIMP_FAST_SIZE``, ``EWOK_FAST_SIZE``, ``ENTITY_TRACKING_FAST_SIZE``,
``READING_SIZE``, ``WUG_SIZE``, ``WUG_PAST_TENSE_SIZE``).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import pytest

from classit_data.core.errors import InputError
from tests.helpers import FIXTURES

torch = pytest.importorskip("torch")

# collate_preds.py
BLIMP_FAST_SIZE = 200
EWOK_FAST_SIZE = 100
ENTITY_TRACKING_FAST_SIZE = {"regular_5_ops": 159}
READING_SIZE = 1726
WUG_SIZE = 200
WUG_PAST_TENSE_SIZE = 50
FAST_FILES = {  # collate_preds.py, _check_validity_of_dir(fast=True), under zero_shot/<backend>/
    "blimp": "blimp/blimp_fast/predictions.json",
    "ewok": "ewok/ewok_fast/predictions.json",
    "entity_tracking": "entity_tracking/entity_tracking_fast/predictions.json",
    "wug_adj": "wug_adj/wug_adj_nominalization/predictions.json",
    "wug_past": "wug_past/wug_past_tense/predictions.json",
    "reading": "reading/predictions.json",
}


def _cycle_jsonl(source: Path, path: Path, n: int, **fields) -> Path:
    lines = [json.loads(x) for x in source.read_text().splitlines()]
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**row, **fields} for row in itertools.islice(itertools.cycle(lines), n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _reading_csv(path: Path, n: int) -> Path:
    with open(FIXTURES / "eval" / "reading" / "reading_data.csv", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows, columns = list(reader), reader.fieldnames
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(itertools.islice(itertools.cycle(rows), n))
    return path


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, base_model):
    """A fast revision's zero-shot tasks at the official sizes, scored with the tiny base model."""
    from classit_train.evaluate import EvalConfig, evaluate

    root = tmp_path_factory.mktemp("export")
    ev = FIXTURES / "eval"
    data = {
        "blimp": [
            _cycle_jsonl(ev / "blimp" / "quantifiers.jsonl", root / "blimp_fast" / f"{uid}.jsonl", 200, UID=uid)
            for uid in ("quantifiers", "wh_island")
        ],
        "ewok": _cycle_jsonl(
            ev / "ewok" / "ewok_sample.jsonl", root / "ewok_fast" / "d.jsonl", 100, Domain="physical-relations"
        ),
        "entity_tracking": _cycle_jsonl(
            ev / "entity_tracking" / "regular.jsonl", root / "et_fast" / "regular.jsonl", 159, numops=5
        ),
        "wug": [_cycle_jsonl(ev / "wug" / "wug_adj_nominalization.jsonl", root / "wug_adj_nominalization.jsonl", 200)],
        "reading": _reading_csv(root / "reading_data.csv", READING_SIZE),
    }
    out = root / "results.json"
    cfg = EvalConfig(device="cpu", batch_size=32, revision=None)
    for task, paths in data.items():
        evaluate(base_model, task, paths, out, cfg, progress=False)
    past = _cycle_jsonl(ev / "wug" / "wug_adj_nominalization.jsonl", root / "past" / "wug_past_tense.jsonl", 50)
    evaluate(base_model, "wug", past, root / "past.json", cfg, progress=False)
    return root, out, root / "past.json"


def test_export_has_the_pipelines_layout_keys_and_sizes(evaluated, tmp_path):
    from classit_train.config import ExportConfig
    from classit_train.export import export

    root, results, past = evaluated
    summary = export([results, past], tmp_path / "results", ExportConfig(model_name="tiny", revision="chck_10M"))
    base = tmp_path / "results" / "tiny" / "chck_10M" / "zero_shot" / "causal"
    assert summary.fast and summary.folder == str(tmp_path / "results" / "tiny" / "chck_10M")
    assert sorted(str(p.relative_to(base)) for p in base.rglob("*.json")) == sorted(FAST_FILES.values())
    files = {task: json.loads((base / rel).read_text()) for task, rel in FAST_FILES.items()}
    assert {k: len(v["predictions"]) for k, v in files["blimp"].items()} == {"quantifiers": 200, "wh_island": 200}
    assert {k: len(v["predictions"]) for k, v in files["ewok"].items()} == {"physical-relations": EWOK_FAST_SIZE}
    assert {k: len(v["predictions"]) for k, v in files["entity_tracking"].items()} == ENTITY_TRACKING_FAST_SIZE
    assert {k: len(v["predictions"]) for k, v in files["wug_adj"].items()} == {"wug_adj": WUG_SIZE}
    assert {k: len(v["predictions"]) for k, v in files["wug_past"].items()} == {"wug_past": WUG_PAST_TENSE_SIZE}
    assert {k: len(v["predictions"]) for k, v in files["reading"].items()} == {"reading": READING_SIZE}
    assert set(files["blimp"]["quantifiers"]["predictions"][3]) == {"id", "pred"}
    assert files["blimp"]["quantifiers"]["predictions"][3]["id"] == "quantifiers_3"
    assert set(files["wug_adj"]["wug_adj"]["predictions"][0]) == {"id", "pred", "prob"}
    reading = files["reading"]["reading"]["predictions"]
    assert set(reading[0]) == {"id", "pred", "prev_pred"} and reading[5]["id"] == 5
    assert math.isnan(reading[0]["prev_pred"]) and reading[1]["pred"] > 0
    ours = [json.loads(x) for x in (root / "results.blimp.predictions.jsonl").read_text().splitlines()]
    assert [p["pred"] for p in files["blimp"]["quantifiers"]["predictions"]] == [r["pred"] for r in ours[:200]]
    assert set(summary.protocols.values()) == {"standard"}


def test_export_of_main_uses_the_full_names_and_refuses_what_has_no_place(evaluated, tmp_path):
    from classit_train.export import export

    root, results, _ = evaluated
    summary = export([results], tmp_path / "r")
    assert summary.revision == "main" and not summary.fast
    base = tmp_path / "r" / summary.model / "main" / "zero_shot" / "causal"
    assert (base / "blimp" / "blimp_filtered" / "predictions.json").is_file()
    assert (base / "entity_tracking" / "entity_tracking" / "predictions.json").is_file()
    with pytest.raises(InputError, match="task blimp is given twice"):
        export([results, results], tmp_path / "again")
    assert not (tmp_path / "again").exists()
