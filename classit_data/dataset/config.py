"""Settings of ``stats``, ``build`` and ``report``: the one place their defaults and help live (the CLI is made
from them).

Input and output paths stay arguments of the commands and stage functions; these are the choices about how.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from classit_data.core.settings import Flag, Settings


class StatsConfig(Settings):
    """How lengths are counted and Figure 1 is drawn."""

    quantile: Annotated[float, Flag("--quantile", "-q")] = Field(
        1.0,
        description="Figure 1 trims each source at this quantile of its prompt and reply lengths (1 = all "
        "rows, as in the paper).",
    )
    tokenizer: str | None = Field(
        None,
        description="Local tokenizer folder, a model already in the local HF cache, "
        "or `embedded`: count tokens too (no download).",
    )
    scale: str = Field("log", description="Figure axes: log or linear.")

    @field_validator("quantile")
    @classmethod
    def _quantile(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError("must be in (0, 1]")
        return value

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: str) -> str:
        if value not in ("log", "linear"):
            raise ValueError("must be log or linear")
        return value


class BuildConfig(Settings):
    """How validated rows are split and sharded."""

    val_fraction: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Share of documents (conversations, articles) put in a `validation` split; none by default.",
    )
    seed: int = Field(0, ge=0, description="Shuffle seed of the `merged` config.")
    #: the size datasets' push_to_hub uses
    max_shard_size: str = Field("500MB", description="Most Arrow bytes per Parquet shard (e.g. 500MB, 1GB, 200MiB).")
    force: bool = Field(
        False,
        description="Build from the rows that pass even when validation rejects some (such a build cannot be pushed).",
    )


class ReportConfig(Settings):
    """What the build report shows."""

    samples: int = Field(5, ge=0, le=1000, description="Random rows shown per config and split.")
    seed: int = Field(0, ge=0, description="Seed of the random rows.")
    tokenizer: str | None = Field(
        None, description="Local tokenizer folder or `embedded`: length histograms in tokens too (no download)."
    )
