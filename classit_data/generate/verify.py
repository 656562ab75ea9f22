"""``--verify N``: regenerate N random finished chunks and compare them with their files, chunk by chunk.

This is how a third party audits a published run against its ``run.json``: with the same command, machine
class and versions (``run.json``'s ``determinism``), a deterministic run's chunk regenerates byte for byte.
A chunk is redone exactly as it was made: its passages in its file's order, one engine call, the same seeds.
What is compared is what the engine gave: the raw reply, finish reason, token counts and seed of every passage.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError
from classit_data.generate.chunks import chunk_files

#: the columns of a chunk record that the engine produced
COMPARED = ("passage_id", "seed", "raw", "finish_reason", "prompt_tokens", "output_tokens")


def chunks_to_verify(out_dir: Path, selected: pl.DataFrame, n: int) -> list[tuple[Path, list[dict]]]:
    """Up to ``n`` random chunk files of the selected passages, each with its passages in the file's order."""
    by_id = {row["passage_id"]: row for row in selected.drop("chunk", strict=False).to_dicts()}
    finished = []
    for f in chunk_files(out_dir):
        ids = pl.read_parquet(f, columns=["passage_id"])["passage_id"].to_list()
        if ids and all(i in by_id for i in ids):
            finished.append((f, [by_id[i] for i in ids]))
    return random.sample(finished, min(n, len(finished)))


def verify(out_dir: Path, selected: pl.DataFrame, n: int, remake) -> dict[str, str]:
    """``{chunk file (relative to out_dir): "equal" | "different"}`` for up to ``n`` random finished chunks;
    ``remake(list of chunks' passages)`` gives each chunk's records as the engine makes them now."""
    picked = chunks_to_verify(out_dir, selected, n)
    if not picked:
        raise InputError("--verify: no finished chunk of the selected passages to regenerate", out_dir)
    remade = remake([passages for _, passages in picked])
    result = {}
    for (f, _), records in zip(picked, remade, strict=True):
        stored = pl.read_parquet(f).select(COMPARED)
        now = pl.DataFrame(records).select(COMPARED).cast(stored.schema)
        result[f.relative_to(out_dir).as_posix()] = "equal" if now.equals(stored) else "different"
    return dict(sorted(result.items()))


def verified_rows(verified: dict[str, str]) -> dict[str, str]:
    """The summary table's line for ``--verify``: how many chunks were equal, and each one that was not."""
    if not verified:
        return {}
    different = [name for name, outcome in verified.items() if outcome != "equal"]
    row = {"verified chunks": f"{len(verified) - len(different)} of {len(verified)} equal"}
    row.update({f"different: {name}": "regenerated text differs" for name in different})
    return row
