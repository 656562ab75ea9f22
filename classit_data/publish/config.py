"""Settings of ``push``: the one place their defaults and help live (the CLI is made from them).

The folder and the repo id stay arguments of the command and of ``push``; the token never is a setting (it
comes from ``HF_TOKEN`` or the saved login).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from classit_data.core.settings import FILE_ONLY, Settings


class PushConfig(Settings):
    """How a build is committed to its dataset repo."""

    private: bool = Field(False, description="Create the repo private (an existing repo keeps its visibility).")
    revision: str | None = Field(None, description="Branch to commit to (created from main if missing; default main).")
    commit_message: str | None = Field(None, description="Commit title (default: rows and package version).")
    tag: str | None = Field(None, description="Tag the pushed commit, e.g. v1.0.")
    retries: int = Field(
        4,
        ge=0,
        description="Retries after transient Hub failures (5xx, 429, dropped "
        "connections), with exponential backoff from 1 s.",
    )
    backoff: Annotated[float, FILE_ONLY] = Field(
        1.0, ge=0, description="Seconds before the first retry; each further retry waits twice as long."
    )
