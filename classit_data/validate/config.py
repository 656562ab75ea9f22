"""Settings of ``validate``: the one place the thresholds, their defaults and help live (the CLI is made from them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from classit_data.core.errors import InputError
from classit_data.core.settings import FILE_ONLY, Settings

#: transcription markup that a clean Switchboard turn never holds: disfluency braces {F uh, }, repair
#: brackets [ a + b ], slash units, <laughter>-style tags, ((unclear)), #overlap#, incomplete-word -/,
#: ISIP variants word_1, Treebank tags word/UH, a speaker label "A:" at the start
DEFAULT_MARKUP = (
    r"[{}\[\]<>#]|\(\(|\)\)|(?:^|\s)[+/](?:\s|$)|\w-/|\b\w+_\d\b|\b[\w']+/[A-Z]{2,4}\$?(?:\s|$)"
    r"|^\s*[AB]\s*:"
)
#: broken encoding: the replacement character, UTF-8 read as Latin-1/cp1252 (Ã©, Â , â€™, ï»¿), HTML entities
DEFAULT_MOJIBAKE = (
    r"\x{FFFD}|Ã[\x{80}-\x{BF}]|Â[\x{80}-\x{BF}]|â€|ï»¿"
    r"|&(?:amp|lt|gt|quot|apos|nbsp|#\d+|#[xX][0-9a-fA-F]+);"
)
DEFAULT_QUESTION_WORDS = (
    "what",
    "who",
    "whom",
    "whose",
    "which",
    "where",
    "when",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "am",
    "do",
    "does",
    "did",
    "can",
    "could",
    "should",
    "would",
    "will",
    "shall",
    "may",
    "might",
    "must",
    "has",
    "have",
    "had",
    "name",
    "list",
    "describe",
    "explain",
    "give",
    "tell",
    "in",
    "on",
    "at",
    "according",
)


class ValidationConfig(Settings):
    """Thresholds of the checks. Defaults are documented in the README with the measurement behind them.

    Load with ``ValidationConfig.load(file_or_mapping, **given)``; unknown keys are an error. A regex or a list
    is no command-line flag (quoting one in a shell is error-prone): set it in a file, or with ``--set``.
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
    max_repeated_ngram_ratio: float = Field(
        0.5, ge=0, le=1, description="Largest share of a text's n-grams that repeat an earlier n-gram of the same text."
    )
    repetition_min_words: int = Field(10, ge=1, description="Texts shorter than this are not judged for repetition.")
    max_token_run: int = Field(7, ge=1, description="Most times one word may follow itself in a row.")
    max_prompt_reply_overlap: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Largest Jaccard overlap of the prompt's and the reply's word sets (above: the reply copies).",
    )
    min_question_words: int = Field(3, ge=1, description="Fewest words in a QA question.")
    question_words: Annotated[list[str], FILE_ONLY] = Field(
        list(DEFAULT_QUESTION_WORDS),
        description="First words that make a QA prompt a question even without a question mark.",
    )
    min_grounding: float = Field(
        0.5, ge=0, le=1, description="Smallest share of an answer's content words found in its passage."
    )
    max_answer_passage_share: float = Field(
        0.8,
        ge=0,
        description="Largest answer length as a share of its passage's length (above: the answer is the passage).",
    )
    min_judge_grounded: int | None = Field(
        None, ge=1, le=5, description="Lowest judge_grounded score kept (off when unset; needs rows from `judge`)."
    )
    min_judge_correct: int | None = Field(
        None, ge=1, le=5, description="Lowest judge_correct score kept (off when unset; needs rows from `judge`)."
    )
    min_judge_self_contained: int | None = Field(
        None,
        ge=1,
        le=5,
        description="Lowest judge_self_contained score kept (off when unset; needs rows from `judge`).",
    )
    min_judge_quality: int | None = Field(
        None, ge=1, le=5, description="Lowest judge_quality score kept (off when unset; needs rows from `judge`)."
    )
    min_judge_roundtrip_f1: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Lowest judge_roundtrip_f1 kept (off when unset; needs rows from `judge --roundtrip`).",
    )
    markup_pattern: Annotated[str, FILE_ONLY] = Field(
        DEFAULT_MARKUP, description="Regex of transcription markup (Switchboard rows)."
    )
    mojibake_pattern: Annotated[str, FILE_ONLY] = Field(DEFAULT_MOJIBAKE, description="Regex of broken encoding.")
    check_text: bool = Field(True, description="Require text == the template rendered from prompt and reply.")
    strict_schema: bool = Field(False, description="Also validate every row with the pydantic Item model.")
    dedup: bool = Field(True, description="Drop exact and near duplicates (the other checks run either way).")
    near_dup_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Jaccard similarity of word n-gram sets at which a row is a near duplicate (computed exactly for "
        "the candidates MinHash LSH proposes).",
    )
    dedup_shingle_size: int = Field(3, ge=1, le=8, description="n of the word n-grams compared by MinHash.")
    dedup_num_perm: int = Field(64, ge=16, le=512, description="MinHash permutations.")
    dedup_seed: int = Field(1, description="MinHash seed.")
    eval_contamination: Annotated[list[str], FILE_ONLY] = Field(
        [],
        description="BabyLM eval files or folders (BLiMP, EWoK, ...): quarantine rows whose text holds one of "
        "their items (same sentence or a shared word 13-gram); off when empty.",
    )

    @model_validator(mode="after")
    def _ranges(self) -> ValidationConfig:
        for lo, hi in (
            ("min_prompt_words", "max_prompt_words"),
            ("min_reply_words", "max_reply_words"),
            ("min_prompt_tokens", "max_prompt_tokens"),
            ("min_reply_tokens", "max_reply_tokens"),
        ):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{lo} ({a}) is above {hi} ({b})")
        return self


class ContaminationConfig(Settings):
    """What counts as an eval item found in the data."""

    ngram: int = Field(13, ge=5, le=50, description="n of the word n-grams an eval item may share with a row.")
    min_sentence_words: int = Field(4, ge=1, description="Shortest eval sentence (in words) matched exactly.")
    examples: int = Field(5, ge=0, description="Examples per eval task in the report.")


def parse_settings(items: Iterable[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs (``-`` or ``_`` in KEY), each a field of ``ValidationConfig``; values are read as
    YAML (``0.4``, ``true``, ``[what, how]``). ``ValidationConfig.load`` then checks the values."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        name = key.strip().replace("-", "_")
        if not sep or not name:
            raise InputError(f"--set wants KEY=VALUE, got {item!r}")
        if name not in ValidationConfig.model_fields:
            raise InputError(f"--set {key}: unknown setting (the names are in the README)")
        try:
            out[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"--set {key}: cannot read value {value!r}") from None
    return out
