"""Is the judge right, and what does it cost? On the 40 hand-labelled pairs of
``tests/generate/data/judge_labelled.json`` (20 good, 20 bad in known ways):

1. agreement of ``classit-data judge`` (a pair is "bad" when ``judge_quality`` is below ``--min-quality``) with
   the labels and with validate's rule-based ``ungrounded`` check, as confusion matrices (scikit-learn);
2. with ``--throughput``: judge's output tokens/s over a bare ``LLM.chat`` of the same requests (vLLM).

    python -m benchmarks judge [--backend transformers|vllm] [--model smollm2] [--throughput]
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from benchmarks.harness import ROOT, Call, Report, alternate, options, parse, stopwatch

FIXTURE = ROOT / "tests" / "generate" / "data" / "judge_labelled.json"


def write_inputs(tmp: Path) -> tuple[Path, Path]:
    """The fixture as a passage file and QA item rows (with the labels as an extra column)."""
    import polars as pl

    from classit_data.core.schema import ITEM_SCHEMA, PASSAGE_SCHEMA, Item, Passage
    from classit_data.core.template import render_text

    spec = json.loads(FIXTURE.read_text())
    passages, pid = [], {}
    for i, p in enumerate(spec["passages"]):
        article = str(500 + i)
        pid[p["title"]] = (Passage.make_id(article, p["section"], p["text"]), article)
        passages.append(
            {"passage_id": pid[p["title"]][0], "article_id": article, **p, "n_words": len(p["text"].split())}
        )
    rows = []
    for i, q in enumerate(spec["pairs"]):
        passage_id, article = pid[q["title"]]
        rows.append(
            {
                "id": Item.make_id("simple_wiki", article, i, q["question"], q["answer"]),
                "source": "simple_wiki",
                "prompt": q["question"],
                "reply": q["answer"],
                "text": render_text(q["question"], q["answer"]),
                "doc_id": article,
                "position": i,
                "origin": FIXTURE.name,
                "passage_id": passage_id,
            }
        )
    pl.DataFrame(passages, schema=PASSAGE_SCHEMA).write_parquet(tmp / "passages.parquet")
    labels = pl.Series("label", [q["label"] for q in spec["pairs"]])
    pl.DataFrame(rows, schema=ITEM_SCHEMA, strict=False).with_columns(labels).write_parquet(tmp / "qa.parquet")
    return tmp / "qa.parquet", tmp / "passages.parquet"


def matrix(truth: list[str], pred: list[str]) -> dict:
    """Confusion matrix (rows: truth good/bad; columns: predicted good/bad), accuracy and Cohen's kappa."""
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    m = confusion_matrix(truth, pred, labels=["good", "bad"])
    return {
        "rows_truth_cols_pred_good_bad": m.tolist(),
        "n": len(truth),
        "accuracy": round(float((m[0, 0] + m[1, 1]) / max(m.sum(), 1)), 3),
        "cohen_kappa": round(float(cohen_kappa_score(truth, pred, labels=["good", "bad"])), 3)
        if len(set(truth) | set(pred)) > 1
        else None,
    }


