"""The quality gate: every row is checked, duplicates go, and nothing leaves the dataset silently.

Two stages, both vectorised with polars (a Python loop over 130k rows is what this avoids):

1. *row checks* (``CHECKS``): each looks at one row (and, for QA rows, its passage) and says whether it
   fails; a row failing any check is quarantined with all its reasons (``reject_reasons``), the first in
   ``CHECKS`` order as ``reject_reason`` and a readable ``reject_detail`` for that one;
2. *duplicates*, among the rows that passed stage 1 only (so a bad first copy never pushes out a good
   later one): a repeated id, a QA question asked twice about one passage, then exact and near duplicates
   (``classit_data.validate.dedup``). The first occurrence stays; the others name it in ``duplicate_of``.

The row schema is ``classit_data.core.schema.Item``. Column types are checked once per file (wrong types are an
``InputError``); row values are checked with polars expressions that mirror ``Item``'s constraints, and
``Item`` itself (pydantic) then explains each row those expressions flag. ``strict_schema`` runs ``Item``
over every row as well (measured: ~0.9 s per 130k rows).

Kept + quarantined = input, always; the report counts rows per reason and per source.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from classit_data.validate.dedup import DedupConfig, find_duplicates, word_lists
from classit_data.core.errors import InputError, first_line
from classit_data.core.io import atomic_write_text, read_rows, read_yaml_mapping, write_rows
from classit_data.core.lengths import word_count_expr
from classit_data.core.schema import ITEM_SCHEMA, SOURCES, Item
from classit_data.core.template import TextTemplate, default_template

# --- configuration --------------------------------------------------------------------------------

#: transcription markup that a clean Switchboard turn never holds: disfluency braces {F uh, }, repair
#: brackets [ a + b ], slash units, <laughter>-style tags, ((unclear)), #overlap#, incomplete-word -/,
#: ISIP variants word_1, Treebank tags word/UH, a speaker label "A:" at the start
DEFAULT_MARKUP = (r"[{}\[\]<>#]|\(\(|\)\)|(?:^|\s)[+/](?:\s|$)|\w-/|\b\w+_\d\b|\b[\w']+/[A-Z]{2,4}\$?(?:\s|$)"
                  r"|^\s*[AB]\s*:")
#: broken encoding: the replacement character, UTF-8 read as Latin-1/cp1252 (Ã©, Â , â€™, ï»¿), HTML entities
DEFAULT_MOJIBAKE = (r"\x{FFFD}|Ã[\x{80}-\x{BF}]|Â[\x{80}-\x{BF}]|â€|ï»¿"
                    r"|&(?:amp|lt|gt|quot|apos|nbsp|#\d+|#[xX][0-9a-fA-F]+);")
#: C0/C1 control characters (tab, newline and carriage return allowed), zero-width and bidi controls, BOM
CONTROL_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x{9F}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}" \
                r"\x{2066}-\x{2069}\x{FEFF}]"
#: a generator's labels left in a QA pair ("Question: ...", "Answer 2: ...")
LEFTOVER_LABEL = r"(?i)^\s*(?:question|answer|q|a)\s*\d*\s*:|\b(?:question|answer)\s*\d*\s*:"
DEFAULT_QUESTION_WORDS = (
    "what", "who", "whom", "whose", "which", "where", "when", "why", "how", "is", "are", "was", "were", "am",
    "do", "does", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "must", "has",
    "have", "had", "name", "list", "describe", "explain", "give", "tell", "in", "on", "at", "according",
)
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


class ValidationConfig(BaseModel):
    """Thresholds of the checks. Defaults are documented in the README with the measurement behind them.

    Load with ``load_config`` (YAML or JSON file, dict, overrides); unknown keys are an error.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    min_prompt_words: int = Field(1, ge=0, description="Fewest words in a prompt.")
    max_prompt_words: int = Field(500, ge=1, description="Most words in a prompt.")
    min_reply_words: int = Field(1, ge=0, description="Fewest words in a reply.")
    max_reply_words: int = Field(500, ge=1, description="Most words in a reply.")
    min_prompt_tokens: int | None = Field(None, ge=0, description="Fewest prompt tokens (needs a tokenizer).")
    max_prompt_tokens: int | None = Field(None, ge=1, description="Most prompt tokens (needs a tokenizer).")
    min_reply_tokens: int | None = Field(None, ge=0, description="Fewest reply tokens (needs a tokenizer).")
    max_reply_tokens: int | None = Field(None, ge=1, description="Most reply tokens (needs a tokenizer).")
    ngram_size: int = Field(3, ge=2, le=8, description="n of the word n-grams counted by the repetition check.")
    max_repeated_ngram_ratio: float = Field(0.5, ge=0, le=1, description="Largest share of a text's n-grams "
                                            "that repeat an earlier n-gram of the same text.")
    repetition_min_words: int = Field(10, ge=1, description="Texts shorter than this are not judged for "
                                      "repetition.")
    max_token_run: int = Field(7, ge=1, description="Most times one word may follow itself in a row.")
    max_prompt_reply_overlap: float = Field(0.9, ge=0, le=1, description="Largest Jaccard overlap of the "
                                            "prompt's and the reply's word sets (above: the reply copies).")
    min_question_words: int = Field(3, ge=1, description="Fewest words in a QA question.")
    question_words: list[str] = Field(list(DEFAULT_QUESTION_WORDS), description="First words that make a "
                                      "QA prompt a question even without a question mark.")
    min_grounding: float = Field(0.5, ge=0, le=1, description="Smallest share of an answer's content words "
                                 "found in its passage.")
    max_answer_passage_share: float = Field(0.8, ge=0, description="Largest answer length as a share of its "
                                            "passage's length (above: the answer is the passage).")
    markup_pattern: str = Field(DEFAULT_MARKUP, description="Regex of transcription markup (Switchboard rows).")
    mojibake_pattern: str = Field(DEFAULT_MOJIBAKE, description="Regex of broken encoding.")
    check_text: bool = Field(True, description="Require text == the template rendered from prompt and reply.")
    strict_schema: bool = Field(False, description="Also validate every row with the pydantic Item model.")
    dedup: bool = Field(True, description="Drop exact and near duplicates.")
    near_dup_threshold: float = Field(0.8, gt=0, le=1, description="Estimated Jaccard similarity of word "
                                      "n-gram sets at which a row is a near duplicate.")
    dedup_shingle_size: int = Field(3, ge=1, le=8, description="n of the word n-grams compared by MinHash.")
    dedup_num_perm: int = Field(64, ge=16, le=512, description="MinHash permutations.")
    dedup_seed: int = Field(1, description="MinHash seed.")

    @model_validator(mode="after")
    def _ranges(self) -> "ValidationConfig":
        for lo, hi in (("min_prompt_words", "max_prompt_words"), ("min_reply_words", "max_reply_words"),
                       ("min_prompt_tokens", "max_prompt_tokens"), ("min_reply_tokens", "max_reply_tokens")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{lo} ({a}) is above {hi} ({b})")
        return self

    def dedup_config(self) -> DedupConfig:
        return DedupConfig(near=True, threshold=self.near_dup_threshold, num_perm=self.dedup_num_perm,
                           shingle_size=self.dedup_shingle_size, seed=self.dedup_seed)


def load_config(config: str | Path | Mapping | ValidationConfig | None = None,
                overrides: Mapping[str, Any] | None = None) -> ValidationConfig:
    """Defaults, then a YAML/JSON file or mapping, then ``overrides`` (e.g. CLI flags; ``None`` values skipped)."""
    source = "config"
    if isinstance(config, ValidationConfig):
        values = config.model_dump()
    elif config is None:
        values = {}
    elif isinstance(config, Mapping):
        values = dict(config)
    else:
        source = str(config)
        values = read_yaml_mapping(config, "config", "threshold names to values")  # JSON is YAML too
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values.update(given)
    try:
        return ValidationConfig(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "config"
        where = "the command line" if name in given else (source if source != "config" else "the config")
        what = "unknown threshold" if err["type"] == "extra_forbidden" else "bad threshold"
        if source != "config" and name not in given:
            raise InputError(f"{what} {name}: {err['msg']}", source) from exc
        raise InputError(f"{what} {name} (from {where}): {err['msg']}") from exc


# --- checks ---------------------------------------------------------------------------------------

#: every reason a row can be quarantined for, in the order they are tried (the first is ``reject_reason``)
CHECKS: dict[str, str] = {
    "schema": "a field is missing or not allowed by the Item schema (id, source, position, ...)",
    "empty_prompt": "prompt is empty after stripping spaces",
    "empty_reply": "reply is empty after stripping spaces",
    "text_mismatch": "text is not the template rendered from prompt and reply",
    "control_chars": "control, zero-width or bidi characters",
    "broken_encoding": "U+FFFD, mojibake (Ã©, â€™) or HTML entities",
    "transcription_markup": "Switchboard transcription markup left ({F, [, +, <laughter>, ((, #)",
    "leftover_label": "QA text keeps a generator label (Question:, Answer:)",
    "prompt_too_short": "prompt has fewer words than min_prompt_words (or min_question_words for QA)",
    "prompt_too_long": "prompt has more words than max_prompt_words",
    "reply_too_short": "reply has fewer words than min_reply_words",
    "reply_too_long": "reply has more words than max_reply_words",
    "prompt_tokens": "prompt tokens outside min/max_prompt_tokens",
    "reply_tokens": "reply tokens outside min/max_reply_tokens",
    "looping": "one word repeats itself too many times in a row",
    "repetition": "too many repeated word n-grams (degenerate text)",
    "reply_copies_prompt": "reply's words are (nearly) the prompt's",
    "not_a_question": "QA prompt does not read as a question",
    "unknown_passage": "QA row's passage is not in the passages file",
    "ungrounded": "too few of the answer's content words are in its passage",
    "answer_is_passage": "the answer is (nearly) the whole passage",
    "duplicate_id": "id already used by an earlier row",
    "repeated_question": "the same question was already asked about this passage",
    "duplicate": "exact duplicate of an earlier row (case, punctuation and spacing ignored)",
    "near_duplicate": "near duplicate of an earlier row (MinHash LSH)",
}
_STAGE2 = ("duplicate_id", "repeated_question", "duplicate", "near_duplicate")
_STRING_COLUMNS = [c for c, t in ITEM_SCHEMA.items() if t == pl.String]
_REQUIRED = ("id", "source", "prompt", "reply", "text", "doc_id", "position", "origin")


def check_schema_types(df: pl.DataFrame, path: str | Path | None = None) -> pl.DataFrame:
    """The item columns with their schema types (extra columns kept after them); wrong types are an InputError.

    An all-null column (JSON lines where a field is always null) takes the schema type; integer columns of
    another width are widened. Anything else (numbers for text, text for numbers) is refused.
    """
    missing = [c for c in ITEM_SCHEMA if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path)
    casts = []
    for col, want in ITEM_SCHEMA.items():
        have = df.schema[col]
        ok = have == want or have == pl.Null or (want == pl.Int64 and have.is_integer())
        if not ok:
            raise InputError(f"column {col} has type {have}, expected {want}", path)
        casts.append(pl.col(col).cast(want, strict=True))
    extras = [c for c in df.columns if c not in ITEM_SCHEMA]
    try:
        return df.select(*casts, *extras)
    except pl.exceptions.PolarsError as exc:  # e.g. a UInt64 seed above Int64's range
        raise InputError(f"cannot read columns as the item schema: {first_line(exc)}", path) from exc


def read_items(inputs: str | Path | Iterable[str | Path]) -> tuple[pl.DataFrame, list[dict]]:
    """All input rows in input order, typed; and per file: path and rows."""
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    if not paths:
        raise InputError("no input files given")
    frames, files = [], []
    for p in paths:
        df = check_schema_types(read_rows(p), p)
        frames.append(df)
        files.append({"path": str(p), "rows": df.height})
    df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return df, files


def read_passages(path: str | Path) -> pl.DataFrame:
    """passage_id -> passage text, from a passage file (``PASSAGE_SCHEMA``; other columns ignored)."""
    return passage_table(read_rows(path, required=("passage_id", "text")), path)


def passage_table(df: pl.DataFrame, path: str | Path | None = None) -> pl.DataFrame:
    """passage_id and text (as ``_passage``) of a passage frame, first row per id."""
    if "_passage" in df.columns:
        return df
    for col in ("passage_id", "text"):
        if col not in df.columns:
            raise InputError(f"missing column {col}", path)
        if df.schema[col] not in (pl.String, pl.Null):
            raise InputError(f"column {col} has type {df.schema[col]}, expected String", path)
    return df.select(pl.col("passage_id").cast(pl.String), pl.col("text").cast(pl.String).alias("_passage")) \
        .filter(pl.col("passage_id").is_not_null()).unique("passage_id", keep="first", maintain_order=True)


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


def _schema_failure() -> pl.Expr:
    """The row-level constraints of ``Item``, vectorised (types are already right)."""
    bad = pl.any_horizontal(*[pl.col(c).is_null() for c in _REQUIRED])
    bad = bad | (pl.col("id").str.len_chars() < 8) | ~pl.col("source").is_in(list(SOURCES)) | (pl.col("position") < 0)
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


def _features(df: pl.DataFrame, cfg: ValidationConfig, passages: pl.DataFrame | None, tokenizer) -> pl.DataFrame:
    """Everything the checks look at, one row per input row."""
    wiki = pl.col("source") == "simple_wiki"
    pw, rw = word_lists(df.get_column("prompt")), word_lists(df.get_column("reply"))
    f = df.select(
        "id", "source", "prompt", "reply", "passage_id", "doc_id",
        _schema_failure().alias("_schema_bad"),
        word_count_expr("prompt").alias("_pw"), word_count_expr("reply").alias("_rw"),
        (pl.col("text") != _rendered_text(default_template())).fill_null(False).alias("_text_bad")
        if cfg.check_text else pl.lit(False).alias("_text_bad"),
    ).with_columns(pw.alias("_pl"), rw.alias("_rl"), pw.list.join(" ").alias("_pn"), rw.list.join(" ").alias("_rn"))
    f = pl.concat([f, _repetition_features(pw, rw, cfg.ngram_size)], how="horizontal")
    inter = pl.col("_pl").list.set_intersection("_rl").list.len()
    union = pl.col("_pl").list.set_union("_rl").list.len()
    f = f.with_columns(pl.when(union > 0).then(inter / union).otherwise(0.0).alias("_overlap"))
    if cfg.strict_schema:
        f = f.with_columns(pl.col("_schema_bad") | pydantic_refuses(df))
    if tokenizer is not None:
        from classit_data.core.lengths import token_counts

        f = f.with_columns(token_counts(tokenizer, df.get_column("prompt")).alias("_pt"),
                           token_counts(tokenizer, df.get_column("reply")).alias("_rt"))
    if passages is not None:
        ptab = passages.select("passage_id", word_count_expr("_passage").alias("_pwc"), pl.lit(True).alias("_known"))
        f = f.join(ptab, on="passage_id", how="left", maintain_order="left")
        is_wiki = f.get_column("source") == "simple_wiki"
        answers = pl.when(is_wiki).then(f.get_column("_rl")).otherwise(pl.lit([], dtype=pl.List(pl.String)))
        answers = f.select(answers.alias("a")).get_column("a")
        f = f.with_columns(_grounding(answers, f.get_column("passage_id"), passages))
        f = f.with_columns((pl.col("_rw") / pl.col("_pwc")).alias("_answer_share"),
                           (wiki & pl.col("_known").is_null()).alias("_unknown_passage"))
    return f


def _check_exprs(cfg: ValidationConfig, *, tokens: bool, passages: bool) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """reason -> (fails, detail) over the features frame, for the stage-1 checks that apply."""
    wiki, sw = pl.col("source") == "simple_wiki", pl.col("source") == "switchboard"
    prompt, reply = pl.col("prompt").fill_null(""), pl.col("reply").fill_null("")

    def found(pattern: str) -> tuple[pl.Expr, pl.Expr]:
        p_hit, r_hit = prompt.str.extract(f"({pattern})", 1), reply.str.extract(f"({pattern})", 1)
        return (p_hit.is_not_null() | r_hit.is_not_null(),
                pl.when(p_hit.is_not_null()).then(pl.format("prompt has {}", _show(p_hit)))
                .otherwise(pl.format("reply has {}", _show(r_hit))))

    def count_detail(side: str, value: pl.Expr, op: str, limit: object, unit: str) -> pl.Expr:
        return pl.format(f"{side}: {{}} {unit} {op} {limit}", value)

    q_words = [w.lower() for w in cfg.question_words]
    first_word = pl.col("_pl").list.first().fill_null("")
    is_question = prompt.str.strip_chars().str.ends_with("?") | first_word.is_in(q_words)
    min_prompt = pl.when(wiki).then(max(cfg.min_prompt_words, cfg.min_question_words)).otherwise(cfg.min_prompt_words)

    def repeated(side: str) -> pl.Expr:
        ng, nd, words = pl.col(f"_{side}_ng"), pl.col(f"_{side}_nd"), pl.col(f"_{side}w")
        return (words >= cfg.repetition_min_words) & (ng > 0) & ((1 - nd / ng) > cfg.max_repeated_ngram_ratio)

    def looping(side: str) -> pl.Expr:
        return pl.col(f"_{side}_run") > cfg.max_token_run

    def rep_detail(side: str, name: str) -> pl.Expr:
        ng, nd = pl.col(f"_{side}_ng"), pl.col(f"_{side}_nd")
        return pl.format(f"{name}: {{}} of {{}} {cfg.ngram_size}-grams repeat (max share "
                         f"{cfg.max_repeated_ngram_ratio})", ng - nd, ng)

    def loop_detail(side: str, name: str) -> pl.Expr:
        return pl.format(f"{name}: a word runs {{}} times in a row (max {cfg.max_token_run})", pl.col(f"_{side}_run"))

    checks: dict[str, tuple[pl.Expr, pl.Expr]] = {
        "schema": (pl.col("_schema_bad"), pl.lit("see the Item schema")),
        "empty_prompt": (prompt.str.strip_chars().str.len_chars() == 0, pl.lit("prompt is blank")),
        "empty_reply": (reply.str.strip_chars().str.len_chars() == 0, pl.lit("reply is blank")),
        "text_mismatch": (pl.col("_text_bad"), pl.lit("text differs from the rendered template")),
        "control_chars": found(CONTROL_CHARS),
        "broken_encoding": found(cfg.mojibake_pattern),
    }
    hit, detail = found(cfg.markup_pattern)
    checks["transcription_markup"] = (sw & hit, detail)
    hit, detail = found(LEFTOVER_LABEL)
    checks["leftover_label"] = (wiki & hit, detail)
    checks.update({
        "prompt_too_short": (pl.col("_pw") < min_prompt, count_detail("prompt", pl.col("_pw"), "<", "minimum", "words")),
        "prompt_too_long": (pl.col("_pw") > cfg.max_prompt_words,
                            count_detail("prompt", pl.col("_pw"), ">", cfg.max_prompt_words, "words")),
        "reply_too_short": (pl.col("_rw") < cfg.min_reply_words,
                            count_detail("reply", pl.col("_rw"), "<", cfg.min_reply_words, "words")),
        "reply_too_long": (pl.col("_rw") > cfg.max_reply_words,
                           count_detail("reply", pl.col("_rw"), ">", cfg.max_reply_words, "words")),
    })
    if tokens:
        for side, name, lo, hi in (("p", "prompt", cfg.min_prompt_tokens, cfg.max_prompt_tokens),
                                   ("r", "reply", cfg.min_reply_tokens, cfg.max_reply_tokens)):
            if lo is None and hi is None:
                continue
            col = pl.col(f"_{side}t")
            fail = pl.lit(False)
            if lo is not None:
                fail = fail | (col < lo)
            if hi is not None:
                fail = fail | (col > hi)
            checks[f"{name}_tokens"] = (fail, pl.format(f"{name}: {{}} tokens, allowed {lo or 0}..{hi or 'any'}", col))
    checks["looping"] = (looping("p") | looping("r"),
                         pl.when(looping("p")).then(loop_detail("p", "prompt")).otherwise(loop_detail("r", "reply")))
    checks["repetition"] = (repeated("p") | repeated("r"),
                            pl.when(repeated("p")).then(rep_detail("p", "prompt")).otherwise(rep_detail("r", "reply")))
    checks["reply_copies_prompt"] = (
        ((pl.col("_pn") == pl.col("_rn")) & (pl.col("_rn") != "")) | (pl.col("_overlap") > cfg.max_prompt_reply_overlap),
        pl.format(f"word overlap {{}} > {cfg.max_prompt_reply_overlap}", pl.col("_overlap").round(2)))
    checks["not_a_question"] = (wiki & ~is_question, pl.lit("no question mark and no question word first"))
    if passages:
        checks["unknown_passage"] = (pl.col("_unknown_passage"),
                                     pl.format("passage {} not in the passages file", pl.col("passage_id").fill_null("null")))
        checks["ungrounded"] = (wiki & (pl.col("_grounding") < cfg.min_grounding),
                                pl.format(f"{{}} of the answer's content words in its passage (min {cfg.min_grounding})",
                                          pl.col("_grounding").round(2)))
        checks["answer_is_passage"] = (wiki & (pl.col("_answer_share") > cfg.max_answer_passage_share),
                                       pl.format(f"answer is {{}} words, {{}} of the passage (max "
                                                 f"{cfg.max_answer_passage_share})", pl.col("_rw"),
                                                 pl.col("_answer_share").round(2)))
    return {k: (fail.fill_null(False), det) for k, (fail, det) in checks.items()}


def _show(expr: pl.Expr) -> pl.Expr:
    """A matched snippet, with invisible characters written as code points."""
    return expr.map_elements(lambda s: repr(s) if s.isprintable() else ascii(s), return_dtype=pl.String)


def _item_error(row: dict) -> str | None:
    """pydantic's ``Item`` on one row: why it refuses it, or None when it accepts it."""
    try:
        Item.model_validate(row)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return None


def _pydantic_errors(rows: pl.DataFrame) -> list[str]:
    """Item's own explanation of each row (the rows the vectorised schema check flagged)."""
    # "Item accepts it" cannot happen while _schema_failure mirrors Item
    return [_item_error(row) or "Item accepts it" for row in rows.select(list(ITEM_SCHEMA)).iter_rows(named=True)]


@dataclass
class ValidationResult:
    kept: pl.DataFrame
    quarantined: pl.DataFrame
    report: dict


def validate_frame(df: pl.DataFrame, config: ValidationConfig | Mapping | str | Path | None = None, *,
                   passages: pl.DataFrame | None = None, tokenizer=None) -> ValidationResult:
    """Check item rows; split them into kept rows (input columns) and quarantined rows (plus the reasons).

    ``passages``: passage rows (``PASSAGE_SCHEMA`` or ``read_passages``); ``tokenizer``: a loaded tokenizer
    (``lengths.load_counting_tokenizer``).
    """
    cfg = config if isinstance(config, ValidationConfig) else load_config(config)
    passages = passage_table(passages) if passages is not None else None
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    df = check_schema_types(df)
    columns = df.columns
    feats = _features(df, cfg, passages, tokenizer).with_row_index("_row")
    checks = _check_exprs(cfg, tokens=tokenizer is not None, passages=passages is not None)
    feats = feats.with_columns(*[fail.alias(f"_fail_{name}") for name, (fail, _) in checks.items()])
    any_fail = pl.any_horizontal(*[pl.col(f"_fail_{n}") for n in checks])
    # reasons and details only for the failing rows: formatting every row's would cost more than the checks
    stage1 = feats.filter(any_fail).select(
        "_row",
        pl.concat_list([pl.when(pl.col(f"_fail_{n}")).then(pl.lit(n)) for n in checks]).list.drop_nulls()
        .alias("reject_reasons"),
        pl.coalesce([pl.when(pl.col(f"_fail_{n}")).then(det) for n, (_, det) in checks.items()]).alias("reject_detail"),
        pl.lit(None, dtype=pl.String).alias("duplicate_of"))
    timings["checks"] = time.perf_counter() - t0

    # stage 2, over the rows that passed stage 1, in input order; each step sees what the last one kept.
    # Duplicates point at row numbers first; chains (a copy of a row that is itself dropped later as a
    # copy of an earlier one) are followed to the row that stays, then named by its id.
    t1 = time.perf_counter()
    rest = feats.filter(~any_fail).select("_row", "id", "source", "passage_id", "doc_id", "_pn", "_rn")
    marked = []

    def mark(frame: pl.DataFrame, target_row: pl.Expr, reason: str, detail: pl.Expr | None = None) -> pl.DataFrame:
        hits = frame.select("_row", target_row.cast(pl.UInt32).alias("_target"),
                            (detail if detail is not None else pl.lit(CHECKS[reason])).alias("reject_detail")) \
            .filter(pl.col("_target").is_not_null())
        marked.append(hits.with_columns(pl.lit([reason], dtype=pl.List(pl.String)).alias("reject_reasons")))
        return frame.filter(~pl.col("_row").is_in(hits.get_column("_row").implode()))

    first_row = pl.col("_row").first()
    rest = mark(rest, pl.when(pl.col("id").is_first_distinct()).then(None).otherwise(first_row.over("id")),
                "duplicate_id")
    group = pl.coalesce("passage_id", "doc_id")
    rest = mark(rest, pl.when((pl.col("source") != "simple_wiki") | pl.struct(group, "_pn", "source").is_first_distinct())
                .then(None).otherwise(first_row.over(group, "_pn", "source")), "repeated_question")
    dedup_counts: dict = {}
    if cfg.dedup:
        result = find_duplicates(rest.select(pl.col("_row").cast(pl.String).alias("id"), pl.col("_pn").alias("prompt"),
                                             pl.col("_rn").alias("reply")), cfg.dedup_config(), normalize=False)
        dedup_counts = result.counts
        rest = rest.with_columns(result.duplicate_of.cast(pl.UInt32).alias("_dup_row"), result.kind, result.similarity)
        rest = mark(rest, pl.when(pl.col("duplicate_kind") == "exact").then(pl.col("_dup_row")), "duplicate")
        mark(rest, pl.when(pl.col("duplicate_kind") == "near").then(pl.col("_dup_row")), "near_duplicate",
             pl.format(f"estimated Jaccard {{}} >= {cfg.near_dup_threshold} with an earlier row (word "
                       f"{cfg.dedup_shingle_size}-grams, MinHash LSH)", pl.col("similarity").round(3)))
    stage2 = pl.concat(marked) if marked else pl.DataFrame(schema={"_row": pl.UInt32, "_target": pl.UInt32,
                                                                   "reject_detail": pl.String,
                                                                   "reject_reasons": pl.List(pl.String)})
    target_of = dict(zip(stage2.get_column("_row").to_list(), stage2.get_column("_target").to_list()))
    ids = df.get_column("id")
    final = []
    for target in stage2.get_column("_target").to_list():
        while target in target_of:  # targets are always earlier rows, so this ends
            target = target_of[target]
        final.append(ids[target])
    stage2 = stage2.with_columns(pl.Series("duplicate_of", final, dtype=pl.String)).select(stage1.columns)
    timings["duplicates"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    rejected = pl.concat([stage1, stage2]) \
        .with_columns(pl.col("reject_reasons").list.first().alias("reject_reason"))
    tagged = df.with_row_index("_row")
    is_rejected = pl.col("_row").is_in(rejected.get_column("_row").implode())
    kept = tagged.filter(~is_rejected).select(columns)
    quarantined = tagged.filter(is_rejected).join(rejected, on="_row", how="left", maintain_order="left") \
        .select(*columns, "reject_reason", "reject_reasons", "reject_detail", "duplicate_of")
    schema_idx = quarantined.select((pl.col("reject_reason") == "schema").arg_true()).to_series().to_list()
    if schema_idx:  # pydantic's Item explains what the vectorised mirror flagged
        details = quarantined.get_column("reject_detail").to_list()
        for i, text in zip(schema_idx, _pydantic_errors(quarantined[schema_idx])):
            details[i] = text
        quarantined = quarantined.with_columns(pl.Series("reject_detail", details, dtype=pl.String))
    timings["split"] = time.perf_counter() - t2
    report = _report(df, kept, quarantined, cfg, dedup_counts, tokenizer is not None, passages is not None, timings)
    return ValidationResult(kept, quarantined, report)


def pydantic_refuses(df: pl.DataFrame) -> pl.Series:
    """Per row: does pydantic's ``Item`` refuse it? (the slow reference the vectorised check mirrors)"""
    rows = df.select(list(ITEM_SCHEMA)).iter_rows(named=True)
    return pl.Series("_refused", [_item_error(row) is not None for row in rows], dtype=pl.Boolean)


def _counts(df: pl.DataFrame, column: str) -> dict[str, int]:
    if not df.height:
        return {}
    counts = df.group_by(pl.col(column).fill_null("null")).len().sort(["len", column], descending=[True, False])
    return {str(k): int(v) for k, v in counts.iter_rows()}


def _report(df, kept, quarantined, cfg, dedup_counts, tokens, passages, timings) -> dict:
    sources = sorted(set(_counts(df, "source")))
    by_source = {}
    for s in sources:
        sel = pl.col("source").fill_null("null") == s
        q = quarantined.filter(sel)
        by_source[s] = {"input": df.filter(sel).height, "kept": kept.filter(sel).height, "quarantined": q.height,
                        "by_reason": _counts(q, "reject_reason")}
    all_reasons = _counts(quarantined.select(pl.col("reject_reasons").explode().alias("r")), "r") \
        if quarantined.height else {}
    skipped = {}
    if not tokens:
        skipped.update({"prompt_tokens": "no --tokenizer", "reply_tokens": "no --tokenizer"})
    if not passages:
        skipped.update({k: "no --passages" for k in ("unknown_passage", "ungrounded", "answer_is_passage")})
    if not cfg.dedup:
        skipped.update({"duplicate": "--no-dedup", "near_duplicate": "--no-dedup"})
    return {
        "input_rows": df.height,
        "kept": kept.height,
        "quarantined": quarantined.height,
        "by_reason": _counts(quarantined, "reject_reason"),
        "all_reasons": all_reasons,
        "by_source": by_source,
        "checks": {k: v for k, v in CHECKS.items()},
        "checks_skipped": skipped,
        "dedup": dedup_counts,
        "config": cfg.model_dump(),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }


def validate_rows(inputs: str | Path | Sequence[str | Path], out: str | Path, quarantine: str | Path,
                  report: str | Path, *, config: ValidationConfig | Mapping | str | Path | None = None,
                  passages: str | Path | None = None, tokenizer: str | Path | None = None,
                  dedup: bool | None = None) -> dict:
    """Validate item files: write the kept rows, the quarantined rows and the report (JSON + Markdown beside it).

    ``config``: a ``ValidationConfig``, a mapping or a YAML/JSON file. ``passages``: the passage file the QA
    rows were generated from (grounding checks are skipped without it). ``tokenizer``: a local tokenizer
    folder (or ``embedded``) for the token bounds. ``dedup=False`` skips duplicates. Returns the report.
    """
    started = time.perf_counter()
    cfg = load_config(config, {"dedup": dedup})
    t = time.perf_counter()
    df, files = read_items(inputs)
    ptab = read_passages(passages) if passages is not None else None
    tok = None
    if tokenizer is not None:
        from classit_data.core.lengths import load_counting_tokenizer

        tok = load_counting_tokenizer(tokenizer)
    read_s = time.perf_counter() - t
    result = validate_frame(df, cfg, passages=ptab, tokenizer=tok)
    if result.kept.height + result.quarantined.height != df.height:  # the invariant, checked on every run
        raise AssertionError(f"{result.kept.height} kept + {result.quarantined.height} quarantined != {df.height}")
    t = time.perf_counter()
    write_rows(result.kept, out)
    write_rows(result.quarantined, quarantine)
    rep = result.report
    rep["seconds"] = {"read": round(read_s, 3), **rep["seconds"], "write": round(time.perf_counter() - t, 3)}
    rep["seconds"]["total"] = round(time.perf_counter() - started, 3)
    rep = {"inputs": files, "passages": str(passages) if passages is not None else None,
           "tokenizer": str(tokenizer) if tokenizer is not None else None,
           "outputs": {"kept": str(out), "quarantine": str(quarantine), "report": str(report),
                       "markdown": str(markdown_path(report))},
           **rep, "examples": _examples(result.quarantined)}
    atomic_write_text(report, json.dumps(rep, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(markdown_path(report), report_markdown(rep))
    return rep


def markdown_path(report: str | Path) -> Path:
    p = Path(report)
    return p.with_suffix(".md") if p.suffix.lower() != ".md" else p.with_name(p.name + ".md")


def _examples(quarantined: pl.DataFrame, width: int = 100) -> dict[str, dict]:
    """One quarantined row per reason (the first), shortened, so a reader sees what each reason catches."""
    out = {}
    if not quarantined.height:
        return out
    firsts = quarantined.filter(pl.col("reject_reason").is_first_distinct())
    for row in firsts.iter_rows(named=True):
        cut = lambda s: None if s is None else (s if len(s) <= width else s[:width - 1] + "…")  # noqa: E731
        out[row["reject_reason"]] = {"id": row["id"], "source": row["source"], "prompt": cut(row["prompt"]),
                                     "reply": cut(row["reply"]), "detail": row["reject_detail"],
                                     "duplicate_of": row["duplicate_of"]}
    return out


def report_markdown(rep: dict) -> str:
    """The report as Markdown: totals, rows per reason and source, an example per reason."""
    sources = list(rep["by_source"])
    lines = ["# Validation report", "",
             f"Input rows: **{rep['input_rows']:,}**; kept **{rep['kept']:,}**; quarantined "
             f"**{rep['quarantined']:,}**.", "",
             "Inputs: " + ", ".join(f"`{f['path']}` ({f['rows']:,})" for f in rep["inputs"]), ""]
    lines += ["| source | input | kept | quarantined |", "| --- | ---: | ---: | ---: |"]
    for s, v in rep["by_source"].items():
        lines.append(f"| {s} | {v['input']:,} | {v['kept']:,} | {v['quarantined']:,} |")
    lines.append(f"| **total** | {rep['input_rows']:,} | {rep['kept']:,} | {rep['quarantined']:,} |")
    lines += ["", "## Quarantined rows by reason (first failing check)", ""]
    if rep["by_reason"]:
        lines += ["| reason | " + " | ".join(sources) + " | total | what it means |",
                  "| --- | " + " | ".join("---:" for _ in sources) + " | ---: | --- |"]
        for reason, total in rep["by_reason"].items():
            per = [f"{rep['by_source'][s]['by_reason'].get(reason, 0):,}" for s in sources]
            lines.append(f"| `{reason}` | " + " | ".join(per) + f" | {total:,} | {CHECKS.get(reason, '')} |")
    else:
        lines.append("None: every row passed.")
    if rep.get("checks_skipped"):
        lines += ["", "Checks not run: " + ", ".join(f"`{k}` ({v})" for k, v in rep["checks_skipped"].items()) + "."]
    if rep.get("examples"):
        lines += ["", "## One example per reason", ""]
        for reason, ex in rep["examples"].items():
            lines.append(f"- `{reason}` ({ex['source']}, `{ex['id']}`): {ex['detail']}")
            lines.append(f"  - prompt: {json.dumps(ex['prompt'], ensure_ascii=False)}")
            lines.append(f"  - reply: {json.dumps(ex['reply'], ensure_ascii=False)}")
            if ex.get("duplicate_of"):
                lines.append(f"  - duplicate of `{ex['duplicate_of']}`")
    d = rep.get("dedup") or {}
    if d:
        lines += ["", f"Deduplication: {d.get('exact', 0):,} exact and {d.get('near', 0):,} near duplicates "
                  f"({d.get('near_candidates', 0):,} rows shared an LSH band and were compared)."]
    lines += ["", f"Seconds: {', '.join(f'{k} {v}' for k, v in rep['seconds'].items())}.", ""]
    return "\n".join(lines)
