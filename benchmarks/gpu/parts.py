"""The parts of the GPU benchmark, each run in a process of its own by ``python -m benchmarks gpu``, which kills
it at its time guard. A part rewrites its result file after every measurement, so one stopped at its guard keeps
what it had measured.

    python -m benchmarks.gpu.parts PART SETTINGS_JSON RESULT_FILE   (PART: peak | pretrain | run | eval | generate)

Every part goes through the project's Python API, the one the commands hand off to: ``pretrain`` and
``run`` (``classit-train pretrain`` / ``run``), ``evaluate`` (``classit-train eval``) and
``generate_wiki`` (``classit-data generate-wiki``, on vLLM when it is installed, else transformers). ``peak``
measures the device's dense matrix-product rate (bf16 on a GPU), the denominator of MFU unless one is given.
Only torch and transformers are imported at the top: a part imports the rest itself, so a machine that lacks a
package loses the parts that need it, not the benchmark.

Training figures come from the steps after the warm-up only (their wall time, the GPU synchronised at every
step's end), with the tokens of exactly the rows the Trainer fed them (the plan, walked as the Trainer walks
it). Model FLOPs, two ways:

- ``mfu_6n``: 6 x parameters x useful tokens per second, over the peak (the usual 6N);
- ``mfu_model``: 6 x (parameters in matrix products: all but the input embedding, a lookup) x useful tokens
  plus causal attention within each example, 6 x layers x hidden x n^2 per example of n tokens (QK^T and AV,
  2 x n^2 x hidden multiply-adds halved by the causal mask, times 3 for forward and backward), over the peak.

Useful tokens are the examples' tokens; padding (row ends, padded rows) is not counted as useful.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from benchmarks.harness import ROOT, stopwatch

GIB = 2**30


class Recorder:
    """The part's result file, rewritten (atomically) at every ``put``."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict = {}

    def put(self, **values) -> None:
        self.data.update(values)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def append(self, key: str, value: dict) -> None:
        self.put(**{key: [*self.data.get(key, []), value]})


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepClock(TrainerCallback):
    """The wall time at the end of every optimizer step, the plan the Trainer walks and its rows per step, and
    the run's peak GPU memory."""

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.dataset = None
        self.rows_per_step = 0

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        self.dataset = getattr(train_dataloader, "dataset", None)
        self.rows_per_step = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    def on_step_end(self, args, state, control, **kwargs):
        _sync()
        self.ends.append(time.perf_counter())


def _step_rows(clock: StepClock, step: int) -> list:
    """The plan's groups (rows) of optimizer step ``step`` (1-based), walked as the Trainer walks it: in order,
    a short last batch, then from the start again."""
    groups, per = clock.dataset.groups, clock.rows_per_step
    per_pass = math.ceil(len(groups) / per)
    k = (step - 1) % per_pass
    return groups[k * per : (k + 1) * per]


def _walk(clock: StepClock, first: int, last: int) -> tuple[int, int, int]:
    """Useful tokens, tokens with padding and the sum of squared example lengths of steps first..last."""
    examples = clock.dataset.examples
    useful = padded = square = 0
    for step in range(first, last + 1):
        rows = _step_rows(clock, step)
        lengths = [[len(examples[i]) for i in g.indices] for g in rows]
        useful += sum(map(sum, lengths))
        padded += len(rows) * _row_width([sum(r) for r in lengths])
        square += sum(n * n for r in lengths for n in r)
    return useful, padded, square


