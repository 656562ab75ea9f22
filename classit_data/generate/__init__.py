"""QA generation from Simple Wikipedia passages (``classit-data generate-wiki``), and scoring the pairs with a
judge model (``classit-data judge``: the same runner over another task).

Layers, imported in one direction: ``prompts`` (files) -> ``task`` (messages in, pairs out) -> ``backends``
(engines) -> ``config`` (settings) -> ``chunks`` and ``record`` (the files of a run) -> ``executors`` (engines
over chunks: here, one process per data-parallel replica, or Ray actors in ``executors_ray``) -> ``generate``
(the steps of ``generate_wiki``, ``run_task``) -> ``judge`` (``judge``), each step counting its work in
``stats``; ``judge_task`` sits beside ``task``.
"""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes
from classit_data.generate.config import GenerationConfig, JudgeConfig

# the judge stage is ``classit_data.generate.judge.judge`` (a package attribute of that name is its module)
__all__ = [
    "GenerateSummary",
    "GenerationConfig",
    "GenerationTask",
    "JudgeConfig",
    "JudgeTask",
    "Parsed",
    "PromptSet",
    "QAPair",
    "QATask",
    "Reject",
    "generate_wiki",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "generate_wiki": "generate",
        "GenerateSummary": "generate",
        "PromptSet": "prompts",
        "GenerationTask": "task",
        "Parsed": "task",
        "QAPair": "task",
        "QATask": "task",
        "Reject": "task",
        "JudgeTask": "judge_task",
    },
)
