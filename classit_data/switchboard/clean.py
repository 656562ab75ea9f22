"""Switchboard markup -> plain text: one rule set for every format (SWDA, ISIP, NLTK, BabyLM).

``clean_text`` cleans one utterance; ``clean_batch`` cleans many and equals it on each, faster.
"""

from __future__ import annotations

import re

#: anything that is not plain, normalised text. A text without it needs no cleaning regex at all; written
#: without look-arounds so that polars (Rust regex) can test a whole conversation at once (``clean_batch``)
NEEDS_CLEANING = (
    r"[<>\[\]{}()#/+_]|[,.?!;:]{2}|--|(?:^|\W)-|-(?:\W|$)|\s[,.?!;:]|\s\s|[^\S ]"
    r"|^[\s,.;:?!]|\s$"
)
#: a filler word, in the same polars-friendly form: with ``drop_fillers`` a text holding one needs cleaning
FILLERS = r"(?i)(?:^|[^\w'-])(?:uh|um|umm|uhm|er|erm|ah|eh|hm+|mm+)(?:[^\w'-]|$)"
_NEEDS_CLEANING = re.compile(NEEDS_CLEANING)
_ANGLE = re.compile(r"<+[^<>]*>+")  # <laughter>, <noise>, <Children>, <<talking>>
_UNCERTAIN = re.compile(r"\(\(\s*([^()]*?)\s*\)\)")  # ((word)) -> word, (( )) -> nothing
_PARENS = re.compile(r"[()]")
_FILLER_GROUP = re.compile(r"\{F\s[^{}]*\}")  # {F uh, } (with drop_fillers)
_DISFLUENCY_OPEN = re.compile(r"\{[A-Z]\s")  # {F {D {C {E {A openers
_REPAIR_TOKEN = re.compile(r"(?<!\S)[\[\]+](?!\S)")  # [ a, + a ] repair brackets and interruption point
_LAUGH_WORD = re.compile(r"\[laughter-([^\[\]\s]+)\]")  # ISIP: word said laughing
_MISPRONOUNCED = re.compile(r"\[(?:[^\[\]/\s]|\[[^\[\]]*\])*/([^\[\]/\s]+)\]")  # ISIP [pronounced/intended]
_PARTIAL = re.compile(  # partial words: ab[solute]- -[th]at wh- -er
    r"(?<!\S)(?:[\w']*\[[^\[\]\s]*\][\w']*-|-\[[^\[\]\s]*\][\w']*|[\w']+-(?![\w])|-[\w']+(?=[\s,.?!;:]|$)),?"
)
_BRACKETED = re.compile(r"\[[^\[\]]*\]")  # anything else in brackets: [noise], [silence], [vocalized-noise]
_VARIANT = re.compile(r"(?<=\w)_\d+\b")  # ISIP okay_1
_SLASH_UNIT = re.compile(r"-/|(?<!\S)/(?!\S)")  # -/ abandoned, " / " slash units
_DASHES = re.compile(r"--+|(?<!\S)-(?!\S)")  # -- interruptions, lone dashes
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.?!;:])")
#: two or more marks in a row ("again. ." -> "again..", "or? ." -> "or?."): ``_one_mark`` keeps one
_PUNCT_RUN = re.compile(r"[,.?!;:]{2,}")
_LEADING_PUNCT = re.compile(r"^[\s,.;:!?]+")
_FILLER_WORDS = re.compile(r"(?<![\w'-])(?:uh|um|umm|uhm|er|erm|ah|eh|hm+|mm+)(?![\w'-])[,.]?", re.IGNORECASE)
_HAS_WORD = re.compile(r"[^\W_]")


def clean_text(text: str, drop_fillers: bool = False) -> str:
    """Plain text of one utterance, markup of every Switchboard format removed.

    Non-verbal events (``<laughter>``, ``[noise]``), partial words (``wh-``, ``ab[solute]-``), uncertain
    transcription brackets (kept: the words, dropped: ``(( ))``), disfluency braces and repair brackets
    (kept: their words, "I wouldn't, I definitely wouldn't"), overlap ``#``, slash units `` / ``,
    ``-/``, ``--`` and ISIP variants ``_1`` go, and so does a parenthesis without its partner (a ``((``
    opened in another utterance); whitespace is normalised and a run of punctuation marks left beside removed
    markup becomes one mark (``again. .`` -> ``again.``, ``or? .`` -> ``or?``; an ellipsis stays). Fillers
    ("uh", "um") stay unless ``drop_fillers`` (then ``{F ...}`` groups go too). The result is empty when
    nothing was said.
    """
    if drop_fillers:
        first = _HAS_WORD.search(_DISFLUENCY_OPEN.sub(" ", _ANGLE.sub(" ", text)))
        capital = first is not None and first.group().isupper()
    if _NEEDS_CLEANING.search(text) is not None:
        text = _ANGLE.sub(" ", text)
        text = _UNCERTAIN.sub(r" \1 ", text)
        if "(" in text or ")" in text:
            text = _drop_unmatched_parens(text)
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
        text = _PUNCT_RUN.sub(_one_mark, text)
        text = _LEADING_PUNCT.sub("", text).strip()
    elif text and (text[0] == " " or text[-1] == " "):
        text = text.strip()
    if drop_fillers:
        text = _drop_fillers(text, capital)
    return text if _HAS_WORD.search(text) else ""


def _drop_unmatched_parens(text: str) -> str:
    """Parentheses without their partner go (an uncertain-transcription ``((`` opened in an earlier utterance
    leaves ``))`` in this one); a balanced ``(A)`` stays."""
    open_at: list[int] = []
    unmatched: set[int] = set()
    for m in _PARENS.finditer(text):
        if m.group() == "(":
            open_at.append(m.start())
        elif open_at:
            open_at.pop()
        else:
            unmatched.add(m.start())
    unmatched.update(open_at)
    return "".join(" " if i in unmatched else c for i, c in enumerate(text)) if unmatched else text


def _one_mark(run: re.Match) -> str:
    """One mark for a run of them: ``?``, ``!``, an ellipsis or ``.`` when there is one, else the last pause mark."""
    marks = run.group()
    strong = marks.replace(",", "").replace(";", "").replace(":", "")
    if not strong:
        return marks[-1]
    for mark in "?!":
        if mark in strong:
            return mark
    return "..." if len(strong) >= 3 else "."


def _drop_fillers(text: str, capital: bool) -> str:
    stripped = _FILLER_WORDS.sub(" ", text)
    stripped = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", stripped))
    stripped = _LEADING_PUNCT.sub("", _PUNCT_RUN.sub(_one_mark, stripped)).strip()
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
