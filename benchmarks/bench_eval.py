"""Zero-shot scoring speed on this CPU: BLiMP pairs/s for the embedded SmolLM2-135M-Instruct, batched vs one at
a time, and the wall time of all of BLiMP (67 x 1,000 pairs) extrapolated from a sample drawn from every phenomenon.

    python -m benchmarks eval [--blimp ../shared/corpora/blimp] [--per-phenomenon 6]
        [--single-pairs 60] [--batch-sizes 8,32,64] [--threads N] [--full]

``--full`` scores all 67,000 pairs (about an hour or more on 2 shared cores; the default only extrapolates).
The sample takes the first N pairs of each phenomenon, so lengths are spread as in the full set.
"""

from __future__ import annotations

import torch

from benchmarks.harness import CORPORA, ROOT, Report, options, parse, stopwatch
from classit_data.core.models import embedded_model_dir
from classit_train.evaluate.metrics import summarise
from classit_train.evaluate.scoring import CausalScorer, load_model
from classit_train.evaluate.tasks import read_task

FULL_BLIMP_PAIRS = 67_000


def timed_scores(scorer: CausalScorer, items, batch_size: int) -> tuple[float, list[list[float]]]:
    pairs = [(it.prefix, c) for it in items for c in it.completions]
    with stopwatch() as t:
        flat = scorer.score(pairs, batch_size=batch_size)
    return t.seconds, [flat[2 * i : 2 * i + 2] for i in range(len(items))]


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    blimp = CORPORA / "blimp"
    parser.add_argument(
        "--blimp", default=str(blimp if blimp.is_dir() else ROOT / "tests" / "fixtures" / "eval" / "blimp")
    )
    parser.add_argument("--per-phenomenon", type=int, default=None, help="pairs per phenomenon (6; --quick 1)")
    parser.add_argument("--single-pairs", type=int, default=None, help="pairs scored one at a time (60; 10)")
    parser.add_argument("--batch-sizes", default=None, help="comma-separated (8,32,64; --quick 8,32)")
    parser.add_argument("--full", action="store_true", help="also score all of BLiMP (slow)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parse(parser, argv)
    args.per_phenomenon = args.per_phenomenon or (1 if args.quick else 6)
    args.single_pairs = args.single_pairs or (10 if args.quick else 60)
    args.batch_sizes = args.batch_sizes or ("8,32" if args.quick else "8,32,64")
    report = Report("eval", "eval: BLiMP scoring speed, embedded SmolLM2-135M-Instruct", argv)
    summary = score(args)
    report.line(
        f"{summary['sample_pairs']} BLiMP pairs of {summary['phenomena']} phenomena, the first "
        f"{args.per_phenomenon} of each in `{args.blimp}`; "
        f"torch threads {torch.get_num_threads()}; max |batched - one at a time| = {summary['max_abs_diff_nats']:.1e} "
        f"nats; accuracy on the sample: official first token {summary['accuracy_official']:.2f}%, "
        f"bos {summary['accuracy_bos']:.2f}%."
    )
    report.table(summary["rows"])
    figures = {"all of BLiMP, extrapolated, batched s": summary["full_blimp_estimate_s"]}
    figures["one at a time s"] = summary["full_blimp_single_estimate_s"]
    if args.full:
        figures |= {"measured s": summary["full_seconds"], "accuracy": summary["full_accuracy"]}
    report.table([figures])
    report.write(args.results)


def score(args) -> dict:
    """Scores the sample one pair at a time and batched, then with the bos first token; with ``--full``, all."""
    if args.threads:
        torch.set_num_threads(args.threads)

    model, tok, path = load_model(embedded_model_dir(), device="cpu")
    sample = read_task("blimp", args.blimp, limit=args.per_phenomenon)
    scorer = CausalScorer(model, tok, first_token="official")
    scorer.score([("", "Warm up the kernels.")] * 4, batch_size=4)

    rows = []
    # one sentence at a time (batch size 1), on a spread-out subset of the sample
    step = max(1, len(sample) // args.single_pairs)
    single_items = sample[::step][: args.single_pairs]
    t_single, single_scores = timed_scores(scorer, single_items, 1)
    rows.append(
        {
            "mode": "one at a time",
            "batch_size": 1,
            "pairs": len(single_items),
            "seconds": t_single,
            "pairs_per_s": len(single_items) / t_single,
        }
    )
    best = None
    sample_scores = None
    for bs in [int(x) for x in args.batch_sizes.split(",")]:
        t, scores = timed_scores(scorer, sample, bs)
        rows.append(
            {"mode": "batched", "batch_size": bs, "pairs": len(sample), "seconds": t, "pairs_per_s": len(sample) / t}
        )
        if best is None or rows[-1]["pairs_per_s"] > best["pairs_per_s"]:
            best, sample_scores = rows[-1], scores
    # the batched scores of the single subset must equal the one-at-a-time ones
    index = {id(it): i for i, it in enumerate(sample)}
    diff = max(
        abs(a - b) for it, ss in zip(single_items, single_scores) for a, b in zip(ss, sample_scores[index[id(it)]])
    )

    acc_official = summarise("blimp", sample, sample_scores)[0]["accuracy"]
    bos_t, bos_scores = timed_scores(CausalScorer(model, tok, first_token="bos"), sample, best["batch_size"])
    acc_bos = summarise("blimp", sample, bos_scores)[0]["accuracy"]
    est = FULL_BLIMP_PAIRS / best["pairs_per_s"]
    est_single = FULL_BLIMP_PAIRS / rows[0]["pairs_per_s"]
    summary = {
        "rows": rows,
        "max_abs_diff_nats": diff,
        "accuracy_official": acc_official,
        "accuracy_bos": acc_bos,
        "sample_pairs": len(sample),
        "phenomena": len({it.uid for it in sample}),
        "full_blimp_estimate_s": est,
        "full_blimp_single_estimate_s": est_single,
    }
    if args.full:
        full = read_task("blimp", args.blimp)
        t, scores = timed_scores(scorer, full, best["batch_size"])
        res = summarise("blimp", full, scores)[0]
        summary.update({"full_pairs": len(full), "full_seconds": t, "full_accuracy": res["accuracy"]})
    return summary


if __name__ == "__main__":
    main()
