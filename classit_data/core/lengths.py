"""Lengths of texts in words and tokens, shared by the validators and the statistics.

A *word* is a run of non-space characters (``\\S+``), the way BabyLM counts its 100M-word budget; it is
counted with a vectorised polars expression. *Tokens* need a tokenizer, loaded from a local folder or
the local Hugging Face cache only: nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from classit_data.core.errors import InputError, first_line
from classit_data.core.models import EMBEDDED_ALIASES


def count_words(text: str) -> int:
    """Number of whitespace-separated words of one text (the same rule as ``word_count_expr``)."""
    return len(text.split())


def word_count_expr(column: str | pl.Expr) -> pl.Expr:
    """Number of whitespace-separated words per row, vectorised; null text counts as 0."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.count_matches(r"\S+").fill_null(0).cast(pl.Int64)


def load_counting_tokenizer(name_or_path: str | Path):
    """A fast tokenizer from a local folder, the embedded model (``embedded``), or the local HF cache.

    Never downloads: a name that is neither a folder nor already cached is an ``InputError``.
    """
    name = str(name_or_path)
    if name.lower() in EMBEDDED_ALIASES:
        from classit_data.core.models import embedded_model_dir

        name = str(embedded_model_dir())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = Path(name).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError("a tokenizer is a folder (with tokenizer.json or tokenizer_config.json)", path)
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(path) if path.is_dir() else name, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        where = "folder" if path.is_dir() else "local folder, nor a model in the local Hugging Face cache"
        raise InputError(f"cannot load a tokenizer from this {where}: {first_line(exc)}", name) from exc


def token_counts(tokenizer, texts: pl.Series, batch_size: int = 8192) -> pl.Series:
    """Tokens per text (no special tokens added), batched through the fast tokenizer; null counts as 0."""
    values = texts.fill_null("").to_list()
    counts: list[int] = []
    for start in range(0, len(values), batch_size):
        enc = tokenizer(values[start : start + batch_size], add_special_tokens=False, return_attention_mask=False)
        counts.extend(len(ids) for ids in enc["input_ids"])
    return pl.Series(texts.name, counts, dtype=pl.Int64)
