"""The GPU benchmark's results as the tables of its section (``gpu_results.md`` and ``benchmarks/RESULTS.md``)."""

from __future__ import annotations

from benchmarks.harness import Report

STEP_COLUMNS = {
    "steps_timed": "steps timed",
    "step_s": "step s",
    "useful_tokens_per_s": "useful tokens/s",
    "tokens_per_s": "tokens/s with padding",
    "padding_fraction": "padding",
    "mfu_6n": "MFU (6N)",
    "mfu_model": "MFU (model + attention)",
    "peak_gpu_memory_gib": "peak GPU memory GiB",
}


def _status(report: Report, name: str, part: dict | None) -> bool:
    """A line for a part that did not finish (why); True where it has figures to show."""
    if part is None:
        return False
    status = part["status"]
    if status == "skipped":
        report.line(f"{name}: not run, it needs " + ", ".join(part["missing"]) + ".")
    elif status == "timed_out":
        report.line(f"{name}: stopped at its {part['guard_s']:g} s time guard; below, what it had measured.")
    elif status == "failed":
        report.line(f"{name}: failed: " + (part.get("error") or "?").splitlines()[-1])
    return status != "skipped"


def _steps(runs: list[dict], *first: str) -> list[dict]:
    return [{k: r.get(k) for k in first} | {label: r.get(key) for key, label in STEP_COLUMNS.items()} for r in runs]


def record(report: Report, results: dict) -> None:
    """Adds the device, the parts' status and each part's table to ``report``."""
    m, s, parts = results["machine"], results.get("settings", {}), results.get("parts", {})
    memory = f", {m['gpu_memory_gib']} GiB" if "gpu_memory_gib" in m else ""
    report.line(
        f"Device: {m['device']}{memory}; torch {m['torch']} (CUDA {m['cuda']}), transformers {m['transformers']}."
    )
    report.table(
        [
            {"part": k, "status": v["status"], "wall s": v.get("wall_s"), "guard s": v.get("guard_s")}
            for k, v in parts.items()
        ]
    )
    peak = parts.get("peak")
    if _status(report, "peak", peak) and "tflops" in peak:
        report.line(
            f"Dense {peak['dtype']} matrix products of {peak['size']:,}^2: {peak['tflops']:g} TFLOP/s (MFU's peak)."
        )
    pretrain = parts.get("pretrain")
    if _status(report, "pretrain", pretrain) and pretrain.get("runs"):
        p = s["pretrain"]
        caption = (
            f"`classit-train pretrain` {p['model']}, {'bf16' if p['bf16'] else 'float32'}, batch {p['batch_size']}:"
        )
        rows = [r | {"mode": "packed" if r["packing"] else "padded"} for r in pretrain["runs"]]
        report.table(_steps(rows, "length", "mode"), caption=caption)
    run = parts.get("run")
    if _status(report, "run", run) and run.get("runs"):
        caption = f"`classit-train run` on a small build ({run['runs'][0]['rows_in_plan']:,} rows in the plan), merged:"
        report.table(_steps(run["runs"]), caption=caption)
    ev = parts.get("eval")
    if _status(report, "eval", ev) and ev.get("passes"):
        keys = ("batch_size", "pairs", "device", "dtype", "wall_s", "pairs_per_s", "scoring_pairs_per_s", "accuracy")
        caption = "`classit-train eval --task blimp`, embedded SmolLM2-135M-Instruct:"
        report.table([{k: p.get(k) for k in keys} for p in ev["passes"]], caption=caption)
    gen = parts.get("generate")
    if _status(report, "generate", gen) and gen.get("output_tokens") is not None:
        keys = ("backend", "passages", "max_tokens", "output_tokens", "generation_s", "output_tokens_per_s", "pairs")
        report.table([{k: gen.get(k) for k in keys}], caption="`generate-wiki`, embedded model:")
