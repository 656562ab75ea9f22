"""Fine-tuning throughput of llama100M with ``classit-train finetune``'s classifier, and the projected wall time of
the whole seven-task (Super)GLUE protocol.

    python -m benchmarks finetune [--lengths 64,128] [--steps 3] [--batch-size 32] [--device cpu]

A training step is what ``finetune`` runs per batch (``train_step``: forward through the LM body and the
pipeline's head, cross-entropy, backward, AdamW, schedule) on ``--batch-size`` inputs of exactly ``L`` tokens
(random ids; no padding); an inference step scores ``--valid-batch-size`` inputs as the validation pass does.
One warm-up step of each is not timed. The model is the ``llama100M`` preset, randomly initialised (speed does
not depend on the weights).

The projection multiplies the measured rates by the protocol's example counts: every task's training set
capped at 10,000 examples, times its epochs (10; 30 for WSC), plus a validation pass per epoch. The set sizes
are the public GLUE / SuperGLUE train and validation sizes (MNLI and QQP already cut to 10k training examples
by the pipeline); the BabyLM "filtered" files can only be smaller, so this is an upper bound on the example
counts, and a lower bound on time for BoolQ and MultiRC, whose passages are longer than the measured lengths.
"""

from __future__ import annotations

import os

from benchmarks.harness import Report, options, parse, stopwatch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: task -> (training examples used, validation examples, epochs): GLUE / SuperGLUE sizes, training capped at 10k
PROTOCOL = {
    "boolq": (9_427, 3_270, 10),
    "mnli": (10_000, 9_815, 10),
    "mrpc": (3_668, 408, 10),
    "multirc": (10_000, 4_848, 10),
    "qqp": (10_000, 40_430, 10),
    "rte": (2_490, 277, 10),
    "wsc": (554, 104, 30),
}


def classifier(device: str):
    import torch
    from transformers import LlamaModel

    from classit_train.finetune import sequence_classifier
    from classit_train.presets import llama_config

    torch.manual_seed(0)
    body = LlamaModel(llama_config("llama100M"))
    return sequence_classifier(body, 2).to(device)


def measure(model, length: int, batch_size: int, valid_batch_size: int, steps: int, device: str) -> dict:
    """Examples/s of training steps and of validation scoring at one input length."""
    import torch

    from classit_train.config import FinetuneConfig
    from classit_train.finetune import make_optimizer, train_step

    vocab = model.backbone.config.vocab_size
    gen = torch.Generator().manual_seed(length)

    def batch(n: int):
        ids = torch.randint(3, vocab, (n, length), generator=gen).to(device)
        return ids, torch.ones_like(ids), torch.randint(0, 2, (n,), generator=gen).to(device)

    optimizer, schedule = make_optimizer(model, FinetuneConfig(), (steps + 1) * 10)
    model.train()
    train_step(model, optimizer, schedule, batch(batch_size))  # warm-up
    sync(device)
    with stopwatch() as train:
        for _ in range(steps):
            train_step(model, optimizer, schedule, batch(batch_size))
        sync(device)
    train_s = train.seconds
    model.eval()
    with torch.inference_mode():
        model(*batch(valid_batch_size)[:2])
        sync(device)
        with stopwatch() as infer:
            for _ in range(steps):
                model(*batch(valid_batch_size)[:2]).argmax(-1).tolist()
            sync(device)
    infer_s = infer.seconds
    return {
        "length": length,
        "train_examples_per_s": steps * batch_size / train_s,
        "train_s_per_step": train_s / steps,
        "valid_examples_per_s": steps * valid_batch_size / infer_s,
    }


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def projection(rates: dict) -> dict:
    """Hours for the whole protocol at one measured length, and per task."""
    per_task = {
        task: (n_train * epochs / rates["train_examples_per_s"] + n_valid * epochs / rates["valid_examples_per_s"])
        / 3600
        for task, (n_train, n_valid, epochs) in PROTOCOL.items()
    }
    return {"hours": sum(per_task.values()), "per_task_hours": per_task}


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--lengths", default="128", help="Input lengths in tokens, comma-separated.")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 3; --quick 1)")
    parser.add_argument("--batch-size", type=int, default=None, help="training batch (32, BoolQ/MultiRC 16; --quick 8)")
    parser.add_argument("--valid-batch-size", type=int, default=None, help="validation batch (64; --quick 16)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parse(parser, argv)
    args.steps = args.steps or (1 if args.quick else 3)
    args.batch_size = args.batch_size or (8 if args.quick else 32)
    args.valid_batch_size = args.valid_batch_size or (16 if args.quick else 64)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    report = Report(
        "finetune", "finetune: (Super)GLUE fine-tuning throughput, llama100M, and the protocol projected", argv
    )
    model = classifier(args.device)
    params = sum(p.numel() for p in model.backbone.parameters())
    rows = []
    for length in (int(x) for x in args.lengths.split(",")):
        rates = measure(model, length, args.batch_size, args.valid_batch_size, args.steps, args.device)
        hours = projection(rates)
        rows.append(rates | {"whole protocol, projected h": hours["hours"]})
        rows[-1] |= {f"{task} h": h for task, h in hours["per_task_hours"].items()}
    n_train = sum(n * e for n, _, e in PROTOCOL.values())
    n_valid = sum(n * e for _, n, e in PROTOCOL.values())
    report.line(
        f"Backbone {params:,} parameters, device {args.device}, torch threads {torch.get_num_threads()}; "
        f"{args.steps} timed steps of {args.batch_size} (training) and {args.valid_batch_size} (validation) inputs. "
        f"Projection: {n_train:,} training and {n_valid:,} validation examples over all epochs of the seven tasks."
    )
    report.table(rows)
    report.write(args.results)


if __name__ == "__main__":
    main()
