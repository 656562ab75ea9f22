"""classit-train's commands: each shows the settings that are its own, and only those."""

from __future__ import annotations

import pytest

from classit_data.core.commands import run_app
from classit_train.cli import app
from tests.helpers import help_entries


def _help(command: str, capsys) -> str:
    assert run_app(app, "classit-train", [command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("command", "shown", "not_shown"),
    [
        (
            "pretrain",
            ["--model", "--tokenizer", "--corpus", "--max-steps", "--config", "--resume"],
            ["--stage", "--base", "--dataset", "--curriculum", "--cycles", "--json"],
        ),
        (
            "run",
            ["--dataset", "--base", "--curriculum", "--cycles", "--max-steps"],
            ["--stage", "--model ", "--tokenizer", "--json"],
        ),
        ("eval", ["--model", "--task", "--data", "--batch-size", "--first-token", "--json"], ["--progress"]),
        ("report", ["--out", "--finetune-metric", "[default: accuracy]", "--json"], []),
        (
            "finetune",
            [
                "--model",
                "--task",
                "--train",
                "--valid",
                "--out",
                "--train-size",
                "[default: 10000]",
                "--seed",
                "[default: 42]",
                "--learning-rate",
                "--sequence-length",
                "[default: 512]",
                "--pooling",
                "--metric-for-valid",
                "--json",
            ],
            ["--progress", "--first-token", "--limit"],
        ),
    ],
)
def test_each_command_shows_its_own_settings(command, shown, not_shown, capsys):
    text = _help(command, capsys) + " "
    for flag in shown:
        assert flag in text, f"{command} --help lacks {flag}"
    for flag in not_shown:
        assert flag not in text, f"{command} --help shows {flag}"


def test_a_bad_finetune_metric_is_one_line(tmp_path, capsys):
    assert (
        run_app(
            app, "classit-train", ["report", str(tmp_path), "--out", str(tmp_path / "r"), "--finetune-metric", "bleu"]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "--finetune-metric 'bleu'" in err and "'accuracy'" in err and "\n" not in err


# --- bad settings: one line naming the flag (or the --config file and key), exit code 2, nothing written ---------


def _one_error_line(argv: list[str], capsys) -> str:
    """Run the command; it must fail with exit code 2 and exactly one line of output, ``error: ...``."""
    code = run_app(app, "classit-train", [str(a) for a in argv])
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in lines[0], captured
    return lines[0]


@pytest.mark.parametrize("command", ["pretrain", "run"])
def test_a_negative_seed_is_one_line(command, tmp_path, capsys):
    given = (
        ["--model", "tiny", "--corpus", tmp_path / "c.txt"]
        if command == "pretrain"
        else ["--dataset", tmp_path / "d", "--base", tmp_path / "b"]
    )
    (tmp_path / "c.txt").write_text("some text\n")
    line = _one_error_line([command, "--out", tmp_path / "o", "--seed", "-1", *given], capsys)
    assert "--seed" in line and "greater than or equal to 0" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("learning_rate", -1e-4, "greater than 0"),
        ("lr_scheduler", "cosine_with_warmup", "unknown scheduler"),
        ("lr_scheduler", "cosine_with_min_lr", "lr_scheduler_kwargs"),
        ("attn_implementation", "flash", "unknown attention implementation"),
        ("dataloader_num_workers", -1, "greater than or equal to 0"),
        ("weight_decay", -0.1, "greater than or equal to 0"),
        ("max_grad_norm", 0, "greater than 0"),
        ("save_total_limit", 0, "greater than or equal to 1"),
    ],
)
def test_training_values_transformers_rejects_are_one_line_at_config_load(
    key, value, words, tmp_path, capsys, monkeypatch
):
    import yaml

    import classit_train.train as T

    def no_model(*_a, **_k):
        raise AssertionError("a model was loaded before the settings were checked")

    monkeypatch.setattr(T, "_load_model", no_model)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({key: value}))
    (tmp_path / "c.txt").write_text("some text\n")
    for argv in (
        ["pretrain", "--model", "tiny", "--corpus", tmp_path / "c.txt"],
        ["run", "--dataset", tmp_path / "d", "--base", tmp_path / "b"],
    ):
        line = _one_error_line([*argv, "--out", tmp_path / "o", "--config", cfg], capsys)
        assert f"{cfg}: {key}: " in line and words in line, line
    assert not (tmp_path / "o").exists()


def test_the_config_accepts_what_transformers_accepts():
    from transformers import SchedulerType

    from classit_train.config import TrainConfig, attention_implementations, table_2_schedulers

    assert table_2_schedulers() == {"linear", "cosine_with_restarts"}
    assert all(SchedulerType(name) for name in table_2_schedulers())  # accepted without asking transformers
    names = attention_implementations()
    assert {"eager", "sdpa", "flash_attention_2", "flex_attention"} <= set(names)
    assert TrainConfig.model_fields["attn_implementation"].default in names
    for name in ("linear", "cosine", "cosine_with_restarts", "constant_with_warmup"):
        cfg = TrainConfig.load(None, stage="instruction", lr_scheduler=name)
        assert SchedulerType(name) and cfg.lr_scheduler == name
    cfg = TrainConfig.load(None, stage="pretrain", attn_implementation="flex_attention", seed=2**32 - 1)
    assert cfg.attn_implementation == "flex_attention"


