"""Examples, curricula and batches: everything between dataset rows and the tensors the model sees.

rows -> ``Example`` (token ids, labels, source, words) -> a *plan* (the ordered list of groups of examples the
run will train on, epoch by epoch and phase by phase, decided up front from the seed) -> ``PlanDataset`` ->
``Collator`` (packed or padded batches).

Why a plan up front: the curriculum order, the shuffles and the packing are then plain data that a test can
read, the Trainer only walks it in order (``train_sampling_strategy="sequential"``), one LR schedule spans the
whole plan, and ``--resume`` continues exactly where the run stopped (the Trainer skips the batches it saw).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classit_data.core.counts import Counts
from classit_data.core.errors import InputError, first_line
from classit_data.core.lengths import count_words
from classit_data.core.schema import SOURCES
from classit_data.core.template import TextTemplate
from classit_train.config import CURRICULA, CURRICULUM_PHASES

IGNORE_INDEX = -100  # label of a token that carries no loss (prompt, BOS, padding)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True, eq=False)
class Example:
    """One tokenized training example: ``labels[i]`` is ``input_ids[i]`` or ``IGNORE_INDEX`` (no loss).

    Token ids are int32 arrays: a 100M-word corpus is ~130M tokens, which as Python ints would take ~10 GB.
    """

    input_ids: np.ndarray
    labels: np.ndarray
    source: str
    words: int  # words of the data it came from (the BabyLM budget counts these)

    @classmethod
    def make(cls, input_ids, labels, source: str, words: int) -> Example:
        return cls(np.asarray(input_ids, dtype=np.int32), np.asarray(labels, dtype=np.int32), source, words)

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class EncodeStats(Counts):
    """What encoding did: ``self["examples"]``, ``self["truncated"]`` (longer than max_length: the end was cut)
    and the rows ``dropped``, by reason."""

    dropped: Counter = field(default_factory=Counter)

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1


# --- instruction examples -------------------------------------------------------------------------


def split_for_loss(template: TextTemplate, prompt: str, reply: str) -> tuple[str, str]:
    """(prefix, completion) of the rendered text; the completion is the only part with loss.

    Whitespace at the end of the prefix moves to the completion: byte-level BPE attaches a space to the word
    after it, so ``"Assistant:" + " reply"`` tokenizes the way the whole text does, while
    ``"Assistant: " + "reply"`` would not.
    """
    prefix, completion = template.split(prompt, reply)
    stripped = prefix.rstrip()
    return stripped, prefix[len(stripped) :] + completion


def encode_instructions(
    rows: Iterable[dict],
    source: str,
    tokenizer,
    template: TextTemplate,
    max_length: int,
    stats: EncodeStats | None = None,
) -> list[Example]:
    """``[BOS] prefix completion [EOS]`` with labels only on the completion and EOS."""
    stats = stats if stats is not None else EncodeStats()
    rows = list(rows)
    pairs = [split_for_loss(template, r["prompt"], r["reply"]) for r in rows]
    prefixes = tokenizer([p for p, _ in pairs], add_special_tokens=False)["input_ids"] if pairs else []
    completions = tokenizer([c for _, c in pairs], add_special_tokens=False)["input_ids"] if pairs else []
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    out: list[Example] = []
    for row, p_ids, c_ids in zip(rows, prefixes, completions):
        if not row["reply"].strip():
            stats.drop("empty_reply")
            continue
        ids = [bos, *p_ids, *c_ids, eos]
        labels = [IGNORE_INDEX] * (1 + len(p_ids)) + [*c_ids, eos]
        if len(ids) > max_length:
            if 1 + len(p_ids) >= max_length - 1:
                stats.drop("prompt_too_long")
                continue
            ids, labels = ids[:max_length], labels[:max_length]
            stats.update("truncated")
        out.append(Example.make(ids, labels, source, count_words(row["prompt"]) + count_words(row["reply"])))
    stats.update("examples", len(out))
    return out


# --- pretraining examples -------------------------------------------------------------------------


def corpus_documents(files: Sequence[str | Path], max_lines: int = 2000) -> Iterator[str]:
    """Documents of a pretraining corpus: runs of non-blank lines (at most ``max_lines`` each).

    BabyLM files separate articles by blank lines (Wikipedia) or not at all (Switchboard); the cap keeps a
    file without blank lines from becoming one huge string.
    """
    from classit_train.tokenizer import ROW_SUFFIXES, corpus_texts

    for f in files:
        if Path(f).suffix in ROW_SUFFIXES:  # row files: each row's text is a document
            yield from (t for t in corpus_texts([f]) if t.strip())
            continue
        lines: list[str] = []
        for line in corpus_texts([f]):
            if line.strip():
                lines.append(line.rstrip("\n"))
                if len(lines) < max_lines:
                    continue
            if lines:
                yield "\n".join(lines)
                lines = []
        if lines:
            yield "\n".join(lines)


def encode_documents(
    docs: Iterable[str],
    tokenizer,
    max_length: int,
    source: str = "corpus",
    stats: EncodeStats | None = None,
    batch: int = 256,
) -> list[Example]:
    """Every token has loss; a document longer than ``max_length`` becomes several examples.

    Each example starts with BOS (no loss on it); the document's last one ends with EOS.
    """
    stats = stats if stats is not None else EncodeStats()
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    out: list[Example] = []
    step = max_length - 1
    docs = iter(docs)
    while True:
        chunk = [d for _, d in zip(range(batch), docs)]
        if not chunk:
            break
        for text, ids in zip(chunk, tokenizer(chunk, add_special_tokens=False)["input_ids"]):
            ids = [*ids, eos]
            words = count_words(text)
            pieces = [ids[i : i + step] for i in range(0, len(ids), step)]
            for k, piece in enumerate(pieces):
                # words are credited to the document's first example, so that they are counted once
                out.append(Example.make([bos, *piece], [IGNORE_INDEX, *piece], source, words if k == 0 else 0))
    stats.update("examples", len(out))
    return out


# --- loading the instruction dataset --------------------------------------------------------------


def in_heldout(key: str, fraction: float) -> bool:
    """Stable choice of held-out documents: a hash of the key, the same on every machine and run."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


