"""Checkpoints by words seen, named as the BabyLM 2025 pipeline names a submission's revisions.

The pipeline evaluates a model at the revisions ``chck_1M`` ... ``chck_9M``, ``chck_10M`` ... ``chck_100M``
(strict-small) and on to ``chck_200M`` ... ``chck_1000M`` (10 epochs of 100M words in the other tracks): the
model after that many words of training text. Words are counted as BabyLM counts them, whitespace-separated
words of the training text (``classit_data.core.lengths.count_words``), not tokens; a document's words count
once per time it is trained on, so a second epoch counts them again.

``pretrain`` and ``run`` save ``RUN/revisions/chck_10M/`` (model, tokenizer and ``words_seen.json``) at the
first optimizer step whose words seen reach the count. Each folder loads with
``AutoModelForCausalLM.from_pretrained`` and ``classit-train eval --model RUN --revision chck_10M``; pushed as
branches of a Hub repository they are the revisions the pipeline's ``--revision_name`` asks for.

``checkpoint_words`` replaces the schedule; ``checkpoint_word_scale`` multiplies its counts, keeping the names,
so a small run can leave the official folder names.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text

REVISIONS = "revisions"
WORDS_FILE = "words_seen.json"
_UNITS = ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K"))


def babylm_schedule() -> list[int]:
    """The word counts of the 2025 pipeline's revisions, 1M to 1000M."""
    million = 1_000_000
    return (
        [i * million for i in range(1, 10)]
        + [i * 10 * million for i in range(1, 11)]
        + [i * 100 * million for i in range(2, 11)]
    )


def revision_name(words: int) -> str:
    """``chck_10M`` for 10,000,000 words (``chck_1000M``, not ``1B``, as the pipeline writes it)."""
    for size, unit in _UNITS[1:]:
        if words % size == 0:
            return f"chck_{words // size}{unit}"
    return f"chck_{words}"


def parse_words(text: str | int) -> int:
    """A word count as a user writes it: ``2000``, ``500K``, ``10M``, ``1B``."""
    raw = str(text).strip().upper().replace("_", "").replace(",", "")
    factor = dict((unit, size) for size, unit in _UNITS).get(raw[-1:], 1)
    try:
        words = round(float(raw[:-1] if factor > 1 else raw) * factor)
    except ValueError:
        raise ValueError(f"not a word count: {text!r} (2000, 500K, 10M...)") from None
    if words < 1:
        raise ValueError(f"a word count must be positive, not {text!r}")
    return words


def schedule(words: Sequence[str | int] = (), scale: float = 1.0) -> list[tuple[str, int]]:
    """(revision name, words at which it is saved) in order: ``words`` (the official schedule when empty),
    scaled by ``scale``, named by the unscaled count."""
    try:
        counts = sorted({parse_words(w) for w in words}) if words else babylm_schedule()
    except ValueError as exc:
        raise InputError(str(exc), "--checkpoint-words") from None
    return [(revision_name(w), max(1, round(w * scale))) for w in counts]


def revision_dir(model: str | Path, revision: str | None) -> Path | None:
    """``RUN/revisions/REVISION`` of a local run folder (None: no revision asked); an error when it is missing."""
    if revision is None:
        return None
    run = Path(model)
    folder = run / REVISIONS / revision
    if not run.is_dir():
        return None  # a Hub id: the revision is its branch
    if not (folder / "config.json").is_file():
        have = sorted(p.name for p in (run / REVISIONS).iterdir()) if (run / REVISIONS).is_dir() else []
        raise InputError(f"no revision {revision!r} (has: {', '.join(have) or 'none'})", run)
    return folder


def saved_revisions(out: Path) -> dict[str, dict[str, int]]:
    """Every revision saved in a run folder, in word order: its step and words seen."""
    folder = out / REVISIONS
    found = []
    for path in sorted(folder.glob(f"*/{WORDS_FILE}")) if folder.is_dir() else []:
        record = json.loads(path.read_text(encoding="utf-8"))
        found.append((record["words_seen"], path.parent.name, {k: record[k] for k in ("step", "words_seen")}))
    return {name: record for _, name, record in sorted(found)}


def word_checkpoints(out: Path, plan, groups_per_step: int, revisions: list[tuple[str, int]], tokenizer):
    """A Trainer callback saving ``revisions`` under ``out/revisions`` as the words seen cross them."""
    from transformers import TrainerCallback

    cumulative = [0, *accumulate(plan.words(slice(i, i + 1)) for i in range(len(plan)))]
    per_pass = max(1, -(-len(plan) // groups_per_step))

    def words_after(steps: int) -> int:
        passes, rest = divmod(steps, per_pass)
        return passes * cumulative[-1] + cumulative[min(rest * groups_per_step, len(plan))]

    class WordCheckpoints(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            seen = words_after(state.global_step)
            for name, words in revisions:
                target = out / REVISIONS / name
                if words <= seen and not target.exists() and state.is_world_process_zero:
                    _save(model, tokenizer, target, {"revision": name, "step": state.global_step, "words_seen": seen})
            return control

    return WordCheckpoints()


def _save(model, tokenizer, target: Path, record: dict) -> None:
    """The model and tokenizer in ``target``, written beside it and renamed, so a folder there is complete."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    atomic_write_text(tmp / WORDS_FILE, json.dumps(record, indent=2) + "\n")
    tmp.rename(target)
