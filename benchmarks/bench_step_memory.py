"""The memory of real training steps against ``classit_train.memory.step_memory``'s estimate.

Each case runs in a fresh subprocess: a preset LLaMA (float32, on the CPU, or on the first GPU with
``--device cuda``), AdamW (fused, the Trainer's default), packed rows of two examples each (position ids
restarting, as ``classit_train.data.Collator`` makes them), two steps of forward, backward and optimizer
step. It reports the peak memory the steps added (CPU: the subprocess's peak RSS from the harness, minus its
RSS before the model was built; GPU: ``torch.cuda.max_memory_allocated``) next to the estimate without its fixed
overhead, and their ratio (estimate / measured: above 1 means the estimate is on the safe side).

    python -m benchmarks step_memory [--device cpu|cuda] [--quick]   (--quick: the tiny-wide cases only)
"""

from __future__ import annotations

import json

from benchmarks.harness import ROOT, Command, Report, options, parse, python

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
peak = torch.cuda.max_memory_allocated() if device == "cuda" else None  # CPU: the peak RSS, from wait4
print(json.dumps({"base": base, "peak": peak, "parameters": sum(p.numel() for p in model.parameters())}))
"""


def measure(preset: str, batch: int, length: int, attn: str, device: str) -> dict:
    """The memory the steps added: on the GPU the child's own figure, on the CPU its peak RSS (the harness's,
    from ``wait4``) less its RSS before the model was built."""
    args = python("-c", CHILD, preset, batch, length, attn, device)
    m = Command(args, cwd=ROOT, check=False, read=lambda out: json.loads(out.strip().splitlines()[-1])).measure()
    if not m.ok:
        return {"error": (m.error.strip().splitlines() or [f"exit {m.returncode}"])[-1]}
    peak = m.output["peak"] if device == "cuda" else m.peak_rss_mb * 2**20
    return {"added": peak - m.output["base"], "parameters": m.output["parameters"], "wall s": m.wall_s}


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parse(parser, argv)
    from classit_train.memory import GB, step_memory
    from classit_train.presets import llama_config

    cases = GPU_CASES if args.device == "cuda" else CPU_CASES
    if args.quick:
        cases = [c for c in cases if c[0].startswith("tiny")]
    report = Report("step_memory", f"Training step memory against its estimate ({args.device})", argv)
    rows = []
    for preset, batch, length, attn in cases:
        row = {"preset": preset, "batch": batch, "length": length, "attention": attn}
        got = measure(preset, batch, length, attn, args.device)
        if "error" in got:
            rows.append(row | {"failed": got["error"]})
            continue
        est = step_memory(llama_config(preset), got["parameters"], batch, length, attn_implementation=attn)
        need = est.total - est.overhead
        rows.append(
            row
            | {"measured GB": got["added"] / GB, "estimate GB": need / GB, "estimate / measured": need / got["added"]}
        )
    report.line(
        "Memory two steps (forward, backward, fused AdamW, packed rows of two examples) added: CPU, peak RSS less "
        "the RSS before the model; GPU, `torch.cuda.max_memory_allocated`. Estimate: `step_memory` less its fixed "
        "overhead; above 1, the estimate is on the safe side."
    )
    report.table(rows)
    report.write(args.results)


if __name__ == "__main__":
    main()
