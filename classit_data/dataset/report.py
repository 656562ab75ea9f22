"""``report.html``: one self-contained page to look at a build before it ships.

Funnel (what each step recorded, ``build_info.json``'s ``stages``), lengths and diversity (Figure 1 as
histograms in words and tokens, question types, distinct-n), samples (random rows per config, quarantined
rows per reason), provenance, eval contamination (when eval files are given) and the diff with a previous
build. Everything is inline: CSS in the page, figures as SVG from matplotlib (text drawn as paths, so no
font is fetched), no script at all. Row text goes through jinja2 with autoescape on, so a row holding
``<script>`` or ``</table>`` shows as text.

Every number comes from the build's record or its shards; a step without a record is named as such.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from classit_data.core.lengths import word_count_expr
from classit_data.core.schema import SOURCES
from classit_data.core.summary import Summary
from classit_data.dataset.config import ReportConfig
from classit_data.dataset.record import BUILD_INFO, read_build_info
from classit_data.dataset.stages import STEPS
from classit_data.validate.dedup import word_lists

REPORT_FILE = "report.html"
#: the build's wall times, beside the record but not in it (a rebuild must give the same record)
TIMINGS_FILE = "timings.json"
QUESTION_TYPES = ("what", "who", "when", "where", "why", "how")
SAMPLE_COLUMNS = ("id", "source", "prompt", "reply")


def read_split_rows(folder: Path, info: dict, config: str) -> dict[str, pl.DataFrame]:
    """Each split of a config as rows, from the shards the record lists."""
    splits = (info.get("configs") or {}).get(config, {}).get("splits", {})
    return {split: _shards(folder, s["files"]) for split, s in splits.items()}


def _shards(folder: Path, files: list[str]) -> pl.DataFrame:
    """The rows of a split's shards; a shard deleted or damaged since the build is one line naming it."""
    from classit_data.core.errors import InputError, first_line

    for name in files:
        if not (folder / name).is_file():
            raise InputError("a shard the build record lists is missing; rebuild the dataset", folder / name)
    try:
        return pl.read_parquet([folder / f for f in files]) if files else pl.DataFrame()
    except Exception as exc:  # polars raises many types for a cut or foreign file
        raise InputError(f"a damaged shard: {first_line(exc)}; rebuild the dataset", folder / files[0]) from exc


def _source_rows(folder: Path, info: dict) -> dict[str, pl.DataFrame]:
    """All rows of each source's config (every split)."""
    out = {}
    for source in SOURCES:
        parts = [df for df in read_split_rows(folder, info, source).values() if df.height]
        if parts:
            out[source] = pl.concat(parts)
    return out


def question_types(prompts: pl.Series) -> dict[str, int]:
    """Prompts by their first question word (what / who / when / where / why / how), else ``other``."""
    first = prompts.fill_null("").str.to_lowercase().str.extract(rf"\b({'|'.join(QUESTION_TYPES)})\b", 1)
    counts = dict(first.fill_null("other").value_counts().iter_rows())
    return {t: int(counts.get(t, 0)) for t in (*QUESTION_TYPES, "other")}


def distinct_n(texts: pl.Series, n: int) -> float:
    """Distinct word n-grams over all n-grams of the texts (all texts pooled; 0 without any n-gram)."""
    e = (
        pl.DataFrame({"w": word_lists(texts)})
        .with_row_index("k")
        .explode("w")
        .drop_nulls("w")
        .select("k", pl.col("w").hash(23).alias("h"))
    )
    gram = pl.col("h")
    for i in range(1, n):
        gram = gram * 0x100000001B3 + pl.col("h").shift(-i)
    grams = e.select(pl.when(pl.col("k").shift(-(n - 1)) == pl.col("k")).then(gram).alias("g")).drop_nulls()
    return round(grams.get_column("g").n_unique() / grams.height, 4) if grams.height else 0.0


