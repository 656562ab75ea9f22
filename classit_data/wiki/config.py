"""Settings of ``prepare-wiki``: the one place their defaults and help live (the CLI is made from them)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from classit_data.core.settings import FILE_ONLY, Flag, Settings
from classit_data.wiki.readers.detect import FORMATS


class PassageConfig(Settings):
    """How an article is cut into passages: what each worker process needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ~160 words is ~210 Llama-3 tokens: a few facts, enough context for a 3B model to ask and answer
    #: 2-3 self-contained questions without drifting to facts the passage does not state
    max_words: int = Field(160, description="Most words in a passage.")
    #: below ~40 words (two short sentences) a passage rarely holds a question worth asking
    min_words: int = Field(40, description="Fewest words in a passage.")
    #: an article with less prose than this is a stub: one thin passage at most, usually a template sentence
    min_article_words: int = Field(60, description="Articles with less prose are stubs and are left out.")

    @model_validator(mode="after")
    def _word_bounds(self) -> PassageConfig:
        if self.min_words < 1 or self.max_words < self.min_words:
            raise ValueError(
                f"need 1 <= min_words <= max_words (got min_words={self.min_words}, max_words={self.max_words})"
            )
        return self


class PrepareConfig(PassageConfig):
    """How Wikipedia inputs become passages: the passage settings, and how the run reads and works."""

    limit_articles: int | None = Field(None, description="Stop after this many articles.")
    workers: int | None = Field(
        None, ge=1, description="Worker processes (default: every core; more than the cores are capped, with a note)."
    )
    index: str | None = Field(
        None,
        description="The index of a multistream dump (*-multistream-index.txt.bz2) (default: the one beside the "
        "dump under that name, else its bz2 streams are found by scanning).",
    )
    fmt: Annotated[str | None, Flag("--format")] = Field(
        None, description=f"Force the input format: {', '.join(FORMATS)} (default: detected from the content)."
    )
    punkt_params: Annotated[str | None, FILE_ONLY] = Field(
        None, description="Punkt parameter file (JSON) for the sentence splitter (default: the shipped one)."
    )

    @model_validator(mode="after")
    def _limit(self) -> PrepareConfig:
        if self.limit_articles is not None and self.limit_articles < 1:
            raise ValueError(f"limit_articles must be at least 1 (got {self.limit_articles})")
        return self

    @field_validator("punkt_params", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        """A ``Path`` is welcome from Python: kept as its text, as a settings file gives it."""
        return os.fspath(value) if isinstance(value, os.PathLike) else value
