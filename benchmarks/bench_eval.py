"""Zero-shot scoring speed on this CPU: BLiMP pairs/s for the embedded SmolLM2-135M-Instruct, batched vs one at
a time, and the wall time of all of BLiMP (67 x 1,000 pairs) extrapolated from a sample drawn from every phenomenon.

    .venv/bin/python benchmarks/bench_eval.py [--blimp ../shared/corpora/blimp] [--per-phenomenon 6]
        [--single-pairs 60] [--batch-sizes 8,32,64] [--threads N] [--full]

``--full`` scores all 67,000 pairs (about an hour or more on 2 shared cores; the default only extrapolates).
The sample takes the first N pairs of each phenomenon, so lengths are spread as in the full set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from classit_data.core.models import embedded_model_dir
from classit_train.evaluate.metrics import summarise
from classit_train.evaluate.scoring import CausalScorer, load_model
from classit_train.evaluate.tasks import read_task

ROOT = Path(__file__).resolve().parents[1]
FULL_BLIMP_PAIRS = 67_000


def timed_scores(scorer: CausalScorer, items, batch_size: int) -> tuple[float, list[list[float]]]:
    pairs = [(it.prefix, c) for it in items for c in it.completions]
    t0 = time.perf_counter()
    flat = scorer.score(pairs, batch_size=batch_size)
    elapsed = time.perf_counter() - t0
    return elapsed, [flat[2 * i : 2 * i + 2] for i in range(len(items))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blimp", default=str(ROOT.parent / "shared" / "corpora" / "blimp"))
    ap.add_argument("--per-phenomenon", type=int, default=6)
    ap.add_argument("--single-pairs", type=int, default=60, help="pairs scored one sentence at a time")
    ap.add_argument("--batch-sizes", default="8,32,64")
    ap.add_argument("--full", action="store_true", help="also score all of BLiMP (slow)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model, tok, path = load_model(embedded_model_dir(), device="cpu")
    sample = read_task("blimp", args.blimp, limit=args.per_phenomenon)
    n_uids = len({it.uid for it in sample})
    print(
        f"model {path.name}; {len(sample)} pairs from {n_uids} phenomena; torch threads {torch.get_num_threads()}, "
        f"cpus {os.cpu_count()}, {platform.processor() or platform.machine()}"
    )
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
    for r in rows:
        print(
            f"{r['mode']:>14}  bs={r['batch_size']:>3}  {r['pairs']:>4} pairs  {r['seconds']:7.1f} s  "
            f"{r['pairs_per_s']:6.2f} pairs/s"
        )
    print(f"max |batched - one at a time| = {diff:.2e} nats")

    acc_official = summarise("blimp", sample, sample_scores)[0]["accuracy"]
    bos_t, bos_scores = timed_scores(CausalScorer(model, tok, first_token="bos"), sample, best["batch_size"])
    acc_bos = summarise("blimp", sample, bos_scores)[0]["accuracy"]
    print(
        f"accuracy on the {len(sample)}-pair sample (macro over {n_uids} UIDs): official {acc_official:.2f}%, "
        f"bos {acc_bos:.2f}%"
    )
    est = FULL_BLIMP_PAIRS / best["pairs_per_s"]
    est_single = FULL_BLIMP_PAIRS / rows[0]["pairs_per_s"]
    print(
        f"all of BLiMP ({FULL_BLIMP_PAIRS:,} pairs), extrapolated: {est / 60:.0f} min batched "
        f"(bs={best['batch_size']}), "
        f"{est_single / 60:.0f} min one at a time"
    )
    summary = {
        "rows": rows,
        "max_abs_diff_nats": diff,
        "accuracy_official": acc_official,
        "accuracy_bos": acc_bos,
        "sample_pairs": len(sample),
        "full_blimp_estimate_s": est,
        "full_blimp_single_estimate_s": est_single,
    }
    if args.full:
        full = read_task("blimp", args.blimp)
        t, scores = timed_scores(scorer, full, best["batch_size"])
        res = summarise("blimp", full, scores)[0]
        summary.update({"full_pairs": len(full), "full_seconds": t, "full_accuracy": res["accuracy"]})
        print(f"all of BLiMP measured: {len(full):,} pairs in {t / 60:.1f} min, accuracy {res['accuracy']:.2f}%")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