def lengths_and_diversity(rows: dict[str, pl.DataFrame], tokenizer=None) -> dict:
    """Per source: word (and token) lengths of prompt and reply, question types, distinct-1/2/3."""
    out = {}
    for source, df in rows.items():
        lengths = df.select(
            word_count_expr("prompt").alias("prompt_words"), word_count_expr("reply").alias("reply_words")
        )
        if tokenizer is not None:
            from classit_data.core.lengths import token_counts

            lengths = lengths.with_columns(
                token_counts(tokenizer, df.get_column("prompt")).alias("prompt_tokens"),
                token_counts(tokenizer, df.get_column("reply")).alias("reply_tokens"),
            )
        out[source] = {
            "rows": df.height,
            "lengths": {c: lengths.get_column(c) for c in lengths.columns},
            "medians": {c: float(lengths.get_column(c).median() or 0) for c in lengths.columns},
            "question_types": question_types(df.get_column("prompt")),
            "distinct": {
                side: {n: distinct_n(df.get_column(col), n) for n in (1, 2, 3)}
                for side, col in (("questions", "prompt"), ("answers", "reply"))
            },
        }
    return out


def figure1_svg(diversity: dict) -> str:
    """Figure 1: length histograms per source (prompt and reply; words, and tokens when counted), as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    units = ["words"] + (["tokens"] if any("prompt_tokens" in d["lengths"] for d in diversity.values()) else [])
    fig, axes = plt.subplots(len(units), 2, figsize=(9, 3.2 * len(units)), squeeze=False)
    for r, unit in enumerate(units):
        for c, side in enumerate(("prompt", "reply")):
            ax = axes[r][c]
            for source, d in diversity.items():
                values = d["lengths"].get(f"{side}_{unit}")
                if values is None or values.len() == 0:
                    continue
                top = max(2, int(values.max()))
                bins = np.unique(np.logspace(0, np.log10(top + 1), 40).astype(int))
                ax.hist(values.to_numpy(), bins=bins, histtype="step", label=f"{source} ({values.len():,})")
            ax.set_xscale("log")
            ax.set_title(f"{side} length ({unit})")
            ax.set_xlabel(unit)
            ax.set_ylabel("rows")
            ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "classit"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    # the RDF metadata names namespaces and matplotlib's site; nothing the page needs
    return re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg") :], flags=re.S)


def samples(folder: Path, info: dict, n: int, seed: int) -> dict[str, list[dict]]:
    """``n`` random rows of every config and split (seeded: the same build gives the same rows)."""
    out = {}
    for config in info.get("configs") or {}:
        for split, df in read_split_rows(folder, info, config).items():
            if df.height:
                picked = df.sample(min(n, df.height), seed=seed)
                out[f"{config}/{split}"] = picked.select(SAMPLE_COLUMNS).to_dicts()
    return out


# --- funnel, diff, provenance -------------------------------------------------------------------------

#: per step: the counts shown in order (key, label) and the reason tables (key, title)
FUNNEL = {
    "convert-switchboard": (
        "Switchboard",
        [("utterances", "utterances"), ("turns", "turns"), ("pairs", "pairs"), ("items", "items")],
        [("dropped_by_reason", "pairs dropped, by reason")],
    ),
    "prepare-wiki": (
        "Simple Wikipedia",
        [
            ("pages_read", "pages"),
            ("articles_read", "articles"),
            ("articles_kept", "articles kept"),
            ("passages", "passages"),
        ],
        [
            ("skipped_by_reason", "articles skipped, by reason"),
            ("prose_words_dropped", "prose words dropped, by reason"),
            ("dropped", "text dropped, by reason"),
        ],
    ),
    "generate-wiki": (
        "Generation",
        [
            ("passages_selected", "passages"),
            ("passages_done", "outputs (one a passage)"),
            ("passages_with_pairs", "outputs with pairs"),
            ("pairs", "pairs"),
        ],
        [
            ("rejected_outputs_by_reason", "outputs rejected, by reason"),
            ("dropped_pairs_by_reason", "pairs dropped, by reason"),
        ],
    ),
    "validate": (
        "Validation",
        [("input_rows", "rows in"), ("kept", "kept"), ("quarantined", "quarantined")],
        [("by_reason", "quarantined, by check"), ("dedup", "duplicates (exact and near)")],
    ),
}


def _merge(records: list[dict], key: str):
    """A count or a reason table summed over the records of one step (several inputs, several runs)."""
    values = [r.get(key) for r in records if r.get(key) is not None]
    if not values:
        return None
    if all(isinstance(v, dict) for v in values):
        out: dict = {}
        for v in values:
            for k, n in v.items():
                if isinstance(n, (int, float)) and not isinstance(n, bool):
                    out[k] = out.get(k, 0) + n
        return out
    return sum(v for v in values if isinstance(v, (int, float)))


def funnel(info: dict) -> list[dict]:
    """One part per step, in pipeline order, then the build's gate and the published rows."""
    stages = info.get("stages") or {}
    steps = stages.get("steps") or {}
    parts = []
    for step in STEPS:
        title, counts, reasons = FUNNEL[step]
        records = steps.get(step) or []
        parts.append(
            {
                "step": step,
                "title": title,
                "recorded": bool(records),
                "files": [r.get("file") for r in records],
                "counts": [(label, _merge(records, key)) for key, label in counts],
                "reasons": [(label, _merge(records, key) or {}) for key, label in reasons],
            }
        )
    gate = info.get("validation") or {}
    parts.append(
        {
            "step": "build",
            "title": "Build gate",
            "recorded": bool(gate),
            "files": [BUILD_INFO],
            "counts": [
                ("rows in", gate.get("input_rows")),
                ("kept", gate.get("kept")),
                ("quarantined", gate.get("quarantined")),
            ],
            "reasons": [
                ("quarantined, by check", gate.get("quarantined_by_reason") or {}),
                *[(f"{col}: rows in, by score", counts) for col, counts in (gate.get("judge_scores") or {}).items()],
            ],
        }
    )
    return parts