def test_an_attention_implementation_not_installed_is_one_line(tmp_path, capsys):
    from transformers.utils import is_flash_attn_2_available, is_kernels_available

    if is_flash_attn_2_available() or is_kernels_available():
        pytest.skip("flash_attention_2 can run here")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("attn_implementation: flash_attention_2\n")
    (tmp_path / "c.txt").write_text("some text\n")
    line = _one_error_line(
        ["pretrain", "--model", "tiny", "--corpus", tmp_path / "c.txt", "--out", tmp_path / "o", "--config", cfg],
        capsys,
    )
    assert "attn_implementation (flash_attention_2)" in line
    assert not (tmp_path / "o").exists()


def test_a_bad_device_is_one_line(tmp_path, eval_data, capsys):
    line = _one_error_line(
        [
            "eval",
            "--model",
            tmp_path / "m",
            "--task",
            "blimp",
            "--data",
            eval_data / "blimp",
            "--out",
            tmp_path / "r.json",
            "--device",
            "foo",
        ],
        capsys,
    )
    assert line.startswith("error: --device 'foo': ") and "not a device" in line
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "mps", None])
def test_devices_torch_parses_are_accepted(device):
    from classit_train.config import EvalConfig

    assert EvalConfig(device=device).device == device


def test_a_device_that_is_not_here_names_the_flag(monkeypatch):
    import torch

    from classit_data.core.errors import InputError
    from classit_train.evaluate.scoring import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match=r"^--device: .*no CUDA GPU"):
        resolve_device("cuda:0")
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") == "cpu"


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_corpus_whose_text_is_not_strings_is_one_line(suffix, tmp_path, capsys):
    import polars as pl

    corpus = tmp_path / f"numbers{suffix}"
    frame = pl.DataFrame({"text": [1, 2, 3]})
    if suffix == ".parquet":
        frame.write_parquet(corpus)
    else:
        frame.write_ndjson(corpus)
    for argv in (
        ["pretrain", "--model", "tiny", "--out", tmp_path / "o"],
        ["tokenizer", "--vocab-size", "300", "--out", tmp_path / "o"],
    ):
        line = _one_error_line([*argv, "--corpus", corpus], capsys)
        assert line == f"error: {corpus}: column 'text' holds Int64, not strings"
        assert not (tmp_path / "o").exists()


def test_a_corpus_with_a_null_text_names_the_row(tmp_path, capsys):
    import polars as pl

    corpus = tmp_path / "holes.parquet"
    pl.DataFrame({"text": ["one doc", None]}).write_parquet(corpus)
    line = _one_error_line(["pretrain", "--model", "tiny", "--out", tmp_path / "o", "--corpus", corpus], capsys)
    assert str(corpus) in line and "column 'text' is null in row 2" in line


@pytest.mark.parametrize(
    ("command", "required", "optional"),
    [
        ("run", ["--out", "--dataset", "--base"], ["--curriculum", "--batch-size", "--epochs", "--config"]),
        ("pretrain", ["--out", "--model", "--corpus"], ["--tokenizer", "--batch-size", "--epochs", "--config"]),
    ],
)
def test_help_marks_the_required_options(command, required, optional, capsys):
    assert run_app(app, "classit-train", [command, "--help"]) == 0
    entries = help_entries(capsys.readouterr().out)

    def line_of(flag: str) -> str:
        found = [entry for entry in entries if entry.startswith(f"{flag} ")]
        assert len(found) == 1, (flag, entries)
        return found[0]

    for flag in required:
        assert "[required]" in line_of(flag), flag
    for flag in optional:
        assert "[required]" not in line_of(flag), flag


def test_required_options_may_come_from_the_config_file(tmp_path, capsys):
    """Only the help marks --dataset and --base: click does not refuse a run whose --config gives them."""
    cfg = tmp_path / "cfg.yaml"
    (tmp_path / "base").mkdir()
    cfg.write_text(f"dataset: {tmp_path / 'no-dataset'}\nbase: {tmp_path / 'base'}\n")
    line = _one_error_line(["run", "--out", tmp_path / "o", "--config", cfg], capsys)
    assert "no-dataset" in line and "Missing option" not in line
    line = _one_error_line(["run", "--out", tmp_path / "o"], capsys)
    assert line == "error: --dataset: no dataset given"


def test_the_cli_starts_without_the_heavy_libraries():
    """The command line imports only the settings at start-up: polars, NumPy, torch come with a command."""
    import subprocess
    import sys

    code = (
        "import sys, classit_train.cli; "
        "print(sorted(m for m in ('polars', 'numpy', 'torch', 'transformers', 'pandas') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_settings_of_the_other_stage_are_refused(tmp_path):
    from classit_data.core.errors import InputError
    from classit_train.config import TrainConfig
    from classit_train.train import pretrain, run

    with pytest.raises(InputError, match="for stage 'instruction', not 'pretrain'"):
        pretrain([tmp_path / "c.txt"], tmp_path / "o", TrainConfig.load(None, stage="instruction"))
    with pytest.raises(InputError, match="for stage 'pretrain', not 'instruction'"):
        run(tmp_path / "d", tmp_path / "b", tmp_path / "o", TrainConfig.load(None, stage="pretrain"))
    assert not (tmp_path / "o").exists()


def test_table_2_fills_what_the_settings_leave_out(tmp_path):
    from classit_train.config import TrainConfig
    from classit_train.presets import training_preset

    for stage in ("pretrain", "instruction"):
        cfg = TrainConfig.load(None, stage=stage)
        assert {k: getattr(cfg, k) for k in training_preset(stage)} == pytest.approx(training_preset(stage))
    assert TrainConfig.load({"epochs": 3}, stage="pretrain", batch_size=None).batch_size == 8
    assert TrainConfig.load({"epochs": 3}, stage="pretrain").epochs == 3
