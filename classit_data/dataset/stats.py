"""Length statistics per source and in total, and the paper's Figure 1, computed from the rows themselves.

Figure 1 of CLASS-IT is "Prompt vs Reply Length Distribution by Source, quantile = 1": prompt length
against reply length, one colour per source, with the marginal distributions. ``quantile`` trims each
source at that quantile of its prompt and of its reply lengths (1 = every row) so a long tail does not
squash the plot. Everything drawn is also written to ``stats.json`` (``figure``): the cut-offs, the
number of points and the histogram counts, so the picture can be checked against the numbers.

Words are runs of non-space characters (``classit_data.core.lengths``); tokens need a local tokenizer.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, read_rows
from classit_data.core.lengths import load_counting_tokenizer, token_counts, word_count_expr
from classit_data.core.outputs import replaced_together
from classit_data.core.schema import SOURCES
from classit_data.core.summary import Summary
from classit_data.dataset.config import StatsConfig

#: quantiles reported for every length
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: the published figures, quoted in stats.md for comparison
PUBLISHED = {"paper (poster)": "97,697 items, 18M words", "Hub card (colinglab/CLASS_IT)": "129,818 rows"}
#: colours that stay apart for colour-blind readers (Okabe-Ito blue and orange)
COLOURS = {"simple_wiki": "#0072B2", "switchboard": "#E69F00"}
_OTHER_COLOURS = ("#009E73", "#CC79A7", "#56B4E9", "#D55E00")
MAX_BINS = 30
#: how far (in words) a point may be moved in the scatter so that equal lengths do not stack up
JITTER = 0.45
#: scatter layers per source, drawn alternately
SCATTER_LAYERS = 8


def read_lengths(inputs: str | Path | Sequence[str | Path], tokenizer=None) -> pl.DataFrame:
    """source and the lengths of prompt, reply and both, in words (and tokens with a tokenizer)."""
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    if not paths:
        raise InputError("no input files given")
    frames = []
    for p in paths:
        df = read_rows(p, required=("source", "prompt", "reply"))
        for col in ("source", "prompt", "reply"):
            if df.schema[col] not in (pl.String, pl.Null):
                raise InputError(f"column {col} has type {df.schema[col]}, expected String", p)
        frames.append(
            df.select(
                pl.col("source").cast(pl.String).fill_null("unknown"),
                pl.col("prompt").cast(pl.String),
                pl.col("reply").cast(pl.String),
            )
        )
    df = pl.concat(frames)
    if df.height == 0:  # e.g. the kept file of a `validate` that rejected every row: a Figure of nothing
        raise InputError(
            "no rows to measure" + (f" in any of the {len(paths)} files" if len(paths) > 1 else ""), paths[0]
        )
    out = df.select(
        "source", word_count_expr("prompt").alias("prompt_words"), word_count_expr("reply").alias("reply_words")
    )
    out = out.with_columns((pl.col("prompt_words") + pl.col("reply_words")).alias("total_words"))
    if tokenizer is not None:
        out = out.with_columns(
            token_counts(tokenizer, df.get_column("prompt")).alias("prompt_tokens"),
            token_counts(tokenizer, df.get_column("reply")).alias("reply_tokens"),
        )
        out = out.with_columns((pl.col("prompt_tokens") + pl.col("reply_tokens")).alias("total_tokens"))
    return out


def _qkey(q: float) -> str:
    return f"q{round(q * 100):02d}"


def describe(values: pl.Series) -> dict:
    """sum, mean, std, min, quantiles (linear interpolation, as numpy's default), median, max."""
    if values.len() == 0:
        return {
            "sum": 0,
            "mean": None,
            "std": None,
            "min": None,
            "median": None,
            "max": None,
            **{_qkey(q): None for q in QUANTILES},
        }
    out = {
        "sum": int(values.sum()),
        "mean": round(float(values.mean()), 3),
        "std": round(float(values.std() or 0.0), 3),
        "min": int(values.min()),
        "median": float(values.median()),
    }
    out.update({_qkey(q): float(values.quantile(q, "linear")) for q in QUANTILES})
    out["max"] = int(values.max())
    return out


def summarize(lengths: pl.DataFrame) -> dict:
    """Per source (in a fixed order: the paper's sources first) and in total."""
    metrics = [c for c in lengths.columns if c != "source"]
    sources = _source_order(lengths)
    per = {}
    for s in sources:
        sub = lengths.filter(pl.col("source") == s)
        per[s] = {"rows": sub.height, **{m: describe(sub.get_column(m)) for m in metrics}}
    total = {"rows": lengths.height, **{m: describe(lengths.get_column(m)) for m in metrics}}
    return {"sources": per, "total": total}


def _source_order(lengths: pl.DataFrame) -> list[str]:
    present = set(lengths.get_column("source").unique().to_list())
    return [s for s in SOURCES if s in present] + sorted(present - set(SOURCES))


def _colour(source: str, i: int) -> str:
    return COLOURS.get(source, _OTHER_COLOURS[i % len(_OTHER_COLOURS)])


def _bin_edges(top: float, scale: str) -> list[float]:
    """Integer-aligned histogram edges up to ``top``: log-spaced (each bin about the same width on a log
    axis) or even, at most ``MAX_BINS`` bins."""
    top = max(int(math.floor(top)), 1)
    if scale == "log":
        ends = np.unique(np.round(np.geomspace(1, top + 1, MAX_BINS + 1)))
        return [float(x) - 0.5 for x in ends] if len(ends) > 1 else [0.5, 1.5]
    width = max(1, math.ceil((top + 1) / MAX_BINS))
    return [float(x) - 0.5 for x in np.arange(0, top + width + 1, width)]


def figure_data(lengths: pl.DataFrame, quantile: float = 1.0, scale: str = "log") -> dict:
    """What Figure 1 draws: per source the cut-offs, the rows drawn and the marginal histograms.

    A row is drawn when its prompt and its reply are both within its source's ``quantile`` of prompt and
    reply lengths (and, on log axes, both have at least one word). Histogram bins are shared by the sources.
    """
    if not 0 < quantile <= 1:
        raise InputError(f"quantile must be in (0, 1], got {quantile}")
    if scale not in ("log", "linear"):
        raise InputError(f"scale must be log or linear, got {scale!r}")
    sources = _source_order(lengths)
    cuts, kept = {}, {}
    floor = 1 if scale == "log" else 0
    for s in sources:
        sub = lengths.filter(pl.col("source") == s)
        pc = float(sub.get_column("prompt_words").quantile(quantile, "linear"))
        rc = float(sub.get_column("reply_words").quantile(quantile, "linear"))
        cuts[s] = (pc, rc)
        kept[s] = sub.filter(pl.col("prompt_words").is_between(floor, pc) & pl.col("reply_words").is_between(floor, rc))
    edges = {
        axis: _bin_edges(max([c[i] for c in cuts.values()] + [1]), scale) for axis, i in (("prompt", 0), ("reply", 1))
    }
    data = {
        "quantile": quantile,
        "title": figure_title(quantile),
        "scale": scale,
        "jitter": JITTER,
        "prompt_bins": edges["prompt"],
        "reply_bins": edges["reply"],
        "sources": {},
    }
    for s in sources:
        k = kept[s]
        p, r = k.get_column("prompt_words").to_numpy(), k.get_column("reply_words").to_numpy()
        rows = lengths.filter(pl.col("source") == s).height
        data["sources"][s] = {
            "rows": rows,
            "points": k.height,
            "not_drawn": rows - k.height,
            "prompt_cut": cuts[s][0],
            "reply_cut": cuts[s][1],
            "prompt_words_sum": int(p.sum()),
            "reply_words_sum": int(r.sum()),
            "prompt_hist": np.histogram(p, bins=edges["prompt"])[0].tolist(),
            "reply_hist": np.histogram(r, bins=edges["reply"])[0].tolist(),
        }
    return data


def marginal_heights(counts: Sequence[int], edges: Sequence[float], points: int, scale: str) -> np.ndarray:
    """Bar heights of a marginal: each bin's share of the source's drawn rows, divided by the bin's width in
    log10 units on a log axis (bins of whole words are unequal there; the area under the curve is 1)."""
    share = np.asarray(counts, dtype=float) / max(points, 1)
    if scale == "log":
        e = np.asarray(edges, dtype=float)
        share = share / np.log10(e[1:] / e[:-1])
    return share


def figure_title(quantile: float) -> str:
    return f"Prompt vs Reply Length Distribution by Source, quantile = {quantile:g}"


def draw_figure1(lengths: pl.DataFrame, data: dict, seed: int = 0):
    """The figure: prompt against reply length, one colour per source, histograms of each on the sides.

    The sources are drawn in alternating thin layers of shuffled points (``SCATTER_LAYERS``), so no source
    hides another (one colour per call: per-point colours cost 2.5x the drawing time); lengths are whole
    numbers, so each point is moved by up to ``JITTER`` words (display only: the histograms and
    stats.json hold the exact counts). Marginals are normalised per source (``marginal_heights``), so a
    smaller source stays visible. The scatter is rasterised inside the SVG (130k vector points would make a
    30 MB file).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 9))
    grid = fig.add_gridspec(
        2,
        2,
        width_ratios=(4, 1),
        height_ratios=(1, 4),
        left=0.09,
        right=0.97,
        bottom=0.08,
        top=0.93,
        wspace=0.04,
        hspace=0.04,
    )
    ax = fig.add_subplot(grid[1, 0])
    top = fig.add_subplot(grid[0, 0], sharex=ax)
    side = fig.add_subplot(grid[1, 1], sharey=ax)
    layers = _scatter_layers(lengths, data, np.random.default_rng(seed))
    _draw_marginals(top, side, data)
    _draw_scatter(ax, layers, data)
    sources = list(data["sources"])
    handles = [
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=9,
            color=_colour(s, i),
            label=f"{s} ({data['sources'][s]['points']:,} rows)",
        )
        for i, s in enumerate(sources)
    ]
    ax.legend(handles=handles, loc="upper right", frameon=True, fontsize=11, title="source", title_fontsize=11)
    _style_axes(ax, top, side, data)
    fig.suptitle(data["title"], fontsize=14)
    return fig


def _scatter_layers(lengths: pl.DataFrame, data: dict, rng: np.random.Generator) -> dict[str, list]:
    """Per source, the drawn rows' (prompt, reply) lengths, shuffled, jittered and cut into ``SCATTER_LAYERS``."""
    floor = 1 if data["scale"] == "log" else 0
    layers = {}
    for s, d in data["sources"].items():
        k = lengths.filter(
            (pl.col("source") == s)
            & pl.col("prompt_words").is_between(floor, d["prompt_cut"])
            & pl.col("reply_words").is_between(floor, d["reply_cut"])
        )
        x, y = k.get_column("prompt_words").to_numpy(), k.get_column("reply_words").to_numpy()
        order = rng.permutation(len(x))
        x = x[order] + rng.uniform(-data["jitter"], data["jitter"], len(x))
        y = y[order] + rng.uniform(-data["jitter"], data["jitter"], len(y))
        layers[s] = list(zip(np.array_split(x, SCATTER_LAYERS), np.array_split(y, SCATTER_LAYERS)))
    return layers


def _draw_marginals(top, side, data: dict) -> None:
    """Each source's prompt histogram above the scatter and reply histogram beside it, filled and outlined."""
    for i, (s, d) in enumerate(data["sources"].items()):
        colour = _colour(s, i)
        height = marginal_heights(d["prompt_hist"], data["prompt_bins"], d["points"], data["scale"])
        top.stairs(height, data["prompt_bins"], color=colour, fill=True, alpha=0.3, gid=f"prompt_hist:{s}")
        top.stairs(height, data["prompt_bins"], color=colour, linewidth=1.8)
        height = marginal_heights(d["reply_hist"], data["reply_bins"], d["points"], data["scale"])
        side.stairs(
            height,
            data["reply_bins"],
            color=colour,
            fill=True,
            alpha=0.3,
            orientation="horizontal",
            gid=f"reply_hist:{s}",
        )
        side.stairs(height, data["reply_bins"], color=colour, linewidth=1.8, orientation="horizontal")


def _draw_scatter(ax, layers: dict[str, list], data: dict) -> None:
    """The sources' points alternate in thin layers, so none is hidden under another."""
    total = sum(d["points"] for d in data["sources"].values())
    alpha = float(np.clip(30 / math.sqrt(max(total, 1)), 0.06, 0.8))
    for layer in range(SCATTER_LAYERS):
        for i, s in enumerate(layers):
            x, y = layers[s][layer]
            ax.scatter(
                x, y, s=5, color=_colour(s, i), alpha=alpha, linewidths=0, rasterized=True, gid=f"scatter:{s}:{layer}"
            )


def _style_axes(ax, top, side, data: dict) -> None:
    """Scales, ticks, limits (the histograms' range), labels and grids."""
    if data["scale"] == "log":
        from matplotlib.ticker import FuncFormatter, LogLocator

        for setter in (ax.set_xscale, ax.set_yscale):
            setter("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    unit = "words, log scale" if data["scale"] == "log" else "words"
    ax.set_xlabel(f"prompt length ({unit})", fontsize=12)
    ax.set_ylabel(f"reply length ({unit})", fontsize=12)
    ax.set_xlim(data["prompt_bins"][0], data["prompt_bins"][-1])
    ax.set_ylim(data["reply_bins"][0], data["reply_bins"][-1])
    ax.grid(True, which="major", alpha=0.3)
    label = "density per\nlog10 word" if data["scale"] == "log" else "share of rows"
    top.set_ylabel(label, fontsize=10)
    side.set_xlabel(label, fontsize=10)
    top.tick_params(labelbottom=False)
    side.tick_params(labelleft=False)
    for a in (top, side):
        a.grid(True, alpha=0.3)
        a.spines[["top", "right"]].set_visible(False)


#: the files ``stats`` writes into its folder, replaced together
OUTPUT_FILES = ("stats.json", "stats.md", "figure1.png", "figure1.svg")


def save_figure(fig, paths: dict[str, Path]) -> None:
    """Save the figure as each of ``paths`` (format by key: ``png``, ``svg``), byte-reproducibly."""
    import matplotlib

    # the same rows draw the same bytes: no date in the SVG, and its element ids from a fixed salt
    with matplotlib.rc_context({"svg.hashsalt": "classit-figure1"}):
        for ext, kw in (("png", {"dpi": 150}), ("svg", {"dpi": 100, "metadata": {"Date": None}})):
            fig.savefig(paths[ext], format=ext, **kw)  # svg's dpi: that of the rasterised scatter


def stats_markdown(stats: dict) -> str:
    """stats.json as tables: rows and words per source, length distributions, and the figure."""
    sources = stats["sources"]
    has_tokens = "prompt_tokens" in stats["total"]
    lines = [
        "# Length statistics",
        "",
        "Words are runs of non-space characters" + (f"; tokens from `{stats['tokenizer']}`." if has_tokens else "."),
        "",
    ]
    head = "| source | rows | prompt words | reply words | total words |" + (" total tokens |" if has_tokens else "")
    lines += [head, "| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if has_tokens else "")]
    for name, v in [*sources.items(), ("**total**", stats["total"])]:
        row = (
            f"| {name} | {v['rows']:,} | {v['prompt_words']['sum']:,} | {v['reply_words']['sum']:,} | "
            f"{v['total_words']['sum']:,} |"
        )
        if has_tokens:
            row += f" {v['total_tokens']['sum']:,} |"
        lines.append(row)
    metrics = ["prompt_words", "reply_words", "total_words"] + (["prompt_tokens", "reply_tokens"] if has_tokens else [])
    qcols = [_qkey(q) for q in QUANTILES]
    lines += [
        "",
        "## Length distributions",
        "",
        "| source | length | mean | median | " + " | ".join(qcols) + " | min | max |",
        "| --- | --- | ---: | ---: | " + " | ".join("---:" for _ in qcols) + " | ---: | ---: |",
    ]
    fmt = lambda x: "" if x is None else (f"{x:,.1f}" if isinstance(x, float) else f"{x:,}")  # noqa: E731
    for name, v in [*sources.items(), ("total", stats["total"])]:
        for m in metrics:
            d = v[m]
            lines.append(
                f"| {name} | {m.replace('_', ' ')} | {fmt(d['mean'])} | {fmt(d['median'])} | "
                + " | ".join(fmt(d[q]) for q in qcols)
                + f" | {fmt(d['min'])} | {fmt(d['max'])} |"
            )
    fig = stats["figure"]
    lines += [
        "",
        f"## Figure 1: {fig['title']}",
        "",
        "![Figure 1](figure1.png)",
        "",
        "Each source is cut at its own quantile of prompt and of reply length"
        + ("; log axes leave out rows with an empty side" if fig["scale"] == "log" else "")
        + f"; points are moved by up to {fig['jitter']} words so that equal lengths do not stack. Drawn rows: "
        + ", ".join(
            f"{s} {d['points']:,} of {d['rows']:,} (prompt <= {d['prompt_cut']:g}, reply <= {d['reply_cut']:g} words)"
            for s, d in fig["sources"].items()
        )
        + ".",
        "",
        "Published figures, for comparison: " + "; ".join(f"{k}: {v}" for k, v in PUBLISHED.items()) + ".",
        "",
    ]
    return "\n".join(lines)


class StatsSummary(Summary):
    """What ``stats`` measured: ``stats.json`` itself (lengths per source and in total, Figure 1's data)."""

    inputs: list[str]
    tokenizer: str | None
    word_definition: str
    sources: dict[str, Any]
    total: dict[str, Any]
    figure: dict[str, Any]
    seconds: dict[str, float]

    def title(self) -> str:
        return f"stats -> {Path(self.figure['files']['png']).parent}"

    def rows(self) -> dict[str, object]:
        """Rows, words and medians per source and in total, the figure's files, the seconds."""
        rows: dict[str, object] = {}
        for source, v in [*self.sources.items(), ("total", self.total)]:
            rows[source] = (
                f"{v['rows']:,} rows, {v['total_words']['sum']:,} words (prompt median "
                f"{v['prompt_words']['median']:g}, reply median {v['reply_words']['median']:g})"
            )
        rows["figure"] = ", ".join(self.figure["files"].values())
        rows["seconds"] = self.seconds["total"]
        return rows


def stats(
    inputs: str | Path | Sequence[str | Path], out: str | Path, settings: StatsConfig | None = None
) -> StatsSummary:
    """Length statistics per source and in total, and Figure 1 (prompt vs reply length).

    Inputs:
        inputs: item row files (.parquet or .jsonl) with ``source``, ``prompt`` and ``reply``.
        settings: :class:`~classit_data.dataset.config.StatsConfig` (defaults when None): the figure's
            ``quantile`` and ``scale`` (``log``: lengths span 1 to hundreds of words), and a local
            ``tokenizer`` (or ``embedded``) to count tokens as well, never downloaded.

    Outputs:
        out: a folder with ``stats.json`` (the summary), ``stats.md``, ``figure1.png`` and ``figure1.svg``,
            replaced together.

    Steps: read the lengths -> statistics and the figure's data -> draw and save the figure; each step's
    seconds are in ``seconds``.
    """
    config = settings if settings is not None else StatsConfig()
    timer = StepTimer()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    tokenizer = config.tokenizer
    with replaced_together({name: out / name for name in OUTPUT_FILES}, {"an input": _as_list(inputs)}) as outs:
        lengths = read_lengths(inputs, load_counting_tokenizer(tokenizer) if tokenizer is not None else None)
        timer.done("read")
        figure = figure_data(lengths, config.quantile, config.scale)
        result = {
            "inputs": [str(p) for p in _as_list(inputs)],
            "tokenizer": tokenizer,
            "word_definition": "runs of non-space characters",
            **summarize(lengths),
            "figure": figure,
        }
        timer.done("statistics")
        figures = {ext: outs.path(f"figure1.{ext}") for ext in ("png", "svg")}
        _draw_and_save(lengths, figure, figures)
        figure["files"] = {ext: str(out / f"figure1.{ext}") for ext in figures}
        timer.done("figure")
        result["seconds"] = timer.seconds()
        atomic_write_text(outs.path("stats.json"), json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(outs.path("stats.md"), stats_markdown(result))
    return StatsSummary(**result)


def _as_list(inputs: str | Path | Sequence[str | Path]) -> list[str | Path]:
    return [inputs] if isinstance(inputs, (str, Path)) else list(inputs)


def _draw_and_save(lengths: pl.DataFrame, data: dict, paths: dict[str, Path]) -> None:
    import matplotlib.pyplot as plt

    fig = draw_figure1(lengths, data)
    try:
        save_figure(fig, paths)
    finally:
        plt.close(fig)


class StepTimer:
    """Seconds of each step of a run, one after the other, and the total."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.steps: dict[str, float] = {}

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = round(now - self.last, 3)
        self.last = now

    def seconds(self) -> dict[str, float]:
        return {**self.steps, "total": round(time.perf_counter() - self.started, 3)}
