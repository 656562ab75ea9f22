"""``prepare-wiki``: Wikipedia (dumps, BabyLM, HF, wikiextractor) to clean passages."""

from __future__ import annotations

__all__ = ["prepare_wiki"]


def __getattr__(name: str):
    # imported on first use: the CLI reads this package's settings at start-up, the cleaning code
    # (mwparserfromhell, NLTK) is only needed when the stage runs
    if name == "prepare_wiki":
        from classit_data.wiki.prepare import prepare_wiki

        return prepare_wiki
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
