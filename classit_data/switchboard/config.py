"""Settings of ``convert-switchboard``: the one place their defaults and help live (the CLI is made from them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from classit_data.core.settings import Flag, Settings
from classit_data.switchboard.readers.detect import FORMATS


class ConvertConfig(Settings):
    """How transcripts become prompt/reply items."""

    fmt: Annotated[str | None, Flag("--format")] = Field(
        None, description=f"Force the input format: {', '.join(FORMATS)} (default: detected from the content)."
    )
    context_turns: int = Field(0, description="Earlier turns put into the prompt, one 'SPEAKER: text' line each.")
    drop_fillers: bool = Field(False, description="Remove fillers (uh, um, {F ...}).")
    #: a pair is dropped when its prompt turn or reply has fewer words: backchannel pairs teach nothing
    min_words: int = Field(3, description="Fewest words in the prompt turn and in the reply.")
    max_words: int = Field(200, description="Most words in the prompt turn and in the reply.")

    @model_validator(mode="after")
    def _check_ranges(self) -> ConvertConfig:
        """The ranges, worded for the command line (a user meets them as flags)."""
        if self.context_turns < 0:
            raise ValueError(f"--context-turns must be 0 or more, not {self.context_turns}")
        if self.min_words < 0 or self.max_words < 1 or self.max_words < self.min_words:
            raise ValueError(
                f"need 0 <= --min-words <= --max-words and --max-words >= 1 (got {self.min_words} and {self.max_words})"
            )
        return self
