"""Settings of ``generate-wiki``: the one place their defaults and help live (the CLI is made from them).

A ``--config`` YAML file holds any of these keys (unknown keys are errors); options given on the command line
win over it. Engine, batching and server settings are set in that file only (``cli: False``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from classit_data.core.errors import InputError, checked_settings
from classit_data.generate.backends.base import Sampling

#: a setting of the engine, its batching or the server: set in a --config file
_FILE_ONLY = {"cli": False}


class GenerationConfig(BaseModel):
    """Every setting of a run. The field order is the order of ``config`` in ``run.json``."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="Hub id, local folder, or `smollm2` (default: the embedded "
                              "SmolLM2-135M-Instruct); with --backend openai the served name.")
    backend: str = Field("auto", description="auto | vllm | transformers | openai (auto: openai with --base-url, "
                         "else vllm when importable, else transformers).")
    base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://host:8000/v1; several "
                                 "of one model separated by commas share the requests (with --executor ray, "
                                 "replica i talks to server i mod n).")
    prompts: str | None = Field(None, description="Prompt config: qa.yaml, or a folder holding one (default: "
                                "prompts/qa.yaml).")
    num_pairs: int | None = Field(None, ge=1, description="Pairs per passage (default: num_pairs of the prompt "
                                  "config).")
    chunk_size: int = Field(256, ge=1, description="Passages per engine call and per chunk file.")
    num_shards: int = Field(1, ge=1, description="Split the passages into N shards (job arrays).")
    shard_index: int = Field(0, ge=0, description="Which shard this run does (0-based).")
    seed: int = Field(0, description="Global seed; each passage's seed derives from it and the passage id.")
    max_passages: int | None = Field(None, ge=1, le=2**63 - 1, description="Only the first N passages of the "
                                     "shard.")
    executor: str = Field("local", description="local (this machine) | ray (a Ray cluster; needs the `ray` extra).")
    ray_address: str = Field("auto", description="--executor ray: the cluster, e.g. 10.0.0.1:6379 (auto: "
                             "RAY_ADDRESS or a cluster started on this machine, else a new local Ray).")
    ray_max_replicas: int | None = Field(None, ge=1, description="--executor ray: autoscale the replicas between "
                                         "--data-parallel-size and this many.")
    ray_replica_cpus: float | None = Field(None, gt=0, description="--executor ray: CPUs each engine replica "
                                           "takes (default: 1 for local engines, 0.25 for openai).",
                                           json_schema_extra=_FILE_ONLY)
    # sampling
    temperature: float = Field(0.7, ge=0, description="Sampling temperature (0 = greedy).")
    top_p: float = Field(0.9, gt=0, le=1, description="Nucleus sampling: draw from the most likely tokens "
                         "whose probabilities add up to this.")
    max_tokens: int = Field(384, ge=1, description="Most generated tokens per passage; longer outputs are "
                            "rejected as truncated.")
    repetition_penalty: float = Field(1.1, gt=0, description="Penalty on tokens already generated (1 = none); "
                                      "small models loop without it.")
    # engines
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per vLLM engine.")
    data_parallel_size: int = Field(1, ge=1, description="Engine replicas, one process each on its own GPUs "
                                    "(with --executor ray: Ray actors, anywhere in the cluster).")
    max_model_len: int | None = Field(None, description="vllm: most tokens of prompt and output together "
                                      "(default: 2048 on CPUs, else the model's).", json_schema_extra=_FILE_ONLY)
    dtype: str | None = Field(None, description="vllm, transformers: weight dtype (default: float32 on CPUs, "
                              "else the engine's choice).", json_schema_extra=_FILE_ONLY)
    gpu_memory_utilization: float | None = Field(None, description="vllm on GPUs: share of GPU memory the engine "
                                                 "takes (unless kv_cache_gb is set).", json_schema_extra=_FILE_ONLY)
    kv_cache_gb: float | None = Field(None, description="vllm: KV-cache size in GiB (default on CPUs: 1, or "
                                      "VLLM_CPU_KVCACHE_SPACE).", json_schema_extra=_FILE_ONLY)
    structured: bool = Field(True, description="vllm, openai: constrain the output to the answer's JSON schema.",
                             json_schema_extra=_FILE_ONLY)
    engine: dict[str, Any] = Field(default_factory=dict, description="extra vllm.LLM keyword arguments")
    batch_size: int = Field(8, ge=1, description="transformers: sequences per generate call",
                            json_schema_extra=_FILE_ONLY)
    threads: int | None = Field(None, ge=1, description="transformers: torch CPU threads (default: torch's)",
                                json_schema_extra=_FILE_ONLY)
    concurrency: int = Field(16, ge=1, description="openai: requests in flight", json_schema_extra=_FILE_ONLY)
    max_retries: int = Field(5, ge=0, description="openai: retries after a transient server error",
                             json_schema_extra=_FILE_ONLY)
    request_seeds: bool = Field(True, description="openai: send a seed with each request",
                                json_schema_extra=_FILE_ONLY)

    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.max_tokens, self.repetition_penalty)

    def backend_options(self, kind: str) -> dict:
        """The settings the chosen engine takes, as keyword arguments of its backend class."""
        if kind == "vllm":
            return dict(tensor_parallel_size=self.tensor_parallel_size, max_model_len=self.max_model_len,
                        dtype=self.dtype, gpu_memory_utilization=self.gpu_memory_utilization,
                        kv_cache_gb=self.kv_cache_gb, structured=self.structured, engine=self.engine)
        if kind == "transformers":
            return dict(batch_size=self.batch_size, dtype=self.dtype, threads=self.threads)
        return dict(concurrency=self.concurrency, max_retries=self.max_retries, structured=self.structured,
                    request_seeds=self.request_seeds)


