"""Benchmark of `classit-data build`, `push` and loading back, on 130,000 synthetic rows.

Targets on a 2-core machine: build <= 20 s; push to the loopback Hub server <= 30 s; load back <= 10 s.

Steps: synthetic rows (``make_synthetic_rows.py``: published mix and length distributions, 2% bad rows)
-> ``validate`` (not timed against a target: ``bench_validate.py`` measures it) -> ``classit-data build`` on
the kept rows (timed, validation gate and statistics included) -> ``classit-data push`` to
``tests/publish/hub_server.py`` on 127.0.0.1 (timed) -> ``load_dataset(repo_id, config)`` for the three
configs through the same server, from an empty cache (timed). Commands run in subprocesses, as a user runs them.

    python -m benchmarks build [--rows 130000] [--repeat 3]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.harness import Command, Comparison, Report, alternate, cli, options, parse, python
from benchmarks.make_synthetic_rows import rows_folder

TARGETS = {"build": 20.0, "push": 30.0, "load back": 10.0}
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


def hub_env(endpoint: str, home: Path) -> dict:
    """The environment of a command that talks to the loopback Hub: its address, a token, an empty cache."""
    env = {k: None for k in os.environ if k.startswith("HF_")}
    return env | {
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_XET": "1",
        "HF_TOKEN": TOKEN,
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }


def one_round(tmp: Path, rows: Path, endpoint: str, round_: int) -> Comparison:
    """validate, build, push, push again (unchanged), load back: each once, to a repository of this round's."""
    kept, out, repo = tmp / "kept.parquet", tmp / "CLASS_IT", f"bench/class-it-{round_}"
    env = hub_env(endpoint, tmp / f"hf-{round_}")
    validate = ["validate", rows, "--out", kept, "--quarantine", tmp / "rejected.parquet", "--report", tmp / "r.json"]
    steps = {
        "validate": cli("classit_data", *validate, summary=False),
        "build": cli(
            "classit_data",
            "build",
            "--switchboard",
            kept,
            "--wiki",
            kept,
            "--out",
            out,
            "--val-fraction",
            "0.02",
            "--force",
        ),
        "push": cli("classit_data", "push", out, "--repo-id", repo, env=env),
        "push again, unchanged": cli("classit_data", "push", out, "--repo-id", repo, env=env),
        "load back": Command(python("-c", LOAD, repo), env=env, read=lambda text: int(text.split()[-1])),
    }
    return alternate(steps, repeat=1)


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--rows", type=int, default=None, help="synthetic rows (default 130000; --quick 20000)")
    args = parse(parser, argv)
    from tests.publish.hub_server import HubServer

    n = args.rows or (20_000 if args.quick else 130_000)
    report = Report("build", "build / push / load back", argv)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        rows = rows_folder(n, tmp) / "rows.parquet"
        with HubServer(tmp / "hub", tokens={TOKEN: "bench"}) as hub:
            rounds = [one_round(tmp, rows, hub.endpoint, i) for i in range(args.repeat)]
    runs = Comparison({step: [m for r in rounds for m in r.runs[step]] for step in rounds[0].runs})
    last = {step: measured[-1].output for step, measured in runs.runs.items()}
    built = last["build"]["counts"]["rows"]
    assert last["load back"] == 2 * built, (last["load back"], built)  # each row: its source's config and merged
    assert last["push again, unchanged"]["commit"] is None
    table = runs.rows()
    for row in table:
        target = TARGETS.get(row["variant"])
        row |= {"target s": target, "within": None if target is None else row["wall s"] <= target}
    shards = sum(len(s["files"]) for c in last["build"]["configs"].values() for s in c["splits"].values())
    report.line(
        f"{n:,} synthetic rows in (`make_synthetic_rows.py`), {built:,} built into 3 configs and {shards} shards "
        f"(gate {last['build']['gate_seconds']:.2f} s inside build), {last['push']['bytes_uploaded'] / 1e6:.1f} MB "
        f"pushed to the loopback Hub server (`tests/publish/hub_server.py`), {last['load back']:,} rows loaded back "
        "with `load_dataset(repo_id, config)` x 3 from an empty cache. Each step a subprocess."
    )
    report.table(table)
    report.write(args.results)


if __name__ == "__main__":
    main()
