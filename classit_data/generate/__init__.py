"""QA generation from Simple Wikipedia passages (``classit-data generate-wiki``).

Layers, imported in one direction: ``prompts`` (files) -> ``task`` (messages in, pairs out) ->
``backends`` (engines) -> ``runner`` (chunks, resume, shards, outputs).
"""

from classit_data.generate.prompts import PromptSet
from classit_data.generate.runner import GenerationConfig, generate_wiki
from classit_data.generate.task import Parsed, QAPair, QATask, Reject

__all__ = ["GenerationConfig", "Parsed", "PromptSet", "QAPair", "QATask", "Reject", "generate_wiki"]
