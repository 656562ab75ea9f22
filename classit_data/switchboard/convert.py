"""Switchboard -> instruction items: clean the transcription markup, merge utterances into turns, pair turns.

Steps (each counts what it did, in the summary):

1. read   the inputs' utterances (``classit_data.switchboard.readers.detect``, format detected per file);
2. clean  each utterance (:func:`clean_text`); one left with no word (``<laughter>``, ``[noise]``, an
          empty turn) is non-verbal and dropped before turns are formed, so the speaker's utterances
          around it join into one turn;
3. merge  consecutive utterances of one speaker into a turn, never across a conversation boundary;
4. pair   each turn (prompt) with the next turn (reply, the other speaker); with ``context_turns=K``
          the prompt starts with up to K earlier turns of the conversation, one ``SPEAKER: text`` line
          each, the prompt turn labelled the same way;
5. filter pairs whose prompt turn or reply has fewer than ``min_words`` or more than ``max_words``
          words (context turns are not counted); every dropped pair is counted by reason and, with
          ``rejects``, written aside with it.

Defaults: ``min_words=3`` drops backchannel pairs ("Uh-huh." / "Yeah.") that teach nothing; on the SWDA
conversations it keeps ~40% of the adjacent-turn pairs, in line with the published CLASS-IT Switchboard
config (38,802 rows). ``max_words=200`` drops the few monologue turns (a long story told over several
minutes) that would take ~260 tokens or more on their own (56 of the 98,902 SWDA pairs).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from classit_data.core.lengths import count_words
from classit_data.core.errors import InputError

DEFAULT_MIN_WORDS = 3
DEFAULT_MAX_WORDS = 200
DROP_REASONS = ("prompt_too_short", "reply_too_short", "prompt_too_long", "reply_too_long")
#: a run over at least this many input lines shows a progress bar (on a terminal)
PROGRESS_MIN_LINES = 20_000

# --- markup ----------------------------------------------------------------------------------------

#: anything that is not plain, normalised text. A text without it needs no cleaning regex at all; written
#: without look-arounds so that polars (Rust regex) can test a whole conversation at once (``clean_batch``)
NEEDS_CLEANING = (r"[<>\[\]{}()#/+_]|[,;:][,.?!;:]|[.?!][,;:]|--|(?:^|\W)-|-(?:\W|$)|\s[,.?!;:]|\s\s|[^\S ]"
                  r"|^[\s,.;:?!]|\s$")
FILLERS = r"(?i)(?:^|[^\w'-])(?:uh|um|umm|uhm|er|erm|ah|eh|hm+|mm+)(?:[^\w'-]|$)"
_NEEDS_CLEANING = re.compile(NEEDS_CLEANING)
_ANGLE = re.compile(r"<+[^<>]*>+")  # <laughter>, <noise>, <Children>, <<talking>>
_UNCERTAIN = re.compile(r"\(\(\s*([^()]*?)\s*\)\)")  # ((word)) -> word, (( )) -> nothing
_FILLER_GROUP = re.compile(r"\{F\s[^{}]*\}")  # {F uh, } (with drop_fillers)
_DISFLUENCY_OPEN = re.compile(r"\{[A-Z]\s")  # {F {D {C {E {A openers
_REPAIR_TOKEN = re.compile(r"(?<!\S)[\[\]+](?!\S)")  # [ a, + a ] repair brackets and interruption point
_LAUGH_WORD = re.compile(r"\[laughter-([^\[\]\s]+)\]")  # ISIP: word said laughing
_MISPRONOUNCED = re.compile(r"\[(?:[^\[\]/\s]|\[[^\[\]]*\])*/([^\[\]/\s]+)\]")  # ISIP [pronounced/intended]
_PARTIAL = re.compile(  # partial words: ab[solute]- -[th]at wh- -er
    r"(?<!\S)(?:[\w']*\[[^\[\]\s]*\][\w']*-|-\[[^\[\]\s]*\][\w']*|[\w']+-(?![\w])|-[\w']+(?=[\s,.?!;:]|$)),?")
_BRACKETED = re.compile(r"\[[^\[\]]*\]")  # anything else in brackets: [noise], [silence], [vocalized-noise]
_VARIANT = re.compile(r"(?<=\w)_\d+\b")  # ISIP okay_1
_SLASH_UNIT = re.compile(r"-/|(?<!\S)/(?!\S)")  # -/ abandoned, " / " slash units
_DASHES = re.compile(r"--+|(?<!\S)-(?!\S)")  # -- interruptions, lone dashes
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.?!;:])")
_DOUBLE_PUNCT = re.compile(r"[,;:](?=[,.?!;:])|(?<=[.?!])[,;:]")  # ", ," -> ","; ", ." -> "."; ".," -> "."
_LEADING_PUNCT = re.compile(r"^[\s,.;:!?]+")
_FILLER_WORDS = re.compile(r"(?<![\w'-])(?:uh|um|umm|uhm|er|erm|ah|eh|hm+|mm+)(?![\w'-])[,.]?", re.IGNORECASE)
_HAS_WORD = re.compile(r"[^\W_]")


def clean_text(text: str, drop_fillers: bool = False) -> str:
    """Plain text of one utterance, markup of every Switchboard format removed.

    Non-verbal events (``<laughter>``, ``[noise]``), partial words (``wh-``, ``ab[solute]-``), uncertain
    transcription brackets (kept: the words, dropped: ``(( ))``), disfluency braces and repair brackets
    (kept: their words, "I wouldn't, I definitely wouldn't"), overlap ``#``, slash units `` / ``,
    ``-/``, ``--`` and ISIP variants ``_1`` go; whitespace and the punctuation left beside removed
    markup are normalised. Fillers ("uh", "um") stay unless ``drop_fillers`` (then ``{F ...}`` groups
    go too). The result is empty when nothing was said.
    """
    if drop_fillers:
        first = _HAS_WORD.search(_DISFLUENCY_OPEN.sub(" ", _ANGLE.sub(" ", text)))
        capital = first is not None and first.group().isupper()
    if _NEEDS_CLEANING.search(text) is not None:
        text = _ANGLE.sub(" ", text)
        text = _UNCERTAIN.sub(r" \1 ", text)
        if drop_fillers:
            text = _FILLER_GROUP.sub(" ", text)
        text = _DISFLUENCY_OPEN.sub(" ", text)
        text = _REPAIR_TOKEN.sub(" ", text)
        text = _LAUGH_WORD.sub(r"\1", text)
        text = _MISPRONOUNCED.sub(r"\1", text)
        text = _PARTIAL.sub(" ", text)
        text = _BRACKETED.sub(" ", text)
        text = text.replace("{", "").replace("}", "").replace("#", " ")
        text = _VARIANT.sub("", text)
        text = _SLASH_UNIT.sub(" ", text)
        text = _DASHES.sub(" ", text)
        text = _SPACE.sub(" ", text)
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
        text = _DOUBLE_PUNCT.sub("", text)
        text = _LEADING_PUNCT.sub("", text).strip()
    elif text and (text[0] == " " or text[-1] == " "):
        text = text.strip()
    if drop_fillers:
        text = _drop_fillers(text, capital)
    return text if _HAS_WORD.search(text) else ""


def _drop_fillers(text: str, capital: bool) -> str:
    stripped = _FILLER_WORDS.sub(" ", text)
    stripped = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", stripped))
    stripped = _LEADING_PUNCT.sub("", _DOUBLE_PUNCT.sub("", stripped)).strip()
    if stripped and capital and stripped[0].islower():
        stripped = stripped[0].upper() + stripped[1:]  # "Uh, first, ..." -> "First, ..."
    return stripped


def clean_batch(texts: list[str], drop_fillers: bool = False) -> list[str]:
    """``clean_text`` over many utterances, equal to calling it on each.

    Most utterances of a real corpus are already plain (98% of the BabyLM file); one vectorised polars
    test picks the few that need the regexes, which is ~15x faster than testing each in Python.
    """
    if len(texts) < 16:
        return [clean_text(t, drop_fillers) for t in texts]
    import polars as pl

    series = pl.Series(texts, dtype=pl.String)
    flags = series.str.contains(NEEDS_CLEANING) | ~series.str.contains(r"[^\W_]")
    if drop_fillers:
        flags = flags | series.str.contains(FILLERS)
    return [clean_text(t, drop_fillers) if f else t for t, f in zip(texts, flags.to_list())]


# --- turns and pairs ---------------------------------------------------------------------------------


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


def _conversations(utterances: Iterator, on_line=None, every: int = 16384) -> Iterator[tuple[str, list]]:
    """Contiguous runs of one conversation id; ``on_line(line)`` now and then, for a progress bar."""
    current = None
    batch: list = []
    n = 0
    for u in utterances:
        if u.conversation != current:
            if batch:
                yield current, batch
            current, batch = u.conversation, []
        batch.append(u)
        n += 1
        if on_line is not None and n % every == 0:
            on_line(u.line)
    if batch:
        yield current, batch


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


# --- the conversion ----------------------------------------------------------------------------------


def convert_switchboard(inputs: list[str | Path] | str | Path, out: str | Path, *, fmt: str | None = None,
                        context_turns: int = 0, drop_fillers: bool = False, min_words: int = DEFAULT_MIN_WORDS,
                        max_words: int = DEFAULT_MAX_WORDS, progress: bool = True,
                        rejects: str | Path | None = None) -> dict:
    """Convert Switchboard transcripts into item rows written to ``out`` (Parquet, or JSON lines for ``.jsonl``).

    Returns the summary: conversations, utterances, turns, candidate pairs, items, dropped pairs by
    reason, words, the inputs and their formats, and the configuration. Every mistake in the input is
    an ``InputError`` naming the file and line, raised before anything is written; ``out`` (and
    ``rejects``: the dropped pairs with their reason) are written atomically.
    """
    import polars as pl

    from classit_data.core.io import write_rows
    from classit_data.core.schema import ITEM_SCHEMA
    from classit_data.switchboard.readers.detect import plan_inputs
    from classit_data.core.template import default_template

    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if context_turns < 0:
        raise InputError(f"--context-turns must be 0 or more, not {context_turns}")
    if min_words < 0 or max_words < 1 or max_words < min_words:
        raise InputError(f"need 0 <= --min-words <= --max-words and --max-words >= 1 "
                         f"(got {min_words} and {max_words})")
    t0 = time.perf_counter()
    sources, skipped = plan_inputs(list(inputs), fmt)
    template = default_template()

    cols: dict[str, list] = {k: [] for k in ("id", "prompt", "reply", "text", "doc_id", "position", "origin")}
    col_id, col_prompt, col_reply, col_text = cols["id"], cols["prompt"], cols["reply"], cols["text"]
    col_doc, col_pos, col_origin = cols["doc_id"], cols["position"], cols["origin"]
    render = fast_renderer(template)
    rej: dict[str, list] = {k: [] for k in ("doc_id", "position", "origin", "prompt", "reply", "reason")}
    dropped: Counter[str] = Counter({r: 0 for r in DROP_REASONS})
    totals = Counter()
    per_input = []
    seen_conversations: dict[str, str] = {}
    words_prompt = words_reply = 0

    total_lines = sum(s.lines for s in sources)
    show = progress and total_lines >= PROGRESS_MIN_LINES
    from classit_data.core.console import make_progress
    bar = make_progress() if show else None
    task = bar.add_task("convert-switchboard", total=total_lines) if bar else None
    done_lines = 0
    try:
        if bar:
            bar.start()
        for source in sources:
            stats = Counter()
            origin = source.origin
            on_line = (lambda line, base=done_lines: bar.update(task, completed=base + line)) if bar else None
            for conv, utts in _conversations(source.read(), on_line):
                if conv in seen_conversations:
                    raise InputError(f"conversation {conv!r} already read from {seen_conversations[conv]}",
                                     source.paths[0], utts[0].line)
                seen_conversations[conv] = origin
                stats["utterances"] += len(utts)
                texts = clean_batch([u.text for u in utts], drop_fillers)
                stats["non_verbal_utterances"] += texts.count("")
                turns = merge_turns(zip([u.speaker for u in utts], texts))
                del utts, texts
                nwords = [len(t.split()) for _, t in turns]
                stats["turns"] += len(turns)
                stats["turn_words"] += sum(nwords)
                stats["conversations"] += bool(turns)
                stats["pairs"] += max(0, len(turns) - 1)
                labels = speaker_labels(turns) if context_turns else None
                items = 0
                for i in range(1, len(turns)):
                    pw, rw = nwords[i - 1], nwords[i]
                    reply = turns[i][1]
                    if context_turns:
                        prompt = "\n".join([f"{labels[s]}: {t}" for s, t in turns[max(0, i - 1 - context_turns):i]])
                    else:
                        prompt = turns[i - 1][1]
                    if pw < min_words or rw < min_words or pw > max_words or rw > max_words:
                        reason = drop_reason(pw, rw, min_words, max_words)
                        dropped[reason] += 1
                        if rejects is not None:
                            for k, v in zip(rej, (conv, i, origin, prompt, reply, reason)):
                                rej[k].append(v)
                        continue
                    words_prompt += count_words(prompt) if context_turns else pw
                    words_reply += rw
                    col_id.append(item_id(conv, i, prompt, reply))
                    col_prompt.append(prompt)
                    col_reply.append(reply)
                    col_text.append(render(prompt, reply))
                    col_pos.append(i)
                    items += 1
                col_doc.extend([conv] * items)
                col_origin.extend([origin] * items)
                stats["items"] += items
            if stats["utterances"] == 0:
                raise InputError("no utterances in this input", source.paths[0])
            done_lines += source.lines
            if bar:
                bar.update(task, completed=done_lines)
            per_input.append({"input": origin, "paths": [str(p) for p in source.paths],
                              "conversations": stats["conversations"], "utterances": stats["utterances"],
                              "turns": stats["turns"], "items": stats["items"]})
            totals.update(stats)
    finally:
        if bar:
            bar.stop()

    frame = pl.DataFrame(cols, schema={k: ITEM_SCHEMA[k] for k in cols})
    frame = frame.with_columns(pl.lit("switchboard", dtype=pl.String).alias("source"),
                               *[pl.lit(None, dtype=ITEM_SCHEMA[k]).alias(k) for k in ITEM_SCHEMA
                                 if k not in cols and k != "source"]).select(list(ITEM_SCHEMA))
    write_rows(frame, out)
    if rejects is not None:
        write_rows(pl.DataFrame(rej, schema={"doc_id": pl.String, "position": pl.Int64, "origin": pl.String,
                                             "prompt": pl.String, "reply": pl.String, "reason": pl.String}),
                   rejects)
    seconds = time.perf_counter() - t0
    n_dropped = sum(dropped.values())
    assert totals["pairs"] == totals["items"] + n_dropped
    return {
        "out": str(out),
        "rejects": str(rejects) if rejects is not None else None,
        "inputs": per_input,
        "formats": sorted({s.fmt for s in sources}),
        "skipped_files": skipped,
        "conversations": totals["conversations"],
        "utterances": totals["utterances"],
        "non_verbal_utterances": totals["non_verbal_utterances"],
        "turns": totals["turns"],
        "pairs": totals["pairs"],
        "items": totals["items"],
        "dropped": n_dropped,
        "dropped_by_reason": dict(dropped),
        "words": words_prompt + words_reply,
        "words_prompt": words_prompt,
        "words_reply": words_reply,
        "words_in_turns": totals["turn_words"],
        "config": {"format": fmt, "context_turns": context_turns, "drop_fillers": drop_fillers,
                   "min_words": min_words, "max_words": max_words},
        "seconds": round(seconds, 3),
    }


def summary_rows(summary: dict) -> dict[str, object]:
    """The summary as the rows of the closing table (CLI and demo)."""
    rows: dict[str, object] = {
        "formats": ", ".join(summary["formats"]),
        "conversations": summary["conversations"],
        "utterances": summary["utterances"],
        "non-verbal utterances (dropped)": summary["non_verbal_utterances"],
        "turns": summary["turns"],
        "turn pairs": summary["pairs"],
        "items": summary["items"],
    }
    rows.update({f"dropped: {k}": v for k, v in summary["dropped_by_reason"].items()})
    rows["words (prompt + reply)"] = summary["words"]
    if summary["skipped_files"]:
        rows["files left out"] = len(summary["skipped_files"])
    rows["seconds"] = summary["seconds"]
    return rows