def agreement(qa: Path, passages: Path, judged_dir: Path, min_quality: int) -> dict:
    """The judge's and the ``ungrounded`` check's verdicts against the labels and against each other."""
    import polars as pl

    from classit_data.validate import validate_frame
    from classit_data.validate.inputs import read_passage_table

    rows = pl.read_parquet(qa)
    judged = pl.read_parquet(judged_dir / "judged.parquet").select("id", "judge_quality")
    rule = validate_frame(rows.drop("label"), passages=read_passage_table(passages), config={"dedup": False})
    ungrounded = set(rule.quarantined.filter(pl.col("reject_reasons").list.contains("ungrounded"))["id"])
    gate = set(rule.quarantined["id"])
    df = rows.select("id", "label").join(judged, on="id", how="left")
    truth = ["good" if lab == "good" else "bad" for lab in df["label"]]
    seen = df["judge_quality"].is_not_null().to_list()
    judge = ["good" if q is not None and q >= min_quality else "bad" for q in df["judge_quality"]]
    rule_v = ["bad" if i in ungrounded else "good" for i in df["id"]]
    gate_v = ["bad" if i in gate else "good" for i in df["id"]]
    pick = lambda xs: [x for x, s in zip(xs, seen) if s]  # noqa: E731 - pairs the judge gave a score
    by_defect = {}
    for lab in sorted(set(df["label"])):
        idx = [i for i, x in enumerate(df["label"]) if x == lab]
        by_defect[lab] = {
            "pairs": len(idx),
            "judge_says_bad": sum(judge[i] == "bad" and seen[i] for i in idx),
            "judge_unreadable": sum(not seen[i] for i in idx),
            "ungrounded_says_bad": sum(rule_v[i] == "bad" for i in idx),
            "whole_gate_says_bad": sum(gate_v[i] == "bad" for i in idx),
        }
    return {
        "judge_threshold": f"judge_quality >= {min_quality} is good",
        "judged_pairs": sum(seen),
        "judge_vs_labels (judged pairs)": matrix(pick(truth), pick(judge)),
        "judge_vs_labels (unreadable counted bad)": matrix(truth, judge),
        "ungrounded_vs_labels": matrix(truth, rule_v),
        "whole_validate_gate_vs_labels": matrix(truth, gate_v),
        "judge_vs_ungrounded (judged pairs)": matrix(pick(rule_v), pick(judge)),
        "judge_quality_counts": df["judge_quality"].value_counts().sort("judge_quality").rows(),
        "by_label": by_defect,
    }


def bare_vllm(qa: Path, passages: Path, cfg) -> dict:
    """The same requests through ``LLM.chat`` alone, with our vLLM backend's engine settings and sampling."""
    from classit_data.core.models import embedded_model_dir
    from classit_data.generate.backends.vllm_backend import VLLMBackend
    from classit_data.generate.executors import make_task
    from classit_data.generate.generate import read_passage_rows
    from classit_data.generate.judge import judge_units, read_rows_to_judge
    from classit_data.generate.stats import GenerationStats

    task = make_task(cfg)
    units = judge_units(read_rows_to_judge(qa), read_passage_rows(passages, GenerationStats()), qa)
    backend = VLLMBackend(
        embedded_model_dir(), model_id="bench", model_revision=None, seed=cfg.seed, **cfg.backend_options("vllm")
    )
    messages = [task.messages(u) for u in units.to_dicts()]
    params = backend.sampling_params(cfg.sampling(), None, task.schema if cfg.structured else None)
    with stopwatch() as call:
        outs = backend.llm.chat(messages, params, use_tqdm=False)
    dt = call.seconds
    backend.close()
    tokens = sum(len(o.outputs[0].token_ids) for o in outs)
    return {"generate_s": round(dt, 2), "output_tokens": tokens, "output_tokens_per_s": round(tokens / dt, 2)}


def request_sizes(qa: Path, passages: Path, cfg) -> dict:
    """Prompt tokens of one request per passage (all its pairs) against one request per pair, same rubric."""
    from transformers import AutoTokenizer

    from classit_data.core.models import embedded_model_dir
    from classit_data.generate.executors import make_task
    from classit_data.generate.generate import read_passage_rows
    from classit_data.generate.judge import judge_units, read_rows_to_judge
    from classit_data.generate.stats import GenerationStats

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    task = make_task(cfg)
    units = judge_units(read_rows_to_judge(qa), read_passage_rows(passages, GenerationStats()), qa).to_dicts()

    def size(unit: dict) -> int:
        text = tok.apply_chat_template(task.messages(unit), tokenize=False, add_generation_prompt=True)
        return len(tok(text).input_ids)

    per_passage = sum(size(u) for u in units)
    per_pair = sum(size({**u, "pairs": [p]}) for u in units for p in u["pairs"])
    return {
        "requests_per_passage": len(units),
        "requests_per_pair": sum(len(u["pairs"]) for u in units),
        "prompt_tokens_per_passage": per_passage,
        "prompt_tokens_per_pair": per_pair,
        "per_pair_over_per_passage": round(per_pair / per_passage, 2),
    }