def dataset_location(dataset: str) -> str:
    """A local folder (checked) or a Hub id (``owner/name``), before anything heavy is loaded."""
    p = Path(dataset)
    if p.exists():
        if not p.is_dir():
            raise InputError("expected a dataset folder (made by classit-data build) or a Hub id", p)
        return str(p)
    if _HUB_ID.match(dataset) and not dataset.startswith("."):
        return dataset
    raise InputError("no such dataset folder", p)


def load_instruction_sources(
    dataset: str, *, eval_fraction: float = 0.02, max_eval_examples: int | None = 1000, sources: Sequence[str] = SOURCES
) -> dict[str, dict[str, list[dict]]]:
    """``{source: {"train": rows, "eval": rows}}`` from a built dataset folder or a Hub id.

    Each source is its own config (``switchboard``, ``simple_wiki``), read with ``datasets.load_dataset``.
    The held-out part is the ``validation`` split when the dataset has one (``classit-data build`` chooses
    it by document), otherwise the documents (``doc_id``; the prompt for a row without one, as in the published
    dataset or a build from its rows) whose hash falls under ``eval_fraction``.
    """
    import datasets
    from datasets import load_dataset

    where = dataset_location(dataset)
    datasets.disable_progress_bars()
    out: dict[str, dict[str, list[dict]]] = {}
    for source in sources:
        try:
            dd = load_dataset(where, source)
        except Exception as exc:  # datasets raises many types (ValueError, FileNotFoundError, ConnectionError...)
            raise InputError(f"cannot load config {source!r}: {first_line(exc)}", dataset) from exc
        if "train" not in dd:
            raise InputError(f"config {source!r} has no train split (splits: {', '.join(dd)})", dataset)
        missing = [c for c in ("prompt", "reply") if c not in dd["train"].column_names]
        if missing:
            raise InputError(f"config {source!r} lacks column(s) {', '.join(missing)}", dataset)
        cols = [c for c in ("prompt", "reply", "doc_id") if c in dd["train"].column_names]
        train = dd["train"].select_columns(cols).to_list()
        if "validation" in dd:
            held = dd["validation"].select_columns(cols).to_list()
        else:
            flags = [in_heldout(f"{source}\x1f{r.get('doc_id') or r['prompt']}", eval_fraction) for r in train]
            held = [r for r, f in zip(train, flags) if f]
            train = [r for r, f in zip(train, flags) if not f]
        if max_eval_examples is not None:
            held = held[:max_eval_examples]
        out[source] = {"train": train, "eval": held}
    return out


# --- the plan: curriculum, epochs, packing --------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Examples trained as one row of a batch: several when packed, one when padded."""

    indices: tuple[int, ...]
    phase: int
    epoch: int


def plan_order(sources: Sequence[str], curriculum: str, epochs: int, seed: int) -> list[tuple[int, int, np.ndarray]]:
    """``(phase, epoch, example indices in order)`` segments: the curriculum's phases one after the other,
    each for ``epochs`` epochs, reshuffled every epoch from ``(seed, phase, epoch)``.

    ``merged`` is one phase with both sources shuffled together; ``switch_wiki`` trains every epoch of
    Switchboard and then every epoch of Simple Wikipedia (``wiki_switch`` the reverse).
    """
    if curriculum not in CURRICULUM_PHASES and curriculum != "corpus":
        raise InputError(f"unknown curriculum {curriculum!r} (known: {', '.join(CURRICULA)})", "--curriculum")
    phases = (tuple(sorted(set(sources))),) if curriculum == "corpus" else CURRICULUM_PHASES[curriculum]
    src = np.asarray(sources)
    segments = []
    for phase, members in enumerate(phases):
        pool = np.flatnonzero(np.isin(src, members))
        if pool.size == 0:
            raise InputError(f"curriculum {curriculum!r} phase {phase + 1} has no examples of {'/'.join(members)}")
        for epoch in range(epochs):
            rng = np.random.default_rng([seed, phase, epoch])
            segments.append((phase, epoch, pool[rng.permutation(pool.size)]))
    return segments


