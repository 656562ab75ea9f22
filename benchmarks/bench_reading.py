"""The reading task under both protocols with the embedded SmolLM2-135M-Instruct, and the time of the official
protocol (our batched queries) against the official pipeline's own ``reading/run.py`` on the same file.

    python -m benchmarks reading [--data reading_data.csv] [--pipeline DIR] [--batch-size 32]

``--data``: a CSV in the pipeline's ``reading_data.csv`` layout (default: the test fixture, 107 words of 12
hand-written sentences with seeded synthetic measures; the UCL corpus as aligned by de Varda et al. is not on
this machine). ``--pipeline``: a checkout of ``babylm/evaluation-pipeline-2025`` whose ``reading/run.py`` is
run unmodified as the baseline (skipped when not given).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from benchmarks.harness import ROOT, Command, Report, alternate, cli, options, parse, python
from classit_data.core.models import embedded_model_dir

FIXTURE = ROOT / "tests" / "fixtures" / "eval" / "reading" / "reading_data.csv"


def ours(data: Path, out: Path, protocol: str, batch_size: int) -> Command:
    return cli(
        "classit_train",
        *("eval", "--model", "smollm2", "--task", "reading", "--data", data, "--out", out),
        *("--protocol", protocol, "--device", "cpu", "--batch-size", batch_size),
    )


def official(pipeline: Path, data: Path, out: Path) -> Command:
    args = ("-m", "evaluation_pipeline.reading.run", "--model_path_or_name", embedded_model_dir())
    args += ("--backend", "causal", "--data_path", data.resolve(), "--output_dir", out)
    return Command(python(*args), cwd=pipeline, env={"PYTHONPATH": str(pipeline), "HF_HUB_OFFLINE": "1"})


def official_scores(out: Path) -> dict:
    """The two scores of run.py's report.txt (it prints them with two decimals)."""
    text = next(out.rglob("report.txt")).read_text()
    found = dict(re.findall(r"(EYE TRACKING|SELF-PACED READING) SCORE: (-?[\d.]+)", text))
    return {"eye tracking": float(found["EYE TRACKING"]), "self-paced reading": float(found["SELF-PACED READING"])}


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--data", default=str(FIXTURE))
    parser.add_argument("--pipeline", default=None, help="checkout of babylm/evaluation-pipeline-2025")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parse(parser, argv)
    data = Path(args.data)
    report = Report("reading", "reading: both protocols, embedded SmolLM2-135M-Instruct", argv)
    shown = data.resolve().relative_to(ROOT) if data.resolve().is_relative_to(ROOT) else data
    what = " (12 hand-written sentences, seeded synthetic measures)" if data.resolve() == FIXTURE else ""
    report.line(
        f"data: `{shown}`{what}; scores are % of the possible R^2 gain; time: one process each, model load included."
    )
    with tempfile.TemporaryDirectory() as tmp:
        variants = {
            "standard (ours, batched)": ours(data, Path(tmp) / "standard.json", "standard", args.batch_size),
            "official (ours, batched)": ours(data, Path(tmp) / "official.json", "official", args.batch_size),
        }
        if args.pipeline:
            variants["official (pipeline run.py)"] = official(Path(args.pipeline), data, Path(tmp) / "pipeline")
        baseline = "official (pipeline run.py)" if args.pipeline else "official (ours, batched)"
        runs = alternate(variants, repeat=args.repeat, baseline=baseline)
        rows = []
        for name, found in runs.runs.items():
            last = found[-1]
            if isinstance(last.output, dict):
                scores = {
                    "eye tracking": last.output["eye_tracking"],
                    "self-paced reading": last.output["self_paced_reading"],
                }
            else:
                scores = official_scores(Path(tmp) / "pipeline")
            rows.append({"protocol (scorer)": name, "words": _words(data), **scores})
        report.table(rows, caption="Scores")
        report.comparison(runs, caption="Time")
    report.write(args.results)


def _words(data: Path) -> int:
    return sum(1 for _ in data.open(encoding="utf-8")) - 1