class JudgeConfig(GenerationConfig):
    """Settings of ``judge``: those of ``generate-wiki`` (the same engines, chunks, shards and resume), with the
    rubric as the prompt config and greedy decoding by default (a score should not depend on a dice roll)."""

    prompts: str | None = Field(None, description="Rubric config: judge.yaml, or a folder holding one (default: "
                                "prompts/judge.yaml).")
    num_pairs: int | None = Field(None, ge=1, description="Not used by judge (every pair of a passage is judged).")
    chunk_size: int = Field(64, ge=1, description="Passages (with all their pairs) per engine call and per chunk "
                            "file.")
    temperature: float = Field(0.0, ge=0, description="Sampling temperature (0 = greedy).")
    max_tokens: int = Field(512, ge=1, description="Most generated tokens per passage's judgement; longer outputs "
                            "are kept aside as truncated.")
    repetition_penalty: float = Field(1.0, gt=0, description="Penalty on tokens already generated (1 = none).")
    roundtrip: bool = Field(False, description="Also have the judge answer each question from the passage; the "
                            "token F1 against the generated answer becomes judge_roundtrip_f1.")


def load_generation_config(config: str | Path | None, overrides: dict,
                           model: type[GenerationConfig] = GenerationConfig) -> GenerationConfig:
    """Defaults, then the YAML file, then the arguments given (``None`` means not given)."""
    data: dict = {}
    if config is not None:
        from classit_data.core.io import read_yaml_mapping  # polars, which the CLI's start-up does not need

        data = read_yaml_mapping(config, "config", "settings")
    given = {k: v for k, v in overrides.items() if v is not None}
    # a bad value is blamed on where it came from: the file (by its key) or the flag that gave it
    cfg = checked_settings(model, {**data, **given}, file=config, from_file=set(data) - set(given))
    if cfg.shard_index >= cfg.num_shards:
        raise InputError(f"--shard-index {cfg.shard_index} must be below --num-shards {cfg.num_shards}")
    if cfg.executor not in ("local", "ray"):
        raise InputError(f"--executor must be local or ray, not {cfg.executor!r}")
    if cfg.executor == "local" and (cfg.ray_address != "auto" or cfg.ray_max_replicas is not None):
        raise InputError(f"--{'ray-address' if cfg.ray_address != 'auto' else 'ray-max-replicas'} needs "
                         "--executor ray")
    if cfg.ray_max_replicas is not None and cfg.ray_max_replicas < cfg.data_parallel_size:
        raise InputError(f"--ray-max-replicas {cfg.ray_max_replicas} is below --data-parallel-size "
                         f"{cfg.data_parallel_size}")
    return cfg