def published(info: dict) -> list[tuple[str, str, int]]:
    return [
        (config, split, s["num_examples"])
        for config, c in (info.get("configs") or {}).items()
        for split, s in c["splits"].items()
    ]


def _ids(folder: Path, info: dict) -> set[str]:
    return {i for df in read_split_rows(folder, info, "merged").values() if df.height for i in df.get_column("id")}


def diff(folder: Path, info: dict, previous: Path) -> dict:
    """Rows per config and split, ids added and removed, and every count by reason that changed."""
    old = read_build_info(previous)
    now_rows = {(c, s): n for c, s, n in published(info)}
    old_rows = {(c, s): n for c, s, n in published(old)}
    rows = [(c, s, old_rows.get((c, s), 0), now_rows.get((c, s), 0)) for c, s in sorted({*now_rows, *old_rows})]
    new_ids, old_ids = _ids(folder, info), _ids(previous, old)
    added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
    reasons = []
    for part_now, part_old in zip(funnel(info), funnel(old), strict=True):
        for (label, now), (_, before) in zip(part_now["reasons"], part_old["reasons"], strict=True):
            for key in sorted({*now, *before}):
                if now.get(key, 0) != before.get(key, 0):
                    reasons.append((part_now["title"], label, key, before.get(key, 0), now.get(key, 0)))
    return {
        "previous": str(previous),
        "rows": rows,
        "added": len(added),
        "removed": len(removed),
        "added_examples": added[:10],
        "removed_examples": removed[:10],
        "reasons": reasons,
    }


