"""Kill each long-running command at random moments (``kill -9`` of its whole process group) and check that
nothing is lost.

For every command: one clean run of an *earlier* configuration leaves an old set of outputs, one clean run
of the *new* configuration is the reference. Then, ``--kills`` times: a copy of the old state, the new
command started and killed after a random delay (up to 1.2x the reference's time), the state classified,
and the command rerun to completion. The invariants:

- after the kill, the outputs are the old set (A) or the complete new set (B); anything else is a *cut*,
  except a half-done commit whose journal the next run finishes ("journal"; for ``build``, whose folder is
  replaced by two renames, also a kill between them);
- the rerun exits 0 and its outputs equal the reference (timings and dates aside); for generate-wiki, whose
  sampled text depends on how the engine batches what is left, every passage has exactly one record;
- no temporary file (``.partial``, ``.tmp``, a folder set aside ``.old-*``, a journal) is left after the
  rerun.

Usage: python -m benchmarks fault_injection [--kills 20] [--commands validate,build] [--seed 0]
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import polars as pl

from benchmarks.harness import ROOT, Command, Report, options, parse, python

VOLATILE = ("second", "date", "time", "per_s", "started", "finished", "created", "command", "load_s")
TEMPORARY = (".partial", ".tmp", ".old-", ".commit.json")


def _stable(value):
    """JSON without what changes from run to run (timings, dates, the command line with its temporary paths)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if not any(word in k.lower() for word in VOLATILE)}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str) and value.startswith(tempfile.gettempdir()):
        return Path(value).name
    return value


def fingerprint(folder: Path) -> dict[str, str]:
    """Each output file's content, made comparable across runs: rows for row files, stable JSON for JSON."""
    prints = {}
    for path in sorted(folder.rglob("*")):
        if (
            not path.is_file()
            or any(t in part for part in path.relative_to(folder).parts for t in TEMPORARY)
            or "chunks" in path.parts
            or path.name in ("run.json", "timings.json")
            or path.name.startswith("input")
        ):
            continue
        if path.suffix == ".parquet":
            content = pl.read_parquet(path).write_json().encode()
        elif path.suffix == ".json":
            content = json.dumps(_stable(json.loads(path.read_text())), sort_keys=True).encode()
        elif path.suffix == ".md":
            content = b"\n".join(
                line
                for line in path.read_bytes().splitlines()
                if not any(w.encode() in line.lower() for w in ("second", "/s", "date", "tmp"))
            )
        elif path.suffix == ".html":  # the build report: all but its wall times (rows marked data-wall)
            content = b"\n".join(line for line in path.read_bytes().splitlines() if b"data-wall" not in line)
        else:
            content = path.read_bytes()
        prints[str(path.relative_to(folder))] = hashlib.sha256(content).hexdigest()
    return prints


def generated_once(work: Path, ref: Path) -> bool:
    """generate-wiki's rerun is complete when every selected passage has exactly one chunk record and the
    outputs count them all; its text need not equal the reference's, since an engine batches the passages
    left after a kill differently, and sampling is not bitwise stable across batch shapes."""
    summary, expected = (json.loads((d / "gen" / "summary.json").read_text()) for d in (work, ref))
    chunks = (work / "gen" / "chunks").rglob("*.parquet")
    records = pl.concat([pl.read_parquet(p, columns=["passage_id"]) for p in chunks])
    return (
        summary["passages_done"] == expected["passages_done"] == records.height == records["passage_id"].n_unique()
        and summary["duplicate_records"] == 0
    )


def leftovers(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if any(t in p.name for t in TEMPORARY)]


