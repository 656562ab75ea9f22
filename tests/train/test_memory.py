"""The step-memory check: the real presets' steps are estimated, a step that cannot fit is refused in one line
naming --max-length and --batch-size (with a length that fits), before anything is allocated or written."""

from __future__ import annotations

import re

import pytest

from classit_data.core.errors import InputError
from classit_train.config import TrainConfig
from classit_train.memory import GB, OVERHEAD, check_step_fits, longest_fitting, step_memory
from classit_train.presets import count_parameters, llama_config, model_preset
from classit_train.train import check_memory

ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
CPU_24GB = (20 * GB, "CPU")  # what a 24 GB machine has free with an OS and an editor running
H200 = (139 * GB, "GPU")


def preset(name: str, attn: str = "sdpa"):
    cfg = llama_config(name, attn_implementation=attn)
    return cfg, count_parameters(cfg)


def test_llama100m_at_its_preset_length_does_not_fit_a_24gb_cpu():
    cfg, params = preset("llama100M")
    length = model_preset("llama100M")["max_length"]
    with pytest.raises(InputError) as err:
        check_step_fits(cfg, params, 8, length, free=CPU_24GB)
    line = err.value.one_line()
    assert "\n" not in line and line.startswith("--max-length: ")
    assert "--max-length 6000 and --batch-size 8" in line and "20.0 GB is free on the CPU" in line
    fit = int(re.search(r"--max-length (\d+) fits with --batch-size 8", line).group(1))
    # the length offered fits, the next multiple of 64 does not
    assert check_step_fits(cfg, params, 8, fit, free=CPU_24GB).total <= CPU_24GB[0]
    with pytest.raises(InputError):
        check_step_fits(cfg, params, 8, fit + 64, free=CPU_24GB)
    assert 512 <= fit < length


@pytest.mark.parametrize("name", ["llama100M", "llama140M"])
def test_table_1_models_at_their_preset_lengths_fit_an_h200_with_sdpa(name):
    cfg, params = preset(name)
    need = check_step_fits(cfg, params, 8, model_preset(name)["max_length"], free=H200)
    assert 30 * GB < need.total < H200[0]
    assert need.states == 16 * params  # float32 weights, gradients and AdamW's two moments


def test_eager_attention_keeps_the_scores_and_needs_far_more():
    (cfg_s, params), (cfg_e, _) = preset("llama100M"), preset("llama100M", "eager")
    sdpa = step_memory(cfg_s, params, 8, 6000, attn_implementation="sdpa")
    eager = step_memory(cfg_e, params, 8, 6000, attn_implementation="eager")
    # 20 layers x 8 rows x 8 heads x 6000^2 float32 scores kept
    assert eager.attention >= 20 * 8 * 8 * 6000**2 * 4 and eager.total > 3 * sdpa.total
    with pytest.raises(InputError, match="eager attention"):
        check_step_fits(cfg_e, params, 8, 6000, attn_implementation="eager", free=H200)


def test_the_estimate_grows_with_batch_and_length_and_halves_its_activations_in_bf16():
    cfg, params = preset("llama100M")
    one, two = step_memory(cfg, params, 1, 1024), step_memory(cfg, params, 2, 1024)
    assert two.activations == 2 * one.activations and two.logits == 2 * one.logits
    assert step_memory(cfg, params, 1, 2048).activations == 2 * one.activations
    assert step_memory(cfg, params, 1, 1024, bf16=True).activations * 2 == one.activations
    assert one.total == one.states + one.activations + one.attention + one.logits + OVERHEAD


def test_nothing_fits_in_too_little_memory():
    cfg, params = preset("llama100M")
    assert longest_fitting(cfg, params, 8, GB, attn_implementation="sdpa", bf16=False) == 0
    with pytest.raises(InputError, match="not even 64 tokens fit with --batch-size 8"):
        check_step_fits(cfg, params, 8, 6000, free=(GB, "CPU"))


def test_the_tiny_preset_fits_and_the_check_can_be_turned_off():
    cfg, params = preset("tiny")
    assert check_step_fits(cfg, params, 8, 256, free=(2 * GB, "CPU")).total < 2 * GB
    huge = TrainConfig.load(None, stage="pretrain", model="llama100M", corpus=["c.txt"], batch_size=100_000)
    with pytest.raises(InputError, match="lower --max-length or --batch-size"):
        check_memory(llama_config("llama100M"), huge, 6000)  # the free memory measured here
    off = TrainConfig.load(
        None, stage="pretrain", model="llama100M", corpus=["c.txt"], batch_size=100_000, memory_check=False
    )
    assert check_memory(llama_config("llama100M"), off, 6000) is None


@pytest.mark.parametrize("command", ["pretrain", "run"])
def test_cli_refuses_in_one_line_and_writes_nothing(cli, tmp_path, corpus_file, base_model, dataset_dir, command):
    """A batch no machine holds (hundreds of TB): refused on any machine, before the run folder exists."""
    out = tmp_path / "run"
    if command == "pretrain":
        args = ["pretrain", "--model", "llama100M", "--corpus", corpus_file]
    else:
        args = ["run", "--base", base_model, "--dataset", dataset_dir, "--no-packing"]
    r = cli(*args, "--batch-size", "10000000", "--out", out, module="classit_train", env=ENV)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --max-length: a training step at"), r.stderr
    assert "--batch-size 10000000" in lines[0] and "Traceback" not in r.stderr
    assert not out.exists()
