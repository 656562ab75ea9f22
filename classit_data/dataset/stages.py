"""What the steps before a build recorded, found beside the build's inputs and carried into ``build_info.json``.

Each step leaves a record beside its output: ``convert-switchboard`` and ``prepare-wiki`` write
``NAME.parquet.summary.json`` beside ``NAME.parquet`` (``core.io.summary_path``), ``generate-wiki`` writes
``summary.json`` and ``run.json`` into its folder, ``validate`` writes its ``--report``. The build follows
the chain back from its inputs: a report JSON beside an input whose ``outputs.kept`` is that input is the
validation of it; the files that validation read (and the inputs themselves) lead to the convert, prepare and
generate records; generation's ``run.json`` names its passage file. Steps without a record are listed, so the
report can say what it does not know.

The record keeps each summary without its timings and paths (``record.stable_report``: the same inputs give
the same ``build_info.json``); the seconds go to ``timings`` (the report's, not the record's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from classit_data.core.io import summary_path
from classit_data.core.resources import from_record
from classit_data.dataset.provenance import RUN_FILES
from classit_data.dataset.record import stable_report

#: the steps before a build, in pipeline order
STEPS = ("convert-switchboard", "prepare-wiki", "generate-wiki", "validate")
#: a field only that step's summary has
_MARKS = {
    "convert-switchboard": "turns",
    "prepare-wiki": "articles_read",
    "generate-wiki": "rejected_outputs_by_reason",
    "validate": "by_reason",
}
_MAX_BYTES = 20 << 20


def _load(path: Path) -> dict | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            return None
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def step_of(content: dict) -> str | None:
    return next((step for step, mark in _MARKS.items() if mark in content), None)


def _same(a: str | Path | None, b: Path) -> bool:
    try:
        return a is not None and Path(a).resolve() == b.resolve()
    except OSError:
        return False


def _named(record: Path, name) -> Path | None:
    """The file a step record names (relative to the record, ``package:NAME``, or an older absolute path)."""
    return from_record(name, record.parent) if isinstance(name, str) and name else None


def _validations(inputs: Iterable[Path]) -> list[tuple[Path, dict]]:
    """The validate reports beside the inputs that kept exactly those files."""
    found = []
    for p in inputs:
        for candidate in sorted(p.parent.glob("*.json")):
            content = _load(candidate)
            if content and step_of(content) == "validate":
                if _same(_named(candidate, (content.get("outputs") or {}).get("kept")), p):
                    found.append((candidate, content))
    return found


def _upstream(inputs: Sequence[Path], validations: list[tuple[Path, dict]]) -> list[Path]:
    """Row files a record may sit beside: the build's inputs and the files their validation read."""
    files = list(inputs)
    for path, report in validations:
        files += [_named(path, f["path"]) for f in report.get("inputs") or [] if isinstance(f, dict) and f.get("path")]
    return files


def _candidates(rows: Sequence[Path], passages: Iterable[str | Path], runs: Sequence[str | Path]) -> list[Path]:
    """Every file that may be a step's record, once each."""
    out = [summary_path(p) for p in rows] + [p.parent / n for p in rows for n in RUN_FILES]
    for r in map(Path, runs):
        out += [r / n for n in RUN_FILES] if r.is_dir() else [r, r.parent / "summary.json"]
    out += [summary_path(p) for p in map(Path, passages)]
    return list(dict.fromkeys(p.resolve() for p in out))


def stage_records(
    inputs: Sequence[Path], passages: str | Path | None = None, generation_runs: Sequence[str | Path] = ()
) -> tuple[dict, dict]:
    """(``{"steps": {step: [summary...]}, "missing": [step...]}`` for the record, ``{step: seconds}``)."""
    validations = _validations(inputs)
    rows = _upstream(inputs, validations)
    found: dict[str, list[tuple[Path, dict]]] = {step: [] for step in STEPS}
    found["validate"] = validations
    passage_files = [passages] if passages else []
    passage_files += [_named(p, r.get("passages")) for p, r in validations if r.get("passages")]
    for path in _candidates(rows, passage_files, generation_runs):
        content = _load(path)
        if content is None:
            continue
        if "identity" in content and content.get("passages"):  # generation's run.json names its passages
            passage_files.append(_named(path, content["passages"]))
        step = step_of(content)
        if step and step != "validate":
            found[step].append((path, content))
    for path in _candidates([], passage_files, []):
        content = _load(path)
        if content and step_of(content) == "prepare-wiki" and all(p != path for p, _ in found["prepare-wiki"]):
            found["prepare-wiki"].append((path, content))
    steps = {s: [{"file": p.name, **stable_report(c)} for p, c in v] for s, v in found.items() if v}
    timings = {s: round(sum(_seconds(c) for _, c in v), 3) for s, v in found.items() if v}
    return {"steps": steps, "missing": [s for s in STEPS if not found[s]]}, timings


def _seconds(content: dict) -> float:
    s = content.get("seconds")
    if isinstance(s, dict):
        s = s.get("total", 0)
    return float(s) if isinstance(s, (int, float)) else 0.0


def quarantine_samples(inputs: Sequence[Path], n: int = 5) -> dict[str, list[dict]]:
    """The first ``n`` quarantined rows of each reason, from the quarantine files of the inputs' validation."""
    from classit_data.core.io import read_rows

    out: dict[str, list[dict]] = {}
    for record, report in _validations(inputs):
        path = _named(record, (report.get("outputs") or {}).get("quarantine"))
        if not path or not path.is_file():
            continue
        try:
            rows = read_rows(path)
        except Exception:  # a quarantine file rewritten since: the samples are only a view
            continue
        if not rows.height or "reject_reason" not in rows.columns:
            continue
        cols = [c for c in ("id", "source", "prompt", "reply", "reject_reason", "reject_detail") if c in rows.columns]
        for reason, group in rows.select(cols).group_by("reject_reason", maintain_order=True):
            out.setdefault(str(reason[0]), []).extend(group.head(n).to_dicts())
    return {k: v[:n] for k, v in sorted(out.items())}


def rendered_prompt(run_records: Iterable[dict], passages: str | Path | None) -> list[dict] | None:
    """The chat messages a generation run sent for the first passage of ``passages`` (else of the run's own
    passage file); None when not known."""
    from classit_data.core.errors import InputError
    from classit_data.core.io import read_rows
    from classit_data.dataset.provenance import run_prompts
    from classit_data.generate.prompts import PromptSet
    from classit_data.generate.task import QATask

    for run in run_records:
        content = run.get("content") or {}
        source = run_prompts(run) if "file" in run else None
        passage_file = passages or _named(Path(run["file"]), content.get("passages"))
        if not source or not passage_file:
            continue
        try:
            passage = read_rows(passage_file).head(1).to_dicts()
            return QATask(PromptSet.load(source)).messages(passage[0]) if passage else None
        except (InputError, OSError, KeyError):
            return None
    return None
