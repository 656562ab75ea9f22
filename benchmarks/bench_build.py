"""Benchmark of `classit-data build`, `push` and loading back, on 130,000 synthetic rows.

Targets on a 2-core machine: build <= 20 s; push to the loopback Hub server <= 30 s; load back <= 10 s.

Steps: synthetic rows (``make_synthetic_rows.py``: published mix and length distributions, 2% bad rows)
-> ``validate`` (not timed against a target: ``bench_validate.py`` measures it) -> ``classit-data build`` on
the kept rows (timed, validation gate and statistics included) -> ``classit-data push`` to
``tests/publish/hub_server.py`` on 127.0.0.1 (timed) -> ``load_dataset(repo_id, config)`` for the three
configs through the same server, from an empty cache (timed). Commands run in subprocesses, as a user runs them.

    .venv/bin/python benchmarks/bench_build.py [--rows 130000] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGETS = {"build_s": 20.0, "push_s": 30.0, "load_s": 10.0}
TOKEN = "hf_bench_token"
LOAD = """
import sys
from datasets import load_dataset
n = 0
for config in ("switchboard", "simple_wiki", "merged"):
    ds = load_dataset(sys.argv[1], config)
    n += sum(d.num_rows for d in ds.values())
print(n)
"""


def run(args: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stderr[-3000:]}")
    return elapsed, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=130_000)
    ap.add_argument("--record", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    args = ap.parse_args()

    from make_synthetic_rows import make_rows

    from classit_data.core.io import write_rows
    from tests.publish.hub_server import HubServer

    py = sys.executable
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        rows, passages = make_rows(args.rows)
        write_rows(rows, tmp / "rows.parquet")
        write_rows(passages, tmp / "passages.parquet")
        t_validate, _ = run(
            [
                py,
                "-m",
                "classit_data",
                "validate",
                str(tmp / "rows.parquet"),
                "--out",
                str(tmp / "kept.parquet"),
                "--quarantine",
                str(tmp / "rejected.parquet"),
                "--report",
                str(tmp / "report.json"),
            ]
        )
        kept = tmp / "kept.parquet"
        out = tmp / "CLASS_IT"
        t_build, r = run(
            [
                py,
                "-m",
                "classit_data",
                "build",
                "--switchboard",
                str(kept),
                "--wiki",
                str(kept),
                "--out",
                str(out),
                "--val-fraction",
                "0.02",
                "--json",
            ]
        )
        record = json.loads(r.stdout)
        n_rows = record["counts"]["rows"]

        with HubServer(tmp / "hub", tokens={TOKEN: "bench"}) as hub:
            env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
            env.update(
                {
                    "HF_ENDPOINT": hub.endpoint,
                    "HF_HUB_DISABLE_XET": "1",
                    "HF_TOKEN": TOKEN,
                    "HF_HOME": str(tmp / "hf"),
                    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                }
            )
            t_push, r = run([py, "-m", "classit_data", "push", str(out), "--repo-id", "bench/class-it", "--json"], env)
            pushed = json.loads(r.stdout)
            t_repush, r = run(
                [py, "-m", "classit_data", "push", str(out), "--repo-id", "bench/class-it", "--json"], env
            )
            assert json.loads(r.stdout)["commit"] is None
            t_load, r = run([py, "-c", LOAD, "bench/class-it"], env)
            loaded = int(r.stdout.strip().splitlines()[-1])
        expected = 2 * n_rows  # each row is in its source's config and in merged
        assert loaded == expected, (loaded, expected)

    figures = {
        "rows_in": args.rows,
        "rows_built": n_rows,
        "validate_s": round(t_validate, 2),
        "build_s": round(t_build, 2),
        "build_inner_s": record["seconds"],
        "gate_s": record["gate_seconds"],
        "push_s": round(t_push, 2),
        "push_mb": round(pushed["bytes_uploaded"] / 1e6, 1),
        "repush_unchanged_s": round(t_repush, 2),
        "load_s": round(t_load, 2),
        "rows_loaded": loaded,
        "shards": sum(len(s["files"]) for c in record["configs"].values() for s in c["splits"].values()),
    }
    figures["load_average"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    figures["within_targets"] = all(figures[k] <= v for k, v in TARGETS.items())
    print(json.dumps(figures, indent=2))
    if args.record:
        _record(figures)


def _record(f: dict) -> None:
    ok = lambda k: "yes" if f[k] <= TARGETS[k] else "**no**"  # noqa: E731
    text = f"""
## build / push / load back

{date.today().isoformat()}, `.venv/bin/python benchmarks/bench_build.py --rows {f["rows_in"]} --record`, this 2-core
machine, shared with other work while it ran (load average {f["load_average"][0]} at the start,
{f["load_average"][1]} at the end). Synthetic rows from `benchmarks/make_synthetic_rows.py`, validated
first ({f["rows_in"]:,} in, {f["rows_built"]:,} kept, `validate` took {f["validate_s"]} s); each command timed as a
subprocess, Python start-up included.

| step | seconds | target | within |
| --- | ---: | ---: | --- |
| `build` ({f["rows_built"]:,} rows, 3 configs, {f["shards"]} shards; gate {f["gate_s"]} s inside) | {f["build_s"]} | 20 | {ok("build_s")} |
| `push` to the loopback Hub ({f["push_mb"]} MB, one commit) | {f["push_s"]} | 30 | {ok("push_s")} |
| `push` again, unchanged (no commit) | {f["repush_unchanged_s"]} | | |
| `load_dataset(repo_id, config)` x 3 through the server, empty cache ({f["rows_loaded"]:,} rows) | {f["load_s"]} | 10 | {ok("load_s")} |
"""
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
