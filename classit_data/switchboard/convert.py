"""Switchboard -> instruction items: clean the transcription markup, merge utterances into turns, pair turns.

Steps (each counts what it did, in the summary):

1. read   the inputs' utterances (``classit_data.switchboard.readers.detect``, format detected per file);
2. clean  each utterance (``classit_data.switchboard.clean``); one left with no word (``<laughter>``,
          ``[noise]``, an empty turn) is non-verbal and dropped before turns are formed, so the speaker's
          utterances around it join into one turn;
3. merge  consecutive utterances of one speaker into a turn, never across a conversation boundary;
4. pair   each turn (prompt) with the next turn (reply, the other speaker); with ``context_turns=K``
          the prompt starts with up to K earlier turns of the conversation, one ``SPEAKER: text`` line
          each, the prompt turn labelled the same way;
5. filter pairs whose prompt turn or reply has fewer than ``min_words`` or more than ``max_words``
          words (context turns are not counted); every dropped pair is counted by reason and, with
          ``rejects``, written aside with it;
6. write  the items to ``out`` (and the dropped pairs to ``rejects``), atomically, once every input is read.

Defaults: ``min_words=3`` drops backchannel pairs ("Uh-huh." / "Yeah.") that teach nothing; on the SWDA
conversations it keeps ~40% of the adjacent-turn pairs, in line with the published CLASS-IT Switchboard
config (38,802 rows). ``max_words=200`` drops the few monologue turns (a long story told over several
minutes) that would take ~260 tokens or more on their own (56 of the 98,902 SWDA pairs).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classit_data.core.counts import Counts
from classit_data.core.errors import InputError
from classit_data.core.io import atomic_write_text, check_row_file, summary_path
from classit_data.core.lengths import count_words
from classit_data.core.outputs import replaced_together
from classit_data.core.summary import Summary
from classit_data.switchboard.clean import clean_batch
from classit_data.switchboard.config import ConvertConfig
from classit_data.switchboard.readers.detect import InputSource, plan_inputs
from classit_data.switchboard.readers.utterance import Utterance

DROP_REASONS = ("prompt_too_short", "reply_too_short", "prompt_too_long", "reply_too_long")
#: a run over at least this many input lines shows a progress bar (on a terminal)
PROGRESS_MIN_LINES = 20_000
_ITEM_COLUMNS = ("id", "prompt", "reply", "text", "doc_id", "position", "origin")
_REJECT_COLUMNS = ("doc_id", "position", "origin", "prompt", "reply", "reason")
#: what the steps count besides the dropped pairs: conversations (with at least one turn), utterances, those with
#: no word left once cleaned, turns and their words, pairs (adjacent turns: the items and the dropped pairs), items
#: and the words of their prompt turns and replies
COUNTED = (
    "conversations",
    "utterances",
    "non_verbal_utterances",
    "turns",
    "words_in_turns",
    "pairs",
    "items",
    "words_prompt",
    "words_reply",
)


@dataclass
class ConvertStats(Counts):
    """What the steps did, counted as they go (``stats["turns"]``): one per input, added up for the run."""

    dropped_by_reason: Counter = field(default_factory=lambda: Counter(dict.fromkeys(DROP_REASONS, 0)))

    def update(self, name: str, n: int = 1) -> None:
        """Add ``n`` to one counter: one of ``COUNTED``, or a drop reason (a misspelt name is an error)."""
        if name in self.dropped_by_reason:
            self.dropped_by_reason[name] += n
        elif name in COUNTED:
            self.counts[name] += n
        else:
            raise KeyError(f"no counter named {name!r}")

    @property
    def dropped(self) -> int:
        return sum(self.dropped_by_reason.values())


class ConvertSummary(Summary):
    """What ``convert-switchboard`` read, paired, kept and dropped; ``pairs`` is ``items`` plus ``dropped``."""

    out: str
    rejects: str | None
    inputs: list[dict[str, Any]]
    formats: list[str]
    skipped_files: list[str]
    conversations: int
    utterances: int
    non_verbal_utterances: int
    turns: int
    pairs: int
    items: int
    dropped: int
    dropped_by_reason: dict[str, int]
    words: int
    words_prompt: int
    words_reply: int
    words_in_turns: int
    config: dict[str, Any]
    seconds: float

    def title(self) -> str:
        return f"convert-switchboard -> {self.out}"

    def rows(self) -> dict[str, object]:
        rows: dict[str, object] = {
            "formats": ", ".join(self.formats),
            "conversations": self.conversations,
            "utterances": self.utterances,
            "non-verbal utterances (dropped)": self.non_verbal_utterances,
            "turns": self.turns,
            "turn pairs": self.pairs,
            "items": self.items,
        }
        rows.update({f"dropped: {k}": v for k, v in self.dropped_by_reason.items()})
        rows["words (prompt + reply)"] = self.words
        if self.skipped_files:
            rows["files left out"] = len(self.skipped_files)
        rows["seconds"] = self.seconds
        return rows

    def notes(self) -> list[str]:
        """One line for each file of a folder that was left out, with the reason."""
        return [f"left out: {note}" for note in self.skipped_files]


# --- the conversion ----------------------------------------------------------------------------------


def convert_switchboard(
    inputs: list[str | Path] | str | Path,
    out: str | Path,
    settings: ConvertConfig | None = None,
    *,
    rejects: str | Path | None = None,
    progress: bool = True,
) -> ConvertSummary:
    """Convert Switchboard transcripts into item rows (prompt: a turn, reply: the next speaker's turn).

    Inputs:
        inputs: BabyLM ``switchboard.train``, SWDA pipe files or folders, NLTK's ``switchboard.zip`` or its
            folder, SWDA ``*.utt.csv``, ConvoKit ``utterances.jsonl``, ISIP ms98 ``*-trans.text`` side files;
            each file's format detected from its content unless ``fmt`` is set.
        settings: :class:`~classit_data.switchboard.config.ConvertConfig` (defaults when None).

    Outputs:
        out: the items (Parquet, or JSON lines for ``.jsonl``), with the summary beside it.
        rejects: when given, the dropped pairs with their reason.

    Every mistake in the input is an ``InputError`` (naming the file and line), raised before anything is
    written; the outputs are replaced together, only once all is done.
    """
    config = settings if settings is not None else ConvertConfig()
    started = time.perf_counter()
    named = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    for flag, path in (("--out", out), ("--rejects", rejects)):
        if path is not None:
            check_row_file(flag, path)
    sources, skipped = plan_inputs(named, config.fmt)
    targets = {
        "--out": out,
        **({"--rejects": rejects} if rejects is not None else {}),
        "--out's summary": summary_path(out),
    }
    read = [p for source in sources for p in source.paths]
    with replaced_together(targets, {"an input": [*read, *named]}) as outs:
        rows = PairRows(keep_rejects=rejects is not None)
        per_input = _convert_sources(sources, config, rows, progress)
        rows.write_items(outs.path("--out"))
        if rejects is not None:
            rows.write_rejects(outs.path("--rejects"))
        summary = _summary(out, rejects, sources, skipped, per_input, config, time.perf_counter() - started)
        atomic_write_text(
            outs.path("--out's summary"), json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n"
        )
    return summary


def _convert_sources(
    sources: list[InputSource], config: ConvertConfig, rows: PairRows, progress: bool
) -> list[ConvertStats]:
    """Every source through :func:`convert_source`, in order, under one progress bar over their lines."""
    seen: dict[str, str] = {}
    total = sum(s.lines for s in sources)
    if not progress or total < PROGRESS_MIN_LINES:  # no bar, and rich not imported
        return [convert_source(source, config, rows, seen) for source in sources]
    from classit_data.core.console import ProgressBar

    per_input = []
    done = 0
    with ProgressBar("convert-switchboard", total) as bar:
        for source in sources:

            def on_line(line: int, base: int = done) -> None:
                bar.update(completed=base + line)

            per_input.append(convert_source(source, config, rows, seen, on_line))
            done += source.lines
            bar.update(completed=done)
    return per_input


def convert_source(
    source: InputSource,
    config: ConvertConfig,
    rows: PairRows,
    seen: dict[str, str],
    on_line: Callable[[int], object] | None = None,
) -> ConvertStats:
    """Read one source and convert each of its conversations into ``rows``; what was done, counted."""
    stats = ConvertStats()
    for conversation, utterances in read_conversations(source, seen, on_line):
        convert_conversation(conversation, source.origin, utterances, config, rows, stats)
    if stats["utterances"] == 0:
        raise InputError("no utterances in this input", source.paths[0])
    return stats


def read_conversations(
    source: InputSource, seen: dict[str, str], on_line: Callable[[int], object] | None = None, every: int = 16384
) -> Iterator[tuple[str, list[Utterance]]]:
    """Step 1, read: the source's utterances in contiguous runs of one conversation id.

    A conversation already read (``seen``: id -> origin, updated) is an error. ``on_line(line)`` is called
    now and then, for a progress bar.
    """
    current = None
    batch: list[Utterance] = []
    for n, u in enumerate(source.read(), 1):
        if u.conversation != current:
            if batch:
                yield _first_reading(current, batch, source, seen)
            current, batch = u.conversation, []
        batch.append(u)
        if on_line is not None and n % every == 0:
            on_line(u.line)
    if batch:
        yield _first_reading(current, batch, source, seen)


def _first_reading(
    conversation: str, utterances: list[Utterance], source: InputSource, seen: dict[str, str]
) -> tuple[str, list[Utterance]]:
    """A conversation as read, recorded in ``seen``: the same id from two places would mix two calls."""
    if conversation in seen:
        raise InputError(
            f"conversation {conversation!r} already read from {seen[conversation]}", source.paths[0], utterances[0].line
        )
    seen[conversation] = source.origin
    return conversation, utterances


def convert_conversation(
    conversation: str,
    origin: str,
    utterances: list[Utterance],
    config: ConvertConfig,
    rows: PairRows,
    stats: ConvertStats,
) -> None:
    """Steps 2-5 for one conversation: clean, merge turns, pair, filter; the pairs go to ``rows``."""
    texts = clean_batch([u.text for u in utterances], config.drop_fillers)
    stats.update("utterances", len(utterances))
    stats.update("non_verbal_utterances", texts.count(""))
    turns = merge_turns(zip([u.speaker for u in utterances], texts))
    words = [len(text.split()) for _, text in turns]
    stats.update("conversations", bool(turns))
    stats.update("turns", len(turns))
    stats.update("words_in_turns", sum(words))
    prompts, replies = pair_turns(turns, config.context_turns)
    stats.update("pairs", len(replies))
    reasons = filter_pairs(words, config.min_words, config.max_words, stats)
    kept = rows.add(conversation, origin, prompts, replies, reasons)
    stats.update("items", len(kept))
    if config.context_turns:
        stats.update("words_prompt", sum([count_words(prompts[i]) for i in kept]))
    else:
        stats.update("words_prompt", sum([words[i] for i in kept]))
    stats.update("words_reply", sum([words[i + 1] for i in kept]))


# --- the steps -------------------------------------------------------------------------------------------


def merge_turns(utterances: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(speaker, cleaned text) utterances -> turns: consecutive ones of a speaker joined, empty ones skipped."""
    turns: list[tuple[str, str]] = []
    current = None
    parts: list[str] = []
    for speaker, text in utterances:
        if not text:
            continue
        if speaker != current:
            if parts:
                turns.append((current, " ".join(parts)))
            current, parts = speaker, [text]
        else:
            parts.append(text)
    if parts:
        turns.append((current, " ".join(parts)))
    return turns


def speaker_labels(turns: list[tuple[str, str]]) -> dict[str, str]:
    """Short labels for the context lines: the corpus's own (A, B) when short, else A, B, C... by first turn."""
    speakers = list(dict.fromkeys(s for s, _ in turns))
    if all(len(s) <= 3 for s in speakers):
        return {s: s for s in speakers}
    return {s: chr(ord("A") + i) if i < 26 else f"S{i + 1}" for i, s in enumerate(speakers)}


def drop_reason(prompt_words: int, reply_words: int, min_words: int, max_words: int) -> str | None:
    if prompt_words < min_words:
        return "prompt_too_short"
    if reply_words < min_words:
        return "reply_too_short"
    if prompt_words > max_words:
        return "prompt_too_long"
    if reply_words > max_words:
        return "reply_too_long"
    return None


def pair_turns(turns: list[tuple[str, str]], context_turns: int = 0) -> tuple[list[str], list[str]]:
    """Step 4, pair: the prompt and the reply of every two adjacent turns, in order.

    The prompt is the earlier turn's text; with ``context_turns=K`` it is up to K earlier turns and the
    prompt turn, one ``SPEAKER: text`` line each (labels from :func:`speaker_labels`).
    """
    replies = [text for _, text in turns[1:]]
    if not context_turns:
        return [text for _, text in turns[:-1]], replies
    labels = speaker_labels(turns)
    lines = [f"{labels[speaker]}: {text}" for speaker, text in turns]
    return ["\n".join(lines[max(0, i - 1 - context_turns) : i]) for i in range(1, len(turns))], replies


def filter_pairs(
    words: list[int], min_words: int, max_words: int, stats: ConvertStats | None = None
) -> list[str | None]:
    """Step 5, filter: why each pair of adjacent turns (``words``: each turn's word count) is dropped; None: kept.

    Drops are counted by reason in ``stats``.
    """
    reasons = [
        None if min_words <= p <= max_words and min_words <= r <= max_words else drop_reason(p, r, min_words, max_words)
        for p, r in zip(words, words[1:])
    ]
    if stats is not None:
        for reason in DROP_REASONS:
            stats.update(reason, reasons.count(reason))
    return reasons


class PairRows:
    """The pairs made so far, as columns: the kept ones as item rows, and (when a rejects file is asked for)
    the dropped ones with their reason. Step 6 writes them."""

    def __init__(self, keep_rejects: bool = False):
        from classit_data.core.template import default_template

        self.render = fast_renderer(default_template())
        self.items: dict[str, list] = {k: [] for k in _ITEM_COLUMNS}
        self.rejects: dict[str, list] | None = {k: [] for k in _REJECT_COLUMNS} if keep_rejects else None

    def add(
        self, conversation: str, origin: str, prompts: list[str], replies: list[str], reasons: list[str | None]
    ) -> list[int]:
        """One conversation's pairs (the i-th at position i + 1), sorted by their reason; the kept indices."""
        kept = [i for i, reason in enumerate(reasons) if reason is None]
        items, render = self.items, self.render
        items["id"].extend([item_id(conversation, i + 1, prompts[i], replies[i]) for i in kept])
        items["prompt"].extend([prompts[i] for i in kept])
        items["reply"].extend([replies[i] for i in kept])
        items["text"].extend([render(prompts[i], replies[i]) for i in kept])
        items["doc_id"].extend([conversation] * len(kept))
        items["position"].extend([i + 1 for i in kept])
        items["origin"].extend([origin] * len(kept))
        if self.rejects is not None and len(kept) < len(reasons):
            dropped = [i for i, reason in enumerate(reasons) if reason is not None]
            rejects = self.rejects
            rejects["doc_id"].extend([conversation] * len(dropped))
            rejects["position"].extend([i + 1 for i in dropped])
            rejects["origin"].extend([origin] * len(dropped))
            rejects["prompt"].extend([prompts[i] for i in dropped])
            rejects["reply"].extend([replies[i] for i in dropped])
            rejects["reason"].extend([reasons[i] for i in dropped])
        return kept

    def write_items(self, out: str | Path) -> None:
        """Step 6, write: the items, every column of the item schema (the ones Switchboard has not left null)."""
        import polars as pl

        from classit_data.core.io import write_rows
        from classit_data.core.schema import ITEM_SCHEMA

        frame = pl.DataFrame(self.items, schema={k: ITEM_SCHEMA[k] for k in self.items})
        frame = frame.with_columns(
            pl.lit("switchboard", dtype=pl.String).alias("source"),
            *[
                pl.lit(None, dtype=ITEM_SCHEMA[k]).alias(k)
                for k in ITEM_SCHEMA
                if k not in self.items and k != "source"
            ],
        ).select(list(ITEM_SCHEMA))
        write_rows(frame, out)

    def write_rejects(self, path: str | Path) -> None:
        import polars as pl

        from classit_data.core.io import write_rows

        write_rows(
            pl.DataFrame(
                self.rejects,
                schema={
                    "doc_id": pl.String,
                    "position": pl.Int64,
                    "origin": pl.String,
                    "prompt": pl.String,
                    "reply": pl.String,
                    "reason": pl.String,
                },
            ),
            path,
        )


def item_id(doc_id: str, position: int, prompt: str, reply: str) -> str:
    """``Item.make_id`` for a Switchboard row, in one hash update (``content_id`` joins the parts with 0x1f)."""
    data = f"switchboard\x1f{doc_id}\x1f{position}\x1f{prompt}\x1f{reply}\x1f".encode()
    return hashlib.sha256(data).hexdigest()[:16]


def fast_renderer(template):
    """``template.render`` as string concatenation when the template puts both variables in verbatim
    (``TextTemplate.verbatim_parts``); otherwise Jinja renders every row.

    Jinja's render costs ~20 us a call, a quarter of the whole conversion.
    """
    parts = template.verbatim_parts()
    if parts is None:
        return template.render
    head, mid, tail = parts

    def concat(prompt: str, reply: str) -> str:
        return head + prompt + mid + reply + tail

    return concat


# --- the summary -----------------------------------------------------------------------------------------


def _summary(
    out: str | Path,
    rejects: str | Path | None,
    sources: list[InputSource],
    skipped: list[str],
    per_input: list[ConvertStats],
    config: ConvertConfig,
    seconds: float,
) -> ConvertSummary:
    total = ConvertStats()
    for stats in per_input:
        total.add(stats)
    assert total["pairs"] == total["items"] + total.dropped
    return ConvertSummary(
        out=str(out),
        rejects=str(rejects) if rejects is not None else None,
        inputs=[
            {
                "input": source.origin,
                "paths": [str(p) for p in source.paths],
                "conversations": stats["conversations"],
                "utterances": stats["utterances"],
                "turns": stats["turns"],
                "items": stats["items"],
            }
            for source, stats in zip(sources, per_input)
        ],
        formats=sorted({s.fmt for s in sources}),
        skipped_files=skipped,
        conversations=total["conversations"],
        utterances=total["utterances"],
        non_verbal_utterances=total["non_verbal_utterances"],
        turns=total["turns"],
        pairs=total["pairs"],
        items=total["items"],
        dropped=total.dropped,
        dropped_by_reason=dict(total.dropped_by_reason),
        words=total["words_prompt"] + total["words_reply"],
        words_prompt=total["words_prompt"],
        words_reply=total["words_reply"],
        words_in_turns=total["words_in_turns"],
        config={
            "format": config.fmt,
            "context_turns": config.context_turns,
            "drop_fillers": config.drop_fillers,
            "min_words": config.min_words,
            "max_words": config.max_words,
        },
        seconds=round(seconds, 3),
    )
