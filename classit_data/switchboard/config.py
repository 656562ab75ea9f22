"""Settings of ``convert-switchboard``: the one place their defaults and help live (the CLI is made from them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from classit_data.switchboard.readers.detect import FORMATS


class ConvertConfig(BaseModel):
    """How transcripts become prompt/reply items."""

    model_config = ConfigDict(extra="forbid")

    fmt: str | None = Field(None, description=f"Force the input format: {', '.join(FORMATS)} (default: detected "
                            "from the content).", json_schema_extra={"flags": ["--format"]})
    context_turns: int = Field(0, ge=0, description="Earlier turns put into the prompt, one 'SPEAKER: text' line "
                               "each.")
    drop_fillers: bool = Field(False, description="Remove fillers (uh, um, {F ...}).")
    #: a pair is dropped when its prompt turn or reply has fewer words: backchannel pairs teach nothing
    min_words: int = Field(3, ge=0, description="Fewest words in the prompt turn and in the reply.")
    max_words: int = Field(200, ge=1, description="Most words in the prompt turn and in the reply.")
