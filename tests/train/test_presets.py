"""Model presets build CLASS-IT's Table 1 exactly; Table 2 is the training preset; settings load in order."""

from __future__ import annotations

import pytest

from classit_data.core.errors import InputError
from classit_train.config import TrainConfig
from classit_train.presets import count_parameters, llama_config, model_preset, model_presets, training_preset
from classit_train.train import _training_args


@pytest.mark.parametrize(
    "name, vocab, max_len, hidden, heads, layers, params",
    [
        ("llama100M", 16_384, 6_000, 512, 8, 20, 100_684_288),
        ("llama140M", 32_000, 6_144, 704, 11, 12, 140_231_872),
    ],
)
def test_table1_presets_have_exact_parameter_counts(name, vocab, max_len, hidden, heads, layers, params):
    cfg = llama_config(name)
    assert (
        cfg.vocab_size,
        cfg.max_position_embeddings,
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.num_hidden_layers,
    ) == (vocab, max_len, hidden, heads, layers)
    assert cfg.intermediate_size == 4 * hidden and not cfg.tie_word_embeddings
    assert not cfg.attention_bias and not cfg.mlp_bias
    assert count_parameters(cfg) == params


def test_every_preset_builds_to_its_declared_count():
    for name, spec in model_presets().items():
        assert count_parameters(llama_config(name)) == spec["parameters"], name


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(InputError, match="llama100M"):
        model_preset("llama7B")


def test_table2_hyperparameters():
    pre, inst = training_preset("pretrain"), training_preset("instruction")
    assert (pre["learning_rate"], pre["batch_size"], pre["epochs"], pre["lr_scheduler"], pre["warmup_steps"]) == (
        2e-4,
        8,
        8,
        "linear",
        5000,
    )
    assert (inst["learning_rate"], inst["batch_size"], inst["epochs"], inst["lr_scheduler"], inst["warmup_steps"]) == (
        2e-5,
        8,
        10,
        "cosine_with_restarts",
        500,
    )


def test_config_file_then_flags_override_the_preset(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("epochs: 3\nlearning_rate: 1.0e-4\nnum_cycles: 4\n")
    cfg = TrainConfig.load(f, stage="instruction", epochs=2, seed=None)
    assert (cfg.epochs, cfg.learning_rate, cfg.num_cycles, cfg.batch_size, cfg.seed) == (2, 1e-4, 4, 8, 0)
    with pytest.raises(InputError, match="run.yaml"):
        f.write_text("epoch: 3\n")
        TrainConfig.load(f, stage="instruction")


def test_restart_cycles_reach_the_scheduler(tmp_path):
    """num_cycles must be passed as lr_scheduler_kwargs: transformers' default is one cycle (plain cosine)."""
    import torch
    from transformers import get_scheduler

    cfg = TrainConfig.load(None, stage="instruction", num_cycles=3, warmup_steps=0)
    args = _training_args(cfg, tmp_path)
    assert args.lr_scheduler_kwargs == {"num_cycles": 3}
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(
        args.lr_scheduler_type,
        opt,
        num_warmup_steps=0,
        num_training_steps=30,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    lrs = []
    for _ in range(30):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[0] == 1.0 and lrs[10] == pytest.approx(1.0) and lrs[20] == pytest.approx(1.0)  # restarts
    assert lrs[9] < 0.1
