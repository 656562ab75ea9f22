"""Training throughput of the llama100M shape: packed rows against padded batches, same examples.

    python -m benchmarks train [--dataset BUILT_DIR] [--steps 3] [--pack-length 1024]

Examples: a built dataset's rows when ``--dataset`` is given; otherwise real Switchboard adjacent turns
(``../shared/corpora/babylm/switchboard.train``, at least 3 words a side) and, for the wiki half, questions
about the bundled Simple Wikipedia sample's passages answered with one or two of their sentences, mixed
91:39 like the published dataset. A step is forward + backward + AdamW on the model ``classit-train`` builds
from the preset, with the collator it trains with; the two modes alternate step by step so that both see
the same load. Useful tokens are the non-padding ones.
"""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path

from benchmarks.harness import CORPORA, ROOT, Report, options, parse, stopwatch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def switchboard_pairs(limit: int, rng: random.Random) -> list[dict]:
    path = CORPORA / "babylm" / "switchboard.train"
    if not path.is_file():
        return []
    turns, speaker = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        who, _, text = line.partition(":\t")
        if not text:
            continue
        if who == speaker:
            turns[-1] += " " + text.strip()
        else:
            turns.append(text.strip())
            speaker = who
    pairs = [{"prompt": a, "reply": b} for a, b in zip(turns, turns[1:]) if len(a.split()) >= 3 and len(b.split()) >= 3]
    rng.shuffle(pairs)
    return pairs[:limit]


def wiki_pairs(limit: int, rng: random.Random, workdir: Path) -> list[dict]:
    import polars as pl

    from classit_data.wiki import prepare_wiki

    out = workdir / "passages.parquet"
    prepare_wiki([str(ROOT / "samples" / "simplewiki_sample.xml.bz2")], out, progress=False)
    passages = pl.read_parquet(out).to_dicts()
    pairs = []
    while len(pairs) < limit:
        p = rng.choice(passages)
        sentences = [s.strip() + "." for s in p["text"].split(". ") if s.strip()]
        k = rng.randrange(len(sentences))
        reply = " ".join(sentences[k : k + rng.choice((1, 1, 2))])
        subject = rng.choice([w for w in reply.split() if len(w) > 4] or ["it"]).strip(".,")
        pairs.append({"prompt": f"What does the article about {p['title']} say about {subject}?", "reply": reply})
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--model", default=None, help="preset (default llama100M; --quick tiny)")
    parser.add_argument("--dataset", help="a folder made by classit-data build")
    parser.add_argument("--examples", type=int, default=None, help="examples to sample lengths from (4000; 400)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode (after one warm-up step)")
    parser.add_argument("--batch-size", type=int, default=8, help="padded: examples per step (Table 2: 8)")
    parser.add_argument("--pack-length", type=int, default=1024, help="packed: tokens per row")
    parser.add_argument("--pack-rows", type=int, default=1, help="packed: rows per step")
    parser.add_argument("--seed", type=int, default=0)
    args = parse(parser, argv)
    args.model = args.model or ("tiny" if args.quick else "llama100M")
    args.examples = args.examples or (400 if args.quick else 4000)
    report = Report("train", f"classit-train: training throughput, {args.model} shape, packed vs padded", argv)
    results = train_steps(args)
    m = results.pop("modes")
    report.line(
        f"{results['examples']:,} examples ({results['origin']}), lengths in tokens {results['length_tokens']}; "
        f"{results['parameters']:,} parameters, torch threads {results['torch_threads']}. A step is forward + "
        "backward + AdamW; the modes alternate step by step; useful tokens are the non-padding ones."
    )
    report.table([{"mode": name, **figures} for name, figures in m.items()])
    ratio = m["packed"]["useful_tokens_per_s"] / m["padded"]["useful_tokens_per_s"]
    report.line(f"Packed over padded, useful tokens/s: {ratio:.2f}x.")
    report.write(args.results)