def read_timings(folder: Path) -> dict:
    try:
        return json.loads((folder / TIMINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# --- the page -----------------------------------------------------------------------------------------


def report_context(
    folder: Path,
    config: ReportConfig,
    *,
    previous: str | Path | None = None,
    eval_paths: Sequence[str | Path] = (),
    name: str | None = None,
) -> dict:
    """Everything the page shows, computed from the build folder (and the previous build, the eval files)."""
    info = read_build_info(folder)
    rows = _source_rows(folder, info)
    tok = None
    if config.tokenizer:
        from classit_data.core.lengths import load_counting_tokenizer

        tok = load_counting_tokenizer(config.tokenizer)
    diversity = lengths_and_diversity(rows, tok)
    contamination = None
    if eval_paths:
        from classit_data.validate.contamination import check_contamination

        merged = [df for df in read_split_rows(folder, info, "merged").values() if df.height]
        contamination = check_contamination(
            pl.concat(merged)
            if merged
            else pl.DataFrame({"id": [], "text": []}, schema={"id": pl.String, "text": pl.String}),
            list(eval_paths),
        )
    stages = info.get("stages") or {}
    return {
        "info": info,
        "folder": name or str(folder),
        "funnel": funnel(info),
        "published": published(info),
        "missing": stages.get("missing", list(STEPS)),
        "diversity": diversity,
        "figure": figure1_svg(diversity) if diversity else None,
        "samples": samples(folder, info, config.samples, config.seed),
        "quarantine": stages.get("quarantine_samples") or {},
        "rendered_prompt": stages.get("rendered_prompt"),
        "timings": read_timings(folder),
        "contamination": contamination,
        "diff": diff(folder, info, Path(previous)) if previous else None,
    }


def render_report(context: dict) -> str:
    """The page, from ``cards/build_report.html.jinja`` (autoescape on: row text is shown, never run)."""
    import jinja2

    from classit_data.core.resources import resource_path

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_path("cards"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v: "—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:,.4g}")
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str)
    return env.get_template("build_report.html.jinja").render(
        **context, svg=context["figure"] and __import__("markupsafe").Markup(context["figure"])
    )


class ReportSummary(Summary):
    """What ``report`` wrote: the page, its size, the steps the build has no record of."""

    out: str
    bytes: int
    missing_steps: list[str]
    contaminated_rows: int | None
    seconds: float

    def title(self) -> str:
        return f"report -> {self.out}"

    def rows(self) -> dict[str, object]:
        return {
            "report": self.out,
            "size": f"{self.bytes / 1e3:,.1f} kB",
            "steps without a record": ", ".join(self.missing_steps) or "none",
            "seconds": self.seconds,
        }


def report(
    dataset_dir: str | Path,
    out: str | Path | None = None,
    settings: ReportConfig | None = None,
    *,
    previous: str | Path | None = None,
    eval_paths: Sequence[str | Path] = (),
) -> ReportSummary:
    """One self-contained HTML page about a build: funnel, lengths, samples, provenance, diff.

    Inputs:
        dataset_dir: a folder made by ``build``; ``previous``: an earlier one to compare with;
            ``eval_paths``: BabyLM eval files or folders, for the contamination check.
        settings: :class:`~classit_data.dataset.config.ReportConfig` (defaults when None).

    Outputs:
        out: the HTML page (default: ``report.html`` in ``dataset_dir``), written atomically.
    """
    return write_page(dataset_dir, out, settings, previous=previous, eval_paths=eval_paths)


def write_page(
    dataset_dir: str | Path,
    out: str | Path | None = None,
    settings: ReportConfig | None = None,
    *,
    previous: str | Path | None = None,
    eval_paths: Sequence[str | Path] = (),
    name: str | None = None,
) -> ReportSummary:
    """``report``, with ``name``: the build folder as the page names it (``build`` writes the page in the
    temporary folder that becomes the build)."""
    from classit_data.core.io import atomic_write_text
    from classit_data.core.outputs import replaced_together

    config = settings if settings is not None else ReportConfig()
    started = time.perf_counter()
    folder = Path(dataset_dir)
    read_build_info(folder)  # one line when it is no build
    if previous is not None:
        read_build_info(previous)
    target = Path(out) if out is not None else folder / REPORT_FILE
    reads = {"the dataset": [folder], "--previous": [previous] if previous else [], "--eval": list(eval_paths)}
    # the page is the one file a build leaves to this command, beside what it reads
    with replaced_together({"--out": target}, reads, may_write=[folder / REPORT_FILE]) as outs:
        context = report_context(folder, config, previous=previous, eval_paths=eval_paths, name=name)
        html = render_report(context)
        atomic_write_text(outs.path("--out"), html)
    return ReportSummary(
        out=str(target),
        bytes=len(html.encode()),
        missing_steps=context["missing"],
        contaminated_rows=(context["contamination"] or {}).get("contaminated_rows"),
        seconds=round(time.perf_counter() - started, 3),
    )
