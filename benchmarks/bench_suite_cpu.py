"""Where the test suite's CPU time goes: every process of one parallel pass of ``make test`` (``pytest -n JOBS
--dist loadgroup --no-loadscope-reorder -m "not serial"``), counted by the test module that started it.

Linux process accounting (``acct(2)``, which needs root) writes a record for every process that ends: its pid,
its parent's pid, its start (whole seconds) and its user and system CPU time, its threads' included. The pytest
plugin ``benchmarks/suite_timeline.py`` writes each test's worker pid, start and end, and the worker's own CPU
time during the test. A process is counted to the test that was running, when it started, on the xdist worker
it descends from; a worker's own CPU during a test is that test's. A process whose parent ended before it (an
engine core or a Ray worker of a command that its test killed) is adopted by the harness's launcher
(``Command(adopt_orphans=True)``), so its record names the launcher: its first parent is read from ``/proc`` while
the pass runs (twice a second), and an orphan whose first parent was not seen is counted apart. The accounting
is the machine's, switched to a temporary file for the pass and off after it; processes outside the pass are
left out.

The work divided by the usable cores is the shortest wall time that this much work allows on this machine.

    python -m benchmarks suite_cpu [--jobs auto] [--top 25] [--keep DIR]
"""

from __future__ import annotations

import collections
import ctypes
import errno
import json
import os
import struct
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import ROOT, Command, Report, machine, options, parse

#: ``struct acct_v3`` of ``linux/acct.h``: flag, version, tty, exit code, uid, gid, pid, ppid, start (s),
#: elapsed (ticks, a float), then eight ``comp_t`` (user, system, memory, I/O, blocks, minor and major faults,
#: swaps) and the command name
ACCT_V3 = struct.Struct("<BBH6If8H16s")
AHZ = 100  # the ticks per second of version 3 records


@dataclass(frozen=True)
class Proc:
    """One ended process, as its accounting record gives it."""

    pid: int
    ppid: int
    start: int
    cpu_s: float
    comm: str
    elapsed_s: float = 0.0


def comp_t(value: int) -> int:
    """A ``comp_t``: 13 bits of mantissa, 3 bits of base-8 exponent."""
    return (value & 0x1FFF) << (((value >> 13) & 0x7) * 3)


def read_acct(path: Path) -> list[Proc]:
    """The version 3 records of an accounting file (other versions are not written by Linux today: refused)."""
    data = Path(path).read_bytes()
    procs = []
    for offset in range(0, len(data) - ACCT_V3.size + 1, ACCT_V3.size):
        _flag, version, _tty, _code, _uid, _gid, pid, ppid, start, elapsed, utime, stime, *_rest, comm = (
            ACCT_V3.unpack_from(data, offset)
        )
        if version != 3:
            raise ValueError(f"{path}: record at byte {offset} is version {version}, not 3 (little-endian)")
        cpu = (comp_t(utime) + comp_t(stime)) / AHZ
        name = comm.rstrip(b"\0").decode("ascii", "replace")
        procs.append(Proc(pid, ppid, start, cpu, name, elapsed / AHZ))
    return procs


def _module(test: str) -> str:
    return test.split("::")[0]


def _test_at(tests: list[dict], start: int) -> dict | None:
    """The test that ran longest in the second ``[start, start + 1)`` (ties: the later), or None."""
    best, overlap = None, 0.0
    for t in tests:
        shared = min(t["t1"], start + 1) - max(t["t0"], start)
        if shared > 0 and shared >= overlap:
            best, overlap = t, shared
    return best


class ParentWatch(threading.Thread):
    """The first parent seen of each process, read from ``/proc`` every ``every`` seconds while the pass runs.

    An accounting record names the parent a process had when it ended: for an orphan, the launcher that adopted
    it. The parent it was started by is the one seen first here (a process that lives less than ``every``
    seconds may be missed: its CPU time is that short too). Keys are ``(pid, start)``, start in whole seconds
    since the epoch (from the boot time, so a few seconds from the record's), so that a pid used twice is two
    processes."""

    def __init__(self, every: float = 0.5):
        super().__init__(daemon=True)
        self.every, self.parents, self.done = every, {}, threading.Event()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        self.boot, self.tick = int(boot.split()[1]), os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.sample()

    def sample(self) -> None:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                text = Path(f"/proc/{name}/stat").read_text()
            except OSError:  # ended since the listing
                continue
            fields = text[text.rindex(")") + 2 :].split()  # after the name, which may hold spaces
            ppid, started = int(fields[1]), int(fields[19])
            self.parents.setdefault((int(name), int(self.boot + started / self.tick)), ppid)


ORPHANS = "orphans whose first parent was not seen (the test is not known)"
OUTSIDE_TESTS = "the workers outside tests (start-up, collection, session fixtures)"
BETWEEN_TESTS = "processes a worker started between tests"
MAIN = "pytest's main process and its other children"


