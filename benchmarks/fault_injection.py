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
sends it): the command must exit with 130 within a few seconds, print one error line and no traceback, leave
no process and no temporary file, and its outputs must be the old or the new set. With ``--writers 2`` a
second run of the same command starts at a random moment of the first, once the first holds its lock: it must
be refused at once (exit 2, one line naming the first's pid) unless the first has ended, and the first must
finish with the reference's outputs.

Usage: python -m benchmarks fault_injection [--kills 20] [--commands validate,build] [--seed 0]
       [--signal KILL|INT] [--writers 1|2]
"""

from __future__ import annotations

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

from benchmarks.harness import ROOT, Command, Report, options, parse, python, stopwatch, write_section

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


def run(command: list[str], cwd: Path, kill_after: float | None = None) -> tuple[int | None, float]:
    """Run the CLI in its own process group; kill the whole group after ``kill_after`` seconds if still running."""
    args = python("-m", "classit_data", *command)
    m = Command(args, cwd=cwd, env={"HF_HUB_OFFLINE": "1"}, timeout=kill_after, check=False).measure()
    if m.returncode is None:
        return None, m.wall_s
    if m.returncode != 0:
        raise RuntimeError(f"{command[0]} failed in {cwd}: {m.error[-2000:]}")
    return 0, m.wall_s


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    """The CLI in a process group of its own, as a shell starts a job (for a signal other than the harness's
    SIGKILL, and for two at once)."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(ROOT), "HF_HUB_OFFLINE": "1"}
    args = python("-m", "classit_data", *command)
    return subprocess.Popen(
        args, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _alive(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def interrupt(command: list[str], cwd: Path, after: float) -> dict:
    """Run the CLI and send SIGINT to its process group after ``after`` seconds if it is still running: its exit
    code, the seconds from the signal to its end, its stderr lines, the processes it started still alive."""
    import psutil

    proc = start(command, cwd)
    try:
        proc.wait(timeout=after)
        return {"rc": proc.returncode, "to_end": 0.0, "lines": [], "alive": []}
    except subprocess.TimeoutExpired:
        tree = psutil.Process(proc.pid).children(recursive=True)
    with stopwatch() as to_end:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait()
    time.sleep(0.5)  # what the command started has had time to go
    lines = [line for line in proc.stderr.read().decode().splitlines() if line.strip()]
    return {
        "rc": proc.returncode,
        "to_end": to_end.seconds,
        "lines": lines,
        "alive": [p.pid for p in tree if _alive(p)],
    }


def python_starting(result: dict) -> bool:
    """Whether the Ctrl-C reached the interpreter while it was still starting, before any code of ours ran (its
    own ``site`` set-up, the first tens of milliseconds): Python's ``KeyboardInterrupt``, no frame of ours."""
    text = "\n".join(result["lines"])
    return result["rc"] != 130 and text.endswith("KeyboardInterrupt") and "classit" not in text


def interrupted(counts: Counter, result: dict, work: Path) -> None:
    """What a Ctrl-C must give: exit 130 in a few seconds, one line, no traceback, no process, no temporary."""
    if python_starting(result):
        counts["during Python's own start-up"] += 1
        counts["temporaries left after the interrupt"] += bool(leftovers(work))
        return
    errors = [line for line in result["lines"] if line.startswith("error:")]  # progress lines aside
    counts["exit 130"] += result["rc"] == 130
    counts["one line, no traceback"] += len(errors) == 1 and not any("Traceback" in ln for ln in result["lines"])
    counts["processes left"] += bool(result["alive"])
    counts["temporaries left after the interrupt"] += bool(leftovers(work))
    counts["max seconds to exit"] = max(counts["max seconds to exit"], round(result["to_end"], 2))


def two_writers(name: str, new: list[str], work: Path, ref: dict, seconds: float, rng: random.Random) -> Counter:
    """A second run of ``new`` into the same outputs, started at a random moment of the first once it holds its
    lock (before that, the two would only race to start: the one that takes the lock first runs, and either may)."""
    counts: Counter = Counter()
    first = start(new, work)
    started = time.monotonic()
    while first.poll() is None and not any(p.name.endswith(".lock") for p in work.rglob(".*")):
        time.sleep(0.01)
    time.sleep(rng.uniform(0.05, 0.9) * max(seconds - (time.monotonic() - started), 0))
    with stopwatch() as refused:
        second = start(new, work)
        second.wait()
    lines = [line for line in second.stderr.read().decode().splitlines() if line.strip()]
    first_rc = first.wait()
    if second.returncode == 0:
        counts["second ran after the first ended"] += 1
    else:
        named = [line for line in lines if line.startswith("error:") and f"pid {first.pid}" in line]
        counts["second refused naming the first"] += second.returncode == 2 and len(named) == 1
        counts["max seconds to refuse"] = max(counts["max seconds to refuse"], round(refused.seconds, 2))
    counts["first finished, outputs equal to reference"] += first_rc == 0 and fingerprint(work) == ref
    counts["temporaries left"] += bool(leftovers(work))
    return counts


def references(name: str, earlier: list[str], new: list[str], base: Path) -> tuple[Path, Path, float]:
    """The earlier configuration's outputs, and the new configuration's run over them (the reference): their two
    folders and the new run's seconds."""
    old_dir, ref_dir = base / f"{name}.old", base / f"{name}.ref"
    old_dir.mkdir(parents=True)
    run(earlier, old_dir)
    shutil.copytree(old_dir, ref_dir)
    _, seconds = run(new, ref_dir)
    return old_dir, ref_dir, seconds


def trial(
    name: str, earlier: list[str], new: list[str], base: Path, args, rng: random.Random, made: dict | None = None
) -> dict:
    """``args``: ``kills``, ``signal`` (KILL or INT), ``writers`` (1, or 2: a second writer instead of a kill).
    ``made``: the references already made, by command name (filled here), for trials of one command that share
    them."""
    made = {} if made is None else made
    if name not in made:
        made[name] = references(name, earlier, new, base)
    old_dir, ref_dir, seconds = made[name]
    old, ref = fingerprint(old_dir), fingerprint(ref_dir)
    assert old != ref, f"{name}: the earlier and the new configuration give the same outputs"
    counts: Counter = Counter()
    for i in range(args.kills):
        work = base / f"{name}.{i}"
        shutil.copytree(old_dir, work)
        if args.writers == 2:
            counts.update(two_writers(name, new, work, ref, seconds, rng))
            shutil.rmtree(work)
            continue
        after = rng.uniform(0.05, 1.2) * seconds
        if args.signal == "INT":
            result = interrupt(new, work, after)
            rc = None if result["rc"] != 0 else 0
        else:
            rc, _ = run(new, work, kill_after=after)
        state = fingerprint(work)
        journal = any(p.name.endswith(".commit.json") for p in work.rglob("*"))
        kind = "A" if state == old else "B" if state == ref else "journal" if journal else "cut"
        counts[kind if rc is None else "finished before the kill"] += 1
        if args.signal == "INT" and rc is None:
            interrupted(counts, result, work)
        run(new, work)
        counts["rerun equal to reference"] += fingerprint(work) == ref
        if name == "generate-wiki":
            counts["rerun complete, each passage once"] += generated_once(work, ref_dir)
        counts["temporaries left after rerun"] += bool(leftovers(work))
        shutil.rmtree(work)
    head = {"command": name, "signal": args.signal if args.writers == 1 else "none", "writers": args.writers}
    return {**head, "reference_seconds": round(seconds, 2), "tries": args.kills, **counts}


def broken(r: dict) -> bool:
    """Whether a command's counts break an invariant of the docstring."""
    tries = r["tries"]
    if r["writers"] == 2:
        ran = r.get("second refused naming the first", 0) + r.get("second ran after the first ended", 0)
        return (
            ran != tries
            or r.get("first finished, outputs equal to reference") != tries
            or bool(r.get("temporaries left"))
        )
    interrupted = tries - r.get("finished before the kill", 0) - r.get("during Python's own start-up", 0)
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
        or r.get("rerun complete, each passage once", r.get("rerun equal to reference", 0)) != tries
    )


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--kills", type=int, default=None, help="tries per command (default 20; --quick 2)")
    parser.add_argument("--commands", default=None, help="comma-separated (default all; --quick all but generate-wiki)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signal", choices=["KILL", "INT"], default="KILL", help="kill -9, or a Ctrl-C")
    parser.add_argument("--writers", type=int, choices=[1, 2], default=1, help="2: a second writer, no signal")
    args = parse(parser, argv)
    args.kills = args.kills or (2 if args.quick else 20)
    names = [n for n in _commands(Path(".")) if not (args.quick and n == "generate-wiki")]
    names = args.commands.split(",") if args.commands else names
    rng = random.Random(args.seed)
    what = "two writers" if args.writers == 2 else {"KILL": "kill -9", "INT": "Ctrl-C"}[args.signal]
    section = "fault_injection" + {"kill -9": "", "Ctrl-C": "_sigint", "two writers": "_two_writers"}[what]
    title = "Killed at random: nothing lost" if what == "kill -9" else f"Fault injection, {what}: nothing lost"
    report = Report("fault_injection", title, argv)
    with tempfile.TemporaryDirectory(prefix="fault-injection-") as tmp:
        base = Path(tmp)
        make_data(base / "data")
        commands = _commands(base / "data")
        results = [trial(name, *commands[name], base, args, rng) for name in names]
    report.line(DESCRIPTIONS[what])
    report.table(results)
    body = report.render()  # each kind of fault has its own section of RESULTS.md
    print(body)
    if args.results is not None:
        write_section(section, body, args.results)
    bad = [r["command"] for r in results if broken(r)]
    if bad:
        sys.exit(f"invariants broken for: {', '.join(bad)}")


DESCRIPTIONS = {
    "kill -9": "Each command killed (`kill -9` of its process group) at a random moment up to 1.2x its clean run, "
    "then rerun. A: the old outputs left; B: the complete new ones; journal: a half-done commit the rerun "
    "finished; cut: anything else.",
    "Ctrl-C": "Each command sent one SIGINT (to its process group, as a terminal's Ctrl-C) at a random moment up "
    "to 1.2x its clean run, then rerun. A / B / cut as for kill -9; exit 130, one error line and no traceback, "
    "processes and temporaries left counted over the interrupted runs; max seconds to exit: from the signal to "
    "the command's end. During Python's own start-up: the signal reached the interpreter before any code of "
    "ours ran (Python's KeyboardInterrupt; the outputs as they were).",
    "two writers": "The same command started twice into one working folder, the second at a random moment up to "
    "0.9x the first's clean run: refused at once (exit 2, one line naming the first's pid), or run after the "
    "first ended; the first must finish with the reference's outputs.",
}


if __name__ == "__main__":
    main()