def run_judge(qa: Path, passages: Path, out: Path, **kw) -> dict:
    from classit_data.generate.config import JudgeConfig
    from classit_data.generate.judge import judge

    s = judge(qa, passages, out, JudgeConfig(**kw), progress=False)
    run = s.this_run
    e2e = s.seconds - (run.engine_load_seconds or 0) - (run.engine_close_seconds or 0)
    return {
        "end_to_end_s_without_load_and_close": round(e2e, 2),
        "generate_s": run.generation_seconds,
        "output_tokens": run.output_tokens,
        "output_tokens_per_s": round(run.output_tokens / e2e, 2),
        "pairs_judged": s.pairs,
        "rejected_outputs": s.rejected_outputs_by_reason,
        "pairs_not_judged": s.dropped_pairs_by_reason,
        "model": s.model,
    }


def agreement_tables(found: dict) -> tuple[list[dict], list[dict]]:
    """The confusion matrices as rows, and the verdicts by label as rows."""
    matrices = [
        {"verdict against": name, "[[good→good, good→bad], [bad→good, bad→bad]]": m["rows_truth_cols_pred_good_bad"]}
        | {"pairs": m["n"], "accuracy": m["accuracy"], "Cohen's kappa": m["cohen_kappa"]}
        for name, m in found.items()
        if isinstance(m, dict) and "n" in m
    ]
    return matrices, [{"label": label, **counts} for label, counts in found["by_label"].items()]


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--backend", default="transformers")
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-tokens", type=int, default=None, help="judge reply tokens (default 512; --quick 64)")
    parser.add_argument("--min-quality", type=int, default=3)
    parser.add_argument(
        "--throughput",
        action="store_true",
        help="judge on vLLM against a bare LLM.chat of the same requests, alternating (needs vllm)",
    )
    args = parse(parser, argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classit_data.generate.config import JudgeConfig

    settings = dict(max_tokens=args.max_tokens or (64 if args.quick else 512), temperature=0.0)
    backend = "vllm" if args.throughput else args.backend
    report = Report("judge", "judge: agreement with hand labels, request size, throughput", argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        qa, passages = write_inputs(tmp)
        sizes = Call(request_sizes, qa, passages, JudgeConfig(**settings)).measure().output
        variants = {
            "judge": Call(run_judge, qa, passages, tmp / "judged", backend=backend, model=args.model, **settings)
        }
        if args.throughput:
            variants = {
                "LLM.chat (bare vLLM)": Call(bare_vllm, qa, passages, JudgeConfig(model=args.model, **settings))
            }
            variants["judge"] = Call(
                run_judge, qa, passages, tmp / "judged", backend=backend, model=args.model, **settings
            )
        runs = alternate(variants, repeat=args.repeat, baseline="LLM.chat (bare vLLM)" if args.throughput else None)
        found = agreement(qa, passages, tmp / "judged", args.min_quality)
    judged = runs.runs["judge"][-1].output
    report.line(
        f"The 40 hand-labelled pairs of `tests/generate/data/judge_labelled.json` (20 good, 5 each wrong, "
        f'unanswerable, pointing at "the passage", copying it); judge backend {backend}, model '
        f"{judged['model']}, {settings}; a pair is bad for the judge when judge_quality < {args.min_quality}."
    )
    report.table([sizes], caption="One request per passage against one per pair (prompt tokens):")
    table = runs.rows("output_tokens", "output_tokens_per_s")
    for row in table:
        row["tokens/s / LLM.chat"] = runs.ratio(row["variant"], "output_tokens_per_s") if args.throughput else None
    report.table(table, caption="Throughput (output_tokens_per_s: the whole call less engine load and close):")
    reasons = {"rejected outputs": judged["rejected_outputs"], "pairs not judged": judged["pairs_not_judged"]}
    report.table([{"pairs judged": found["judged_pairs"], **reasons}])
    matrices, by_label = agreement_tables(found)
    report.table(matrices, caption="Verdicts against the labels (rows: truth; columns: verdict):")
    report.table(by_label)
    report.write(args.results)


if __name__ == "__main__":
    main()
