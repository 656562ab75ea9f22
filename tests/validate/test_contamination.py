"""Eval contamination: BabyLM eval items found in the rows' text, by sentence and by word 13-gram."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classit_data.core.errors import InputError
from classit_data.core.io import write_rows
from classit_data.validate import validate_frame
from classit_data.validate.config import ContaminationConfig
from classit_data.validate.contamination import ContaminationSummary, check_contamination, contamination, read_eval
from tests.helpers import good_rows, items_frame, passages_frame, qa, sw

BLIMP_GOOD = "Who should Derek hug after shocking Richard?"
EWOK_CONTEXT = (
    "The red box sits on the kitchen table next to the window and the small green cup is placed inside it by the cook"
)
ERROR_LINE = re.compile(r"^error: .+: .+$")


def write_evals(folder: Path) -> Path:
    """One small file in each BabyLM format (field names as in the evaluation pipeline)."""
    lines = {
        "blimp/adjunct_island.jsonl": [
            {
                "sentence_good": BLIMP_GOOD,
                "sentence_bad": "Who should Derek hug Richard after shocking?",
                "field": "syntax",
                "UID": "adjunct_island",
                "linguistics_term": "island_effects",
                "pairID": "0",
            },
            {
                "sentence_good": "Dogs bark.",
                "sentence_bad": "Dogs barks.",
                "field": "morphology",
                "UID": "adjunct_island",
                "pairID": "1",
            },
        ],
        "supplement/hypernym.jsonl": [
            {
                "sentence_good": "A rose is a kind of flower that grows.",
                "sentence_bad": "A flower is a kind of rose that grows.",
            }
        ],
        "ewok/agent-properties.jsonl": [
            {
                "Domain": "spatial",
                "Context1": EWOK_CONTEXT + ".",
                "Context2": "The box is empty.",
                "Target1": "The cup is in the box.",
                "Target2": "The cup is on the floor.",
            }
        ],
        "entity_tracking/regular.jsonl": [
            {
                "input_prefix": "Box 1 contains the apple. Box 1 contains",
                "options": [" the apple.", " the pear."],
                "numops": 1,
            }
        ],
        "wug/wug_adj_nominalization.jsonl": [
            {"sentences": "They are very blickish.\tThey show blickness.", "ratio": 0.6}
        ],
    }
    for name, rows in lines.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def planted_rows():
    """Good rows, one holding a BLiMP sentence (case and punctuation changed), one an EWoK 13-gram, one a
    short BLiMP sentence ("Dogs bark.", under ``min_sentence_words``)."""
    rows = good_rows()
    rows.append(sw("So tell me about your week.", "who should derek HUG after shocking richard", position=20))
    rows.append(
        qa(
            "What is next to the window?",
            "As the book said, the red box sits on the kitchen table next to the window and the small green cup",
            position=20,
        )
    )
    rows.append(sw("Do you have dogs at home?", "Dogs bark. All night long they do.", position=21))
    return rows


def test_each_format_is_read_and_matches_are_counted_per_task(tmp_path):
    evals = read_eval(write_evals(tmp_path / "evals"))
    assert sorted(evals.get_column("task").unique()) == ["blimp", "blimp_supplement", "entity_tracking", "ewok", "wug"]
    rows = items_frame(planted_rows())
    rep = check_contamination(rows, [tmp_path / "evals"])
    blimp, ewok = rep["tasks"]["blimp"], rep["tasks"]["ewok"]
    assert (blimp["items"], blimp["contaminated_items"], blimp["sentence_match_items"]) == (2, 1, 1)
    assert blimp["examples"][0]["eval_text"] == BLIMP_GOOD
    assert blimp["examples"][0]["row_id"] == rows["id"][len(rows) - 3]
    assert (ewok["contaminated_items"], ewok["ngram_match_items"], ewok["sentence_match_items"]) == (1, 1, 0)
    assert all(rep["tasks"][t]["contaminated_items"] == 0 for t in ("blimp_supplement", "entity_tracking", "wug"))
    assert rep["contaminated_rows"] == 2  # "Dogs bark." is too short to count


def test_validate_quarantines_contaminated_rows_only_when_asked(tmp_path):
    evals = write_evals(tmp_path / "evals")
    frame = items_frame(planted_rows())
    off = validate_frame(frame, passages=passages_frame())
    assert "eval_contamination" in off.report["checks_skipped"]
    assert "eval_contamination" not in off.report["by_reason"]
    on = validate_frame(frame, {"eval_contamination": [str(evals)]}, passages=passages_frame())
    assert on.report["all_reasons"].get("eval_contamination") == 2  # the QA row is also ungrounded, first
    assert "eval_contamination" not in on.report["checks_skipped"]
    q = on.quarantined.filter(on.quarantined["reject_reason"] == "eval_contamination")
    assert q.height == 1 and any("adjunct_island.jsonl:1" in d for d in q["reject_detail"])
    assert on.kept.height + on.quarantined.height == frame.height


def test_the_command_writes_its_report_and_refuses_bad_eval_files(tmp_path, cli):
    evals = write_evals(tmp_path / "evals")
    rows = write_rows(items_frame(planted_rows()), tmp_path / "rows.parquet")
    res = cli("contamination", rows, "--eval", evals, "--out", tmp_path / "c.json", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["tasks"]["blimp"]["contaminated_items"] == 1
    assert json.loads((tmp_path / "c.json").read_text())["contaminated_rows"] == 2
    bad = tmp_path / "bad" / "x.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"question": "what?"}\n')
    res = cli("contamination", rows, "--eval", bad.parent, "--out", tmp_path / "d.json")
    assert res.returncode == 2
    assert ERROR_LINE.match(res.stderr.strip()) and "x.jsonl:1" in res.stderr
    assert not (tmp_path / "d.json").exists()


def test_the_stage_returns_the_summary_it_writes(tmp_path):
    evals = write_evals(tmp_path / "evals")
    rows = write_rows(items_frame(planted_rows()), tmp_path / "rows.parquet")
    summary = contamination(rows, evals, tmp_path / "c.json", ContaminationConfig(examples=0))
    assert isinstance(summary, ContaminationSummary)
    assert (summary.rows_read, summary.contaminated_rows) == (len(planted_rows()), 2)
    assert summary.tasks["blimp"]["contaminated_items"] == 1 and summary.tasks["blimp"]["examples"] == []
    on_disk = json.loads((tmp_path / "c.json").read_text())
    assert on_disk == summary.to_json() and list(on_disk)[:3] == ["inputs", "eval", "rows"]
    assert contamination(rows, evals).rows_read == summary.rows_read  # no out: nothing written, same figures
    assert summary.rows()["rows"].endswith("(2 hold an eval item)")


def test_bad_settings_are_one_line(tmp_path, cli):
    rows = write_rows(items_frame(planted_rows()), tmp_path / "rows.parquet")
    res = cli("contamination", rows, "--eval", write_evals(tmp_path / "evals"), "--ngram", "2")
    assert res.returncode == 2 and ERROR_LINE.match(res.stderr.strip()) and "--ngram 2" in res.stderr


def test_unknown_lines_are_input_errors(tmp_path):
    (tmp_path / "e.jsonl").write_text('{"sentence_good": "A b c d."}\n[1, 2]\n')
    with pytest.raises(InputError, match="e.jsonl:2"):
        read_eval(tmp_path)


def test_real_blimp(corpora):
    evals = read_eval(corpora / "blimp")
    assert evals.get_column("item").n_unique() == 67_000
    planted = evals.get_column("text")[4321]
    rows = good_rows()
    rows.append(sw("Did you hear this one?", planted, position=30))
    rep = check_contamination(items_frame(rows), [corpora / "blimp"])
    assert rep["contaminated_rows"] == 1
    assert rep["tasks"]["blimp"]["contaminated_items"] >= 1
    assert rep["tasks"]["blimp"]["examples"][0]["eval_text"] in planted
