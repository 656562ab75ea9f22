"""The Markdown section for ``benchmarks/RESULTS.md`` made from ``gpu_results.json`` (``bench_gpu.py``).

    python benchmarks/gpu/gpu_report.py gpu_results.json [more.json ...]   # prints the section

Several files (the results of separate calls, when a later call found a fresh machine) are merged part by part,
a finished part winning over one that waited.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MODE = {True: "packed", False: "padded"}
BLIMP_PAIRS = 67_000


def _n(x, digits: int = 0) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _status(name: str, part: dict | None) -> list[str]:
    """A line saying why a part has no (or only some) figures; none for a finished part."""
    if part is None:
        return [f"**{name}: not run** (not asked for)."]
    status = part["status"]
    if status == "ok":
        return []
    error = (part.get("error") or "").strip().splitlines()
    why = {
        "timed_out": f"stopped at its {part.get('guard_s')} s time guard; the figures below are what it had "
        "measured by then",
        "failed": "failed: " + error[-1] if error else "failed",
        "waiting": "not run: it needs " + ", ".join(part.get("missing", [])),
        "skipped": "not run: " + part.get("reason", ""),
    }.get(status, status)
    return [f"**{name}: {why}.**"]


def _steps_rows(runs: list[dict], first: list[str]) -> list[list[str]]:
    return [
        [
            *first_cells,
            str(r["steps_timed"]),
            _n(r["step_s"], 3),
            _n(r["useful_tokens_per_s"]),
            _n(r["tokens_per_s"]),
            _pct(r["padding_fraction"]),
            _pct(r["mfu_6n"]),
            _pct(r["mfu_model"]),
            _n(r["peak_gpu_memory_gib"], 1),
        ]
        for first_cells, r in zip(first, runs)
    ]


STEP_HEADER = [
    "steps timed",
    "step (s)",
    "useful tokens/s",
    "tokens/s incl. padding",
    "padding",
    "MFU (6N)",
    "MFU (model + attention)",
    "peak GPU memory (GiB)",
]


def pretrain_section(part: dict | None, settings: dict) -> list[str]:
    s = settings["pretrain"]
    lines = [
        f"### 1. `classit-train pretrain`: {s['model']}, {'bf16' if s['bf16'] else 'float32'}, batch "
        f"{s['batch_size']}, {s['warmup']} warm-up + {s['steps']} timed steps per row",
        "",
        *_status("pretrain", part),
    ]
    runs = (part or {}).get("runs", [])
    if runs:
        first = [[_n(r["length"]), MODE[r["packing"]]] for r in runs]
        lines += _table(["row length", "mode", *STEP_HEADER], _steps_rows(runs, first))
        ratios = []
        for length in sorted({r["length"] for r in runs}, reverse=True):
            by = {r["packing"]: r for r in runs if r["length"] == length}
            if len(by) == 2:
                ratio = by[True]["useful_tokens_per_s"] / by[False]["useful_tokens_per_s"]
                ratios.append(f"{_n(length)}: {ratio:.2f}x")
        if ratios:
            lines += ["", "Packed / padded useful tokens/s: " + "; ".join(ratios) + "."]
        lines += ["", f"Parameters: {_n(runs[0]['parameters'])}. Corpus: {part.get('corpus', 'n/a')}."]
    return lines + [""]


def run_section(part: dict | None, settings: dict) -> list[str]:
    s = settings["run"]
    lines = [
        f"### 2. `classit-train run` on the demo build: {s['model']} (fresh base), merged curriculum, packed, "
        f"{'bf16' if s['bf16'] else 'float32'}, batch {s['batch_size']}, {s['warmup']} warm-up + "
        f"{s['steps']} timed steps",
        "",
        *_status("run", part),
    ]
    runs = (part or {}).get("runs", [])
    if runs:
        first = [[_n(sum(r["examples"].values())), _n(r["rows_in_plan"])] for r in runs]
        lines += _table(["examples", "rows in the plan", *STEP_HEADER], _steps_rows(runs, first))
    return lines + [""]


def eval_section(part: dict | None, cpu_seconds: float) -> list[str]:
    cpu_rate = BLIMP_PAIRS / cpu_seconds
    lines = ["### 3. `classit-train eval --task blimp`: embedded SmolLM2-135M-Instruct", "", *_status("eval", part)]
    passes = (part or {}).get("passes", [])
    if part and part.get("model_conversion_s") is not None:
        lines += [
            f"GGUF -> safetensors conversion of the embedded model (once per machine, not in the times "
            f"below): {part['model_conversion_s']} s.",
            "",
        ]
    if passes:
        rows = [
            [
                str(p["batch_size"]),
                p["device"],
                p["dtype"],
                _n(p["pairs"]),
                _n(p["wall_s"], 1),
                _n(p["pairs_per_s"], 1),
                _n(p["scoring_pairs_per_s"], 1),
                f"{p['accuracy']:.2f}%",
                f"{p['pairs_per_s'] / cpu_rate:.1f}x",
            ]
            for p in passes
        ]
        lines += _table(
            [
                "batch",
                "device",
                "dtype",
                "pairs",
                "wall (s)",
                "pairs/s",
                "pairs/s scoring only",
                "accuracy (macro over UIDs)",
                f"pairs/s over the CPU's {cpu_rate:.1f}",
            ],
            rows,
        )
        minutes, seconds = divmod(round(cpu_seconds), 60)
        lines += [
            "",
            f"The CPU figure: all {BLIMP_PAIRS:,} pairs in {minutes} min {seconds} s "
            "with `--batch-size 32` on the shared 2-core machine (section above); wall = the whole "
            "`evaluate` call (reading BLiMP, loading the model, scoring, writing the results).",
        ]
    return lines + [""]


def generate_section(part: dict | None) -> list[str]:
    lines = ["### 4. `generate-wiki --backend transformers`: embedded model", "", *_status("generate", part)]
    if part and part.get("output_tokens") is not None:
        lines += _table(
            [
                "passages",
                "batch",
                "max tokens",
                "output tokens",
                "generation (s)",
                "output tokens/s",
                "engine load (s)",
                "command (s)",
                "pairs",
            ],
            [
                [
                    _n(part["passages"]),
                    str(part["batch_size"]),
                    str(part["max_tokens"]),
                    _n(part["output_tokens"]),
                    _n(part["generation_s"], 1),
                    _n(part["output_tokens_per_s"], 1),
                    _n(part["engine_load_s"], 1),
                    _n(part["command_s"], 1),
                    _n(part["pairs"]),
                ]
            ],
        )
    return lines + [""]


def header(results: dict) -> list[str]:
    m = results["machine"]
    title = (
        "## GPU benchmark, dry run on the CPU (figures meaningless)"
        if results["dry_run"]
        else f"## GPU figures: {m['device']} (`benchmarks/gpu/run.sh`)"
    )
    where = m["device"] + (f", {m['gpu_memory_gib']} GiB, driver {m.get('driver')}" if "gpu_memory_gib" in m else "")
    walls = ", ".join(
        f"{k} {v['status']}" + (f" in {v['wall_s']} s" if "wall_s" in v else "") for k, v in results["parts"].items()
    )
    return [
        title,
        "",
        f"Measured {results['date']} on {where}; torch {m['torch']} (CUDA {m['cuda']}), transformers "
        f"{m['transformers']}, Python {m['python']}; {m['cpu_count']} CPU cores, load average "
        f"{m['load_average'][0]} at the start. MFU against {results['peak_tflops']:g} TFLOP/s (bf16). "
        f"Parts: {walls}.",
        "",
    ]


def markdown(results: dict) -> str:
    parts = results["parts"]
    lines = [
        *header(results),
        *pretrain_section(parts.get("pretrain"), results["settings"]),
        *run_section(parts.get("run"), results["settings"]),
        *eval_section(parts.get("eval"), results["cpu_blimp_seconds"]),
        *generate_section(parts.get("generate")),
    ]
    return "\n".join(lines).rstrip() + "\n"


def merge(files: list[Path]) -> dict:
    """The results of several calls, part by part: a part that ran wins over one that waited."""
    merged = None
    for f in files:
        r = json.loads(f.read_text(encoding="utf-8"))
        if merged is None:
            merged = r
            continue
        for name, part in r["parts"].items():
            if merged["parts"].get(name, {}).get("status") in (None, "waiting", "skipped"):
                merged["parts"][name] = part
    return merged


if __name__ == "__main__":
    sys.stdout.write(markdown(merge([Path(a) for a in sys.argv[1:]])))
