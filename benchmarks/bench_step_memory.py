"""The memory of real training steps against ``classit_train.memory.step_memory``'s estimate.

Each case runs in a fresh subprocess: a preset LLaMA (float32, on the CPU, or on the first GPU with
``--device cuda``), AdamW (fused, the Trainer's default), packed rows of two examples each (position ids
restarting, as ``classit_train.data.Collator`` makes them), two steps of forward, backward and optimizer
step. It prints the peak memory the step added (CPU: peak RSS minus the RSS before the model was built,
``ru_maxrss``, exact; GPU: ``torch.cuda.max_memory_allocated``) next to the estimate without its fixed
overhead, and their ratio (estimate / measured: above 1 means the estimate is on the safe side).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_step_memory.py [--device cpu|cuda] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (preset, batch, length, attention); each fits in a few GB on the CPU
CPU_CASES = [
    ("tiny-wide", 2, 2048, "sdpa"),
    ("tiny-wide", 2, 4096, "sdpa"),
    ("tiny-wide", 2, 1024, "eager"),
    ("tiny-wide", 2, 2048, "eager"),
    ("llama100M", 1, 512, "sdpa"),
    ("llama100M", 2, 1024, "sdpa"),
    ("llama100M", 1, 1024, "eager"),
]
GPU_CASES = [
    ("llama100M", 8, 2048, "sdpa"),
    ("llama100M", 8, 6000, "sdpa"),
    ("llama100M", 2, 4096, "eager"),
    ("llama140M", 8, 6144, "sdpa"),
]

CHILD = r"""
import json, resource, sys, torch
from classit_train.presets import llama_config
preset, batch, length, attn, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
torch.manual_seed(0)
cfg = llama_config(preset, attn_implementation=attn)
half = length // 2
pos = torch.cat([torch.arange(half), torch.arange(length - half)]).repeat(batch, 1).to(device)
ids = torch.randint(0, cfg.vocab_size, (batch, length), device=device)
if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
else:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
from transformers import LlamaForCausalLM
model = LlamaForCausalLM(cfg).to(device)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
for _ in range(2):
    loss = model(input_ids=ids, labels=ids, position_ids=pos).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
if device == "cuda":
    peak = torch.cuda.max_memory_allocated()
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"added": peak - base, "parameters": sum(p.numel() for p in model.parameters())}))
"""


def measure(preset: str, batch: int, length: int, attn: str, device: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, preset, str(batch), str(length), attn, device],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--quick", action="store_true", help="the tiny-wide cases only")
    args = ap.parse_args()
    from classit_train.memory import GB, step_memory
    from classit_train.presets import llama_config

    cases = GPU_CASES if args.device == "cuda" else CPU_CASES
    if args.quick:
        cases = [c for c in cases if c[0].startswith("tiny")]
    print(f"device {args.device}, load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    print(f"{'preset':<11}{'batch':>6}{'length':>7}{'attn':>7}{'measured GB':>13}{'estimate GB':>13}{'est/meas':>10}")
    for preset, batch, length, attn in cases:
        got = measure(preset, batch, length, attn, args.device)
        if "error" in got:
            print(f"{preset:<11}{batch:>6}{length:>7}{attn:>7}  failed: {got['error']}")
            continue
        est = step_memory(llama_config(preset), got["parameters"], batch, length, attn_implementation=attn)
        need = est.total - est.overhead
        print(
            f"{preset:<11}{batch:>6}{length:>7}{attn:>7}{got['added'] / GB:>13.2f}{need / GB:>13.2f}"
            f"{need / got['added']:>10.2f}"
        )


if __name__ == "__main__":
    main()
