"""classit-train's commands: each shows the settings that are its own, and only those."""

from __future__ import annotations

import pytest

from classit_data.core.commands import run_app
from classit_train.cli import app


def _help(command: str, capsys) -> str:
    assert run_app(app, "classit-train", [command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(("command", "shown", "not_shown"), [
    ("pretrain", ["--model", "--tokenizer", "--corpus", "--max-steps", "--config", "--resume"],
     ["--stage", "--base", "--dataset", "--curriculum", "--cycles", "--json"]),
    ("run", ["--dataset", "--base", "--curriculum", "--cycles", "--max-steps"],
     ["--stage", "--model ", "--tokenizer", "--json"]),
    ("eval", ["--model", "--task", "--data", "--batch-size", "--first-token", "--json"], ["--progress"]),
    ("report", ["--out", "--finetune-metric", "[default: accuracy]", "--json"], []),
])
def test_each_command_shows_its_own_settings(command, shown, not_shown, capsys):
    text = _help(command, capsys) + " "
    for flag in shown:
        assert flag in text, f"{command} --help lacks {flag}"
    for flag in not_shown:
        assert flag not in text, f"{command} --help shows {flag}"


def test_a_bad_finetune_metric_is_one_line(tmp_path, capsys):
    assert run_app(app, "classit-train", ["report", str(tmp_path), "--out", str(tmp_path / "r"),
                                          "--finetune-metric", "bleu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "finetune_metric" in err and "'accuracy'" in err and "\n" not in err
