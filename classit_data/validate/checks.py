"""Every reason a row can be quarantined for, declared once (``CHECKS``), and the features the checks read.

A row check looks at one row (and, for QA rows, its passage) and says, as a polars expression over the
``features`` frame, whether the row fails and why; a row failing several keeps them all, and the first
in ``CHECKS`` order names it. The duplicate checks at the end of the list are decided by the duplicate
step of ``classit_data.validate.validate`` over the rows that passed every row check.

The row schema is ``classit_data.core.schema.Item``. The ``schema`` check mirrors ``Item``'s constraints with
polars expressions, and ``Item`` itself (pydantic) then explains each row they flag; ``strict_schema`` runs
``Item`` over every row as well (measured: ~0.9 s per 130k rows).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

import polars as pl
from pydantic import ValidationError

from classit_data.core.lengths import word_count_expr
from classit_data.core.schema import ITEM_SCHEMA, SOURCES, Item
from classit_data.core.template import TextTemplate, default_template
from classit_data.validate.config import ValidationConfig
from classit_data.validate.dedup import word_lists

#: C0/C1 control characters (tab, newline and carriage return allowed), zero-width and bidi controls, BOM
CONTROL_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x{9F}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}" \
                r"\x{2066}-\x{2069}\x{FEFF}]"
#: a generator's labels left in a QA pair ("Question: ...", "Answer 2: ...")
LEFTOVER_LABEL = r"(?i)^\s*(?:question|answer|q|a)\s*\d*\s*:|\b(?:question|answer)\s*\d*\s*:"
#: function words left out of the grounding overlap, so "the" and "of" do not ground an answer
STOPWORDS = frozenset("""
a an the and or but if then than so as of at by for from in into on onto to with without within about
above after against along among around before behind below between beyond during except inside near off
out outside over past since through throughout toward towards under until up upon via is am are was were
be been being has have had having do does did doing will would shall should can could may might must it
its it's this that these those there here which who whom whose what when where why how i me my mine we us
our ours you your yours he him his she her hers they them their theirs one ones also not no yes very just
only more most much many some any each every all both either neither such other another same own too
""".split())
_REQUIRED = ("id", "source", "prompt", "reply", "text", "doc_id", "position", "origin")
#: why a check that needs something did not run, by what it needs
NOT_GIVEN = {"tokens": "no --tokenizer", "passages": "no --passages", "dedup": "--no-dedup",
             "eval": "no eval_contamination folders set (off by default)"}

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
        return pl.when(p_hit.is_not_null()).then(pl.format("prompt has {}", _show(p_hit))) \
            .otherwise(pl.format("reply has {}", _show(r_hit)))

    return {"fails": fails, "detail": detail}


def _count(side: str, value: pl.Expr, op: str, limit: object, unit: str) -> pl.Expr:
    return pl.format(f"{side}: {{}} {unit} {op} {limit}", value)


def _min_prompt_words(cfg: ValidationConfig) -> pl.Expr:
    """A QA prompt is a question: it needs ``min_question_words`` as well."""
    return pl.when(_WIKI).then(max(cfg.min_prompt_words, cfg.min_question_words)).otherwise(cfg.min_prompt_words)


def _tokens(side: str, name: str) -> dict[str, Rule]:
    """``fails`` and ``detail`` of a token bound (no bound set: nothing fails)."""
    count = pl.col(f"_{side}t")

    def bounds(cfg: ValidationConfig) -> tuple[int | None, int | None]:
        return getattr(cfg, f"min_{name}_tokens"), getattr(cfg, f"max_{name}_tokens")

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
        return pl.format(f"{name}: {{}} tokens, allowed {lo or 0}..{hi or 'any'}", count)

    return {"fails": fails, "detail": detail}


def _either_side(side_fails: Callable[[ValidationConfig, str], pl.Expr],
                 side_detail: Callable[[ValidationConfig, str, str], pl.Expr]) -> dict[str, Rule]:
    """``fails`` and ``detail`` of a check run on the prompt (p) and on the reply (r); the prompt is named first."""
    return {"fails": lambda cfg: side_fails(cfg, "p") | side_fails(cfg, "r"),
            "detail": lambda cfg: pl.when(side_fails(cfg, "p")).then(side_detail(cfg, "p", "prompt"))
            .otherwise(side_detail(cfg, "r", "reply"))}


def _loops(cfg: ValidationConfig, side: str) -> pl.Expr:
    return pl.col(f"_{side}_run") > cfg.max_token_run


def _loop_detail(cfg: ValidationConfig, side: str, name: str) -> pl.Expr:
    return pl.format(f"{name}: a word runs {{}} times in a row (max {cfg.max_token_run})", pl.col(f"_{side}_run"))


def _repeats(cfg: ValidationConfig, side: str) -> pl.Expr:
    ng, nd, words = pl.col(f"_{side}_ng"), pl.col(f"_{side}_nd"), pl.col(f"_{side}w")
    return (words >= cfg.repetition_min_words) & (ng > 0) & ((1 - nd / ng) > cfg.max_repeated_ngram_ratio)


def _repeat_detail(cfg: ValidationConfig, side: str, name: str) -> pl.Expr:
    ng, nd = pl.col(f"_{side}_ng"), pl.col(f"_{side}_nd")
    return pl.format(f"{name}: {{}} of {{}} {cfg.ngram_size}-grams repeat (max share "
                     f"{cfg.max_repeated_ngram_ratio})", ng - nd, ng)


def _is_question(cfg: ValidationConfig) -> pl.Expr:
    first_word = pl.col("_pl").list.first().fill_null("")
    return _PROMPT.str.strip_chars().str.ends_with("?") | first_word.is_in([w.lower() for w in cfg.question_words])


def _copies(cfg: ValidationConfig) -> pl.Expr:
    same = (pl.col("_pn") == pl.col("_rn")) & (pl.col("_rn") != "")
    return same | (pl.col("_overlap") > cfg.max_prompt_reply_overlap)


def _judge(score: str) -> dict:
    """A check on a score of ``classit-data judge``: off unless ``min_judge_<score>`` is set and the rows have it."""
    col, setting = f"judge_{score}", f"min_judge_{score}"
    return dict(sources=_QA, columns=(col,), setting=setting,
                fails=lambda cfg: pl.col(col) < getattr(cfg, setting),
                detail=lambda cfg: pl.format(f"{col} {{}} < {getattr(cfg, setting)}", pl.col(col)))


# --- the checks -----------------------------------------------------------------------------------

_QA = ("simple_wiki",)

#: every reason a row can be quarantined for, in the order they are tried (the first is ``reject_reason``)
CHECKS: tuple[Check, ...] = (
    Check("schema", "a field is missing or not allowed by the Item schema (id, source, position, ...)",
          fails=lambda cfg: pl.col("_schema_bad"), detail=lambda cfg: pl.lit("see the Item schema")),
    Check("empty_prompt", "prompt is empty after stripping spaces",
          fails=lambda cfg: _PROMPT.str.strip_chars().str.len_chars() == 0,
          detail=lambda cfg: pl.lit("prompt is blank")),
    Check("empty_reply", "reply is empty after stripping spaces",
          fails=lambda cfg: _REPLY.str.strip_chars().str.len_chars() == 0,
          detail=lambda cfg: pl.lit("reply is blank")),
    Check("text_mismatch", "text is not the template rendered from prompt and reply",
          fails=lambda cfg: pl.col("_text_bad"), detail=lambda cfg: pl.lit("text differs from the rendered template")),
    Check("control_chars", "control, zero-width or bidi characters", **_matches(lambda cfg: CONTROL_CHARS)),
    Check("broken_encoding", "U+FFFD, mojibake (Ã©, â€™) or HTML entities",
          **_matches(lambda cfg: cfg.mojibake_pattern)),
    Check("transcription_markup", "Switchboard transcription markup left ({F, [, +, <laughter>, ((, #)",
          sources=("switchboard",), **_matches(lambda cfg: cfg.markup_pattern)),
    Check("leftover_label", "QA text keeps a generator label (Question:, Answer:)", sources=_QA,
          **_matches(lambda cfg: LEFTOVER_LABEL)),
    Check("prompt_too_short", "prompt has fewer words than min_prompt_words (or min_question_words for QA)",
          fails=lambda cfg: pl.col("_pw") < _min_prompt_words(cfg),
          detail=lambda cfg: _count("prompt", pl.col("_pw"), "<", "minimum", "words")),
    Check("prompt_too_long", "prompt has more words than max_prompt_words",
          fails=lambda cfg: pl.col("_pw") > cfg.max_prompt_words,
          detail=lambda cfg: _count("prompt", pl.col("_pw"), ">", cfg.max_prompt_words, "words")),
    Check("reply_too_short", "reply has fewer words than min_reply_words",
          fails=lambda cfg: pl.col("_rw") < cfg.min_reply_words,
          detail=lambda cfg: _count("reply", pl.col("_rw"), "<", cfg.min_reply_words, "words")),
    Check("reply_too_long", "reply has more words than max_reply_words",
          fails=lambda cfg: pl.col("_rw") > cfg.max_reply_words,
          detail=lambda cfg: _count("reply", pl.col("_rw"), ">", cfg.max_reply_words, "words")),
    Check("prompt_tokens", "prompt tokens outside min/max_prompt_tokens", needs="tokens", **_tokens("p", "prompt")),
    Check("reply_tokens", "reply tokens outside min/max_reply_tokens", needs="tokens", **_tokens("r", "reply")),
    Check("looping", "one word repeats itself too many times in a row", **_either_side(_loops, _loop_detail)),
    Check("repetition", "too many repeated word n-grams (degenerate text)", **_either_side(_repeats, _repeat_detail)),
    Check("reply_copies_prompt", "reply's words are (nearly) the prompt's", fails=_copies,
          detail=lambda cfg: pl.format(f"word overlap {{}} > {cfg.max_prompt_reply_overlap}",
                                       pl.col("_overlap").round(2))),
    Check("not_a_question", "QA prompt does not read as a question", sources=_QA,
          fails=lambda cfg: ~_is_question(cfg),
          detail=lambda cfg: pl.lit("no question mark and no question word first")),
    Check("unknown_passage", "QA row's passage is not in the passages file", sources=_QA, needs="passages",
          columns=("passage_id",),
          fails=lambda cfg: pl.col("_unknown_passage"),
          detail=lambda cfg: pl.format("passage {} not in the passages file", pl.col("passage_id").fill_null("null"))),
    Check("ungrounded", "too few of the answer's content words are in its passage", sources=_QA, needs="passages",
          columns=("passage_id",),
          fails=lambda cfg: pl.col("_grounding") < cfg.min_grounding,
          detail=lambda cfg: pl.format(f"{{}} of the answer's content words in its passage (min {cfg.min_grounding})",
                                       pl.col("_grounding").round(2))),
    Check("answer_is_passage", "the answer is (nearly) the whole passage", sources=_QA, needs="passages",
          columns=("passage_id",),
          fails=lambda cfg: pl.col("_answer_share") > cfg.max_answer_passage_share,
          detail=lambda cfg: pl.format(f"answer is {{}} words, {{}} of the passage (max "
                                       f"{cfg.max_answer_passage_share})", pl.col("_rw"),
                                       pl.col("_answer_share").round(2))),
    Check("judge_grounded", "the judge scored the answer as not stated in the passage", **_judge("grounded")),
    Check("judge_correct", "the judge scored the answer as wrong for the question", **_judge("correct")),
    Check("judge_self_contained", "the judge scored the question as needing the passage to make sense",
          **_judge("self_contained")),
    Check("judge_quality", "the judge's overall score is below the threshold", **_judge("quality")),
    Check("judge_roundtrip_f1", "the judge's own answer from the passage differs from the reply (token F1)",
          **_judge("roundtrip_f1")),
    Check("eval_contamination", "the text holds a BabyLM eval item (same sentence, or a shared word 13-gram)",
          needs="eval", fails=lambda cfg: pl.col("_contaminated"), detail=lambda cfg: pl.col("_contamination")),
    # decided by the duplicate step, over the rows that passed every check above
    Check("duplicate_id", "id already used by an earlier row"),
    Check("repeated_question", "the same question was already asked about this passage", sources=_QA,
          columns=("passage_id",)),
    Check("duplicate", "exact duplicate of an earlier row (case, punctuation and spacing ignored)", needs="dedup"),
    Check("near_duplicate", "near duplicate of an earlier row (MinHash LSH)", needs="dedup",
          detail=lambda cfg: pl.format(f"estimated Jaccard {{}} >= {cfg.near_dup_threshold} with an earlier row "
                                       f"(word {cfg.dedup_shingle_size}-grams, MinHash LSH)",
                                       pl.col("similarity").round(3))),
)
CHECK_BY_NAME = {check.name: check for check in CHECKS}
#: the score columns of ``classit-data judge`` that checks read
JUDGE_COLUMNS = tuple(c for check in CHECKS if check.setting for c in check.columns)
#: reason -> what it means, for reports
DESCRIPTIONS = {check.name: check.description for check in CHECKS}


def _why_not(check: Check, given: dict[str, bool], absent: Collection[str],
             cfg: ValidationConfig | None = None) -> str | None:
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


def row_checks(*, tokens: bool, passages: bool, absent: Collection[str] = (), eval: bool = False,
               cfg: ValidationConfig | None = None) -> list[Check]:
    """The checks made of row expressions that can run with what was given, in ``CHECKS`` order.

    ``absent``: the provenance (and judge) columns the input came without (``core.schema.complete_rows``);
    ``cfg``: the thresholds, which turn the checks with a ``setting`` on."""
    given = {"tokens": tokens, "passages": passages, "eval": eval}
    return [check for check in CHECKS if check.fails is not None and _why_not(check, given, absent, cfg) is None]


def skipped_checks(*, tokens: bool, passages: bool, dedup: bool, absent: Collection[str] = (),
                   eval: bool = False, cfg: ValidationConfig | None = None) -> dict[str, str]:
    """Check -> why it did not run, in ``CHECKS`` order."""
    given = {"tokens": tokens, "passages": passages, "dedup": dedup, "eval": eval}
    why = {check.name: _why_not(check, given, absent, cfg) for check in CHECKS}
    return {name: reason for name, reason in why.items() if reason is not None}


# --- the features the checks read ------------------------------------------------------------------

def _rendered_text(tpl: TextTemplate) -> pl.Expr:
    """``tpl.render(prompt, reply)`` as a polars expression when the template only places the two values
    (``TextTemplate.verbatim_parts``); a template that does more falls back to rendering row by row."""
    parts = tpl.verbatim_parts()
    if parts is not None:
        pre, mid, post = parts
        return pl.concat_str([pl.lit(pre), pl.col("prompt").fill_null(""), pl.lit(mid),
                              pl.col("reply").fill_null(""), pl.lit(post)])
    return pl.struct("prompt", "reply").map_elements(
        lambda s: tpl.render(s["prompt"] or "", s["reply"] or ""), return_dtype=pl.String)


def _schema_failure(absent: Collection[str] = ()) -> pl.Expr:
    """The row-level constraints of ``Item``, vectorised (types are already right), on the columns the input had."""
    bad = pl.any_horizontal(*[pl.col(c).is_null() for c in _REQUIRED if c not in absent])
    bad = bad | (pl.col("id").str.len_chars() < 8) | ~pl.col("source").is_in(list(SOURCES))
    if "position" not in absent:
        bad = bad | (pl.col("position") < 0)
    return bad.fill_null(True)


def _repetition_features(prompt_words: pl.Series, reply_words: pl.Series, n: int) -> pl.DataFrame:
    """Per row and side (p = prompt, r = reply): n-grams, distinct n-grams, longest run of one word.

    Both sides are exploded into one frame of word hashes (a few million rows) and counted in one group-by:
    an n-gram is a wrapping multiply-add of its word hashes, a run a streak of equal neighbouring words.
    """
    rows = len(prompt_words)
    both = pl.concat([pl.DataFrame({"w": prompt_words}), pl.DataFrame({"w": reply_words})])
    e = both.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("key")).explode("w").drop_nulls("w") \
        .select("key", pl.col("w").hash(11).alias("h")).with_columns(pl.int_range(pl.len()).alias("pos"))
    gram = pl.col("h")
    for k in range(1, n):
        gram = gram * 0x100000001B3 + pl.col("h").shift(-k)
    starts_run = ~((pl.col("h") == pl.col("h").shift(1)) & (pl.col("key") == pl.col("key").shift(1))).fill_null(False)
    run_start = pl.when(starts_run).then(pl.col("pos")).forward_fill()
    e = e.select("key", pl.when(pl.col("key").shift(-(n - 1)) == pl.col("key")).then(gram).alias("g"),
                 (pl.col("pos") - run_start + 1).alias("run"))
    per_key = e.group_by("key").agg(pl.col("g").drop_nulls().len().alias("ng"),
                                    pl.col("g").drop_nulls().n_unique().alias("nd"), pl.max("run"))
    out = pl.DataFrame({"key": pl.arange(0, 2 * rows, dtype=pl.UInt32, eager=True)}) \
        .join(per_key, on="key", how="left", maintain_order="left").fill_null(0)
    p, r = out.head(rows), out.slice(rows, rows)
    return pl.DataFrame({"_p_ng": p["ng"], "_p_nd": p["nd"], "_p_run": p["run"],
                         "_r_ng": r["ng"], "_r_nd": r["nd"], "_r_run": r["run"]})


def _grounding(answer_words: pl.Series, passage_ids: pl.Series, passages: pl.DataFrame) -> pl.Series:
    """Per row: share of the answer's distinct content words found in its passage.

    Function words (``STOPWORDS``) do not count; an answer made of them only ("Yes, it is.") has nothing
    to ground and gets 1.0. List set operations on
    word hashes (measured ~3x cheaper than joins of exploded words). Rows whose passage is unknown get 1.0:
    ``unknown_passage`` reports them.
    """
    ptab = pl.DataFrame({"passage_id": passages.get_column("passage_id"),
                         "_ph": word_lists(passages.get_column("_passage")).list.eval(pl.element().hash(13))})
    f = pl.DataFrame({"passage_id": passage_ids, "_a": answer_words.list.unique()}) \
        .join(ptab, on="passage_id", how="left", maintain_order="left")
    stop = pl.lit(sorted(STOPWORDS), dtype=pl.List(pl.String))
    f = f.with_columns(pl.col("_a").list.set_difference(stop).alias("_c"))
    f = f.with_columns(pl.col("_c").list.len().alias("_n"),
                       pl.col("_c").list.eval(pl.element().hash(13)).list.set_intersection("_ph").list.len().alias("_hit"))
    return f.select(pl.when(pl.col("_n") > 0).then(pl.col("_hit") / pl.col("_n")).otherwise(1.0).fill_null(1.0)
                    .alias("_grounding")).get_column("_grounding")


def _text_features(df: pl.DataFrame, cfg: ValidationConfig, absent: Collection[str]) -> pl.DataFrame:
    """Schema, text, word counts, words and normalised texts, repetition and overlap of prompt and reply."""
    pw, rw = word_lists(df.get_column("prompt")), word_lists(df.get_column("reply"))
    f = df.select(
        "id", "source", "prompt", "reply", "passage_id", "doc_id",
        _schema_failure(absent).alias("_schema_bad"),
        word_count_expr("prompt").alias("_pw"), word_count_expr("reply").alias("_rw"),
        (pl.col("text") != _rendered_text(default_template())).fill_null(False).alias("_text_bad")
        if cfg.check_text else pl.lit(False).alias("_text_bad"),
    ).with_columns(pw.alias("_pl"), rw.alias("_rl"), pw.list.join(" ").alias("_pn"), rw.list.join(" ").alias("_rn"))
    f = pl.concat([f, _repetition_features(pw, rw, cfg.ngram_size)], how="horizontal")
    inter = pl.col("_pl").list.set_intersection("_rl").list.len()
    union = pl.col("_pl").list.set_union("_rl").list.len()
    f = f.with_columns(pl.when(union > 0).then(inter / union).otherwise(0.0).alias("_overlap"))
    if cfg.strict_schema:
        f = f.with_columns(pl.col("_schema_bad") | pydantic_refuses(df, absent))
    return f


def _passage_features(f: pl.DataFrame, passages: pl.DataFrame) -> pl.DataFrame:
    """Is the row's passage known, how much of the answer it grounds, the answer's share of its length."""
    ptab = passages.select("passage_id", word_count_expr("_passage").alias("_pwc"), pl.lit(True).alias("_known"))
    f = f.join(ptab, on="passage_id", how="left", maintain_order="left")
    is_wiki = f.get_column("source") == "simple_wiki"
    answers = pl.when(is_wiki).then(f.get_column("_rl")).otherwise(pl.lit([], dtype=pl.List(pl.String)))
    answers = f.select(answers.alias("a")).get_column("a")
    f = f.with_columns(_grounding(answers, f.get_column("passage_id"), passages))
    return f.with_columns((pl.col("_rw") / pl.col("_pwc")).alias("_answer_share"),
                          pl.col("_known").is_null().alias("_unknown_passage"))


def features(df: pl.DataFrame, cfg: ValidationConfig, passages: pl.DataFrame | None, tokenizer,
             absent: Collection[str] = ()) -> pl.DataFrame:
    """Everything the checks read, one row per input row (``passages``: a ``passage_table``; ``absent``: the
    provenance columns the input came without)."""
    f = _text_features(df, cfg, absent)
    judged = [c for c in JUDGE_COLUMNS if c in df.columns]
    if judged:
        f = pl.concat([f, df.select(judged)], how="horizontal")
    if tokenizer is not None:
        from classit_data.core.lengths import token_counts

        f = f.with_columns(token_counts(tokenizer, df.get_column("prompt")).alias("_pt"),
                           token_counts(tokenizer, df.get_column("reply")).alias("_rt"))
    if passages is not None and "passage_id" not in absent:
        f = _passage_features(f, passages)
    if cfg.eval_contamination:
        from classit_data.validate.contamination import find_matches, read_eval, row_flags

        matches = find_matches(df.get_column("text"), read_eval(cfg.eval_contamination))
        f = pl.concat([f, row_flags(matches, df.height)], how="horizontal")
    return f


# --- pydantic's Item, the reference the schema check mirrors ---------------------------------------

def _item_error(row: dict) -> str | None:
    """pydantic's ``Item`` on one row: why it refuses it, or None when it accepts it."""
    try:
        Item.model_validate(row)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return None


