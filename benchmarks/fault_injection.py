"""Kill each long-running command at random moments (``kill -9`` of its whole process group, or one Ctrl-C)
and start a second writer of the same outputs while the first runs, and check that nothing is lost.

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

With ``--signal INT`` the interruption is a Ctrl-C (SIGINT to the command's process group, as a terminal
sends it): the command must exit with 130 within a few seconds, print one line, leave no process and no
temporary file, and its outputs must be the old or the new set. With ``--writers 2`` a second run of the same
command starts at a random moment of the first: it must be refused at once (exit 2, one line naming the
first's pid) unless the first has ended, and the first must finish with the reference's outputs.

Usage: python benchmarks/fault_injection.py [--kills 20] [--commands validate,build] [--seed 0]
       [--signal KILL|INT] [--writers 1|2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOLATILE = ("second", "date", "time", "per_s", "started", "finished", "created", "command", "load_s")
TEMPORARY = (".partial", ".tmp", ".old-", ".commit.json", ".lock")


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


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    """The CLI in a process group of its own, as a shell starts a job."""
    return subprocess.Popen(
        [sys.executable, "-m", "classit_data", *command],
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def run(command: list[str], cwd: Path, kill_after: float | None = None, sig: int = signal.SIGKILL) -> dict:
    """Run the CLI; send ``sig`` to its process group after ``kill_after`` seconds if it is still running.

    Returns its exit code (None: killed), the seconds it ran, the seconds from the signal to its end, its
    stderr lines and the processes it started that are still alive after it ended.
    """
    import psutil

    started = time.perf_counter()
    proc = start(command, cwd)
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        tree = psutil.Process(proc.pid).children(recursive=True)
        signalled = time.perf_counter()
        os.killpg(proc.pid, sig)
        proc.wait()
        ended = time.perf_counter()
        time.sleep(0.5)  # the kernel's SIGKILL of a supervised command's group lands after its supervisor ends
        alive = [p.pid for p in tree if _alive(p)]
        lines = [line for line in proc.stderr.read().decode().splitlines() if line.strip()]
        code = None if sig == signal.SIGKILL else proc.returncode
        return {"rc": code, "seconds": ended - started, "to_end": ended - signalled, "lines": lines, "alive": alive}
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed in {cwd}: {proc.stderr.read().decode()[-2000:]}")
    return {"rc": 0, "seconds": time.perf_counter() - started, "to_end": 0.0, "lines": [], "alive": []}


def _alive(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def interrupted(counts: Counter, result: dict, work: Path) -> None:
    """What a Ctrl-C must give: exit 130 in a few seconds, one line, no traceback, no process, no temporary."""
    if result["rc"] == 0:
        return
    counts["exit 130"] += result["rc"] == 130
    errors = [line for line in result["lines"] if line.startswith("error:")]  # progress lines aside
    counts["one line, no traceback"] += len(errors) == 1 and not any("Traceback" in ln for ln in result["lines"])
    counts["processes left"] += bool(result["alive"])
    counts["temporaries left after the interrupt"] += bool(leftovers(work))
    counts["max seconds to exit"] = max(counts["max seconds to exit"], round(result["to_end"], 2))


def two_writers(
    name: str, new: list[str], base: Path, old_dir: Path, ref: dict, seconds: float, i: int, rng
) -> Counter:
    """A second run of ``new`` into the same outputs, started at a random moment of the first."""
    counts: Counter = Counter()
    work = base / f"{name}.w{i}"
    shutil.copytree(old_dir, work)
    first = start(new, work)
    time.sleep(rng.uniform(0.05, 0.9) * seconds)
    began = time.perf_counter()
    second = start(new, work)
    second.wait()
    lines = [line for line in second.stderr.read().decode().splitlines() if line.strip()]
    first_rc = first.wait()
    if second.returncode == 0:
        counts["second ran after the first ended"] += 1
    else:
        named = len(lines) == 1 and f"pid {first.pid}" in lines[0]
        counts["second refused naming the first"] += second.returncode == 2 and named
        counts["max seconds to refuse"] = round(time.perf_counter() - began, 2)
    counts["first finished, outputs equal to reference"] += first_rc == 0 and fingerprint(work) == ref
    counts["temporaries left"] += bool(leftovers(work))
    shutil.rmtree(work)
    return counts


def trial(name: str, earlier: list[str], new: list[str], base: Path, args, rng: random.Random) -> dict:
    old_dir, ref_dir = base / f"{name}.old", base / f"{name}.ref"
    old_dir.mkdir(parents=True)
    run(earlier, old_dir)
    shutil.copytree(old_dir, ref_dir)
    seconds = run(new, ref_dir)["seconds"]
    old, ref = fingerprint(old_dir), fingerprint(ref_dir)
    assert old != ref, f"{name}: the earlier and the new configuration give the same outputs"
    sig = getattr(signal, f"SIG{args.signal}")
    counts: Counter = Counter()
    for i in range(args.kills):
        if args.writers == 2:
            counts.update(two_writers(name, new, base, old_dir, ref, seconds, i, rng))
            continue
        work = base / f"{name}.{i}"
        shutil.copytree(old_dir, work)
        result = run(new, work, kill_after=rng.uniform(0.05, 1.2) * seconds, sig=sig)
        state = fingerprint(work)
        journal = any(p.name.endswith(".commit.json") for p in work.rglob("*"))
        kind = "A" if state == old else "B" if state == ref else "journal" if journal else "cut"
        counts[kind if result["rc"] != 0 else "finished before the kill"] += 1
        if sig == signal.SIGINT:
            interrupted(counts, result, work)
        run(new, work)
        counts["rerun equal to reference"] += fingerprint(work) == ref
        if name == "generate-wiki":
            counts["rerun complete, each passage once"] += generated_once(work, ref_dir)
        counts["temporaries left after rerun"] += bool(leftovers(work))
        shutil.rmtree(work)
    return {
        "command": name,
        "signal": args.signal,
        "writers": args.writers,
        "reference_seconds": round(seconds, 2),
        "kills": args.kills,
        **counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--commands", default=",".join(_commands(Path("."))))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signal", choices=["KILL", "INT"], default="KILL")
    parser.add_argument("--writers", type=int, choices=[1, 2], default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="fault-injection-") as tmp:
        base = Path(tmp)
        make_data(base / "data")
        commands = _commands(base / "data")
        results = [trial(name, *commands[name], base, args, rng) for name in args.commands.split(",")]
    for r in results:
        print(json.dumps(r))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    bad = [r["command"] for r in results if broken(r)]
    if bad:
        sys.exit(f"invariants broken for: {', '.join(bad)}")


def broken(r: dict) -> bool:
    """Whether a command's counts break an invariant of the docstring."""
    if r["writers"] == 2:
        ran = r.get("second refused naming the first", 0) + r.get("second ran after the first ended", 0)
        return (
            ran != r["kills"]
            or r.get("first finished, outputs equal to reference") != r["kills"]
            or bool(r.get("temporaries left"))
        )
    interrupted = r["kills"] - r.get("finished before the kill", 0)
    if r["signal"] == "INT" and (
        r.get("exit 130", 0) != interrupted
        or r.get("one line, no traceback", 0) != interrupted
        or r.get("processes left")
        or r.get("temporaries left after the interrupt")
        or r.get("max seconds to exit", 0) > 5
    ):
        return True
    return bool(
        r.get("cut")
        or r.get("temporaries left after rerun")
        or r.get("rerun complete, each passage once", r.get("rerun equal to reference", 0)) != r["kills"]
    )


if __name__ == "__main__":
    main()
