"""The build report (``report.html``): numbers from the steps' records, escaped rows, diff, contamination;
and the page rendered by a real headless Chromium where one is installed.

The build is made here from real steps on small inputs (not ``make demo``, which needs the model and takes a
minute or more): ``convert-switchboard`` on the bundled sample, ``validate`` on it (plus a Switchboard row
holding ``<script>``, quarantined for its markup) and on the hand-written QA rows (plus one QA row holding
``<script>`` and ``</table>`` that passes), then ``build``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from classit_data.core.io import write_rows
from classit_data.dataset.build import build
from classit_data.dataset.config import BuildConfig, ReportConfig
from classit_data.switchboard.convert import convert_switchboard
from classit_data.validate.validate import validate
from tests import helpers as h
from tests.helpers import ROOT

EVIL = "<script>document.title='PWNED'</script></table>"
EVIL_QUESTION = f"How big is the Moon, says {EVIL}?"
ERROR_LINE = re.compile(r"^error: .+: .+$")


def _inputs(folder: Path) -> dict[str, Path]:
    sw = folder / "sw.parquet"
    convert_switchboard([ROOT / "samples" / "switchboard_sample.train"], sw, progress=False)
    evil_sw = write_rows(
        h.items_frame([h.sw(f"Did you see {EVIL} there?", "No, I did not see it.", doc="sw9999", position=1)]),
        folder / "evil_sw.parquet",
    )
    qa_rows = h.good_rows()[6:] + [h.qa(EVIL_QUESTION, "It is about one quarter the size of the Earth.", position=50)]
    qa = write_rows(h.items_frame(qa_rows), folder / "qa.parquet")
    passages = write_rows(h.passages_frame(), folder / "passages.parquet")
    validate([sw, evil_sw], folder / "sw.kept.parquet", folder / "sw.rejected.parquet", folder / "sw.report.json")
    validate(
        [qa], folder / "qa.kept.parquet", folder / "qa.rejected.parquet", folder / "qa.report.json", passages=passages
    )
    return {
        "sw": sw,
        "switchboard": folder / "sw.kept.parquet",
        "wiki": folder / "qa.kept.parquet",
        "passages": passages,
        "qa_rows": qa,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    inputs = _inputs(folder)
    out = folder / "CLASS_IT"
    record = build(
        inputs["switchboard"],
        inputs["wiki"],
        out,
        BuildConfig(val_fraction=0.2),
        passages=inputs["passages"],
        progress=False,
    )
    return out, record, inputs


def _page(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _cell(html: str, section: str, label: str) -> str:
    """The number beside ``label`` in a funnel section."""
    part = html[html.index(f'id="funnel-{section}"') :]
    part = part[: part.index("</section>")]
    return re.search(rf'data-key="{re.escape(label)}">([^<]*)<', part).group(1)


def test_build_writes_the_report_beside_the_card_and_the_card_links_it(built):
    out, _, _ = built
    assert (out / "report.html").is_file()
    assert "](report.html)" in (out / "README.md").read_text()


def test_funnel_numbers_are_the_steps_records(built):
    out, record, inputs = built
    html = _page(out / "report.html")
    convert = json.loads((inputs["sw"].parent / "sw.parquet.summary.json").read_text())
    for label, key in (("utterances", "utterances"), ("turns", "turns"), ("pairs", "pairs"), ("items", "items")):
        assert _cell(html, "convert-switchboard", label) == f"{convert[key]:,}"
    reports = [json.loads((inputs["sw"].parent / f"{n}.report.json").read_text()) for n in ("sw", "qa")]
    assert _cell(html, "validate", "rows in") == f"{sum(r['input_rows'] for r in reports):,}"
    assert _cell(html, "validate", "quarantined") == f"{sum(r['quarantined'] for r in reports):,}"
    assert _cell(html, "build", "kept") == f"{record.validation['kept']:,}"
    assert record.stages["missing"] == ["prepare-wiki", "generate-wiki"]
    assert "No record of: prepare-wiki, generate-wiki" in html
    for config, c in record.configs.items():
        for split, s in c["splits"].items():
            assert f'<td>{config}</td><td>{split}</td><td class="n">{s["num_examples"]:,}</td>' in html


def test_the_page_is_self_contained_and_row_text_is_escaped(built):
    out, _, _ = built
    html = _page(out / "report.html")
    assert "<script" not in html.lower() and "</table>?" not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;&lt;/table&gt;" in html
    # only the SVG namespaces name an address; nothing is fetched
    namespaces = r"https?://(?!www\.w3\.org/(2000/svg|1999/xlink)\")"
    assert not re.search(rf"<link|<img|src=|href=\"?[a-z]+:|@import|url\((?!#)|{namespaces}", html)
    assert "<svg" in html and 'data-reason="transcription_markup"' in html
    assert "<title>CLASS-IT build report</title>" in html


def test_record_is_unchanged_by_the_report_and_timings(built, tmp_path):
    out, _, inputs = built
    again = out.with_name("again")  # beside the first: the record names the inputs relative to the folder
    build(
        inputs["switchboard"],
        inputs["wiki"],
        again,
        BuildConfig(val_fraction=0.2),
        passages=inputs["passages"],
        progress=False,
    )
    assert (again / "build_info.json").read_bytes() == (out / "build_info.json").read_bytes()
    assert "build" in json.loads((again / "timings.json").read_text())

    def page_without_wall_times(folder: Path) -> list[str]:
        return [
            line
            for line in _page(folder / "report.html")
            .replace(str(folder), "BUILD")
            .replace(folder.name, "BUILD")
            .splitlines()
            if "data-wall" not in line
        ]

    # the page is the same but for the wall times: samples are seeded, the figure has no date
    assert page_without_wall_times(again) == page_without_wall_times(out)


def test_report_command_with_previous_build_and_eval_files(built, tmp_path, cli):
    out, record, inputs = built
    smaller = tmp_path / "smaller"
    kept = tmp_path / "qa.kept.parquet"
    import polars as pl

    rows = pl.read_parquet(inputs["wiki"])
    write_rows(rows.filter(~pl.col("prompt").str.contains("<script>", literal=True)), kept)
    build(
        inputs["switchboard"], kept, smaller, BuildConfig(val_fraction=0.2), passages=inputs["passages"], progress=False
    )
    blimp = tmp_path / "blimp" / "moon.jsonl"
    blimp.parent.mkdir()
    blimp.write_text(
        json.dumps(
            {
                "sentence_good": "It is about one quarter the size of the Earth.",
                "sentence_bad": "It are about one quarter the size of the Earth.",
                "field": "syntax",
                "UID": "moon",
                "pairID": "0",
            }
        )
        + "\n"
    )
    page = tmp_path / "r.html"
    res = cli("report", out, "--previous", smaller, "--eval", blimp.parent, "--out", page, "--samples", "100", "--json")
    assert res.returncode == 0, res.stderr
    html = _page(page)
    assert re.search(r'id="ids-added">1<', html) and re.search(r'id="ids-removed">0<', html)
    assert re.search(r'<tr data-task="blimp"><td>blimp</td><td class="n">1</td><td class="n">1</td>', html)
    assert html.count("<tr><td><code>") >= record.configs["merged"]["splits"]["train"]["num_examples"]
    res = cli("report", tmp_path / "nope")
    assert res.returncode == 2 and ERROR_LINE.match(res.stderr.strip())


# --- a real browser ---------------------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip(
            "chromium not installed (make install tries `apt-get install -y chromium` as root): browser tests skip"
        )
    return found


def _headless(browser: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_chromium_renders_every_section_and_runs_no_row_script(built):
    browser = _chromium()
    out, record, _ = built
    res = _headless(browser, "--dump-dom", (out / "report.html").as_uri())
    dom = res.stdout
    assert "<title>CLASS-IT build report</title>" in dom, res.stderr[-2000:]  # a script would have renamed it
    assert "PWNED</title>" not in dom
    for section in ("funnel", "lengths", "samples", "quarantined", "provenance", "contamination", "diff"):
        assert f'id="{section}"' in dom
    assert _cell(dom, "build", "kept") == f"{record.validation['kept']:,}"
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;&lt;/table&gt;" in dom
    # the escaped </table> closed no table: the sample rows are still inside theirs
    assert dom.count("<table") == dom.count("</table>")


def test_chromium_screenshot_is_not_blank(built, tmp_path):
    browser = _chromium()
    out, _, _ = built
    shot = tmp_path / "report.png"
    res = _headless(browser, f"--screenshot={shot}", "--window-size=1200,2400", (out / "report.html").as_uri())
    assert shot.is_file(), res.stderr[-2000:]
    from PIL import Image

    img = Image.open(shot).convert("L")
    colours = img.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 20  # text, tables and the figure, not one flat colour
    dark = sum(n for n, v in (colours or []) if v < 128) if colours else 1
    assert dark > 0


def test_token_lengths_with_the_embedded_tokenizer(built, tmp_path):
    from classit_data.dataset.report import report

    out, _, _ = built
    result = report(out, tmp_path / "tokens.html", ReportConfig(tokenizer="embedded", samples=1))
    html = _page(tmp_path / "tokens.html")
    assert "<th>median prompt tokens</th>" in html and "<th>median reply tokens</th>" in html
    assert result.bytes == len(html.encode()) and result.out == str(tmp_path / "tokens.html")
    assert list(result.to_json()) == ["out", "bytes", "missing_steps", "contaminated_rows", "seconds"]


def test_prepare_wikis_counts_reach_the_funnel(tmp_path):
    """prepare-wiki's ``passages`` is a count, though the name holds a path in other records: it is kept."""
    from classit_data.dataset.record import stable_report
    from classit_data.dataset.report import funnel
    from classit_data.wiki.config import PrepareConfig
    from classit_data.wiki.prepare import prepare_wiki

    summary = prepare_wiki(
        ROOT / "samples" / "simplewiki_sample.xml.bz2", tmp_path / "p.parquet", PrepareConfig(workers=1), progress=False
    )
    info = {"stages": {"steps": {"prepare-wiki": [{"file": "p.summary.json", **stable_report(summary.to_json())}]}}}
    part = next(p for p in funnel(info) if p["step"] == "prepare-wiki")
    assert dict(part["counts"])["passages"] == summary.passages > 0
    dropped = dict(part["reasons"])["prose words dropped, by reason"]
    assert dropped == summary.prose_words_dropped and sum(dropped.values()) > 0
    assert stable_report({"passages": "p.parquet", "seconds": 1.5}) == {}


def test_the_gate_part_shows_the_judge_score_distributions():
    from classit_data.dataset.report import funnel

    gate = {
        "input_rows": 10,
        "kept": 8,
        "quarantined": 2,
        "quarantined_by_reason": {"judge_quality": 2},
        "judge_scores": {"judge_quality": {"1": 2, "4": 3, "5": 5}},
    }
    part = funnel({"validation": gate})[-1]
    assert part["step"] == "build"
    assert ("quarantined, by check", {"judge_quality": 2}) in part["reasons"]
    assert ("judge_quality: rows in, by score", {"1": 2, "4": 3, "5": 5}) in part["reasons"]
