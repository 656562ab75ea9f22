"""Settings of ``generate-wiki``: the one place their defaults and help live (the CLI is made from them).

A ``--config`` YAML file holds any of these keys (unknown keys are errors); options given on the command line
win over it (``GenerationConfig.load(file, **given)``). Engine, batching and server settings are set in that file
or the Python API only (``FILE_ONLY``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from classit_data.core.settings import FILE_ONLY, Settings
from classit_data.generate.backends.base import Sampling


class GenerationConfig(Settings):
    """Every setting of a run. The field order is the order of ``config`` in ``run.json``; the settings of the
    engine, its batching or the server are ``FILE_ONLY`` (a ``--config`` file or the Python API)."""

    model: str | None = Field(
        None,
        description="Hub id, local folder, or `smollm2` (default: the embedded "
        "SmolLM2-135M-Instruct); with --backend openai the served name.",
    )
    backend: str = Field(
        "auto",
        description="auto | vllm | transformers | openai (auto: openai with --base-url, "
        "else vllm when importable, else transformers).",
    )
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible server, e.g. http://host:8000/v1; several "
        "of one model separated by commas share the requests (with --executor ray, "
        "replica i talks to server i mod n).",
    )
    prompts: str | None = Field(
        None, description="Prompt config: qa.yaml, or a folder holding one (default: prompts/qa.yaml)."
    )
    num_pairs: int | None = Field(
        None, ge=1, description="Pairs per passage (default: num_pairs of the prompt config)."
    )
    chunk_size: int = Field(256, ge=1, description="Passages per engine call and per chunk file.")
    num_shards: int = Field(1, ge=1, description="Split the passages into N shards (job arrays).")
    shard_index: int = Field(0, ge=0, description="Which shard this run does (0-based).")
    seed: int = Field(0, description="Global seed; each passage's seed derives from it and the passage id.")
    max_passages: int | None = Field(None, ge=1, le=2**63 - 1, description="Only the first N passages of the shard.")
    verify: int = Field(
        0,
        ge=0,
        description="Then regenerate N random finished chunks and compare them with their files "
        "(equal / different per chunk, in the summary).",
    )
    price_per_mtok: str | None = Field(
        None,
        description="IN,OUT: price per million prompt and output tokens; the summary then prices the rest of "
        "the passage file.",
    )
    deterministic: bool = Field(
        True,
        description="The same rows from the same command on the same machine and versions: a seed per request, "
        "vLLM's scheduling in this process, no chunked prefill on CPUs (off: faster, rows may differ).",
    )
    executor: str = Field("local", description="local (this machine) | ray (a Ray cluster; needs the `ray` extra).")
    ray_address: str = Field(
        "auto",
        description="--executor ray: the cluster, e.g. 10.0.0.1:6379 (auto: "
        "RAY_ADDRESS or a cluster started on this machine, else a new local Ray).",
    )
    ray_max_replicas: int | None = Field(
        None, ge=1, description="--executor ray: autoscale the replicas between --data-parallel-size and this many."
    )
    ray_replica_cpus: Annotated[float | None, FILE_ONLY] = Field(
        None,
        gt=0,
        description="--executor ray: CPUs each engine replica takes (default: 1 for local engines, 0.25 for openai).",
    )
    # sampling
    temperature: float = Field(0.7, ge=0, description="Sampling temperature (0 = greedy).")
    top_p: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Nucleus sampling: draw from the most likely tokens whose probabilities add up to this.",
    )
    max_tokens: int = Field(
        384, ge=1, description="Most generated tokens per passage; longer outputs are rejected as truncated."
    )
    repetition_penalty: float = Field(
        1.1, gt=0, description="Penalty on tokens already generated (1 = none); small models loop without it."
    )
    # engines
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per vLLM engine.")
    data_parallel_size: int = Field(
        1,
        ge=1,
        description="Engine replicas, one process each on its own GPUs "
        "(with --executor ray: Ray actors, anywhere in the cluster).",
    )
    max_model_len: Annotated[int | None, FILE_ONLY] = Field(
        None, description="vllm: most tokens of prompt and output together (default: 2048 on CPUs, else the model's)."
    )
    dtype: Annotated[str | None, FILE_ONLY] = Field(
        None, description="vllm, transformers: weight dtype (default: float32 on CPUs, else the engine's choice)."
    )
    gpu_memory_utilization: Annotated[float | None, FILE_ONLY] = Field(
        None, description="vllm on GPUs: share of GPU memory the engine takes (unless kv_cache_gb is set)."
    )
    kv_cache_gb: Annotated[float | None, FILE_ONLY] = Field(
        None, description="vllm: KV-cache size in GiB (default on CPUs: 1, or VLLM_CPU_KVCACHE_SPACE)."
    )
    structured: Annotated[bool, FILE_ONLY] = Field(
        True, description="vllm, openai: constrain the output to the answer's JSON schema."
    )
    engine: Annotated[dict[str, Any], FILE_ONLY] = Field(
        default_factory=dict, description="extra vllm.LLM keyword arguments"
    )
    batch_size: Annotated[int, FILE_ONLY] = Field(8, ge=1, description="transformers: sequences per generate call")
    threads: Annotated[int | None, FILE_ONLY] = Field(
        None, ge=1, description="transformers: torch CPU threads (default: torch's)"
    )
    concurrency: Annotated[int, FILE_ONLY] = Field(16, ge=1, description="openai: requests in flight")
    max_retries: Annotated[int, FILE_ONLY] = Field(
        5, ge=0, description="openai: retries after a transient server error"
    )
    request_seeds: Annotated[bool, FILE_ONLY] = Field(True, description="openai: send a seed with each request")

    @model_validator(mode="after")
    def _consistent(self) -> GenerationConfig:
        """Settings that contradict each other, named by their flags (as a user of the command sets them)."""
        if self.shard_index >= self.num_shards:
            raise ValueError(f"--shard-index {self.shard_index} must be below --num-shards {self.num_shards}")
        if self.executor not in ("local", "ray"):
            raise ValueError(f"--executor must be local or ray, not {self.executor!r}")
        if self.executor == "local" and (self.ray_address != "auto" or self.ray_max_replicas is not None):
            raise ValueError(
                f"--{'ray-address' if self.ray_address != 'auto' else 'ray-max-replicas'} needs --executor ray"
            )
        if self.price_per_mtok is not None:
            self.prices()
        if self.ray_max_replicas is not None and self.ray_max_replicas < self.data_parallel_size:
            raise ValueError(
                f"--ray-max-replicas {self.ray_max_replicas} is below --data-parallel-size {self.data_parallel_size}"
            )
        return self

    def prices(self) -> tuple[float, float] | None:
        """``price_per_mtok`` as (prompt, output) prices per million tokens."""
        if self.price_per_mtok is None:
            return None
        try:
            prompt, output = (float(x) for x in self.price_per_mtok.split(","))
        except ValueError:
            raise ValueError(f"--price-per-mtok takes IN,OUT (two numbers), not {self.price_per_mtok!r}") from None
        if prompt < 0 or output < 0:
            raise ValueError(f"--price-per-mtok takes prices of zero or more, not {self.price_per_mtok!r}")
        return prompt, output

    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.max_tokens, self.repetition_penalty)

    def backend_options(self, kind: str) -> dict:
        """The settings the chosen engine takes, as keyword arguments of its backend class."""
        if kind == "vllm":
            return dict(
                tensor_parallel_size=self.tensor_parallel_size,
                max_model_len=self.max_model_len,
                dtype=self.dtype,
                gpu_memory_utilization=self.gpu_memory_utilization,
                kv_cache_gb=self.kv_cache_gb,
                structured=self.structured,
                engine=self.engine,
                deterministic=self.deterministic,
            )
        if kind == "transformers":
            return dict(
                batch_size=self.batch_size, dtype=self.dtype, threads=self.threads, deterministic=self.deterministic
            )
        return dict(
            concurrency=self.concurrency,
            max_retries=self.max_retries,
            structured=self.structured,
            request_seeds=self.request_seeds,
        )


class JudgeConfig(GenerationConfig):
    """Settings of ``judge``: those of ``generate-wiki`` (the same engines, chunks, shards and resume), with the
    rubric as the prompt config and greedy decoding by default (a score should not depend on a dice roll)."""

    prompts: str | None = Field(
        None, description="Rubric config: judge.yaml, or a folder holding one (default: prompts/judge.yaml)."
    )
    num_pairs: int | None = Field(None, ge=1, description="Not used by judge (every pair of a passage is judged).")
    chunk_size: int = Field(64, ge=1, description="Passages (with all their pairs) per engine call and per chunk file.")
    temperature: float = Field(0.0, ge=0, description="Sampling temperature (0 = greedy).")
    max_tokens: int = Field(
        512,
        ge=1,
        description="Most generated tokens per passage's judgement; longer outputs are kept aside as truncated.",
    )
    repetition_penalty: float = Field(1.0, gt=0, description="Penalty on tokens already generated (1 = none).")
    roundtrip: bool = Field(
        False,
        description="Also have the judge answer each question from the passage; the "
        "token F1 against the generated answer becomes judge_roundtrip_f1.",
    )
