"""benchmarks/harness.py: a tiny function and a tiny command measured the one way, a comparison's medians and
ratios, and a report that replaces its own section of a results file and no other."""

from __future__ import annotations

import sys

import pytest

from benchmarks.harness import (
    BenchmarkError,
    Call,
    Command,
    Report,
    alternate,
    machine,
    markdown_table,
    read_section,
    replace_section,
    versions,
)


def _allocate(megabytes: int) -> dict:
    block = b"x" * (megabytes * 2**20)  # written whole: resident, not just reserved
    return {"size": len(block)}


def _fails() -> None:
    raise ValueError("planted")


def test_a_function_runs_in_a_child_and_its_memory_and_result_come_back():
    small, large = Call(_allocate, 1).measure(), Call(_allocate, 200).measure()
    assert small.ok and small.output == {"size": 2**20}
    assert large.peak_rss_mb - small.peak_rss_mb > 120  # the child's own peak, from wait4
    assert large.wall_s > 0 and large.cpu_s > 0


def test_a_command_is_measured_with_its_output_and_children():
    burn = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(10**7))']); print('done')"
    m = Command([sys.executable, "-c", burn]).measure()
    assert m.ok and m.output.strip() == "done"
    assert m.cpu_s > 0.1  # the grandchild's CPU counts: it was reaped by the child
    assert m.wall_s >= m.cpu_s * 0.5 and m.peak_rss_mb > 5


def test_an_orphan_of_the_command_is_adopted_and_counted():
    """The command starts B and sleeps; B starts C and ends at once; C, an orphan, burns CPU and ends while the
    command sleeps: adopted by the launcher, its CPU counts; else init takes it, and its CPU is lost."""
    burn = "sum(range(2 * 10**7))"
    b = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {burn!r}])"
    command = f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', {b!r}]); time.sleep(3)"
    plain = Command([sys.executable, "-c", command]).measure()
    adopted = Command([sys.executable, "-c", command], adopt_orphans=True).measure()
    assert plain.ok and adopted.ok
    assert adopted.cpu_s - plain.cpu_s > 0.2, (plain.cpu_s, adopted.cpu_s)


def test_failures_raise_with_what_the_child_said_or_are_returned_unchecked():
    with pytest.raises(BenchmarkError, match="planted"):
        Call(_fails).measure()
    with pytest.raises(BenchmarkError, match="oops"):
        Command([sys.executable, "-c", "import sys; sys.exit('oops')"]).measure()
    m = Command([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5, check=False).measure()
    assert m.returncode is None and m.wall_s < 10


def test_a_comparison_alternates_and_divides_medians_by_the_baseline():
    order = []

    def target(name: str, megabytes: int):
        call = Call(_allocate, megabytes)
        inner = call.measure
        call.measure = lambda: order.append(name) or inner()
        return call

    runs = alternate({"big": target("big", 120), "small": target("small", 1)}, repeat=3, baseline="small")
    assert order == ["big", "small"] * 3
    assert runs.median("big", "size") == 120 * 2**20
    # the peak depends on what a fresh interpreter imports first, so the memory difference is checked, and the
    # ratio as the quotient of the medians
    big, small = runs.median("big", "peak_rss_mb"), runs.median("small", "peak_rss_mb")
    assert runs.ratio("small") == 1 and big - small > 100
    assert runs.ratio("big", "peak_rss_mb") == pytest.approx(big / small)
    rows = runs.rows("size")
    assert [r["variant"] for r in rows] == ["big", "small"] and rows[0]["runs"] == 3
    assert len(rows[0]["wall s, each run"].split(", ")) == 3
    with pytest.raises(ValueError):
        alternate({"a": Call(_allocate, 1)}, baseline="b")


def test_a_report_states_its_context_and_replaces_only_its_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\nintro\n", encoding="utf-8")
    first = Report("tiny", "tiny: a test", ["--quick"])
    first.table([{"n": 1, "s": 0.5}])
    first.write(results)
    other = Report("other", "other: kept")
    other.line("stays")
    other.write(results)
    second = Report("tiny", "tiny: a test", ["--quick"])
    second.table([{"n": 2, "s": 0.25}])
    second.write(results)
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Results\n\nintro\n") and text.count("## tiny: a test") == 1
    tiny = read_section(text, "tiny")
    assert "| 2 | 0.25 |" in tiny and "| 1 |" not in tiny and "stays" in read_section(text, "other")
    assert "`python -m benchmarks tiny --quick`" in tiny
    for fact in ("- date: ", "- machine: ", " cores", "GB memory", "- load average (1/5/15 min): before ", "python 3"):
        assert fact in tiny
    assert text.index("tiny: a test") < text.index("other: kept")  # replaced in place, not moved


def test_sections_tables_machine_and_versions():
    assert replace_section("a\n", "x", "one") == "a\n\n<!-- benchmark: x -->\none\n<!-- /benchmark: x -->\n"
    assert read_section(replace_section("a\n", "x", "one"), "y") is None
    table = markdown_table([{"a": 1234, "b": None}, {"b": "x|y", "c": True}])
    assert table.splitlines() == ["| a | b | c |", "| --- | --- | --- |", "| 1,234 | – | – |", "| – | x\\|y | yes |"]
    m = machine()
    assert m["cores"] >= 1 and m["memory_gb"] > 0 and m["cpu"]
    v = versions()
    assert v["python"].startswith("3.") and "classit-data" in v and v["commit"]
