"""What the checks read: one frame of features per input row, each column named by a constant below.

``features`` computes them, vectorised with polars: word counts and word lists, the normalised texts the
duplicate step compares, repetition counts, the prompt/reply overlap, the schema and template checks, token
counts (with a tokenizer), grounding in the passage (with passages) and eval contamination (when set). The
checks (``classit_data.validate.checks``) refer to these columns only through the constants, so a feature is
named once, here.

The row schema is ``classit_data.core.schema.Item``. The schema feature mirrors ``Item``'s constraints with
polars expressions; ``Item`` itself (pydantic) then explains each row they flag, and ``strict_schema`` runs
``Item`` over every row as well (measured: ~0.9 s per 130k rows).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import polars as pl
from pydantic import ValidationError

from classit_data.core.lengths import word_count_expr
from classit_data.core.schema import ITEM_SCHEMA, SOURCES, Item
from classit_data.core.template import TextTemplate, default_template
from classit_data.validate.config import ValidationConfig
from classit_data.validate.dedup import word_lists
from classit_data.validate.inputs import PASSAGE_TEXT

# --- the feature columns --------------------------------------------------------------------------

#: a required field is missing or not allowed by ``Item`` (bool)
SCHEMA_BAD = "_schema_bad"
#: ``text`` is not the template rendered from prompt and reply (bool; False with ``check_text`` off)
TEXT_BAD = "_text_bad"
#: words in the prompt / the reply (``core.lengths.word_count_expr``)
PROMPT_WORDS, REPLY_WORDS = "_pw", "_rw"
#: the lower-cased words of the prompt / the reply (lists)
PROMPT_WORD_LIST, REPLY_WORD_LIST = "_pl", "_rl"
#: the prompt / the reply normalised (their words one space apart): what exact duplicates share
PROMPT_NORMALIZED, REPLY_NORMALIZED = "_pn", "_rn"
#: word n-grams (``ngram_size``) of the prompt, how many of them are distinct, the longest run of one word
PROMPT_NGRAMS, PROMPT_DISTINCT_NGRAMS, PROMPT_RUN = "_p_ng", "_p_nd", "_p_run"
#: the same of the reply
REPLY_NGRAMS, REPLY_DISTINCT_NGRAMS, REPLY_RUN = "_r_ng", "_r_nd", "_r_run"
#: Jaccard overlap of the prompt's and the reply's word sets
OVERLAP = "_overlap"
#: tokens in the prompt / the reply (with a tokenizer only)
PROMPT_TOKENS, REPLY_TOKENS = "_pt", "_rt"
#: with passages only: words in the row's passage, the passage is not in the file (bool), the share of the
#: answer's content words found in the passage, the answer's length as a share of the passage's
PASSAGE_WORDS, UNKNOWN_PASSAGE, GROUNDING, ANSWER_SHARE = "_pwc", "_unknown_passage", "_grounding", "_answer_share"
#: with ``eval_contamination`` only: the text holds an eval item (bool), and the first one it holds (text)
CONTAMINATED, CONTAMINATION = "_contaminated", "_contamination"


@dataclass(frozen=True)
class Side:
    """The features of one side of a pair (the prompt or the reply), for checks run on both sides alike."""

    name: str
    words: str
    word_list: str
    normalized: str
    ngrams: str
    distinct_ngrams: str
    longest_run: str
    tokens: str


PROMPT = Side(
    "prompt",
    PROMPT_WORDS,
    PROMPT_WORD_LIST,
    PROMPT_NORMALIZED,
    PROMPT_NGRAMS,
    PROMPT_DISTINCT_NGRAMS,
    PROMPT_RUN,
    PROMPT_TOKENS,
)
REPLY = Side(
    "reply",
    REPLY_WORDS,
    REPLY_WORD_LIST,
    REPLY_NORMALIZED,
    REPLY_NGRAMS,
    REPLY_DISTINCT_NGRAMS,
    REPLY_RUN,
    REPLY_TOKENS,
)

#: function words left out of the grounding overlap, so "the" and "of" do not ground an answer
STOPWORDS = frozenset(
    """