def pack_greedy(order: np.ndarray, lengths: Sequence[int], max_length: int) -> list[tuple[int, ...]]:
    """Consecutive examples into rows of at most ``max_length`` tokens, keeping their order.

    Order matters more than the last percent of fill: the plan's shuffle and curriculum stay intact. With
    examples of tens of tokens and rows of thousands, the rows are over 98% full anyway.
    """
    rows: list[tuple[int, ...]] = []
    current: list[int] = []
    used = 0
    for i in order.tolist():
        n = lengths[i]
        if current and used + n > max_length:
            rows.append(tuple(current))
            current, used = [], 0
        current.append(i)
        used += n
    if current:
        rows.append(tuple(current))
    return rows


def make_plan(
    examples: Sequence[Example], curriculum: str, epochs: int, seed: int, *, packing: bool, max_length: int
) -> list[Group]:
    lengths = [len(e) for e in examples]
    groups: list[Group] = []
    for phase, epoch, order in plan_order([e.source for e in examples], curriculum, epochs, seed):
        rows = pack_greedy(order, lengths, max_length) if packing else [(i,) for i in order.tolist()]
        groups.extend(Group(r, phase, epoch) for r in rows)
    return groups


class PlanDataset:
    """A map-style dataset over the plan: item ``i`` is the examples of group ``i``."""

    def __init__(self, examples: Sequence[Example], groups: Sequence[Group]):
        self.examples = examples
        self.groups = groups

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> dict:
        g = self.groups[i]
        return {"examples": [self.examples[j] for j in g.indices], "group": i}

    def longest_row(self) -> int:
        """Tokens of the longest group (a row of its batch, before padding); 0 without groups."""
        return max((sum(len(self.examples[j]) for j in g.indices) for g in self.groups), default=0)

    def tokens(self, which: slice = slice(None)) -> int:
        return sum(len(self.examples[j]) for g in self.groups[which] for j in g.indices)

    def words(self, which: slice = slice(None)) -> int:
        return sum(self.examples[j].words for g in self.groups[which] for j in g.indices)


@dataclass
class Collator:
    """Batches of groups.

    Packed: each group's examples are concatenated into one row, ``position_ids`` restart at 0 for every
    example and neither an ``attention_mask`` nor a KV cache is used. transformers then builds a block-diagonal
    causal mask from the position ids (sdpa / eager: ``masking_utils.find_packed_sequence_indices``;
    flash-attention: the varlen kernel), so no token attends to another example. Row padding is one more block
    with no loss.
    Padded: one example per row, right-padded, with an ``attention_mask``.

    Each example's first label is ``IGNORE_INDEX`` (BOS), so the shifted loss never asks a row's last token
    of one example to predict the next example's first.
    """

    pad_id: int
    packing: bool = True
    pad_to_multiple_of: int = 8

    def row_width(self, n: int) -> int:
        """A row's length once padded: ``n`` tokens up to the next multiple of ``pad_to_multiple_of``."""
        m = self.pad_to_multiple_of
        return -(-n // m) * m if m else n

    def __call__(self, features: list[dict]) -> dict:
        import torch

        groups = [f["examples"] for f in features]
        if not self.packing and any(len(g) != 1 for g in groups):
            raise ValueError("padded batches take one example per group")
        width = self.row_width(max(sum(len(e) for e in g) for g in groups))
        ids = torch.full((len(groups), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(groups), width), IGNORE_INDEX, dtype=torch.long)
        if self.packing:
            pos = torch.zeros((len(groups), width), dtype=torch.long)
        else:
            mask = torch.zeros((len(groups), width), dtype=torch.long)
        for r, g in enumerate(groups):
            at = 0
            for e in g:
                n = len(e)
                ids[r, at : at + n] = torch.from_numpy(e.input_ids)
                labels[r, at : at + n] = torch.from_numpy(e.labels)
                if self.packing:
                    pos[r, at : at + n] = torch.arange(n)
                at += n
            if self.packing:
                pos[r, at:] = torch.arange(width - at)
            else:
                mask[r, :at] = 1
        batch = {"input_ids": ids, "labels": labels}
        if self.packing:
            batch["position_ids"] = pos
            # with a KV cache transformers skips the packed-sequence mask; training never needs the cache
            batch["use_cache"] = False
        else:
            batch["attention_mask"] = mask
        return batch


def phase_steps(groups: Sequence[Group], groups_per_step: int) -> list[dict]:
    """The optimizer steps at which each (phase, epoch) of the plan starts and ends (1-based, inclusive)."""
    spans: dict[tuple[int, int], list[int]] = {}
    for i, g in enumerate(groups):
        step = i // groups_per_step + 1
        span = spans.setdefault((g.phase, g.epoch), [step, step])
        span[1] = step
    return [{"phase": p, "epoch": e, "first_step": a, "last_step": b} for (p, e), (a, b) in spans.items()]
