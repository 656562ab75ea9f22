"""Model and training presets, kept as data in ``classit_train/presets/*.yaml``.

``models.yaml`` holds CLASS-IT's Table 1 (and tiny test models built the same way); ``training.yaml`` holds
Table 2 per stage. This module only reads them and turns a model preset into a ``LlamaConfig``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from classit_data.core.errors import InputError

PRESET_DIR = Path(__file__).resolve().parent


@functools.cache
def _load(name: str) -> dict:
    with open(PRESET_DIR / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


def model_presets() -> dict[str, dict]:
    """Every model preset with the defaults filled in."""
    data = _load("models.yaml")
    return {name: {**data["defaults"], **spec} for name, spec in data["presets"].items()}


def model_preset(name: str) -> dict:
    presets = model_presets()
    if name not in presets:
        raise InputError(f"unknown model preset {name!r} (known: {', '.join(presets)})", "--model")
    return presets[name]


def training_preset(stage: str) -> dict[str, Any]:
    """Table 2's hyperparameters for ``pretrain`` or ``instruction``."""
    data = _load("training.yaml")
    if stage not in data:
        raise InputError(f"unknown training stage {stage!r} (known: {', '.join(data)})")
    return dict(data[stage])


def llama_config(name: str, **overrides):
    """The ``LlamaConfig`` of a preset; ``overrides`` set token ids, attention implementation and the like."""
    from transformers import LlamaConfig

    p = model_preset(name)
    return LlamaConfig(
        vocab_size=p["vocab_size"],
        hidden_size=p["hidden_size"],
        intermediate_size=p["mlp_ratio"] * p["hidden_size"],
        num_hidden_layers=p["num_hidden_layers"],
        num_attention_heads=p["num_attention_heads"],
        num_key_value_heads=p["num_attention_heads"],
        max_position_embeddings=p["max_length"],
        tie_word_embeddings=p["tie_word_embeddings"],
        attention_bias=p["attention_bias"],
        mlp_bias=p["mlp_bias"],
        rms_norm_eps=p["rms_norm_eps"],
        rope_theta=p["rope_theta"],
        initializer_range=p["initializer_range"],
        **overrides,
    )


def count_parameters(config) -> int:
    """Parameters of the causal LM of ``config`` (a preset's ``LlamaConfig``, or any model folder's), built on
    the meta device (no memory, no time)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())