def _commands(data: Path) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (earlier command, new command); the outputs go to the working folder (cwd)."""
    sample = str(ROOT / "samples" / "switchboard_sample.train")
    wiki = str(ROOT / "samples" / "simplewiki_sample.xml.bz2")
    items, passages = str(data / "items.parquet"), str(data / "passages.parquet")
    validate = ["validate", items, "--out", "kept.parquet", "--quarantine", "q.parquet", "--report", "r.json"]
    build = [
        "build",
        "--switchboard",
        str(data / "kept_sw.parquet"),
        "--out",
        "CLASS_IT",
        "--passages",
        passages,
        "--wiki",
        str(data / "kept_wiki.parquet"),
    ]
    generate = ["generate-wiki", "--passages", passages, "--out", "gen", "--backend", "transformers", "--max-passages"]
    return {
        "convert-switchboard": (
            ["convert-switchboard", sample, "--out", "o.parquet", "--rejects", "r.parquet", "--min-words", "2"],
            ["convert-switchboard", sample, "--out", "o.parquet", "--rejects", "r.parquet"],
        ),
        "validate": ([*validate, "--no-dedup"], validate),
        "stats": (["stats", str(data / "kept_sw.parquet"), "--out", "stats"], ["stats", items, "--out", "stats"]),
        "prepare-wiki": (
            ["prepare-wiki", wiki, "--out", "p.parquet", "--workers", "2", "--max-words", "100"],
            ["prepare-wiki", wiki, "--out", "p.parquet", "--workers", "2"],
        ),
        "build": ([*build[:-2], "--val-fraction", "0.2"], build),
        "generate-wiki": ([*generate, "2"], [*generate, "4"]),
    }


def make_data(data: Path) -> None:
    """Inputs for the commands: synthetic items, validated per source, and their passages."""
    from tests.helpers import validated_inputs, write_inputs

    raw = write_inputs(data / "raw")
    shutil.copy(raw["switchboard"], data / "items.parquet")
    kept = validated_inputs(data / "validated")
    shutil.copy(kept["switchboard"], data / "kept_sw.parquet")
    shutil.copy(kept["wiki"], data / "kept_wiki.parquet")
    shutil.copy(kept["passages"], data / "passages.parquet")


def run(command: list[str], cwd: Path, kill_after: float | None = None) -> tuple[int | None, float]:
    """Run the CLI in its own process group; kill the whole group after ``kill_after`` seconds if still running."""
    args = python("-m", "classit_data", *command)
    m = Command(args, cwd=cwd, env={"HF_HUB_OFFLINE": "1"}, timeout=kill_after, check=False).measure()
    if m.returncode is None:
        return None, m.wall_s
    if m.returncode != 0:
        raise RuntimeError(f"{command[0]} failed in {cwd}: {m.error[-2000:]}")
    return 0, m.wall_s


def trial(name: str, earlier: list[str], new: list[str], base: Path, kills: int, rng: random.Random) -> dict:
    old_dir, ref_dir = base / f"{name}.old", base / f"{name}.ref"
    old_dir.mkdir()
    run(earlier, old_dir)
    shutil.copytree(old_dir, ref_dir)
    _, seconds = run(new, ref_dir)
    old, ref = fingerprint(old_dir), fingerprint(ref_dir)
    assert old != ref, f"{name}: the earlier and the new configuration give the same outputs"
    counts: Counter = Counter()
    for i in range(kills):
        work = base / f"{name}.{i}"
        shutil.copytree(old_dir, work)
        rc, _ = run(new, work, kill_after=rng.uniform(0.05, 1.2) * seconds)
        state = fingerprint(work)
        journal = any(p.name.endswith(".commit.json") for p in work.rglob("*"))
        kind = "A" if state == old else "B" if state == ref else "journal" if journal else "cut"
        counts[kind if rc is None else "finished before the kill"] += 1
        run(new, work)
        counts["rerun equal to reference"] += fingerprint(work) == ref
        if name == "generate-wiki":
            counts["rerun complete, each passage once"] += generated_once(work, ref_dir)
        counts["temporaries left after rerun"] += bool(leftovers(work))
        shutil.rmtree(work)
    return {"command": name, "reference_seconds": round(seconds, 2), "kills": kills, **counts}


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--kills", type=int, default=None, help="kills per command (default 20; --quick 2)")
    parser.add_argument("--commands", default=None, help="comma-separated (default all; --quick all but generate-wiki)")
    parser.add_argument("--seed", type=int, default=0)
    args = parse(parser, argv)
    kills = args.kills or (2 if args.quick else 20)
    names = [n for n in _commands(Path(".")) if not (args.quick and n == "generate-wiki")]
    names = args.commands.split(",") if args.commands else names
    rng = random.Random(args.seed)
    report = Report("fault_injection", "Killed at random: nothing lost", argv)
    with tempfile.TemporaryDirectory(prefix="fault-injection-") as tmp:
        base = Path(tmp)
        make_data(base / "data")
        commands = _commands(base / "data")
        results = [trial(name, *commands[name], base, kills, rng) for name in names]
    report.line(
        "Each command killed (`kill -9` of its process group) at a random moment up to 1.2x its clean run, then "
        "rerun. A: the old outputs left; B: the complete new ones; journal: a half-done commit the rerun finished; "
        "cut: anything else."
    )
    report.table(results)
    report.write(args.results)
    bad = [
        r["command"]
        for r in results
        if r.get("cut")
        or r.get("temporaries left after rerun")
        or r.get("rerun complete, each passage once", r.get("rerun equal to reference", 0)) != r["kills"]
    ]
    if bad:
        sys.exit(f"invariants broken for: {', '.join(bad)}")


if __name__ == "__main__":
    main()
