"""Every reason a row can be quarantined for, declared once (``CHECKS``).

A row check looks at one row (and, for QA rows, its passage) and says, as a polars expression over the
frame of ``classit_data.validate.features`` (its columns named by that module's constants), whether the row
fails and why; a row failing several keeps them all, and the first in ``CHECKS`` order names it. The
duplicate checks at the end of the list are decided by the duplicate step of ``classit_data.validate.validate``
over the rows that passed every row check.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import polars as pl

from classit_data.validate.config import ValidationConfig
from classit_data.validate.features import (
    ANSWER_SHARE,
    CONTAMINATED,
    CONTAMINATION,
    GROUNDING,
    OVERLAP,
    PROMPT,
    REPLY,
    SCHEMA_BAD,
    TEXT_BAD,
    UNKNOWN_PASSAGE,
    Side,
)

#: C0/C1 control characters (tab, newline and carriage return allowed), zero-width and bidi controls, BOM
CONTROL_CHARS = (
    r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x{9F}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}"
    r"\x{2066}-\x{2069}\x{FEFF}]"
)
#: a generator's labels left in a QA pair ("Question: ...", "Answer 2: ...")
LEFTOVER_LABEL = r"(?i)^\s*(?:question|answer|q|a)\s*\d*\s*:|\b(?:question|answer)\s*\d*\s*:"
#: why a check that needs something did not run, by what it needs
NOT_GIVEN = {
    "tokens": "no --tokenizer",
    "passages": "no --passages",
    "dedup": "--no-dedup",
    "eval": "no eval_contamination folders set (off by default)",
}

#: a polars expression over the features frame, made from the thresholds
Rule = Callable[[ValidationConfig], pl.Expr]


@dataclass(frozen=True)
class Check:
    """One reason a row can be quarantined for.

    ``fails``: when a row fails it (None: the duplicate step decides); ``detail``: what was found, for the
    quarantine's ``reject_detail`` (None: the description); ``sources``: the rows it applies to (None: all);
    ``needs``: ``tokens``, ``passages`` or ``dedup``, without which it does not run (the report says so);
    ``columns``: the provenance columns it reads, without which (rows in the published schema) it does not run;
    ``setting``: the threshold that turns it on (None: always on).
    """

    name: str
    description: str
    fails: Rule | None = None
    detail: Rule | None = None
    sources: tuple[str, ...] | None = None
    needs: str | None = None
    columns: tuple[str, ...] = ()
    setting: str | None = None

    def on_sources(self) -> pl.Expr:
        return pl.col("source").is_in(list(self.sources)) if self.sources is not None else pl.lit(True)

    def failing(self, cfg: ValidationConfig) -> pl.Expr:
        """Does the row fail (null counts as no)?"""
        fails = self.fails(cfg)
        return (fails if self.sources is None else self.on_sources() & fails).fill_null(False)

    def explain(self, cfg: ValidationConfig) -> pl.Expr:
        return self.detail(cfg) if self.detail is not None else pl.lit(self.description)


# --- the expressions the checks are made of -------------------------------------------------------

_PROMPT, _REPLY = pl.col("prompt").fill_null(""), pl.col("reply").fill_null("")
_WIKI = pl.col("source") == "simple_wiki"


def _show(expr: pl.Expr) -> pl.Expr:
    """A matched snippet, with invisible characters written as code points."""
    return expr.map_elements(lambda s: repr(s) if s.isprintable() else ascii(s), return_dtype=pl.String)


def _matches(pattern: Callable[[ValidationConfig], str]) -> dict[str, Rule]:
    """``fails`` and ``detail`` of a check that looks for a regex in the prompt or the reply."""

    def hits(cfg: ValidationConfig) -> tuple[pl.Expr, pl.Expr]:
        found = f"({pattern(cfg)})"
        return _PROMPT.str.extract(found, 1), _REPLY.str.extract(found, 1)

    def fails(cfg: ValidationConfig) -> pl.Expr:
        p_hit, r_hit = hits(cfg)
        return p_hit.is_not_null() | r_hit.is_not_null()

    def detail(cfg: ValidationConfig) -> pl.Expr:
        p_hit, r_hit = hits(cfg)
        return (
            pl.when(p_hit.is_not_null())
            .then(pl.format("prompt has {}", _show(p_hit)))
            .otherwise(pl.format("reply has {}", _show(r_hit)))
        )

    return {"fails": fails, "detail": detail}


def _count(side: str, value: pl.Expr, op: str, limit: object, unit: str) -> pl.Expr:
    return pl.format(f"{side}: {{}} {unit} {op} {limit}", value)


def _min_prompt_words(cfg: ValidationConfig) -> pl.Expr:
    """A QA prompt is a question: it needs ``min_question_words`` as well."""
    return pl.when(_WIKI).then(max(cfg.min_prompt_words, cfg.min_question_words)).otherwise(cfg.min_prompt_words)


def _tokens(side: Side) -> dict[str, Rule]:
    """``fails`` and ``detail`` of a token bound (no bound set: nothing fails)."""
    count = pl.col(side.tokens)

    def bounds(cfg: ValidationConfig) -> tuple[int | None, int | None]:
        return getattr(cfg, f"min_{side.name}_tokens"), getattr(cfg, f"max_{side.name}_tokens")

    def fails(cfg: ValidationConfig) -> pl.Expr:
        lo, hi = bounds(cfg)
        fail = pl.lit(False)
        if lo is not None:
            fail = fail | (count < lo)
        if hi is not None:
            fail = fail | (count > hi)
        return fail

    def detail(cfg: ValidationConfig) -> pl.Expr:
        lo, hi = bounds(cfg)
        return pl.format(f"{side.name}: {{}} tokens, allowed {lo or 0}..{hi or 'any'}", count)

    return {"fails": fails, "detail": detail}


def _either_side(
    side_fails: Callable[[ValidationConfig, Side], pl.Expr], side_detail: Callable[[ValidationConfig, Side], pl.Expr]
) -> dict[str, Rule]:
    """``fails`` and ``detail`` of a check run on the prompt and on the reply; the prompt is named first."""
    return {
        "fails": lambda cfg: side_fails(cfg, PROMPT) | side_fails(cfg, REPLY),
        "detail": lambda cfg: (
            pl.when(side_fails(cfg, PROMPT)).then(side_detail(cfg, PROMPT)).otherwise(side_detail(cfg, REPLY))
        ),
    }


def _loops(cfg: ValidationConfig, side: Side) -> pl.Expr:
    return pl.col(side.longest_run) > cfg.max_token_run


def _loop_detail(cfg: ValidationConfig, side: Side) -> pl.Expr:
    return pl.format(
        f"{side.name}: a word runs {{}} times in a row (max {cfg.max_token_run})", pl.col(side.longest_run)
    )


def _repeats(cfg: ValidationConfig, side: Side) -> pl.Expr:
    ng, nd, words = pl.col(side.ngrams), pl.col(side.distinct_ngrams), pl.col(side.words)
    return (words >= cfg.repetition_min_words) & (ng > 0) & ((1 - nd / ng) > cfg.max_repeated_ngram_ratio)


def _repeat_detail(cfg: ValidationConfig, side: Side) -> pl.Expr:
    ng, nd = pl.col(side.ngrams), pl.col(side.distinct_ngrams)
    return pl.format(
        f"{side.name}: {{}} of {{}} {cfg.ngram_size}-grams repeat (max share {cfg.max_repeated_ngram_ratio})",
        ng - nd,
        ng,
    )


def _is_question(cfg: ValidationConfig) -> pl.Expr:
    first_word = pl.col(PROMPT.word_list).list.first().fill_null("")
    return _PROMPT.str.strip_chars().str.ends_with("?") | first_word.is_in([w.lower() for w in cfg.question_words])


def _copies(cfg: ValidationConfig) -> pl.Expr:
    same = (pl.col(PROMPT.normalized) == pl.col(REPLY.normalized)) & (pl.col(REPLY.normalized) != "")
    return same | (pl.col(OVERLAP) > cfg.max_prompt_reply_overlap)


def _judge(score: str) -> dict:
    """A check on a score of ``classit-data judge``: off unless ``min_judge_<score>`` is set and the rows have it."""
    col, setting = f"judge_{score}", f"min_judge_{score}"
    return dict(
        sources=_QA,
        columns=(col,),
        setting=setting,
        fails=lambda cfg: pl.col(col) < getattr(cfg, setting),
        detail=lambda cfg: pl.format(f"{col} {{}} < {getattr(cfg, setting)}", pl.col(col)),
    )


# --- the checks -----------------------------------------------------------------------------------

_QA = ("simple_wiki",)

#: every reason a row can be quarantined for, in the order they are tried (the first is ``reject_reason``)
CHECKS: tuple[Check, ...] = (
    Check(
        "schema",
        "a field is missing or not allowed by the Item schema (id, source, position, ...)",
        fails=lambda cfg: pl.col(SCHEMA_BAD),
        detail=lambda cfg: pl.lit("see the Item schema"),
    ),
    Check(
        "empty_prompt",
        "prompt is empty after stripping spaces",
        fails=lambda cfg: _PROMPT.str.strip_chars().str.len_chars() == 0,
        detail=lambda cfg: pl.lit("prompt is blank"),
    ),
    Check(
        "empty_reply",
        "reply is empty after stripping spaces",
        fails=lambda cfg: _REPLY.str.strip_chars().str.len_chars() == 0,
        detail=lambda cfg: pl.lit("reply is blank"),
    ),
    Check(
        "text_mismatch",
        "text is not the template rendered from prompt and reply",
        fails=lambda cfg: pl.col(TEXT_BAD),
        detail=lambda cfg: pl.lit("text differs from the rendered template"),
    ),
    Check("control_chars", "control, zero-width or bidi characters", **_matches(lambda cfg: CONTROL_CHARS)),
    Check(
        "broken_encoding", "U+FFFD, mojibake (Ã©, â€™) or HTML entities", **_matches(lambda cfg: cfg.mojibake_pattern)
    ),
    Check(
        "transcription_markup",
        "Switchboard transcription markup left ({F, [, +, <laughter>, ((, #)",
        sources=("switchboard",),
        **_matches(lambda cfg: cfg.markup_pattern),
    ),
    Check(
        "leftover_label",
        "QA text keeps a generator label (Question:, Answer:)",
        sources=_QA,
        **_matches(lambda cfg: LEFTOVER_LABEL),
    ),
    Check(
        "prompt_too_short",
        "prompt has fewer words than min_prompt_words (or min_question_words for QA)",
        fails=lambda cfg: pl.col(PROMPT.words) < _min_prompt_words(cfg),
        detail=lambda cfg: _count("prompt", pl.col(PROMPT.words), "<", "minimum", "words"),
    ),
    Check(
        "prompt_too_long",
        "prompt has more words than max_prompt_words",
        fails=lambda cfg: pl.col(PROMPT.words) > cfg.max_prompt_words,
        detail=lambda cfg: _count("prompt", pl.col(PROMPT.words), ">", cfg.max_prompt_words, "words"),
    ),
    Check(
        "reply_too_short",
        "reply has fewer words than min_reply_words",
        fails=lambda cfg: pl.col(REPLY.words) < cfg.min_reply_words,
        detail=lambda cfg: _count("reply", pl.col(REPLY.words), "<", cfg.min_reply_words, "words"),
    ),
    Check(
        "reply_too_long",
        "reply has more words than max_reply_words",
        fails=lambda cfg: pl.col(REPLY.words) > cfg.max_reply_words,
        detail=lambda cfg: _count("reply", pl.col(REPLY.words), ">", cfg.max_reply_words, "words"),
    ),
    Check("prompt_tokens", "prompt tokens outside min/max_prompt_tokens", needs="tokens", **_tokens(PROMPT)),
    Check("reply_tokens", "reply tokens outside min/max_reply_tokens", needs="tokens", **_tokens(REPLY)),
    Check("looping", "one word repeats itself too many times in a row", **_either_side(_loops, _loop_detail)),
    Check("repetition", "too many repeated word n-grams (degenerate text)", **_either_side(_repeats, _repeat_detail)),
    Check(
        "reply_copies_prompt",
        "reply's words are (nearly) the prompt's",
        fails=_copies,
        detail=lambda cfg: pl.format(f"word overlap {{}} > {cfg.max_prompt_reply_overlap}", pl.col(OVERLAP).round(2)),
    ),
    Check(
        "not_a_question",
        "QA prompt does not read as a question",
        sources=_QA,
        fails=lambda cfg: ~_is_question(cfg),
        detail=lambda cfg: pl.lit("no question mark and no question word first"),
    ),
    Check(
        "unknown_passage",
        "QA row's passage is not in the passages file",
        sources=_QA,
        needs="passages",
        columns=("passage_id",),
        fails=lambda cfg: pl.col(UNKNOWN_PASSAGE),
        detail=lambda cfg: pl.format("passage {} not in the passages file", pl.col("passage_id").fill_null("null")),
    ),
    Check(
        "ungrounded",
        "too few of the answer's content words are in its passage",
        sources=_QA,
        needs="passages",
        columns=("passage_id",),
        fails=lambda cfg: pl.col(GROUNDING) < cfg.min_grounding,
        detail=lambda cfg: pl.format(
            f"{{}} of the answer's content words in its passage (min {cfg.min_grounding})", pl.col(GROUNDING).round(2)
        ),
    ),
    Check(
        "answer_is_passage",
        "the answer is (nearly) the whole passage",
        sources=_QA,
        needs="passages",
        columns=("passage_id",),
        fails=lambda cfg: pl.col(ANSWER_SHARE) > cfg.max_answer_passage_share,
        detail=lambda cfg: pl.format(
            f"answer is {{}} words, {{}} of the passage (max {cfg.max_answer_passage_share})",
            pl.col(REPLY.words),
            pl.col(ANSWER_SHARE).round(2),
        ),
    ),
    Check("judge_grounded", "the judge scored the answer as not stated in the passage", **_judge("grounded")),
    Check("judge_correct", "the judge scored the answer as wrong for the question", **_judge("correct")),
    Check(
        "judge_self_contained",
        "the judge scored the question as needing the passage to make sense",
        **_judge("self_contained"),
    ),
    Check("judge_quality", "the judge's overall score is below the threshold", **_judge("quality")),
    Check(
        "judge_roundtrip_f1",
        "the judge's own answer from the passage differs from the reply (token F1)",
        **_judge("roundtrip_f1"),
    ),
    Check(
        "eval_contamination",
        "the text holds a BabyLM eval item (same sentence, or a shared word 13-gram)",
        needs="eval",
        fails=lambda cfg: pl.col(CONTAMINATED),
        detail=lambda cfg: pl.col(CONTAMINATION),
    ),
    # decided by the duplicate step, over the rows that passed every check above
    Check("duplicate_id", "id already used by an earlier row"),
    Check(
        "repeated_question",
        "the same question was already asked about this passage",
        sources=_QA,
        columns=("passage_id",),
    ),
    Check("duplicate", "exact duplicate of an earlier row (case, punctuation and spacing ignored)", needs="dedup"),
    Check(
        "near_duplicate",
        "near duplicate of an earlier row (MinHash LSH)",
        needs="dedup",
        detail=lambda cfg: pl.format(
            f"Jaccard {{}} >= {cfg.near_dup_threshold} with an earlier row "
            f"(word {cfg.dedup_shingle_size}-gram sets, candidates from MinHash LSH)",
            pl.col("similarity").round(3),
        ),
    ),
)
CHECK_BY_NAME = {check.name: check for check in CHECKS}
#: the score columns of ``classit-data judge`` that checks read
JUDGE_COLUMNS = tuple(c for check in CHECKS if check.setting for c in check.columns)
#: reason -> what it means, for reports
DESCRIPTIONS = {check.name: check.description for check in CHECKS}


def _why_not(
    check: Check, given: dict[str, bool], absent: Collection[str], cfg: ValidationConfig | None = None
) -> str | None:
    """Why ``check`` cannot run (None: it can): a setting not given first, then a column the input lacks."""
    if check.needs and not given.get(check.needs, True):
        return NOT_GIVEN[check.needs]
    if check.setting and (cfg is None or getattr(cfg, check.setting) is None):
        return f"off ({check.setting} not set)"
    lacking = [c for c in check.columns if c in absent]
    return f"no {', '.join(lacking)} column in the input" if lacking else None


def unchecked_columns(df: pl.DataFrame, absent: Collection[str]) -> list[str]:
    """The columns checks may read that the rows lack: provenance ones (``absent``), then the judge's scores."""
    return [*absent, *(c for c in JUDGE_COLUMNS if c not in df.columns)]


def row_checks(
    *,
    tokens: bool,
    passages: bool,
    absent: Collection[str] = (),
    eval: bool = False,
    cfg: ValidationConfig | None = None,
) -> list[Check]:
    """The checks made of row expressions that can run with what was given, in ``CHECKS`` order.

    ``absent``: the provenance (and judge) columns the input came without (``core.schema.complete_rows``);
    ``cfg``: the thresholds, which turn the checks with a ``setting`` on."""
    given = {"tokens": tokens, "passages": passages, "eval": eval}
    return [check for check in CHECKS if check.fails is not None and _why_not(check, given, absent, cfg) is None]


def skipped_checks(
    *,
    tokens: bool,
    passages: bool,
    dedup: bool,
    absent: Collection[str] = (),
    eval: bool = False,
    cfg: ValidationConfig | None = None,
) -> dict[str, str]:
    """Check -> why it did not run, in ``CHECKS`` order."""
    given = {"tokens": tokens, "passages": passages, "dedup": dedup, "eval": eval}
    why = {check.name: _why_not(check, given, absent, cfg) for check in CHECKS}
    return {name: reason for name, reason in why.items() if reason is not None}
