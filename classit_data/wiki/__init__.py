"""``prepare-wiki``: Wikipedia (dumps, BabyLM, HF, wikiextractor) to clean passages."""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes

__all__ = ["prepare_wiki"]
__getattr__ = lazy_attributes(__name__, {"prepare_wiki": "prepare"})