a an the and or but if then than so as of at by for from in into on onto to with without within about
above after against along among around before behind below between beyond during except inside near off
out outside over past since through throughout toward towards under until up upon via is am are was were
be been being has have had having do does did doing will would shall should can could may might must it
its it's this that these those there here which who whom whose what when where why how i me my mine we us
our ours you your yours he him his she her hers they them their theirs one ones also not no yes very just
only more most much many some any each every all both either neither such other another same own too
""".split()
)
_REQUIRED = ("id", "source", "prompt", "reply", "text", "doc_id", "position", "origin")


# --- the features ---------------------------------------------------------------------------------


def features(
    df: pl.DataFrame,
    cfg: ValidationConfig,
    passages: pl.DataFrame | None,
    tokenizer,
    absent: Collection[str] = (),
    carried: Sequence[str] = (),
) -> pl.DataFrame:
    """Everything the checks read, one row per input row: ``id, source, prompt, reply, passage_id, doc_id``,
    the input columns in ``carried`` that ``df`` has (the judge's scores), and the feature columns above.

    ``passages``: a ``passage_table``; ``tokenizer``: a loaded tokenizer; ``absent``: the provenance columns
    the input came without."""
    f = _text_features(df, cfg, absent)
    kept = [c for c in carried if c in df.columns]
    if kept:
        f = pl.concat([f, df.select(kept)], how="horizontal")
    if tokenizer is not None:
        from classit_data.core.lengths import token_counts

        f = f.with_columns(
            token_counts(tokenizer, df.get_column("prompt")).alias(PROMPT_TOKENS),
            token_counts(tokenizer, df.get_column("reply")).alias(REPLY_TOKENS),
        )
    if passages is not None and "passage_id" not in absent:
        f = _passage_features(f, passages)
    if cfg.eval_contamination:
        f = pl.concat([f, _contamination_features(df, cfg.eval_contamination)], how="horizontal")
    return f


def _text_features(df: pl.DataFrame, cfg: ValidationConfig, absent: Collection[str]) -> pl.DataFrame:
    """Schema, text, word counts, words and normalised texts, repetition and overlap of prompt and reply."""
    pw, rw = word_lists(df.get_column("prompt")), word_lists(df.get_column("reply"))
    f = df.select(
        "id",
        "source",
        "prompt",
        "reply",
        "passage_id",
        "doc_id",
        _schema_failure(absent).alias(SCHEMA_BAD),
        word_count_expr("prompt").alias(PROMPT_WORDS),
        word_count_expr("reply").alias(REPLY_WORDS),
        (pl.col("text") != _rendered_text(default_template())).fill_null(False).alias(TEXT_BAD)
        if cfg.check_text
        else pl.lit(False).alias(TEXT_BAD),
    ).with_columns(
        pw.alias(PROMPT_WORD_LIST),
        rw.alias(REPLY_WORD_LIST),
        pw.list.join(" ").alias(PROMPT_NORMALIZED),
        rw.list.join(" ").alias(REPLY_NORMALIZED),
    )
    f = pl.concat([f, _repetition_features(pw, rw, cfg.ngram_size)], how="horizontal")
    inter = pl.col(PROMPT_WORD_LIST).list.set_intersection(REPLY_WORD_LIST).list.len()
    union = pl.col(PROMPT_WORD_LIST).list.set_union(REPLY_WORD_LIST).list.len()
    f = f.with_columns(pl.when(union > 0).then(inter / union).otherwise(0.0).alias(OVERLAP))
    if cfg.strict_schema:
        f = f.with_columns(pl.col(SCHEMA_BAD) | pydantic_refuses(df, absent))
    return f


def _rendered_text(tpl: TextTemplate) -> pl.Expr:
    """``tpl.render(prompt, reply)`` as a polars expression when the template only places the two values
    (``TextTemplate.verbatim_parts``); a template that does more falls back to rendering row by row."""
    parts = tpl.verbatim_parts()
    if parts is not None:
        pre, mid, post = parts
        return pl.concat_str(
            [pl.lit(pre), pl.col("prompt").fill_null(""), pl.lit(mid), pl.col("reply").fill_null(""), pl.lit(post)]
        )
    return pl.struct("prompt", "reply").map_elements(
        lambda s: tpl.render(s["prompt"] or "", s["reply"] or ""), return_dtype=pl.String
    )


def _schema_failure(absent: Collection[str] = ()) -> pl.Expr:
    """The row-level constraints of ``Item``, vectorised (types are already right), on the columns the input had."""
    bad = pl.any_horizontal(*[pl.col(c).is_null() for c in _REQUIRED if c not in absent])
    bad = bad | (pl.col("id").str.len_chars() < 8) | ~pl.col("source").is_in(list(SOURCES))
    if "position" not in absent:
        bad = bad | (pl.col("position") < 0)
    return bad.fill_null(True)


def _repetition_features(prompt_words: pl.Series, reply_words: pl.Series, n: int) -> pl.DataFrame:
    """Per row and side: n-grams, distinct n-grams, longest run of one word.

    Both sides are exploded into one frame of word hashes (a few million rows) and counted in one group-by:
    an n-gram is a wrapping multiply-add of its word hashes, a run a streak of equal neighbouring words.
    """
    rows = len(prompt_words)
    both = pl.concat([pl.DataFrame({"w": prompt_words}), pl.DataFrame({"w": reply_words})])
    e = (
        both.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("key"))
        .explode("w")
        .drop_nulls("w")
        .select("key", pl.col("w").hash(11).alias("h"))
        .with_columns(pl.int_range(pl.len()).alias("pos"))
    )
    gram = pl.col("h")
    for k in range(1, n):
        gram = gram * 0x100000001B3 + pl.col("h").shift(-k)
    starts_run = ~((pl.col("h") == pl.col("h").shift(1)) & (pl.col("key") == pl.col("key").shift(1))).fill_null(False)
    run_start = pl.when(starts_run).then(pl.col("pos")).forward_fill()
    e = e.select(
        "key",
        pl.when(pl.col("key").shift(-(n - 1)) == pl.col("key")).then(gram).alias("g"),
        (pl.col("pos") - run_start + 1).alias("run"),
    )
    per_key = e.group_by("key").agg(
        pl.col("g").drop_nulls().len().alias("ng"), pl.col("g").drop_nulls().n_unique().alias("nd"), pl.max("run")
    )
    out = (
        pl.DataFrame({"key": pl.arange(0, 2 * rows, dtype=pl.UInt32, eager=True)})
        .join(per_key, on="key", how="left", maintain_order="left")
        .fill_null(0)
    )
    halves = {PROMPT: out.head(rows), REPLY: out.slice(rows, rows)}
    return pl.DataFrame(
        {
            column: half[name]
            for side, half in halves.items()
            for column, name in ((side.ngrams, "ng"), (side.distinct_ngrams, "nd"), (side.longest_run, "run"))
        }
    )


def _passage_features(f: pl.DataFrame, passages: pl.DataFrame) -> pl.DataFrame:
    """Is the row's passage known, how much of the answer it grounds, the answer's share of its length."""
    ptab = passages.select(
        "passage_id", word_count_expr(PASSAGE_TEXT).alias(PASSAGE_WORDS), pl.lit(True).alias("_known")
    )
    f = f.join(ptab, on="passage_id", how="left", maintain_order="left")
    is_wiki = f.get_column("source") == "simple_wiki"
    answers = pl.when(is_wiki).then(f.get_column(REPLY_WORD_LIST)).otherwise(pl.lit([], dtype=pl.List(pl.String)))
    answers = f.select(answers.alias("a")).get_column("a")
    f = f.with_columns(_grounding(answers, f.get_column("passage_id"), passages))
    return f.with_columns(
        (pl.col(REPLY_WORDS) / pl.col(PASSAGE_WORDS)).alias(ANSWER_SHARE),
        pl.col("_known").is_null().alias(UNKNOWN_PASSAGE),
    ).drop("_known")


def _grounding(answer_words: pl.Series, passage_ids: pl.Series, passages: pl.DataFrame) -> pl.Series:
    """Per row: share of the answer's distinct content words found in its passage.

    Function words (``STOPWORDS``) do not count; an answer made of them only ("Yes, it is.") has nothing
    to ground and gets 1.0. List set operations on
    word hashes (measured ~3x cheaper than joins of exploded words). Rows whose passage is unknown get 1.0:
    ``unknown_passage`` reports them.
    """
    ptab = pl.DataFrame(
        {
            "passage_id": passages.get_column("passage_id"),
            "_ph": word_lists(passages.get_column(PASSAGE_TEXT)).list.eval(pl.element().hash(13)),
        }
    )
    f = pl.DataFrame({"passage_id": passage_ids, "_a": answer_words.list.unique()}).join(
        ptab, on="passage_id", how="left", maintain_order="left"
    )
    stop = pl.lit(sorted(STOPWORDS), dtype=pl.List(pl.String))
    f = f.with_columns(pl.col("_a").list.set_difference(stop).alias("_c"))
    hits = pl.col("_c").list.eval(pl.element().hash(13)).list.set_intersection("_ph").list.len()
    f = f.with_columns(pl.col("_c").list.len().alias("_n"), hits.alias("_hit"))
    return f.select(
        pl.when(pl.col("_n") > 0).then(pl.col("_hit") / pl.col("_n")).otherwise(1.0).fill_null(1.0).alias(GROUNDING)
    ).get_column(GROUNDING)


def _contamination_features(df: pl.DataFrame, eval_paths: Sequence[str]) -> pl.DataFrame:
    """Per row: does its ``text`` hold an eval item, and the first one it holds (for a reason's detail)."""
    from classit_data.validate.contamination import find_matches, read_eval

    matches = find_matches(df.get_column("text"), read_eval(eval_paths))
    first = (
        matches.sort("_row", "item")
        .group_by("_row", maintain_order=True)
        .agg(
            pl.format("{} {} ({} match): {}", pl.col("task"), pl.col("item"), pl.col("kind"), pl.col("text"))
            .first()
            .alias(CONTAMINATION)
        )
    )
    base = pl.DataFrame({"_row": pl.arange(0, df.height, dtype=pl.UInt32, eager=True)})
    return base.join(first, on="_row", how="left", maintain_order="left").select(
        pl.col(CONTAMINATION).is_not_null().alias(CONTAMINATED), CONTAMINATION
    )


# --- pydantic's Item, the reference the schema feature mirrors --------------------------------------


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
    stand_ins += [
        pl.lit(None, dtype=t).alias(c) for c, t in ITEM_SCHEMA.items() if c not in df.columns and c not in _STAND_INS
    ]
    return df.with_columns(*stand_ins).select(list(ITEM_SCHEMA)).iter_rows(named=True)


def pydantic_errors(rows: pl.DataFrame, absent: Collection[str] = ()) -> list[str]:
    """Item's own explanation of each row (the rows the vectorised schema check flagged)."""
    # "Item accepts it" cannot happen while _schema_failure mirrors Item
    return [_item_error(row) or "Item accepts it" for row in _item_rows(rows, absent)]


def pydantic_refuses(df: pl.DataFrame, absent: Collection[str] = ()) -> pl.Series:
    """Per row: does pydantic's ``Item`` refuse it? (the slow reference the vectorised check mirrors)"""
    return pl.Series("_refused", [_item_error(row) is not None for row in _item_rows(df, absent)], dtype=pl.Boolean)