def _release() -> None:
    """Free the last run's model and optimizer state, so the next run's peak memory is its own."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _sig(x: float) -> float:
    return float(f"{x:.4g}")


def _row_width(lengths: list[int], pad_to: int = 8) -> int:
    return -(-max(lengths) // pad_to) * pad_to


def measure(clock: StepClock, warmup: int, config, params: int, peak_tflops: float) -> dict:
    """Throughput, model FLOP utilisation and peak memory of the steps after the first ``warmup``."""
    steps = len(clock.ends) - warmup
    seconds = clock.ends[-1] - clock.ends[warmup - 1]
    useful, padded, square = _walk(clock, warmup + 1, len(clock.ends))
    matmul = params - config.vocab_size * config.hidden_size
    attention = 6 * config.num_hidden_layers * config.hidden_size * square
    peak = peak_tflops * 1e12
    return {
        "steps": len(clock.ends),
        "tokens_all_steps": _walk(clock, 1, len(clock.ends))[0],
        "steps_timed": steps,
        "seconds": round(seconds, 6),
        "step_s": round(seconds / steps, 4),
        "useful_tokens": useful,
        "tokens_with_padding": padded,
        "padding_fraction": round(1 - useful / padded, 4),
        "useful_tokens_per_s": round(useful / seconds, 1),
        "tokens_per_s": round(padded / seconds, 1),
        "mfu_6n": _sig(6 * params * useful / seconds / peak),
        "mfu_model": _sig((6 * matmul * useful + attention) / seconds / peak),
        "attention_share_of_model_flops": _sig(attention / (6 * matmul * useful + attention)),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / GIB, 2) if torch.cuda.is_available() else None,
    }


def run_record(summary, clock: StepClock, s: dict, **fields) -> dict:
    """One training run's record: its settings, the command's own summary figures (a ``TrainSummary``), and
    ours."""
    from classit_train.presets import llama_config

    figures = measure(clock, s["warmup"], llama_config(s["model"]), summary.parameters, s["peak_tflops"])
    return {
        **fields,
        "batch_size": s["batch_size"],
        "bf16": s["bf16"],
        "parameters": summary.parameters,
        "tokens_seen": summary.tokens_seen,
        "command_tokens_per_s": summary.tokens_per_second,
        **figures,
    }


# --- part 1: classit-train pretrain -------------------------------------------------------------------------


def pretrain_corpus(passages: Path, work: Path) -> Path:
    """The bundled samples as one text file: each wiki passage a document, then the Switchboard sample."""
    import polars as pl

    texts = pl.read_parquet(passages)["text"].to_list()
    switchboard = (ROOT / "samples" / "switchboard_sample.train").read_text(encoding="utf-8")
    path = work / "corpus.txt"
    path.write_text("\n\n".join(texts) + "\n\n" + switchboard, encoding="utf-8")
    return path


def part_pretrain(s: dict, rec: Recorder, work: Path) -> None:
    """The preset model in each mode (packed first) and row length, ``warmup`` + ``steps`` steps each."""
    from classit_train.config import TrainConfig
    from classit_train.train import pretrain

    corpus = pretrain_corpus(Path(s["passages"]), work)
    rec.put(
        model=s["model"],
        corpus=f"{corpus.stat().st_size:,} bytes: the demo's wiki passages, one document "
        "each, and samples/switchboard_sample.train; repeated as the steps need",
    )
    for packing in (True, False):
        for length in s["lengths"]:
            out = work / f"pretrain-{length}-{'packed' if packing else 'padded'}"
            clock = StepClock()
            settings = TrainConfig.load(
                None,
                stage="pretrain",
                model=s["model"],
                max_steps=s["warmup"] + s["steps"],
                max_length=length,
                packing=packing,
                batch_size=s["batch_size"],
                bf16=s["bf16"],
                eval_fraction=0.0,
                save_steps=10**6,
                logging_steps=10**6,
            )
            summary = pretrain([corpus], out, settings, callbacks=[clock])
            rec.append("runs", run_record(summary, clock, s, length=length, packing=packing))
            shutil.rmtree(out, ignore_errors=True)
            _release()


# --- part 2: classit-train run ------------------------------------------------------------------------------


def make_base(dataset: str, model: str, folder: Path) -> Path:
    """A freshly initialised preset model with a tokenizer trained on the dataset's text: a step's speed does
    not depend on the weights."""
    from transformers import LlamaForCausalLM

    from classit_train.data import load_instruction_sources
    from classit_train.presets import llama_config, model_preset
    from classit_train.tokenizer import train_tokenizer

    sources = load_instruction_sources(dataset)
    text = folder.parent / "dataset-text.txt"
    text.write_text(
        "\n".join(
            r["prompt"] + "\n" + r["reply"] for parts in sources.values() for rows in parts.values() for r in rows
        ),
        encoding="utf-8",
    )
    tok = train_tokenizer([text], model_preset(model)["vocab_size"], folder)
    torch.manual_seed(0)
    net = LlamaForCausalLM(
        llama_config(model, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    )
    net.save_pretrained(folder)
    return folder


def part_run(s: dict, rec: Recorder, work: Path) -> None:
    """``classit-train run`` (merged curriculum, packed rows of the model's length) on the demo build."""
    from classit_train.config import TrainConfig
    from classit_train.train import run

    base = make_base(s["dataset"], s["model"], work / "base")
    clock = StepClock()
    settings = TrainConfig.load(
        None,
        stage="instruction",
        curriculum="merged",
        max_steps=s["warmup"] + s["steps"],
        batch_size=s["batch_size"],
        bf16=s["bf16"],
        save_steps=10**6,
        logging_steps=10**6,
    )
    summary = run(s["dataset"], base, work / "run", settings, callbacks=[clock])
    rec.append(
        "runs",
        run_record(
            summary,
            clock,
            s,
            dataset=s["dataset"],
            curriculum="merged",
            examples=summary.examples,
            rows_in_plan=summary.plan_rows,
        ),
    )
    shutil.rmtree(work / "run", ignore_errors=True)


# --- part 3: classit-train eval -----------------------------------------------------------------------------


def part_eval(s: dict, rec: Recorder, work: Path) -> None:
    """All of BLiMP with the embedded model, once per batch size (the command's default first)."""
    from classit_data.core.models import embedded_model_dir
    from classit_train.evaluate import EvalConfig, evaluate

    with stopwatch() as conversion:
        embedded_model_dir()  # the GGUF -> safetensors conversion, once per machine: timed apart
    rec.put(model_conversion_s=round(conversion.seconds, 1))
    for batch_size in s["batch_sizes"]:
        with stopwatch() as t:
            entry = evaluate(
                "smollm2",
                "blimp",
                s["blimp"],
                work / f"eval-{batch_size}.json",
                EvalConfig(batch_size=batch_size, limit=s["limit"]),
                progress=False,
            )
        wall = t.seconds
        rec.append(
            "passes",
            {
                "batch_size": batch_size,
                "pairs": entry.n_items,
                "uids": entry.n_uids,
                "device": entry.scoring["device"],
                "dtype": entry.scoring["dtype"],
                "wall_s": round(wall, 2),
                "load_s": entry.timing["load_s"],
                "score_s": entry.timing["score_s"],
                "pairs_per_s": round(entry.n_items / wall, 1),
                "scoring_pairs_per_s": round(entry.n_items / entry.timing["score_s"], 1),
                "accuracy": entry.accuracy,
            },
        )


# --- part 4: classit-data generate-wiki (vLLM when installed, else transformers) ----------------------------


def repeat_passages(passages: Path, n: int, out: Path) -> Path:
    """The first ``n`` passages, the file repeated with distinct ids when it holds fewer."""
    import polars as pl

    df = pl.read_parquet(passages)
    copies = [df.with_columns(pl.col("passage_id") + f"-{i}") if i else df for i in range(-(-n // df.height))]
    pl.concat(copies).head(n).write_parquet(out)
    return out


def generation_backend(asked: str) -> str:
    """``asked``, or for ``auto`` the engine a user would run: vLLM where it is installed, else transformers."""
    if asked != "auto":
        return asked
    return "vllm" if importlib.util.find_spec("vllm") is not None else "transformers"


def part_generate(s: dict, rec: Recorder, work: Path) -> None:
    """QA pairs for ``count`` passages with the embedded model."""
    from classit_data.core.models import embedded_model_dir
    from classit_data.generate.config import GenerationConfig
    from classit_data.generate.generate import generate_wiki

    embedded_model_dir()  # converted by the eval part already, or now (not timed: the engine load is)
    backend = generation_backend(s["backend"])
    passages = repeat_passages(Path(s["passages"]), s["count"], work / "passages.parquet")
    settings = GenerationConfig(
        backend=backend, max_passages=s["count"], batch_size=s["batch_size"], max_tokens=s["max_tokens"]
    )
    summary = generate_wiki(passages, work / "generate", settings, progress=False)
    run = summary.this_run
    rec.put(
        backend=backend,
        passages=summary.passages_done,
        batch_size=s["batch_size"] if backend == "transformers" else None,
        max_tokens=s["max_tokens"],
        pairs=summary.pairs,
        rejected=summary.rejected_outputs_by_reason,
        prompt_tokens=run.prompt_tokens,
        output_tokens=run.output_tokens,
        engine_load_s=run.engine_load_seconds,
        generation_s=run.generation_seconds,
        command_s=summary.seconds,
        output_tokens_per_s=run.output_tokens_per_s,
        passages_per_s=run.passages_per_s,
    )


# --- the denominator of MFU ----------------------------------------------------------------------------------


def part_peak(s: dict, rec: Recorder, work: Path) -> None:
    """The dense matrix-product rate of the device: ``size``^3 products (bf16 on a GPU, float32 on a CPU),
    random data, after a warm-up; the best of ``rounds`` rounds of ``repeat`` products."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    n = s["size"]
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    a @ b
    _sync()
    best = 0.0
    for _ in range(s["rounds"]):
        with stopwatch() as t:
            for _ in range(s["repeat"]):
                a @ b
            _sync()
        best = max(best, 2 * n**3 * s["repeat"] / t.seconds / 1e12)
    rec.put(device=device, dtype=str(dtype).removeprefix("torch."), size=n, tflops=round(best, 2))


PARTS = {
    "peak": part_peak,
    "pretrain": part_pretrain,
    "run": part_run,
    "eval": part_eval,
    "generate": part_generate,
}


def main(argv: list[str]) -> int:
    part, settings, result = argv[0], json.loads(argv[1]), Path(argv[2])
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = Path(settings["work"]) / part
    work.mkdir(parents=True, exist_ok=True)
    if settings.get("threads"):  # the dry run on a shared CPU: OpenMP threads that wait on each other are slower
        torch.set_num_threads(settings["threads"])
    PARTS[part](settings, Recorder(result), work)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