#: what ``Item`` is shown for a required column the input came without: the check covers the columns given
_STAND_INS = {"doc_id": "(absent)", "position": 0, "origin": "(absent)"}


def _item_rows(df: pl.DataFrame, absent: Collection[str]) -> Iterator[dict]:
    """The rows as ``Item`` fields, stand-ins for the required columns the input lacked."""
    stand_ins = [pl.lit(_STAND_INS[c]).alias(c) for c in _STAND_INS if c in absent or c not in df.columns]
    stand_ins += [pl.lit(None, dtype=t).alias(c) for c, t in ITEM_SCHEMA.items()
                  if c not in df.columns and c not in _STAND_INS]
    return df.with_columns(*stand_ins).select(list(ITEM_SCHEMA)).iter_rows(named=True)


def pydantic_errors(rows: pl.DataFrame, absent: Collection[str] = ()) -> list[str]:
    """Item's own explanation of each row (the rows the vectorised schema check flagged)."""
    # "Item accepts it" cannot happen while _schema_failure mirrors Item
    return [_item_error(row) or "Item accepts it" for row in _item_rows(rows, absent)]


def pydantic_refuses(df: pl.DataFrame, absent: Collection[str] = ()) -> pl.Series:
    """Per row: does pydantic's ``Item`` refuse it? (the slow reference the vectorised check mirrors)"""
    return pl.Series("_refused", [_item_error(row) is not None for row in _item_rows(df, absent)], dtype=pl.Boolean)
