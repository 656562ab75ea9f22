"""``prepare-wiki``: Wikipedia (dumps, BabyLM, HF, wikiextractor) to clean passages."""

from classit_data.wiki.passages import prepare_wiki

__all__ = ["prepare_wiki"]
