"""Speed and memory of `classit-data convert-switchboard` on the real BabyLM Switchboard file.

Runs the real command in a subprocess (Python start-up, reading, cleaning, pairing, rendering `text`,
writing Parquet: everything a user waits for) on the file and on the file doubled, alternating, and reports
the medians of wall time, the converter's own time (from its JSON summary), CPU and peak RSS, and the ratio
doubled/single (time linear in the input: at most 2.2x).

    python -m benchmarks switchboard [--input PATH] [--repeat 3] [--compare OLD_CHECKOUT]

``--compare`` also times an older checkout of the code (``PYTHONPATH`` at it) against this one on the single
file, alternating: a ratio measured under the same load. Without the corpora the bundled sample is used.

Targets (a user converts the whole corpus in seconds, on a small machine): <= 5 s wall and <= 500 MB peak RSS
for the 199,740-line file on 2 cores; the doubled input takes <= 2.2x the time.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.harness import CORPORA, ROOT, Command, Report, alternate, options, parse, python

DEFAULT_INPUT = CORPORA / "babylm" / "switchboard.train"
SAMPLE = ROOT / "samples" / "switchboard_sample.train"


def convert(inputs: list[Path], out: Path, env: dict | None = None) -> Command:
    args = python("-m", "classit_data", "convert-switchboard", *inputs, "--out", out, "--json")
    return Command(args, env=env, read=json.loads)


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT if DEFAULT_INPUT.is_file() else SAMPLE)
    parser.add_argument("--compare", type=Path, default=None, help="an older checkout to time against this one")
    args = parse(parser, argv)
    if not args.input.is_file():
        raise SystemExit(f"input not found: {args.input}")
    report = Report("switchboard", "convert-switchboard: BabyLM Switchboard -> items", argv)
    with tempfile.TemporaryDirectory() as tmp:
        doubled = Path(tmp) / "switchboard_x2.train"
        data = args.input.read_bytes()
        doubled.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + data)
        runs = alternate(
            {
                "single": convert([args.input], Path(tmp) / "1.parquet"),
                "doubled": convert([doubled], Path(tmp) / "2.parquet"),
            },
            repeat=args.repeat,
            baseline="single",
        )
        report.line(
            f"Input: `{args.input.name}` ({len(data.splitlines()):,} lines) and the same file written twice into one. "
            "`seconds` is the converter's own time from its JSON summary; the rest is the whole subprocess."
        )
        report.comparison(runs, "seconds", "utterances", "items")
        if args.compare is not None:
            old = alternate(
                {
                    "this code": convert([args.input], Path(tmp) / "new.parquet"),
                    "old code": convert([args.input], Path(tmp) / "old.parquet", {"PYTHONPATH": str(args.compare)}),
                },
                repeat=args.repeat,
                baseline="old code",
            )
            report.comparison(old, caption=f"This code against `{args.compare}` on the single file:")
    single, ratio = runs.median("single"), runs.ratio("doubled")
    ok = single <= 5 and runs.median("single", "peak_rss_mb") <= 500 and ratio <= 2.2
    report.line(f"Targets (single <= 5 s, <= 500 MB, doubled/single <= 2.2x): {'met' if ok else 'not met'}.")
    report.write(args.results)


if __name__ == "__main__":
    main()