def attribute(
    procs: list[Proc], timeline: list[dict], launcher: int, parents: Mapping[tuple[int, int], int] | None = None
) -> dict:
    """The pass's CPU seconds by test module, and what no test owns.

    ``procs``: the accounting records; ``timeline``: the plugin's rows; ``launcher``: the pid of the pass's
    launcher, the parent of pytest's main process and of the orphans; ``parents``: the first parent seen of
    each ``(pid, start)`` (:class:`ParentWatch`), which places an orphan under the process that started it. A
    process that descends from neither the launcher nor a worker ended outside the pass and is left out.
    Returns ``{"modules": {module: {"tests", "test_s", "own_s", "sub_s", "processes"}}, "other": {what:
    [processes, CPU s]}}``: ``own_s`` is the worker's CPU in the module's tests, ``sub_s`` its tests'
    processes'."""
    parents = parents or {}
    records: dict[int, list[Proc]] = collections.defaultdict(list)
    for p in procs:
        records[p.pid].append(p)
    tests_of: dict[int, list[dict]] = collections.defaultdict(list)
    for row in timeline:
        tests_of[row["pid"]].append(row)
    workers = set(tests_of)
    mains = {r.ppid for w in workers for r in records.get(w, [])}
    fields = ("tests", "test_s", "own_s", "sub_s", "processes")
    modules: dict[str, dict] = collections.defaultdict(lambda: dict.fromkeys(fields, 0))
    for row in timeline:
        m = modules[_module(row["test"])]
        m["tests"] += 1
        m["test_s"] += row["t1"] - row["t0"]
        m["own_s"] += row["cpu"]
    other: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])

    def count(what: str, cpu_s: float) -> None:
        other[what][0] += 1
        other[what][1] += cpu_s

    first: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for (pid, start), ppid in parents.items():
        first[pid].append((start, ppid))

    def parent_of(q: Proc) -> int:
        """The first parent seen of ``q``, else its record's; the record's start is computed at its end from
        the real-time clock, /proc's from the boot time, and they differ by up to 2 s here."""
        near = [(abs(start - q.start), ppid) for start, ppid in first.get(q.pid, []) if abs(start - q.start) <= 3]
        return min(near)[1] if near else q.ppid

    def record_at(pid: int, when: int) -> Proc | None:
        """The process ``pid`` that was alive at ``when`` (the latest started, if a pid was used twice)."""
        alive = [r for r in records.get(pid, []) if r.start <= when + 1 and r.start + r.elapsed_s >= when - 1]
        return max(alive, key=lambda r: r.start) if alive else None

    for p in procs:
        if p.pid in workers:
            count(OUTSIDE_TESTS, max(p.cpu_s - sum(t["cpu"] for t in tests_of[p.pid]), 0.0))
            continue
        q, parent = p, parent_of(p)  # up to the first ancestor whose parent is a worker or the launcher
        for _ in range(1024):
            if parent in workers or parent == launcher:
                break
            q = record_at(parent, q.start)
            if q is None:
                break
            parent = parent_of(q)
        if parent in workers:
            test = _test_at(tests_of[parent], p.start)
            if test is None:
                count(BETWEEN_TESTS, p.cpu_s)
            else:
                m = modules[_module(test["test"])]
                m["sub_s"] += p.cpu_s
                m["processes"] += 1
        elif parent == launcher:
            count(MAIN if q.pid in mains else ORPHANS, p.cpu_s)
    return {"modules": dict(modules), "other": {k: list(v) for k, v in other.items()}}


