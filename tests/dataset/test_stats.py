"""Length statistics and Figure 1: numbers checked by hand, the figure's data checked against stats.json."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from classit_data.core.io import write_rows
from classit_data.dataset.config import StatsConfig
from classit_data.dataset.stats import (
    QUANTILES,
    draw_figure1,
    figure_data,
    marginal_heights,
    read_lengths,
    stats,
    summarize,
)
from tests.helpers import ROOT, good_rows, items_frame

ERROR_LINE = re.compile(r"^error: .+$")


def synthetic(n: int = 3000, seed: int = 0) -> pl.DataFrame:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from make_synthetic_rows import make_rows

    return make_rows(n, seed=seed, bad_share=0.0)[0]


@pytest.fixture(scope="module")
def rows_file(tmp_path_factory) -> Path:
    return write_rows(synthetic(), tmp_path_factory.mktemp("stats") / "rows.parquet")


def test_word_counts_and_summaries_by_hand(tmp_path):
    df = pl.DataFrame(
        {
            "source": ["switchboard", "switchboard", "simple_wiki"],
            "prompt": ["Are you there?", "Oh,  well -- yes.", "What is it?"],
            "reply": ["Yeah, I'm here.", "Right.", "It is  a\tstone."],
        }
    )
    lengths = read_lengths(write_rows(df, tmp_path / "r.jsonl"))
    assert lengths["prompt_words"].to_list() == [3, 4, 3] and lengths["reply_words"].to_list() == [3, 1, 4]
    s = summarize(lengths)
    sw = s["sources"]["switchboard"]
    assert sw["rows"] == 2 and sw["prompt_words"]["sum"] == 7 and sw["reply_words"]["sum"] == 4
    assert sw["total_words"]["sum"] == 11 and sw["total_words"]["mean"] == 5.5 and sw["prompt_words"]["median"] == 3.5
    assert s["total"]["rows"] == 3 and s["total"]["total_words"]["sum"] == 18
    assert list(s["sources"]) == ["switchboard", "simple_wiki"]


def test_quantiles_match_numpy(rows_file):
    lengths = read_lengths(rows_file)
    s = summarize(lengths)
    for source, v in s["sources"].items():
        values = lengths.filter(pl.col("source") == source)["reply_words"].to_numpy()
        for q in QUANTILES:
            assert v["reply_words"][f"q{round(q * 100):02d}"] == pytest.approx(np.quantile(values, q))
        assert v["reply_words"]["mean"] == pytest.approx(values.mean(), abs=1e-3)
        assert v["reply_words"]["max"] == values.max() and v["reply_words"]["min"] == values.min()


@pytest.mark.parametrize("quantile,scale", [(1.0, "log"), (0.95, "linear")])
def test_figure_data_matches_stats_json(rows_file, tmp_path, quantile, scale):
    summary = stats([rows_file], tmp_path, StatsConfig(quantile=quantile, scale=scale))
    on_disk = json.loads((tmp_path / "stats.json").read_text())
    assert summary.to_json() == on_disk  # the summary is stats.json
    fig_data = on_disk["figure"]
    assert fig_data["title"] == f"Prompt vs Reply Length Distribution by Source, quantile = {quantile:g}"
    for source, d in fig_data["sources"].items():
        v = on_disk["sources"][source]
        key = "max" if quantile == 1.0 else "q95"
        assert d["prompt_cut"] == v["prompt_words"][key] and d["reply_cut"] == v["reply_words"][key]
        assert d["rows"] == v["rows"] and d["points"] + d["not_drawn"] == d["rows"]
        assert sum(d["prompt_hist"]) == d["points"] == sum(d["reply_hist"])
        if quantile == 1.0:
            assert d["not_drawn"] == 0  # nothing cut, no empty side in these rows
    # what matplotlib drew is what stats.json says
    lengths = read_lengths(rows_file)
    fig = draw_figure1(lengths, fig_data)
    scatter_ax = fig.axes[0]
    layers = [c for c in scatter_ax.collections if (c.get_gid() or "").startswith("scatter:")]
    assert sum(len(c.get_offsets()) for c in layers) == sum(d["points"] for d in fig_data["sources"].values())
    for source, d in fig_data["sources"].items():
        xy = np.concatenate([c.get_offsets() for c in layers if c.get_gid().startswith(f"scatter:{source}:")])
        assert np.abs(xy - np.round(xy)).max() <= fig_data["jitter"] + 1e-9
        px, py = np.round(xy[:, 0]), np.round(xy[:, 1])
        assert len(px) == d["points"]
        assert px.sum() == d["prompt_words_sum"] and py.sum() == d["reply_words_sum"]
        assert px.max() <= d["prompt_cut"] and py.max() <= d["reply_cut"]
        assert np.histogram(px, fig_data["prompt_bins"])[0].tolist() == d["prompt_hist"]
        assert np.histogram(py, fig_data["reply_bins"])[0].tolist() == d["reply_hist"]
        for axis_name, a in (("prompt", fig.axes[1]), ("reply", fig.axes[2])):
            (patch,) = [p for p in a.patches if p.get_gid() == f"{axis_name}_hist:{source}"]
            values, edges, _ = patch.get_data()
            assert np.allclose(edges, fig_data[f"{axis_name}_bins"])
            assert np.allclose(values, marginal_heights(d[f"{axis_name}_hist"], edges, d["points"], scale))
    assert fig._suptitle.get_text() == fig_data["title"]
    assert len(fig.axes) == 3  # scatter and two marginals
    assert summary.figure["files"] == {"png": str(tmp_path / "figure1.png"), "svg": str(tmp_path / "figure1.svg")}


def test_files_render(rows_file, tmp_path):
    summary = stats(rows_file, tmp_path)
    assert list(summary.seconds) == ["read", "statistics", "figure", "total"]
    table = summary.rows()
    assert list(table) == ["switchboard", "simple_wiki", "total", "figure", "seconds"]
    assert table["total"].startswith(f"{summary.total['rows']:,} rows, ")
    assert summary.title() == f"stats -> {tmp_path}"
    png = (tmp_path / "figure1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    svg = ET.parse(tmp_path / "figure1.svg").getroot()
    assert svg.tag.endswith("svg")
    assert (tmp_path / "figure1.svg").stat().st_size < 3_000_000  # scatter rasterised, not 130k vectors
    text = (tmp_path / "figure1.svg").read_text()
    assert "<!-- Prompt vs Reply Length Distribution by Source, quantile = 1 -->" in text
    assert text.count("<image") == 1  # the rasterised scatter
    md = (tmp_path / "stats.md").read_text()
    assert "![Figure 1](figure1.png)" in md and "| **total** |" in md and "97,697" in md


def test_marginal_heights_integrate_to_one_on_log_axes():
    counts, edges = [3, 5, 2], [0.5, 1.5, 3.5, 9.5]
    h = marginal_heights(counts, edges, 10, "log")
    assert np.sum(h * np.log10(np.array(edges[1:]) / np.array(edges[:-1]))) == pytest.approx(1.0)
    assert marginal_heights(counts, edges, 10, "linear").tolist() == [0.3, 0.5, 0.2]


def test_tokens_with_the_embedded_tokenizer(tmp_path):
    from classit_data.core.lengths import load_counting_tokenizer

    rows = good_rows()
    path = write_rows(items_frame(rows), tmp_path / "rows.parquet")
    summary = stats(path, tmp_path / "out", StatsConfig(tokenizer="embedded"))
    tok = load_counting_tokenizer("embedded")
    want = sum(len(tok(r["prompt"], add_special_tokens=False)["input_ids"]) for r in rows)
    assert summary.total["prompt_tokens"]["sum"] == want
    assert "total tokens" in (tmp_path / "out" / "stats.md").read_text()


def test_figure_data_rejects_a_bad_quantile():
    lengths = pl.DataFrame({"source": ["switchboard"], "prompt_words": [3], "reply_words": [4], "total_words": [7]})
    from classit_data.core.errors import InputError

    with pytest.raises(InputError):
        figure_data(lengths, 0)
    with pytest.raises(InputError):
        figure_data(lengths, 1.0, "weird")


@pytest.mark.parametrize("case", ["missing_column", "wrong_type", "quantile", "missing_file", "tokenizer"])
def test_cli_bad_input(cli, rows_file, tmp_path, case):
    args, extra = [rows_file], []
    if case == "missing_column":
        args = [write_rows(pl.read_parquet(rows_file).drop("reply"), tmp_path / "m.parquet")]
    elif case == "wrong_type":
        args = [
            write_rows(
                pl.read_parquet(rows_file).with_columns(pl.col("prompt").str.len_chars()), tmp_path / "w.parquet"
            )
        ]
    elif case == "quantile":
        extra = ["--quantile", "1.5"]
    elif case == "missing_file":
        args = [tmp_path / "nope.jsonl"]
    elif case == "tokenizer":  # not a folder and not in the local cache: refused, never downloaded
        extra = ["--tokenizer", "no-such-org/no-such-model"]
    out = tmp_path / "out"
    r = cli("stats", *args, "--out", out, *extra, env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]) and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


def test_cli_stats(cli, rows_file, tmp_path):
    out = tmp_path / "out"
    r = cli("stats", rows_file, "--out", out, "--quantile", "0.99", "--json")
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout)
    assert printed["figure"]["quantile"] == 0.99 and printed["total"]["rows"] == 3000
    assert printed == json.loads((out / "stats.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == ["figure1.png", "figure1.svg", "stats.json", "stats.md"]