def train_steps(args) -> dict:
    """The model, its examples and optimizer; ``args.steps`` timed steps per mode, the modes taking turns."""
    import tempfile

    import torch
    from transformers import LlamaForCausalLM

    from classit_data.core.template import default_template
    from classit_train import data as D
    from classit_train.presets import count_parameters, llama_config, model_preset
    from classit_train.tokenizer import train_tokenizer

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    if args.dataset:
        src = D.load_instruction_sources(args.dataset, max_eval_examples=1)
        rows = {s: v["train"][: args.examples] for s, v in src.items()}
        origin = f"dataset {args.dataset}"
    else:
        n_sw = round(args.examples * 38_802 / (38_802 + 91_016))
        rows = {"switchboard": switchboard_pairs(n_sw, rng), "simple_wiki": wiki_pairs(args.examples - n_sw, rng, work)}
        origin = (
            "Switchboard adjacent turns from ../shared/corpora + QA about the bundled wiki sample"
            if rows["switchboard"]
            else "QA about the bundled wiki sample only (corpora not found)"
        )
        if not rows["switchboard"]:
            rows["switchboard"] = wiki_pairs(n_sw, rng, work)
    preset = model_preset(args.model)
    corpus = work / "tok.txt"
    corpus.write_text("\n".join(r["prompt"] + "\n" + r["reply"] for rs in rows.values() for r in rs), encoding="utf-8")
    sw = CORPORA / "babylm" / "switchboard.train"
    tok = train_tokenizer([corpus] + ([sw] if sw.is_file() else []), preset["vocab_size"])
    examples = []
    for source, rs in rows.items():
        examples += D.encode_instructions(rs, source, tok, default_template(), args.pack_length)
    lengths = sorted(len(e) for e in examples)
    q = lambda f: lengths[int(f * (len(lengths) - 1))]  # noqa: E731

    torch.manual_seed(args.seed)
    cfg = llama_config(
        args.model,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        attn_implementation="sdpa",
    )
    model = LlamaForCausalLM(cfg)
    model.config.use_cache = False
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)

    results = {
        "model": args.model,
        "parameters": count_parameters(cfg),
        "origin": origin,
        "examples": len(examples),
        "length_tokens": {
            "mean": round(sum(lengths) / len(lengths), 1),
            "p50": q(0.5),
            "p90": q(0.9),
            "p99": q(0.99),
            "max": lengths[-1],
        },
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "modes": {},
    }
    # the two modes take turns, step by step, so that both see the same load on a shared machine
    modes = {}
    for packing in (False, True):
        modes["packed" if packing else "padded"] = {
            "plan": D.make_plan(examples, "merged", 1, args.seed, packing=packing, max_length=args.pack_length),
            "per_step": args.pack_rows if packing else args.batch_size,
            "collate": D.Collator(pad_id=tok.pad_token_id, packing=packing),
            "useful": 0,
            "total": 0,
            "seconds": 0.0,
        }
    for step in range(args.steps + 1):
        for m in modes.values():
            groups = m["plan"][step * m["per_step"] : (step + 1) * m["per_step"]]
            batch = m["collate"]([{"examples": [examples[i] for i in g.indices]} for g in groups])
            with stopwatch() as t:
                loss = model(**batch).loss
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            dt = t.seconds
            if step == 0:
                continue  # warm-up
            m["seconds"] += dt
            m["useful"] += sum(len(examples[i]) for g in groups for i in g.indices)
            m["total"] += batch["input_ids"].numel()
    for name, m in modes.items():
        useful, total, seconds = m["useful"], m["total"], m["seconds"]
        results["modes"][name] = {
            "steps": args.steps,
            "rows_per_step": m["per_step"],
            "useful_tokens": useful,
            "tokens_with_padding": total,
            "padding_fraction": round(1 - useful / total, 3),
            "seconds": round(seconds, 2),
            "useful_tokens_per_s": round(useful / seconds, 1),
            "tokens_per_s": round(total / seconds, 1),
        }
    return results


if __name__ == "__main__":
    main()
