"""How the rows were made, for the build record and the card: models, prompts, sampling, seeds and origins.

The ``run.json`` / ``summary.json`` of ``generate-wiki`` (in its output folder) record the generation's full
configuration: they are kept when given (``generation_runs``: the folders or the files) or when they sit
beside a wiki input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError
from classit_data.core.resources import from_record
from classit_data.dataset.record import sha256_file

#: the files ``generate-wiki`` writes into its output folder that record a run
RUN_FILES = ("run.json", "summary.json")


def provenance_summary(df: pl.DataFrame, wiki_inputs: list[Path], generation_runs: Sequence[str | Path] = ()) -> dict:
    """Row counts per model, prompt hash, sampling, seed and origin, and the generation runs' records."""
    generated = df.filter(pl.col("model").is_not_null())
    runs = [_read_run(f) for f in dict.fromkeys(p.resolve() for p in _run_files(generation_runs, wiki_inputs))]
    return {
        "models": _tally(generated, ["model", "model_revision"]),
        "prompt_hashes": _tally(generated, ["prompt_hash"]),
        "sampling": _tally(generated, ["sampling"]),
        "seeds": _tally(generated, ["seed"]),
        "origins": _tally(df, ["source", "origin"]),
        "generation_runs": runs,
        "prompt_files": _prompt_files(run for run in runs if "content" in run),
    }


def _tally(frame: pl.DataFrame, cols: list[str]) -> list[dict]:
    """Rows per distinct value of ``cols``, the most frequent first."""
    if frame.height == 0:
        return []
    grouped = frame.group_by(cols).len().sort(["len", *cols], descending=[True] + [False] * len(cols))
    return [dict(zip([*cols, "rows"], r, strict=True)) for r in grouped.iter_rows()]


def _run_files(generation_runs: Sequence[str | Path], wiki_inputs: list[Path]) -> list[Path]:
    """The run records given (a folder must hold one) and those beside the wiki inputs."""
    found: list[Path] = []
    for g in map(Path, generation_runs):
        if g.is_dir():
            inside = [g / n for n in RUN_FILES if (g / n).is_file()]
            if not inside:
                raise InputError("no run.json here: give the --out folder of `generate-wiki`", g)
            found += inside
        elif g.is_file():
            found.append(g)
        else:
            raise InputError("no such file or folder", g)
    for p in wiki_inputs:
        found += [p.parent / n for n in RUN_FILES if (p.parent / n).is_file()]
    return found


def check_generation_runs(generation_runs: Sequence[str | Path]) -> None:
    """Each run record given (``--generation-run``) exists and is a JSON object; else one line naming it."""
    for path in _run_files(generation_runs, []):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read the run record: {exc.strerror}", path) from exc
        except UnicodeDecodeError as exc:
            raise InputError("not a run record of `generate-wiki` (run.json): not UTF-8 text", path) from exc
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not a run record of `generate-wiki` (run.json): bad JSON: {exc.msg}", path, exc.lineno
            ) from exc
        if not isinstance(content, dict):
            raise InputError("not a run record of `generate-wiki` (run.json): expected a JSON object", path)


def _read_run(path: Path) -> dict:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON, or bytes that are not UTF-8
        return {"file": str(path), "error": "unreadable"}
    return {"file": str(path), "sha256": sha256_file(path), "content": content}


def run_prompts(run: dict) -> Path | None:
    """The prompt config a generation run read (its ``run.json`` names it relative to itself)."""
    content = run.get("content")
    prompts = content.get("prompts") if isinstance(content, dict) else None
    source = prompts.get("source") if isinstance(prompts, dict) else None
    return from_record(source, Path(run["file"]).parent) if isinstance(source, str) and source else None


def _prompt_files(runs: Iterable[dict]) -> list[dict]:
    """The prompt files the runs name, each once, with its sha256 where the files still give the run's hash."""
    entries: list[dict] = []
    for run in runs:
        content = run["content"]
        prompts = content.get("prompts") if isinstance(content, dict) else None
        if not (isinstance(prompts, dict) and isinstance(prompts.get("files"), list)):
            continue
        source = run_prompts(run)
        unchanged = _prompts_unchanged(source, content.get("identity") or {})
        folder = Path(source or "").parent
        for fname in prompts["files"]:
            fp = folder / str(fname)
            # a file's hash is only worth recording when the files still hash to the run's prompt_hash
            entry = {"file": str(fname), "sha256": sha256_file(fp) if unchanged and fp.is_file() else None}
            if entry not in entries:
                entries.append(entry)
    return entries


def _prompts_unchanged(source, identity: dict) -> bool:
    """Whether the prompt files named by a generation run still give the prompt hash it recorded."""
    if not source or not identity.get("prompt_hash"):
        return False
    from classit_data.generate.prompts import PromptSet

    try:
        num_pairs = (identity.get("sampling") or {}).get("num_pairs")
        return PromptSet.load(source).prompt_hash(num_pairs) == identity["prompt_hash"]
    except (InputError, OSError):
        return False