def _switch_accounting(path: Path | None) -> None:
    """Process accounting to ``path``, or off (None)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.acct(str(path).encode() if path else None) != 0:
        code = ctypes.get_errno()
        why = {errno.EPERM: "it needs root (CAP_SYS_PACCT)", errno.ENOSYS: "this kernel has no process accounting"}
        raise SystemExit(f"suite_cpu: process accounting could not be switched on: {why.get(code, os.strerror(code))}")


def run_pass(jobs: str, folder: Path) -> tuple[object, list[Proc], list[dict], dict]:
    """The parallel pass, accounted: its measurement, the records of the processes that ended, the timeline and
    the first parents seen."""
    records, timeline = folder / "pacct", folder / "timeline.jsonl"
    records.write_bytes(b"")  # a kept folder's earlier pass is not mixed in
    timeline.write_bytes(b"")
    pytest = [sys.executable, "-m", "pytest", "-q", "-n", jobs, "--dist", "loadgroup", "--no-loadscope-reorder"]
    pytest += ["-m", "not serial", "-p", "benchmarks.suite_timeline"]
    env = {"SUITE_TIMELINE": str(timeline)}
    command = Command(pytest, cwd=ROOT, env=env, check=False, timeout=7200, adopt_orphans=True)
    watch = ParentWatch()
    _switch_accounting(records)
    try:
        watch.start()
        m = command.measure()
    finally:
        watch.done.set()
        _switch_accounting(None)
    watch.join()
    rows = [json.loads(line) for line in timeline.read_text(encoding="utf-8").splitlines() if line.strip()]
    return m, read_acct(records), rows, watch.parents


def launcher_of(procs: list[Proc], timeline: list[dict]) -> int:
    """The launcher's pid (the harness's, which adopts the pass's orphans): the parent of the parent of the
    workers (of a pid used twice, the longest-lived)."""
    by_pid: dict[int, Proc] = {}
    for p in sorted(procs, key=lambda p: p.elapsed_s):
        by_pid[p.pid] = p
    worker = next(row["pid"] for row in timeline if row["pid"] in by_pid)
    return by_pid[by_pid[worker].ppid].ppid


def tables(found: dict, top: int) -> tuple[list[dict], list[dict]]:
    """The totals, and the ``top`` modules by CPU seconds with the rest in one row."""
    rows = []
    for name, m in found["modules"].items():
        cpu = m["own_s"] + m["sub_s"]
        rows.append(
            {
                "module": f"`{name}`",
                "tests": m["tests"],
                "test-seconds": m["test_s"],
                "CPU s in the worker": m["own_s"],
                "CPU s in its processes": m["sub_s"],
                "processes": m["processes"],
                "CPU s": cpu,
            }
        )
    rows.sort(key=lambda r: -r["CPU s"])
    in_tests = sum(r["CPU s"] for r in rows)
    total = in_tests + sum(cpu for _n, cpu in found["other"].values())
    if len(rows) > top:
        rest = rows[top:]
        rows = rows[:top] + [
            {
                "module": f"the other {len(rest)} modules",
                **{k: sum(r[k] for r in rest) for k in rows[0] if k != "module"},
            }
        ]
    for r in rows:
        r["share"] = f"{r['CPU s'] / total:.0%}" if total else "-"
    totals = [
        {
            "what": "the tests (in the workers and in their processes)",
            "processes": sum(m["processes"] for m in found["modules"].values()),
            "CPU s": in_tests,
        }
    ]
    totals += [{"what": what, "processes": n, "CPU s": cpu} for what, (n, cpu) in sorted(found["other"].items())]
    totals.append({"what": "all", "processes": sum(t["processes"] for t in totals), "CPU s": total})
    for t in totals:
        t["share"] = f"{t['CPU s'] / total:.0%}" if total else "-"
    return totals, rows


def main(argv: list[str] | None = None) -> None:
    from benchmarks.bench_suite import not_passed_line, passes

    parser = options(__doc__)
    parser.add_argument("--jobs", default="auto", help="pytest-xdist workers, as `make test JOBS=` (default auto)")
    parser.add_argument("--top", type=int, default=25, help="modules listed by name; the rest in one row")
    parser.add_argument(
        "--keep", type=Path, default=None, help="folder to keep the records, the timeline and the first parents in"
    )
    args = parse(parser, argv)
    if os.geteuid() != 0:
        raise SystemExit("suite_cpu: process accounting needs root (CAP_SYS_PACCT)")
    report = Report("suite_cpu", "Where the test suite's CPU time goes", argv)
    with tempfile.TemporaryDirectory(prefix="suite-cpu-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        m, procs, timeline, parents = run_pass(args.jobs, folder)
        if args.keep:
            rows = [[pid, start, ppid] for (pid, start), ppid in parents.items()]
            (folder / "first_parents.json").write_text(json.dumps(rows), encoding="utf-8")
    if not timeline:
        raise SystemExit(f"suite_cpu: the pass ran no test (exit {m.returncode}):\n{m.error[-2000:]}{m.output[-2000:]}")
    found = attribute(procs, timeline, launcher_of(procs, timeline), parents)
    totals, rows = tables(found, args.top)
    total = totals[-1]["CPU s"]
    cores = machine()["usable_cores"]
    counts = passes(m.output)
    summary = ", ".join(f"{int(v)} {k}" for k, v in counts[-1].items() if k != "seconds") if counts else "no summary"
    report.line(
        f'One parallel pass (`pytest -n {args.jobs} --dist loadgroup --no-loadscope-reorder -m "not serial"`), '
        f"exit {m.returncode}, {summary}: {m.wall_s:.0f} s wall; its processes used {total:.0f} CPU s, "
        f"{total / m.wall_s:.2f} cores on average of the {cores} usable. This much work takes at least "
        f"{total / cores:.0f} s on {cores} cores, however it is spread."
    )
    line = not_passed_line(m.output, "in the pass")
    if line:
        report.line(line)
    report.table(totals, caption="Who used the CPU:")
    report.table(rows, caption="By test module, most CPU first (test-seconds: the tests' wall time, summed):")
    report.write(args.results)


if __name__ == "__main__":
    main()
