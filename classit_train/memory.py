"""How much memory one training step takes, estimated before any weight is allocated.

A run whose step does not fit is killed by the kernel minutes later without a word (the OOM killer), so
``pretrain`` and ``run`` compare this estimate with the memory free on the device the Trainer will use and
refuse at once, naming ``--max-length`` and ``--batch-size`` and the longest row length that would fit.

The estimate, for a transformers LLaMA-style decoder trained in float32 with AdamW (``step_memory``):

- weights, gradients and AdamW's two moments: 16 bytes per parameter;
- per layer and token, the tensors autograd keeps for the backward pass: the two RMSNorms' inputs and
  outputs, q/k/v and their rotated copies, the attention output and its projection's input (13 x hidden),
  and the MLP's gate, up, SiLU and product (4 x intermediate) (``TOKEN_FLOATS``);
- attention scores: ``eager`` keeps a (batch, heads, length, length) softmax per layer and makes two more
  while computing it; ``sdpa`` keeps none of them, but the packed rows' block-diagonal mask is a
  (batch, length, length) boolean tensor;
- the logits (batch x length x vocabulary) three times: the output, the loss's log-softmax, its gradient.

``benchmarks/bench_step_memory.py`` measures real steps against it (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from classit_data.core.errors import InputError

GB = 1024**3
#: bytes per parameter: float32 weight, gradient, AdamW's exp_avg and exp_avg_sq
STATE_BYTES = 16
#: what the process holds besides the step (torch, transformers, the tokenized data), in bytes
OVERHEAD = int(0.75 * GB)


def token_floats(hidden: int, intermediate: int) -> int:
    """Values autograd keeps per layer and token of a LLaMA decoder layer (see the module docstring)."""
    return 13 * hidden + 4 * intermediate


@dataclass(frozen=True)
class StepMemory:
    """The bytes one training step needs, by part."""

    states: int  # weights, gradients, optimizer moments
    activations: int  # what the layers keep for the backward pass
    attention: int  # attention scores (eager) and the packing mask
    logits: int  # output logits, log-softmax, their gradient
    overhead: int = OVERHEAD

    @property
    def total(self) -> int:
        return self.states + self.activations + self.attention + self.logits + self.overhead

    def describe(self) -> str:
        parts = {
            "weights+optimizer": self.states,
            "activations": self.activations,
            "attention": self.attention,
            "logits": self.logits,
        }
        return ", ".join(f"{name} {b / GB:.1f}" for name, b in parts.items())


def step_memory(
    config, parameters: int, batch_size: int, length: int, *, attn_implementation: str = "sdpa", bf16: bool = False
) -> StepMemory:
    """The memory of one training step of a causal LM with ``config`` (a transformers config) on batches of
    ``batch_size`` rows of ``length`` tokens; ``bf16`` halves what the forward pass keeps (mixed precision)."""
    act = 2 if bf16 else 4
    tokens = batch_size * length
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    per_layer = tokens * token_floats(config.hidden_size, config.intermediate_size) * act
    square = batch_size * length * length
    if attn_implementation == "eager":
        attention = layers * square * heads * act + 2 * square * heads * 4 + square * 4  # kept, made, float mask
    else:
        attention = square  # the boolean block-diagonal mask; sdpa keeps no scores
    return StepMemory(
        states=STATE_BYTES * parameters,
        activations=layers * per_layer,
        attention=attention,
        logits=3 * tokens * config.vocab_size * 4,
    )


def longest_fitting(
    config, parameters: int, batch_size: int, free: int, *, attn_implementation: str, bf16: bool, multiple: int = 64
) -> int:
    """The longest row length (a multiple of ``multiple``) whose step fits in ``free`` bytes; 0 when none does."""

    def fits(n: int) -> bool:
        return (
            step_memory(config, parameters, batch_size, n, attn_implementation=attn_implementation, bf16=bf16).total
            <= free
        )

    lo, hi = 0, 1
    while fits(hi * multiple) and hi < 1 << 20:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid * multiple) else (lo, mid)
    return lo * multiple


def free_memory() -> tuple[int, str]:
    """Bytes free on the device the Trainer will use, and its name: the first CUDA GPU, else this machine's RAM."""
    import torch

    if torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info()
        return free, "GPU"
    import psutil

    return psutil.virtual_memory().available, "CPU"


def check_step_fits(
    config,
    parameters: int,
    batch_size: int,
    length: int,
    *,
    attn_implementation: str = "sdpa",
    bf16: bool = False,
    free: tuple[int, str] | None = None,
) -> StepMemory:
    """Refuse (``InputError``, one line) a step that needs more memory than is free; the estimate otherwise.

    ``free``: (bytes, device name), measured now when not given.
    """
    need = step_memory(config, parameters, batch_size, length, attn_implementation=attn_implementation, bf16=bf16)
    available, device = free if free is not None else free_memory()
    if need.total <= available:
        return need
    fit = longest_fitting(config, parameters, batch_size, available, attn_implementation=attn_implementation, bf16=bf16)
    hint = (
        f"--max-length {fit} fits with --batch-size {batch_size}"
        if fit >= 64
        else f"not even 64 tokens fit with --batch-size {batch_size}"
    )
    raise InputError(
        f"a training step at --max-length {length} and --batch-size {batch_size} needs about "
        f"{need.total / GB:.1f} GB ({need.describe()}; {attn_implementation} attention) but "
        f"{available / GB:.1f} GB is free on the {device}: lower --max-length or --batch-size "
        f"({hint})",
        "--max-length",
    )
